//! ListObjectsV2 page by page: for many keys and several prefixes,
//! delimiters and page sizes, the pages are in order, full when truncated,
//! never repeat a key or a common prefix, and together hold exactly what a
//! simple model of S3's listing (`s3torrent_testkit::listing`, from the key
//! list) says.

use crate::support;

use std::collections::BTreeSet;

use s3torrent_testkit::listing;
use support::{Client, Server, tag, tags, temp_root};

/// The keys: folders of several depths, siblings that sort around `/`
/// (`-` and `.` before it, `0` after it), a space, a plus, and UTF-8
/// beyond ASCII (which sorts after `z` by bytes).
fn keys() -> Vec<String> {
    let mut keys = Vec::new();
    for i in 0..12 {
        keys.push(format!("top{i:02}"));
    }
    for d in ["alpha", "beta", "gamma"] {
        for i in 0..9 {
            keys.push(format!("dir/{d}/file{i}"));
        }
        keys.push(format!("dir/{d}.txt"));
    }
    for i in 0..5 {
        keys.push(format!("dir/deep/a/b/c/leaf{i}"));
        keys.push(format!("dir/b{i}"));
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
            "z",
            "ünï/code",
            "ünï-x",
        ]
        .map(str::to_owned),
    );
    keys
}

/// Lists every page; checks each page's shape and the order across pages,
/// and returns the union of (keys, common prefixes).
async fn list_all(
    client: &Client,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<&str>,
    max_keys: usize,
    bound: usize,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let what = format!("prefix {prefix:?} delimiter {delimiter:?} max-keys {max_keys}");
    let (mut contents, mut prefixes) = (BTreeSet::new(), BTreeSet::new());
    let mut token: Option<String> = None;
    let mut last_entry: Option<String> = None;
    let max = max_keys.to_string();
    for page in 0.. {
        assert!(page <= bound, "{what}: more than {bound} pages");
        let mut params = vec![("prefix", prefix), ("max-keys", max.as_str())];
        if let Some(d) = delimiter {
            params.push(("delimiter", d));
        }
        if let Some(t) = &token {
            params.push(("continuation-token", t));
        } else if let Some(s) = start_after {
            params.push(("start-after", s));
        }
        let text = client.list(bucket, &params).await.ok().text();
        let page_keys = tags(&text, "Key");
        let page_prefixes: Vec<String> = tags(&text, "CommonPrefixes")
            .iter()
            .map(|block| tag(block, "Prefix").expect("a Prefix in CommonPrefixes"))
            .collect();
        let truncated = tag(&text, "IsTruncated").expect("IsTruncated") == "true";
        let count: usize = tag(&text, "KeyCount").expect("KeyCount").parse().unwrap();
        assert_eq!(
            count,
            page_keys.len() + page_prefixes.len(),
            "{what}: {text}"
        );
        assert!(count <= max_keys, "{what}: {count} entries on a page");

        // Each list is sorted; the page's entries all follow the last page's.
        let mut sorted = page_keys.clone();
        sorted.sort();
        assert_eq!(sorted, page_keys, "{what}: keys out of order");
        let mut sorted = page_prefixes.clone();
        sorted.sort();
        assert_eq!(sorted, page_prefixes, "{what}: prefixes out of order");
        let mut entries: Vec<&String> = page_keys.iter().chain(&page_prefixes).collect();
        entries.sort();
        if let (Some(last), Some(first)) = (&last_entry, entries.first()) {
            assert!(
                last < *first,
                "{what}: page {page} starts at {first:?}, not after {last:?}"
            );
        }
        if let Some(e) = entries.last() {
            last_entry = Some((*e).clone());
        }
        for k in page_keys {
            assert!(contents.insert(k.clone()), "{what}: key {k:?} listed twice");
        }
        for p in page_prefixes {
            assert!(
                prefixes.insert(p.clone()),
                "{what}: prefix {p:?} listed twice"
            );
        }
        if !truncated {
            assert!(
                tag(&text, "NextContinuationToken").is_none(),
                "{what}: {text}"
            );
            break;
        }
        // A truncated page is full, and says where to go on.
        assert_eq!(count, max_keys, "{what}: a truncated page of {count}");
        token = Some(tag(&text, "NextContinuationToken").expect("NextContinuationToken"));
    }
    (contents, prefixes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_delimiters_match_the_model() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("listing").await.ok();
    let all = keys();
    // A few uploads at a time.
    for chunk in all.chunks(8) {
        let puts = chunk.iter().map(|k| {
            let alice = alice.clone();
            let k = k.clone();
            async move {
                alice
                    .put_object("listing", &k, &[], k.clone().into_bytes())
                    .await
            }
        });
        for r in futures_util::future::join_all(puts).await {
            r.ok();
        }
    }
    let keys: BTreeSet<String> = all.into_iter().collect();

    let cases: &[(&str, Option<&str>, Option<&str>)] = &[
        ("", None, None),
        ("", Some("/"), None),
        ("dir/", Some("/"), None),
        ("dir/", None, None),
        ("dir/b", Some("/"), None),
        ("dir/deep/", Some("/"), None),
        ("a", Some("/"), None),
        ("", Some("-"), None),
        ("ü", Some("/"), None),
        ("nothing/", Some("/"), None),
        ("", Some("/"), Some("dir/alpha/file3")),
        ("dir/", Some("/"), Some("dir/beta")),
        ("", None, Some("top05")),
    ];
    for (prefix, delimiter, start_after) in cases {
        let expected = listing(&keys, prefix, *delimiter, start_after.unwrap_or(""));
        for max_keys in [1, 2, 3, 7, 1000] {
            let bound = keys.len() / max_keys + 2;
            let got = list_all(
                &alice,
                "listing",
                prefix,
                *delimiter,
                *start_after,
                max_keys,
                bound,
            )
            .await;
            assert_eq!(
                got, expected,
                "prefix {prefix:?} delimiter {delimiter:?} start-after {start_after:?} \
                 max-keys {max_keys}"
            );
        }
    }
    // The model is not empty where it matters (a test that compares two
    // empty sets checks nothing).
    let (k, p) = listing(&keys, "", Some("/"), "");
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(k.contains("sp ace") && k.contains("ünï-x"), "{k:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_a_private_bucket_needs_its_owner() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("private-list").await.ok();
    alice.put_object("private-list", "k", &[], "v").await.ok();
    server
        .anonymous()
        .list("private-list", &[])
        .await
        .assert_error(403, "AccessDenied");
    server
        .bob()
        .list("private-list", &[])
        .await
        .assert_error(403, "AccessDenied");
    let r = alice.list("private-list", &[]).await.ok();
    assert_eq!(tags(&r.text(), "Key"), ["k"]);
    alice
        .list("no-such-bucket", &[])
        .await
        .assert_error(404, "NoSuchBucket");
    server.stop().await;
}
