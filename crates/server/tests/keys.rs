//! Any key S3 allows is an object, and no key is a path: `..` and `.`
//! segments, NUL, backslashes, a leading `/`, empty segments, a trailing
//! `/`, segments over 255 bytes, `a/b` beside `a` and `a/b/c` all round-trip
//! through PUT, GET, HEAD, the listing and DELETE, and nothing is written
//! in the buckets' folders or beside the root (the whole temp folder is
//! compared file by file, the store's own `.s3torrent` folder and database
//! aside). A key S3 itself refuses (over 1024 bytes) gets S3's error.
//!
//! Keys with `.` or `..` segments reach the server only with the slashes
//! percent-encoded (`..%2Fescape`): a URL parser, the presigner's included,
//! resolves literal dot segments. s3s checks a presigned path by decoding
//! it and re-encoding it with the slashes kept, which differs from
//! `..%2Fescape` as signed; it also checks the path as sent when that holds
//! a reserved character unencoded, so those keys carry a `!`.

use crate::support;

use bytes::Bytes;
use support::{Server, tags, temp_root, tree};

/// Keys that cannot be paths: (path as sent, the key it decodes to).
const SHAPES: &[(&str, &str)] = &[
    ("/keys/..%2Fescape!", "../escape!"),
    ("/keys/a!%2F..%2F..%2Fescape", "a!/../../escape"),
    ("/keys/..%2F..%2F..%2Ftmp%2Fescape!", "../../../tmp/escape!"),
    ("/keys/x!%2F..", "x!/.."),
    ("/keys/.%2Fdot!", "./dot!"),
    ("/keys/x!%2F.%2Fy", "x!/./y"),
    ("/keys/nul%00byte", "nul\0byte"),
    ("/keys/..%00", "..\0"),
    ("/keys/back%5Cslash", "back\\slash"),
    ("/keys/..%5C..%5Cescape", "..\\..\\escape"),
    ("/keys//leading", "/leading"),
    ("/keys//..%2Fescape!", "/../escape!"),
    ("/keys/a//b", "a//b"),
    ("/keys/trailing/", "trailing/"),
    ("/keys/dir/", "dir/"),
    ("/keys/dir/inside", "dir/inside"),
];

/// The temp folder's files outside the store's own (`.s3torrent`, its
/// database): what keys must never change.
fn outside(temp: &std::path::Path) -> Vec<String> {
    tree(temp)
        .into_iter()
        .filter(|f| !f.starts_with("root/.s3torrent"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_shape_round_trips_and_no_key_becomes_a_path() {
    let temp = temp_root();
    let root = temp.path().join("root");
    let server = Server::start(&root).await;
    let alice = server.alice();
    alice.create_bucket("keys").await.ok();
    alice.create_bucket("tmp").await.ok();
    let before = outside(temp.path());

    let long = "k".repeat(256);
    let long_path = format!("/keys/{long}");
    let mut all: Vec<(String, String)> = SHAPES
        .iter()
        .map(|(p, k)| ((*p).to_owned(), (*k).to_owned()))
        .collect();
    all.push((long_path, long.clone()));
    for (path, decoded) in &all {
        let body = format!("the object {decoded}");
        let r = alice
            .request("PUT", path, &[], &[], Bytes::from(body.clone()))
            .await;
        assert_eq!(r.status, 200, "PUT {path} (key {decoded}): {}", r.text());
        let got = alice.request("GET", path, &[], &[], Bytes::new()).await;
        assert_eq!(got.status, 200, "GET {path}: {}", got.text());
        assert_eq!(got.body, body.as_bytes(), "GET {path}");
        let head = alice.request("HEAD", path, &[], &[], Bytes::new()).await;
        assert_eq!(head.status, 200, "HEAD {path}");
        assert_eq!(head.header("content-length"), Some(body.len().to_string()));
        assert_eq!(outside(temp.path()), before, "after PUT {path}");
    }

    // The listing has every key, once, in byte order.
    let mut expected: Vec<String> = all
        .iter()
        .map(|(_, k)| k.replace("\\0", "\0").replace("\\\\", "\\"))
        .collect();
    expected.sort();
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let mut params = vec![("max-keys", "5")];
        if let Some(t) = &token {
            params.push(("continuation-token", t.as_str()));
        }
        let r = alice.list("keys", &params).await.ok().text();
        listed.extend(tags(&r, "Key"));
        token = support::tag(&r, "NextContinuationToken");
        if token.is_none() {
            break;
        }
    }
    assert_eq!(listed, expected);

    // Multipart to a dot key works as PutObject does.
    let r = alice
        .request(
            "POST",
            "/keys/..%2Fmulti!",
            &[("uploads", "")],
            &[],
            Bytes::new(),
        )
        .await
        .ok();
    let id = support::tag(&r.text(), "UploadId").unwrap();
    let r = alice
        .request(
            "PUT",
            "/keys/..%2Fmulti!",
            &[("partNumber", "1"), ("uploadId", &id)],
            &[],
            Bytes::from_static(b"one part"),
        )
        .await
        .ok();
    let etag = r.etag().unwrap();
    let body = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"{etag}\"</ETag></Part></CompleteMultipartUpload>"
    );
    let r = alice
        .request(
            "POST",
            "/keys/..%2Fmulti!",
            &[("uploadId", &id)],
            &[],
            Bytes::from(body),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.error_code().is_none(), "{}", r.text());
    let got = alice
        .request("GET", "/keys/..%2Fmulti!", &[], &[], Bytes::new())
        .await
        .ok();
    assert_eq!(got.body, b"one part");

    // DELETE removes each, and only it.
    for (path, _) in &all {
        let r = alice.request("DELETE", path, &[], &[], Bytes::new()).await;
        assert_eq!(r.status, 204, "DELETE {path}: {}", r.text());
        let r = alice.request("GET", path, &[], &[], Bytes::new()).await;
        r.assert_error(404, "NoSuchKey");
    }
    let r = alice.list("keys", &[]).await.ok().text();
    assert_eq!(tags(&r, "Key"), ["../multi!"]);
    assert_eq!(outside(temp.path()), before);
    server.stop().await;
}

/// A key over 1024 bytes is S3's `KeyTooLongError`, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_over_1024_bytes_is_refused() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("keys").await.ok();
    let before = tree(temp.path());
    alice
        .put_object("keys", &"k".repeat(1025), &[], "x")
        .await
        .assert_error(400, "KeyTooLongError");
    assert_eq!(tree(temp.path()), before);
    alice
        .put_object("keys", &"k".repeat(1024), &[], "x")
        .await
        .ok();
    assert_eq!(
        alice.get_object("keys", &"k".repeat(1024)).await.ok().body,
        b"x"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encoded_slash_is_a_slash() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("keys").await.ok();
    // `%2F` decodes to `/`: the key is `dir/file!`.
    alice
        .request(
            "PUT",
            "/keys/dir%2Ffile!",
            &[],
            &[],
            Bytes::from_static(b"inside"),
        )
        .await
        .ok();
    let r = alice.get_object("keys", "dir/file!").await.ok();
    assert_eq!(r.body, b"inside");
    let r = alice.list("keys", &[("prefix", "dir/")]).await.ok().text();
    assert_eq!(tags(&r, "Key"), ["dir/file!"]);
    assert!(
        !temp.path().join("keys/dir").exists(),
        "a key became a path"
    );

    // The same, with the path kept as the presigner wrote it: s3s compares
    // the signature with the decoded path re-encoded (`/keys/dir/plain`),
    // and the request is refused. Nothing is written either way.
    let r = alice
        .request(
            "PUT",
            "/keys/dir%2Fplain",
            &[],
            &[],
            Bytes::from_static(b"x"),
        )
        .await;
    r.assert_error(403, "SignatureDoesNotMatch");
    alice
        .get_object("keys", "dir/plain")
        .await
        .assert_error(404, "NoSuchKey");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_never_leave_the_bucket() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("inner").await.ok();
    alice.create_bucket("outer").await.ok();
    alice
        .put_object(
            "outer",
            "secret",
            &[("x-amz-acl", "public-read")],
            "the outer object",
        )
        .await
        .ok();
    std::fs::write(temp.path().join("beside"), b"a file in the root").unwrap();
    let anonymous = server.anonymous();
    // The object itself is readable: the refusals below are the paths'.
    assert_eq!(
        anonymous.get("/outer/secret").await.ok().body,
        b"the outer object"
    );

    for path in [
        "/inner/..%2Fouter%2Fsecret",
        "/inner/%2E%2E%2Fouter%2Fsecret",
        "/inner/x%2F..%2F..%2Fouter%2Fsecret",
        "/inner/..%2F..%2Fbeside",
        "/inner/..%2F.s3torrent.redb",
        "/inner/..%5Couter%5Csecret",
        "/inner//..%2Fouter%2Fsecret",
        "/inner/../outer/secret",
    ] {
        for query in ["", "?torrent"] {
            let target = format!("{path}{query}");
            let r = anonymous.send("GET", &target, &[], Bytes::new()).await;
            assert!(
                r.status >= 400 && r.error_code().is_some(),
                "GET {target}: {} {}",
                r.status,
                r.text()
            );
            assert!(
                !r.text().contains("the outer object") && !r.text().contains("a file in"),
                "GET {target} answered the other object"
            );
        }
    }
    server.stop().await;
}

/// Keys that would clash as paths (a file where a folder would be, and
/// the reverse) are separate objects, and multipart completes to them too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_that_would_clash_as_paths_are_separate_objects() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("clash").await.ok();
    for key in ["a", "a/b", "a/b/c", "d/e", "d"] {
        alice
            .put_object("clash", key, &[], format!("file {key}"))
            .await
            .ok();
    }
    let id = alice.create_upload("clash", "a/z", &[]).await;
    let etag = alice
        .upload_part("clash", "a/z", &id, 1, &[], "part")
        .await
        .ok()
        .etag()
        .unwrap();
    alice
        .complete_upload("clash", "a/z", &id, &[(1, &etag)])
        .await
        .ok();
    for key in ["a", "a/b", "a/b/c", "d/e", "d"] {
        assert_eq!(
            alice.get_object("clash", key).await.ok().body,
            format!("file {key}").as_bytes()
        );
    }
    assert_eq!(alice.get_object("clash", "a/z").await.ok().body, b"part");
    let r = alice.list("clash", &[]).await.ok();
    assert_eq!(
        tags(&r.text(), "Key"),
        ["a", "a/b", "a/b/c", "a/z", "d", "d/e"]
    );
    let r = alice.list("clash", &[("delimiter", "/")]).await.ok().text();
    assert_eq!(tags(&r, "Key"), ["a", "d"]);
    assert_eq!(tags(&r, "Prefix"), ["a/", "d/"]);
    assert_eq!(tree(&temp.path().join("clash")), Vec::<String>::new());
    assert_eq!(tree(&temp.path().join(".multipart")), Vec::<String>::new());
    server.stop().await;
}

/// A file placed by hand under a bucket's folder is adopted where its path
/// is a key: read, listed, overwritten (its bytes move to the store's own
/// files) and deleted like any object; a file whose path is no key (a name
/// that is not UTF-8 cannot be made portably, so a folder that is a
/// symlink stands in) is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_placed_files_are_adopted() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("hand").await.ok();
    std::fs::create_dir_all(temp.path().join("hand/x/y")).unwrap();
    std::fs::write(temp.path().join("hand/x/y/z.txt"), b"by hand").unwrap();
    std::fs::write(temp.path().join("hand/top"), b"top").unwrap();
    let r = alice.list("hand", &[]).await.ok().text();
    assert_eq!(tags(&r, "Key"), ["top", "x/y/z.txt"]);
    let r = alice.get_object("hand", "x/y/z.txt").await.ok();
    assert_eq!(r.body, b"by hand");
    assert_eq!(r.etag().unwrap(), support::hex(&support::md5(b"by hand")));
    // A file placed after the first listing is read by its key at once.
    std::fs::write(temp.path().join("hand/later"), b"later").unwrap();
    assert_eq!(alice.get_object("hand", "later").await.ok().body, b"later");
    // Overwritten: the new bytes, and the file goes.
    alice.put_object("hand", "top", &[], "new top").await.ok();
    assert_eq!(alice.get_object("hand", "top").await.ok().body, b"new top");
    assert!(!temp.path().join("hand/top").exists());
    // Deleted: the file goes, with the folders it leaves empty.
    alice.delete_object("hand", "x/y/z.txt").await;
    alice
        .get_object("hand", "x/y/z.txt")
        .await
        .assert_error(404, "NoSuchKey");
    assert!(!temp.path().join("hand/x").exists());
    let r = alice.list("hand", &[]).await.ok().text();
    assert_eq!(tags(&r, "Key"), ["later", "top"]);
    server.stop().await;
}

/// DeleteObject of a key that names a folder of objects, or lies under a
/// file: there is no such object, so S3 answers 204 and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_folder_or_below_a_file_is_a_missing_key() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("clash").await.ok();
    alice.put_object("clash", "a", &[], "file a").await.ok();
    alice.put_object("clash", "d/e", &[], "file d/e").await.ok();
    let mut answers = Vec::new();
    for key in ["d", "a/b", "a/b/c"] {
        let r = alice.delete_object("clash", key).await;
        answers.push((key, r.status, r.error_code()));
    }
    assert_eq!(
        answers,
        [("d", 204, None), ("a/b", 204, None), ("a/b/c", 204, None)]
    );
    assert_eq!(alice.get_object("clash", "a").await.ok().body, b"file a");
    assert_eq!(
        alice.get_object("clash", "d/e").await.ok().body,
        b"file d/e"
    );
    server.stop().await;
}
