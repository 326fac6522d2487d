//! Objects as S3 keeps them: conditional reads and writes (the outcomes
//! are S3's, written out as fixed tables), the headers an object keeps
//! (`x-amz-meta-*` with UTF-8 values, Cache-Control, Content-Disposition,
//! Content-Encoding, Content-Language, Expires, the default Content-Type),
//! through PutObject and multipart, and reads that always see one version
//! while the key is overwritten.

use crate::support;

use std::sync::Arc;

use bytes::Bytes;
use support::{Server, hex, key_path, md5, pseudo_random, tag, temp_root};

const OLD: &str = "Sat, 01 Jan 2000 00:00:00 GMT";
const FUTURE: &str = "Fri, 01 Jan 2100 00:00:00 GMT";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_get_and_head() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("cond").await.ok();
    let etag = alice
        .put_object("cond", "k", &[], "the body")
        .await
        .ok()
        .etag()
        .unwrap();
    let quoted = format!("\"{etag}\"");
    let other = "\"0123456789abcdef0123456789abcdef\"";
    // (headers, status): S3's precedence. If-Match decides over
    // If-Unmodified-Since, If-None-Match over If-Modified-Since; a failed
    // If-Match or If-Unmodified-Since is 412 before any 304.
    let cases: Vec<(Vec<(&str, &str)>, u16)> = vec![
        (vec![], 200),
        (vec![("if-match", &quoted)], 200),
        (vec![("if-match", "*")], 200),
        (vec![("if-match", other)], 412),
        (vec![("if-none-match", &quoted)], 304),
        (vec![("if-none-match", "*")], 304),
        (vec![("if-none-match", other)], 200),
        (vec![("if-modified-since", OLD)], 200),
        (vec![("if-modified-since", FUTURE)], 304),
        (vec![("if-unmodified-since", FUTURE)], 200),
        (vec![("if-unmodified-since", OLD)], 412),
        // If-Match true wins over If-Unmodified-Since false.
        (
            vec![("if-match", &quoted), ("if-unmodified-since", OLD)],
            200,
        ),
        // If-None-Match false (no match) wins over If-Modified-Since false.
        (
            vec![("if-none-match", other), ("if-modified-since", FUTURE)],
            200,
        ),
        // If-None-Match true (a match) is 304 whatever If-Modified-Since says.
        (
            vec![("if-none-match", &quoted), ("if-modified-since", OLD)],
            304,
        ),
        // 412 before 304.
        (vec![("if-match", other), ("if-none-match", &quoted)], 412),
        (
            vec![("if-unmodified-since", OLD), ("if-modified-since", FUTURE)],
            412,
        ),
    ];
    for (headers, status) in &cases {
        for method in ["GET", "HEAD"] {
            let r = alice
                .request(method, &key_path("cond", "k"), &[], headers, Bytes::new())
                .await;
            assert_eq!(r.status, *status, "{method} {headers:?}: {}", r.text());
            match status {
                200 if method == "GET" => assert_eq!(r.body, b"the body"),
                304 => {
                    assert!(r.body.is_empty(), "a 304 has no body");
                    // What a 200 would have carried to validate the
                    // client's copy (RFC 9110 §15.4.5; S3 sends both).
                    assert_eq!(r.headers.get("etag").unwrap(), quoted.as_str());
                    assert!(
                        r.headers.contains_key("last-modified"),
                        "{method} {headers:?}"
                    );
                    assert!(
                        !r.headers.contains_key("content-type"),
                        "{method} {headers:?}"
                    );
                }
                412 if method == "GET" => {
                    assert_eq!(r.error_code().as_deref(), Some("PreconditionFailed"))
                }
                _ => {}
            }
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_put_and_complete() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("cond").await.ok();
    let put = |key: &'static str, headers: Vec<(&'static str, String)>, body: &'static str| {
        let alice = alice.clone();
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            alice.put_object("cond", key, &h, body).await
        }
    };
    // Create-only: the first write wins, the second is 412 and changes nothing.
    let first = put("k", vec![("if-none-match", "*".into())], "first")
        .await
        .ok();
    put("k", vec![("if-none-match", "*".into())], "second")
        .await
        .assert_error(412, "PreconditionFailed");
    assert_eq!(alice.get_object("cond", "k").await.ok().body, b"first");
    // If-Match: the current ETag writes; another is 412; no object is 404.
    let etag = first.etag().unwrap();
    put("k", vec![("if-match", format!("\"{etag}\""))], "third")
        .await
        .ok();
    put("k", vec![("if-match", format!("\"{etag}\""))], "fourth")
        .await
        .assert_error(412, "PreconditionFailed");
    put("none", vec![("if-match", "\"abc\"".into())], "x")
        .await
        .assert_error(404, "NoSuchKey");
    assert_eq!(alice.get_object("cond", "k").await.ok().body, b"third");

    // Racing create-only writers: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let alice = alice.clone();
        tasks.push(tokio::spawn(async move {
            let body = format!("writer {i}");
            let r = alice
                .put_object("cond", "race", &[("if-none-match", "*")], body.clone())
                .await;
            (r.status, body)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert!(status == 200 || status == 412, "{status}");
        if status == 200 {
            winners.push(body);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(
        alice.get_object("cond", "race").await.ok().body,
        winners[0].as_bytes()
    );

    // CompleteMultipartUpload with If-None-Match: * over an existing key:
    // 412 (in the kept-alive answer), the object stays, the upload stays.
    let id = alice.create_upload("cond", "k", &[]).await;
    let e1 = alice
        .upload_part("cond", "k", &id, 1, &[], "part")
        .await
        .ok()
        .etag()
        .unwrap();
    let body = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"{e1}\"</ETag></Part></CompleteMultipartUpload>"
    );
    let r = alice
        .request(
            "POST",
            &key_path("cond", "k"),
            &[("uploadId", &id)],
            &[("if-none-match", "*")],
            Bytes::from(body.clone()),
        )
        .await;
    assert_eq!(
        r.error_code().as_deref(),
        Some("PreconditionFailed"),
        "{}",
        r.text()
    );
    assert_eq!(alice.get_object("cond", "k").await.ok().body, b"third");
    // With the right If-Match it completes.
    let current = alice.head_object("cond", "k").await.ok().etag().unwrap();
    let r = alice
        .request(
            "POST",
            &key_path("cond", "k"),
            &[("uploadId", &id)],
            &[("if-match", &format!("\"{current}\""))],
            Bytes::from(body),
        )
        .await
        .ok();
    assert!(tag(&r.text(), "ETag").is_some(), "{}", r.text());
    assert_eq!(alice.get_object("cond", "k").await.ok().body, b"part");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_headers_round_trip() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("meta").await.ok();
    let headers: &[(&str, &str)] = &[
        ("x-amz-meta-color", "blue"),
        ("x-amz-meta-name", "=?UTF-8?B?w6l0w6k=?="),
        ("cache-control", "max-age=60"),
        ("content-disposition", "attachment; filename=\"a.txt\""),
        ("content-encoding", "identity"),
        ("content-language", "fr"),
        ("expires", "Thu, 01 Dec 2033 16:00:00 GMT"),
    ];
    alice.put_object("meta", "with", headers, "x").await.ok();
    let id = alice.create_upload("meta", "multi", headers).await;
    let e1 = alice
        .upload_part("meta", "multi", &id, 1, &[], "y")
        .await
        .ok()
        .etag()
        .unwrap();
    alice
        .complete_upload("meta", "multi", &id, &[(1, &e1)])
        .await
        .ok();
    for key in ["with", "multi"] {
        for r in [
            alice.get_object("meta", key).await.ok(),
            alice.head_object("meta", key).await.ok(),
        ] {
            assert_eq!(
                r.header("x-amz-meta-color").as_deref(),
                Some("blue"),
                "{key}"
            );
            // RFC 2047 in, RFC 2047 out: the stored value is "été".
            let name = r.header("x-amz-meta-name").unwrap();
            assert!(
                name == "=?UTF-8?B?w6l0w6k=?=" || name == "été",
                "{key}: x-amz-meta-name {name}"
            );
            assert_eq!(r.header("cache-control").as_deref(), Some("max-age=60"));
            assert_eq!(
                r.header("content-disposition").as_deref(),
                Some("attachment; filename=\"a.txt\"")
            );
            assert_eq!(r.header("content-encoding").as_deref(), Some("identity"));
            assert_eq!(r.header("content-language").as_deref(), Some("fr"));
            assert_eq!(
                r.header("expires").as_deref(),
                Some("Thu, 01 Dec 2033 16:00:00 GMT")
            );
            assert_eq!(
                r.header("content-type").as_deref(),
                Some("binary/octet-stream"),
                "S3's default"
            );
        }
    }
    // Nothing given, nothing returned but the default type.
    alice.put_object("meta", "plain", &[], "z").await.ok();
    let r = alice.get_object("meta", "plain").await.ok();
    assert_eq!(r.header("cache-control"), None);
    assert!(
        r.headers
            .keys()
            .all(|k| !k.as_str().starts_with("x-amz-meta-"))
    );
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("binary/octet-stream")
    );
    server.stop().await;
}

/// Several readers GET a key that a writer overwrites with versions of
/// different sizes: every answer is whole (its Content-Length), and its
/// body's MD5 is its ETag; never a mix, never a truncated 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_see_one_version_while_the_key_is_overwritten() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("race").await.ok();
    let versions: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..4)
            .map(|i| pseudo_random(256 * 1024 * (i + 1), i as u64 + 7))
            .collect(),
    );
    alice
        .put_object("race", "k", &[], versions[0].clone())
        .await
        .ok();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (alice, versions, stop) = (alice.clone(), Arc::clone(&versions), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut n = 0usize;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && n < 10_000 {
                let v = &versions[n % versions.len()];
                alice.put_object("race", "k", &[], v.clone()).await.ok();
                n += 1;
            }
            n
        })
    };
    let mut readers = Vec::new();
    for _ in 0..4 {
        let alice = alice.clone();
        readers.push(tokio::spawn(async move {
            let mut seen = 0;
            for _ in 0..75 {
                let r = alice.get_object("race", "k").await;
                assert_eq!(r.status, 200, "{}", r.text());
                let length: usize = r.header("content-length").unwrap().parse().unwrap();
                assert_eq!(r.body.len(), length, "a truncated 200");
                assert_eq!(
                    hex(&md5(&r.body)),
                    r.etag().unwrap(),
                    "a body under another's ETag"
                );
                seen += 1;
            }
            seen
        }));
    }
    let mut total = 0;
    for r in readers {
        total += r.await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let writes = writer.await.unwrap();
    assert_eq!(total, 300);
    assert!(writes > 5, "the writer wrote {writes} times only");
    server.stop().await;
}
