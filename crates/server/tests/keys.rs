//! Key containment through HTTP: a key that cannot be a safe relative path
//! under its bucket's folder (`..` or `.` segments, NUL, a backslash, a
//! leading `/`, empty segments, a segment over 255 bytes) or that clashes
//! with an existing file or folder is refused with `InvalidArgument` 400, as
//! the store's module documentation says, and nothing is written anywhere:
//! the whole temp folder, the root and what lies beside it, is compared
//! file by file before and after.
//!
//! Keys with `.` or `..` segments reach the server only with the slashes
//! percent-encoded (`..%2Fescape`): a URL parser, the presigner's included,
//! resolves literal dot segments. s3s checks a presigned path by decoding
//! it and re-encoding it with the slashes kept, which differs from
//! `..%2Fescape` as signed; it also checks the path as sent when that holds
//! a reserved character unencoded, so those keys carry a `!`.

mod support;

use bytes::Bytes;
use support::{Server, temp_root, tree};

/// Refusals a signed PutObject must get: (path as sent, what it decodes to).
const UNSAFE: &[(&str, &str)] = &[
    ("/keys/..%2Fescape!", "../escape!"),
    ("/keys/a!%2F..%2F..%2Fescape", "a!/../../escape"),
    ("/keys/..%2F..%2F..%2Ftmp%2Fescape!", "../../../tmp/escape!"),
    ("/keys/x!%2F..", "x!/.."),
    ("/keys/.%2Fdot!", "./dot!"),
    ("/keys/x!%2F.%2Fy", "x!/./y"),
    ("/keys/nul%00byte", "nul\\0byte"),
    ("/keys/..%00", "..\\0"),
    ("/keys/back%5Cslash", "back\\\\slash"),
    ("/keys/..%5C..%5Cescape", "..\\\\..\\\\escape"),
    ("/keys//leading", "/leading"),
    ("/keys//..%2Fescape!", "/../escape!"),
    ("/keys/a//b", "a//b"),
    ("/keys/trailing/", "trailing/"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_keys_are_refused_and_nothing_is_written() {
    let temp = temp_root();
    let root = temp.path().join("root");
    let server = Server::start(&root).await;
    let alice = server.alice();
    alice.create_bucket("keys").await.ok();
    alice.create_bucket("tmp").await.ok();
    let before = tree(temp.path());

    for (path, decoded) in UNSAFE {
        let r = alice
            .request("PUT", path, &[], &[], Bytes::from_static(b"escaped"))
            .await;
        assert_eq!(
            (r.status, r.error_code().as_deref()),
            (400, Some("InvalidArgument")),
            "PUT {path} (key {decoded}): {}",
            r.text()
        );
        // The store's refusal, not a parser's on the way.
        assert!(
            r.text().contains("cannot be stored safely"),
            "PUT {path}: {}",
            r.text()
        );
        // CreateMultipartUpload checks the key before it records anything.
        let r = alice
            .request("POST", path, &[("uploads", "")], &[], Bytes::new())
            .await;
        assert_eq!(
            (r.status, r.error_code().as_deref()),
            (400, Some("InvalidArgument")),
            "POST {path}?uploads (key {decoded}): {}",
            r.text()
        );
        assert_eq!(tree(temp.path()), before, "after PUT {path}");
    }

    // A segment of 256 bytes cannot be a file name; 255 can.
    let long = "k".repeat(256);
    alice
        .put_object("keys", &long, &[], "x")
        .await
        .assert_error(400, "InvalidArgument");
    assert_eq!(tree(temp.path()), before);
    alice.put_object("keys", &long[..255], &[], "x").await.ok();
    assert!(root.join("keys").join(&long[..255]).is_file());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encoded_slash_is_a_slash() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("keys").await.ok();
    // `%2F` decodes to `/`: the key is `dir/file!`, in the folder `dir`.
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
    assert_eq!(
        std::fs::read(temp.path().join("keys/dir/file!")).unwrap(),
        b"inside"
    );
    let r = alice.get_object("keys", "dir/file!").await.ok();
    assert_eq!(r.body, b"inside");

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
    assert!(!temp.path().join("keys/dir/plain").exists());
    server.stop().await;
}

/// Anonymous reads of paths that would leave the bucket, through GetObject
/// (s3s's path parsing) and `?torrent` (the adapter's): never the object
/// of the other bucket, though it is public.
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

/// A key whose folder would be an object, or whose file would be a folder
/// of objects: `InvalidArgument`, and both objects stay as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_that_clash_with_files_or_folders() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("clash").await.ok();

    alice.put_object("clash", "a", &[], "file a").await.ok();
    let before = tree(temp.path());
    for key in ["a/b", "a/b/c"] {
        alice
            .put_object("clash", key, &[], "under a file")
            .await
            .assert_error(400, "InvalidArgument");
        assert_eq!(tree(temp.path()), before, "after PUT {key}");
    }
    assert_eq!(alice.get_object("clash", "a").await.ok().body, b"file a");

    alice.put_object("clash", "d/e", &[], "file d/e").await.ok();
    let before = tree(temp.path());
    alice
        .put_object("clash", "d", &[], "over a folder")
        .await
        .assert_error(400, "InvalidArgument");
    assert_eq!(tree(temp.path()), before);
    assert_eq!(
        alice.get_object("clash", "d/e").await.ok().body,
        b"file d/e"
    );

    // Multipart: the clash is found when the object is assembled; the
    // answer (already 200, kept alive) carries the error, and the upload
    // can still be aborted.
    let id = alice.create_upload("clash", "a/z", &[]).await;
    let etag = alice
        .upload_part("clash", "a/z", &id, 1, &[], "part")
        .await
        .ok()
        .etag()
        .unwrap();
    let r = alice
        .complete_upload("clash", "a/z", &id, &[(1, &etag)])
        .await;
    assert_eq!(
        r.error_code().as_deref(),
        Some("InvalidArgument"),
        "{}",
        r.text()
    );
    assert_eq!(alice.get_object("clash", "a").await.ok().body, b"file a");
    alice.abort_upload("clash", "a/z", &id).await.ok();
    // The assembled temp file went with the failure; the parts with the abort.
    assert_eq!(tree(&temp.path().join(".tmp")), Vec::<String>::new());
    assert_eq!(tree(&temp.path().join(".multipart")), Vec::<String>::new());

    // Listing shows the two objects and nothing else.
    let r = alice.list("clash", &[]).await.ok();
    assert_eq!(support::tags(&r.text(), "Key"), ["a", "d/e"]);
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
