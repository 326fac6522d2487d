//! ListObjects (v1) and ListObjectVersions page by page against a model of
//! S3's listing computed here from the key list (as listing.rs does for
//! ListObjectsV2), and ListObjectsV2's details: `encoding-type=url`,
//! `fetch-owner`, `start-after`, `max-keys=0`, an empty delimiter, and the
//! errors for bad parameters.

use crate::support;

use std::collections::BTreeSet;

use s3torrent_testkit::listing;
use support::{Client, Server, tag, tags, temp_root};

fn keys() -> Vec<String> {
    let mut keys: Vec<String> = (0..7).map(|i| format!("top{i}")).collect();
    for d in ["alpha", "beta"] {
        for i in 0..5 {
            keys.push(format!("dir/{d}/f{i}"));
        }
        keys.push(format!("dir/{d}.txt"));
    }
    keys.extend(
        [
            "a-b",
            "a.b",
            "a/b",
            "a0",
            "a/c/d",
            "sp ace",
            "plus+sign",
            "ünï/code",
            "ünï-x",
        ]
        .map(str::to_owned),
    );
    keys
}

fn prefixes_of(text: &str) -> Vec<String> {
    tags(text, "CommonPrefixes")
        .iter()
        .map(|b| tag(b, "Prefix").expect("Prefix"))
        .collect()
}

/// Which listing: v1 pages on by `marker`, versions by `key-marker` and
/// `version-id-marker`.
#[derive(Clone, Copy, Debug)]
enum Kind {
    V1,
    Versions,
}

async fn list_all(
    client: &Client,
    kind: Kind,
    prefix: &str,
    delimiter: Option<&str>,
    max: usize,
    bound: usize,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let what = format!("{kind:?} prefix {prefix:?} delimiter {delimiter:?} max-keys {max}");
    let (mut contents, mut prefixes) = (BTreeSet::new(), BTreeSet::new());
    let max_text = max.to_string();
    let mut markers: Option<(String, Option<String>)> = None;
    for page in 0.. {
        assert!(page <= bound, "{what}: more than {bound} pages");
        let mut query = vec![("prefix", prefix), ("max-keys", max_text.as_str())];
        if let Kind::Versions = kind {
            query.push(("versions", ""));
        }
        if let Some(d) = delimiter {
            query.push(("delimiter", d));
        }
        if let Some((m, v)) = &markers {
            match kind {
                Kind::V1 => query.push(("marker", m)),
                Kind::Versions => {
                    query.push(("key-marker", m));
                    if let Some(v) = v {
                        query.push(("version-id-marker", v));
                    }
                }
            }
        }
        let r = client
            .request("GET", "/listing", &query, &[], bytes::Bytes::new())
            .await
            .ok();
        let text = r.text();
        let page_keys = match kind {
            Kind::V1 => tags(&text, "Contents")
                .iter()
                .map(|c| tag(c, "Key").expect("Key"))
                .collect::<Vec<_>>(),
            Kind::Versions => {
                let versions = tags(&text, "Version");
                for v in &versions {
                    assert_eq!(tag(v, "VersionId").as_deref(), Some("null"), "{text}");
                    assert_eq!(tag(v, "IsLatest").as_deref(), Some("true"), "{text}");
                    assert!(tag(v, "Owner").is_some(), "{text}");
                }
                versions
                    .iter()
                    .map(|v| tag(v, "Key").expect("Key"))
                    .collect()
            }
        };
        let page_prefixes = prefixes_of(&text);
        assert!(
            page_keys.len() + page_prefixes.len() <= max,
            "{what}: {text}"
        );
        for k in &page_keys {
            assert!(contents.insert(k.clone()), "{what}: {k:?} twice");
        }
        for p in &page_prefixes {
            assert!(prefixes.insert(p.clone()), "{what}: prefix {p:?} twice");
        }
        let truncated = tag(&text, "IsTruncated").expect("IsTruncated") == "true";
        if !truncated {
            assert!(tag(&text, "NextMarker").is_none(), "{what}: {text}");
            assert!(tag(&text, "NextKeyMarker").is_none(), "{what}: {text}");
            break;
        }
        assert_eq!(page_keys.len() + page_prefixes.len(), max, "{what}: {text}");
        // The last entry of the page, by sort order.
        let mut entries: Vec<&String> = page_keys.iter().chain(&page_prefixes).collect();
        entries.sort();
        let last = entries.last().map(|e| (*e).clone()).expect("a full page");
        markers = Some(match kind {
            // NextMarker only with a delimiter; else the last key.
            Kind::V1 => match delimiter {
                Some(_) => {
                    let next = tag(&text, "NextMarker").expect("NextMarker");
                    assert_eq!(next, last, "{what}");
                    (next, None)
                }
                None => {
                    assert!(tag(&text, "NextMarker").is_none(), "{what}: {text}");
                    (last, None)
                }
            },
            Kind::Versions => {
                let next = tag(&text, "NextKeyMarker").expect("NextKeyMarker");
                assert_eq!(next, last, "{what}");
                (next, tag(&text, "NextVersionIdMarker"))
            }
        });
    }
    (contents, prefixes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_and_version_listings_match_the_model_page_by_page() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("listing").await.ok();
    let all = keys();
    for k in &all {
        alice.put_object("listing", k, &[], k.clone()).await.ok();
    }
    let keys: BTreeSet<String> = all.into_iter().collect();
    let cases: &[(&str, Option<&str>)] = &[
        ("", None),
        ("", Some("/")),
        ("dir/", Some("/")),
        ("dir/", None),
        ("a", Some("/")),
        ("", Some("-")),
        ("ü", Some("/")),
        ("nothing/", Some("/")),
    ];
    for kind in [Kind::V1, Kind::Versions] {
        for (prefix, delimiter) in cases {
            let expected = listing(&keys, prefix, *delimiter, "");
            for max in [1, 2, 5, 1000] {
                let got = list_all(&alice, kind, prefix, *delimiter, max, keys.len() + 2).await;
                assert_eq!(got, expected, "{kind:?} {prefix:?} {delimiter:?} {max}");
            }
        }
    }
    let (k, p) = listing(&keys, "", Some("/"), "");
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(k.contains("sp ace"), "{k:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_parameters_as_s3_answers_them() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("params").await.ok();
    for k in ["a b+c/ü\u{1}", "a b+c/two", "dir/x", "z"] {
        alice.put_object("params", k, &[], "v").await.ok();
    }

    // encoding-type=url: keys, prefixes, the delimiter and start-after
    // come back URL-encoded (a space as +), and the type is echoed.
    let r = alice
        .list(
            "params",
            &[
                ("encoding-type", "url"),
                ("prefix", "a b+c/"),
                ("start-after", "a b"),
            ],
        )
        .await
        .ok();
    let text = r.text();
    assert_eq!(
        tags(&text, "Key"),
        ["a+b%2Bc/two", "a+b%2Bc/%C3%BC%01"],
        "{text}"
    );
    assert_eq!(tag(&text, "Prefix").as_deref(), Some("a+b%2Bc/"));
    assert_eq!(tag(&text, "StartAfter").as_deref(), Some("a+b"));
    assert_eq!(tag(&text, "EncodingType").as_deref(), Some("url"));
    let r = alice
        .list("params", &[("encoding-type", "url"), ("delimiter", "+")])
        .await
        .ok();
    assert_eq!(prefixes_of(&r.text()), ["a+b%2B"], "{}", r.text());
    assert_eq!(tag(&r.text(), "Delimiter").as_deref(), Some("%2B"));
    // v1 and versions encode too.
    let r = alice
        .request(
            "GET",
            "/params",
            &[("encoding-type", "url"), ("marker", "a b+c/t")],
            &[],
            bytes::Bytes::new(),
        )
        .await
        .ok();
    assert_eq!(
        tags(&r.text(), "Key"),
        ["a+b%2Bc/two", "a+b%2Bc/%C3%BC%01", "dir/x", "z"]
    );
    assert_eq!(tag(&r.text(), "Marker").as_deref(), Some("a+b%2Bc/t"));
    let r = alice
        .request(
            "GET",
            "/params",
            &[
                ("versions", ""),
                ("encoding-type", "url"),
                ("max-keys", "1"),
            ],
            &[],
            bytes::Bytes::new(),
        )
        .await
        .ok();
    assert_eq!(
        tag(&r.text(), "NextKeyMarker").as_deref(),
        Some("a+b%2Bc/two"),
        "{}",
        r.text()
    );

    // max-keys=0: empty and not truncated; an empty delimiter is none.
    let r = alice.list("params", &[("max-keys", "0")]).await.ok();
    assert_eq!(tag(&r.text(), "KeyCount").as_deref(), Some("0"));
    assert_eq!(tag(&r.text(), "IsTruncated").as_deref(), Some("false"));
    let r = alice
        .list("params", &[("delimiter", ""), ("prefix", "d")])
        .await
        .ok();
    assert_eq!(tags(&r.text(), "Key"), ["dir/x"]);
    assert!(prefixes_of(&r.text()).is_empty());

    // fetch-owner: Owner only when asked for (v1 always has it).
    let r = alice.list("params", &[("prefix", "z")]).await.ok();
    assert!(tag(&r.text(), "Owner").is_none(), "{}", r.text());
    let r = alice
        .list("params", &[("prefix", "z"), ("fetch-owner", "true")])
        .await
        .ok();
    let owner = tag(&r.text(), "Owner").expect("Owner");
    assert_eq!(
        tag(&owner, "DisplayName").as_deref(),
        Some(support::ALICE.2)
    );

    // start-after, and a continuation token over it.
    let r = alice
        .list("params", &[("start-after", "dir/x"), ("max-keys", "1")])
        .await
        .ok();
    assert_eq!(tags(&r.text(), "Key"), ["z"]);
    let r = alice.list("params", &[("max-keys", "1")]).await.ok();
    let token = tag(&r.text(), "NextContinuationToken").expect("a token");
    let r = alice
        .list(
            "params",
            &[("continuation-token", &token), ("start-after", "y")],
        )
        .await
        .ok();
    assert_eq!(tags(&r.text(), "Key"), ["a b+c/ü\u{1}", "dir/x", "z"]);

    // Errors.
    for bad in [
        vec![("encoding-type", "base64")],
        vec![("continuation-token", "not-a-token")],
        vec![("max-keys", "-1")],
    ] {
        alice
            .list("params", &bad)
            .await
            .assert_error(400, "InvalidArgument");
    }
    for bad in [
        vec![("versions", ""), ("version-id-marker", "null")],
        vec![
            ("versions", ""),
            ("key-marker", "z"),
            ("version-id-marker", "v2"),
        ],
    ] {
        alice
            .request("GET", "/params", &bad, &[], bytes::Bytes::new())
            .await
            .assert_error(400, "InvalidArgument");
    }
    // Listing needs READ on the bucket, for every kind.
    for query in [vec![], vec![("versions", "")], vec![("list-type", "2")]] {
        server
            .bob()
            .request("GET", "/params", &query, &[], bytes::Bytes::new())
            .await
            .assert_error(403, "AccessDenied");
        server
            .anonymous()
            .request("GET", "/params", &query, &[], bytes::Bytes::new())
            .await
            .assert_error(403, "AccessDenied");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_placed_files_list_with_their_etag_in_every_listing() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("placed").await.ok();
    std::fs::create_dir_all(temp.path().join("placed/dir")).unwrap();
    std::fs::write(temp.path().join("placed/dir/by-hand"), b"placed by hand").unwrap();
    // The MD5 of the bytes (the md5 crate, not the server).
    let want = support::hex(&support::md5(b"placed by hand"));
    for query in [vec![], vec![("versions", "")], vec![("list-type", "2")]] {
        let r = alice
            .request("GET", "/placed", &query, &[], bytes::Bytes::new())
            .await
            .ok();
        assert_eq!(tags(&r.text(), "Key"), ["dir/by-hand"], "{query:?}");
        let etag = tag(&r.text(), "ETag").expect("an ETag");
        assert_eq!(etag.trim_matches('"'), want, "{query:?}: {}", r.text());
    }
    server.stop().await;
}
