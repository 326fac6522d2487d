//! `Content-MD5` on PutObject and UploadPart: a header that is not the
//! base64 of 16 bytes is `InvalidDigest` 400, answered before the body is
//! read; a body whose MD5 differs is `BadDigest` 400; neither stores
//! anything (no object, no part, no temp file, the old object unchanged).
//! The digests are computed here with the md-5 crate and a base64 encoder
//! of the test's own, checked against a known vector.

use crate::support;

use support::{Server, base64, hex, key_path, md5, tag, tags, temp_root, tree};

/// Headers that are not the base64 of 16 bytes.
const MALFORMED: &[&str] = &[
    "not base64 at all",
    "AAAA",
    // 15 bytes.
    "AAAAAAAAAAAAAAAAAAAA",
    // 17 bytes.
    "AAAAAAAAAAAAAAAAAAAAAAA=",
    // The MD5 of "" without its padding.
    "1B2M2Y8AsgTpgAmY7PhCfg",
    // Its last digit with bits beyond the 128th set.
    "1B2M2Y8AsgTpgAmY7PhCfh==",
    // URL-safe base64's alphabet (`-`, `_`) is not base64's.
    "-B2M2Y8AsgTpgAmY7PhCf_==",
    // The hex MD5 of "".
    "d41d8cd98f00b204e9800998ecf8427e",
    // A character outside either alphabet.
    "1B2M2Y8AsgTpgAmY7PhC*g==",
    // (An empty header is not here: s3s drops empty headers, so the
    // server sees none and checks nothing.)
];

#[test]
fn the_tests_base64_is_base64() {
    assert_eq!(base64(&md5(b"")), "1B2M2Y8AsgTpgAmY7PhCfg==");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_object_checks_content_md5() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("digests").await.ok();
    alice
        .put_object("digests", "kept", &[], "the first version")
        .await
        .ok();
    let before = tree(temp.path());
    let body = b"the second version".to_vec();

    for header in MALFORMED {
        // Declared, never sent: the answer must come first.
        let r = alice
            .send_head_only(
                "PUT",
                &key_path("digests", "kept"),
                &[],
                &[("content-md5", header)],
                1 << 30,
            )
            .await;
        r.assert_error(400, "InvalidDigest");
        // Sent whole, the same.
        let r = alice
            .put_object("digests", "new", &[("content-md5", header)], body.clone())
            .await;
        r.assert_error(400, "InvalidDigest");
    }
    // A valid digest of other bytes.
    let other = base64(&md5(b"the second versioN"));
    for key in ["kept", "new"] {
        alice
            .put_object("digests", key, &[("content-md5", &other)], body.clone())
            .await
            .assert_error(400, "BadDigest");
    }
    assert_eq!(tree(temp.path()), before, "a refused upload left something");
    assert_eq!(
        alice.get_object("digests", "kept").await.ok().body,
        b"the first version"
    );
    alice
        .get_object("digests", "new")
        .await
        .assert_error(404, "NoSuchKey");

    // The right digest: stored, and the ETag is the hex MD5.
    let right = base64(&md5(&body));
    let r = alice
        .put_object("digests", "new", &[("content-md5", &right)], body.clone())
        .await
        .ok();
    assert_eq!(r.etag().unwrap(), hex(&md5(&body)));
    assert_eq!(alice.get_object("digests", "new").await.ok().body, body);
    // An empty body with the MD5 of nothing.
    alice
        .put_object(
            "digests",
            "empty",
            &[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")],
            "",
        )
        .await
        .ok();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_part_checks_content_md5() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("digests").await.ok();
    let id = alice.create_upload("digests", "big", &[]).await;
    let part = b"a part of the object".to_vec();
    let first = alice
        .upload_part("digests", "big", &id, 1, &[], part.clone())
        .await
        .ok()
        .etag()
        .unwrap();
    assert_eq!(first, hex(&md5(&part)));
    let before = tree(temp.path());
    let (n, path) = ("2".to_owned(), key_path("digests", "big"));

    for header in MALFORMED {
        let r = alice
            .send_head_only(
                "PUT",
                &path,
                &[("partNumber", &n), ("uploadId", &id)],
                &[("content-md5", header)],
                1 << 30,
            )
            .await;
        r.assert_error(400, "InvalidDigest");
        // Replacing part 1 with a refused body keeps the old part.
        alice
            .upload_part(
                "digests",
                "big",
                &id,
                1,
                &[("content-md5", header)],
                "replacement",
            )
            .await
            .assert_error(400, "InvalidDigest");
    }
    let other = base64(&md5(b"something else"));
    for number in [1, 2] {
        alice
            .upload_part(
                "digests",
                "big",
                &id,
                number,
                &[("content-md5", &other)],
                "replacement",
            )
            .await
            .assert_error(400, "BadDigest");
    }
    assert_eq!(tree(temp.path()), before, "a refused part left something");
    let listed = alice.list_parts("digests", "big", &id).await.ok().text();
    assert_eq!(tags(&listed, "PartNumber"), ["1"], "{listed}");
    assert_eq!(
        tag(&listed, "ETag").map(|e| e.trim_matches('"').to_owned()),
        Some(first.clone())
    );

    // The right digest: part 2 is taken.
    let second = b"the last part".to_vec();
    let r = alice
        .upload_part(
            "digests",
            "big",
            &id,
            2,
            &[("content-md5", &base64(&md5(&second)))],
            second.clone(),
        )
        .await
        .ok();
    assert_eq!(r.etag().unwrap(), hex(&md5(&second)));
    let listed = alice.list_parts("digests", "big", &id).await.ok().text();
    assert_eq!(tags(&listed, "PartNumber"), ["1", "2"]);
    server.stop().await;
}
