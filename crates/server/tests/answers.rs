//! S3's and HTTP's answers that s3s does not give by itself: ignored
//! malformed ranges, the week-long limit of presigned URLs, request IDs,
//! and `EntityTooLarge` before the body.

use crate::support;

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use support::{Response, Server, key_path, tag, temp_root};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_ranges_are_ignored_unsatisfiable_ones_are_416() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let body = support::public_object(&server, "answers", 100, 3).await;
    let path = key_path("answers", "public.bin");
    let alice = server.alice();

    for range in ["bytes=abc", "bytes=5-2", "items=0-1", "bytes=0-1,3-4"] {
        // Anonymous, and signed by Alice without the range in the
        // signature.
        let anonymous = server
            .anonymous()
            .send("GET", &path, &[("range", range)], Bytes::new())
            .await;
        let signed = alice
            .send(
                "GET",
                &alice.presign_raw("GET", &path, &[], &[]),
                &[("range", range)],
                Bytes::new(),
            )
            .await;
        // Signed by Alice with the range in the signature (as boto3 does).
        let covered = alice
            .request("GET", &path, &[], &[("range", range)], Bytes::new())
            .await;
        for r in [anonymous, signed, covered] {
            assert_eq!(r.status, 200, "Range: {range}: {}", r.text());
            assert_eq!(r.body, body, "Range: {range}");
            assert_eq!(r.header("content-range"), None, "Range: {range}");
        }
    }
    // A valid range still works, and one past the end is 416.
    let r = server
        .anonymous()
        .send("GET", &path, &[("range", "bytes=2-5")], Bytes::new())
        .await;
    assert_eq!((r.status, &r.body[..]), (206, &body[2..6]));
    let r = alice
        .request("GET", &path, &[], &[("range", "bytes=2-5")], Bytes::new())
        .await;
    assert_eq!((r.status, &r.body[..]), (206, &body[2..6]));
    // A private object: the signer's rights still apply, and HEAD too.
    alice
        .put_object("answers", "private.bin", &[], body.clone())
        .await
        .ok();
    let private = key_path("answers", "private.bin");
    let r = alice
        .request(
            "GET",
            &private,
            &[],
            &[("range", "bytes=5-2")],
            Bytes::new(),
        )
        .await;
    assert_eq!((r.status, &r.body[..]), (200, &body[..]), "{}", r.text());
    let r = alice
        .request(
            "HEAD",
            &private,
            &[],
            &[("range", "bytes=5-2")],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length").as_deref(), Some("100"));
    server
        .bob()
        .request(
            "GET",
            &private,
            &[],
            &[("range", "bytes=5-2")],
            Bytes::new(),
        )
        .await
        .assert_error(403, "AccessDenied");
    server
        .anonymous()
        .send("GET", &path, &[("range", "bytes=99999-")], Bytes::new())
        .await
        .assert_error(416, "InvalidRange");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_urls_live_a_week_at_most() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    support::public_object(&server, "answers", 100, 3).await;
    let path = key_path("answers", "public.bin");
    let alice = server.alice();

    let week = alice.presign_expiring("GET", &path, &[], &[], 604_800);
    alice.send("GET", &week, &[], Bytes::new()).await.ok();
    let longer = alice.presign_expiring("GET", &path, &[], &[], 604_801);
    alice
        .send("GET", &longer, &[], Bytes::new())
        .await
        .assert_error(400, "AuthorizationQueryParametersError");
    let far = alice.presign_expiring("GET", &path, &[], &[], 999_999_999);
    alice
        .send("GET", &far, &[], Bytes::new())
        .await
        .assert_error(400, "AuthorizationQueryParametersError");
    server.stop().await;
}

/// The request ID of an error answer, checked to be the same in the
/// header and the XML, with an `x-amz-id-2` that is the XML's `<HostId>`.
#[track_caller]
fn request_id_of(r: &Response) -> String {
    let header = r.header("x-amz-request-id").expect("x-amz-request-id");
    let xml = tag(&r.text(), "RequestId").expect("<RequestId>");
    assert_eq!(header, xml, "header and XML: {}", r.text());
    let host = r.header("x-amz-id-2").expect("x-amz-id-2");
    assert!(!host.is_empty(), "x-amz-id-2");
    assert_eq!(
        tag(&r.text(), "HostId").as_deref(),
        Some(host.as_str()),
        "x-amz-id-2 and <HostId>: {}",
        r.text()
    );
    assert_eq!(header.len(), 16, "{header}");
    header
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_unique_across_restarts_and_match_the_xml() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let addr = server.addr;
    let mut seen = HashSet::new();

    let torrent = server.anonymous().torrent("nowhere", "missing").await;
    torrent.assert_error(404, "NoSuchBucket");
    let first = request_id_of(&torrent);
    assert!(seen.insert(first.clone()));
    // An error from s3s's side (an unsigned GET of a missing bucket).
    let get = server.anonymous().get_object("nowhere", "missing").await;
    assert!(get.status >= 400, "{}", get.text());
    assert!(seen.insert(request_id_of(&get)));
    // A success carries an ID too.
    let ok = server.anonymous().get("/").await;
    assert!(seen.insert(ok.header("x-amz-request-id").expect("request id")));
    server.stop().await;

    let server = Server::start_on(temp.path(), addr).await;
    let again = server.anonymous().torrent("nowhere", "missing").await;
    again.assert_error(404, "NoSuchBucket");
    let after = request_id_of(&again);
    assert_ne!(first, after, "the same ID after a restart");
    assert!(seen.insert(after), "an ID seen before the restart");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_above_5_gib_are_refused_before_100_continue() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("answers").await.ok();
    let upload = alice.create_upload("answers", "big", &[]).await;
    let too_large = 5 * 1024 * 1024 * 1024 + 1;

    let cases: [(&str, Vec<(&str, &str)>); 2] = [
        ("PutObject", vec![]),
        (
            "UploadPart",
            vec![("partNumber", "1"), ("uploadId", upload.as_str())],
        ),
    ];
    for (what, query) in cases {
        let r = tokio::time::timeout(
            Duration::from_secs(2),
            alice.send_head_only(
                "PUT",
                &key_path("answers", "big"),
                &query,
                &[("expect", "100-continue")],
                too_large,
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within 2 s"));
        // The first answer is the error: no `100 Continue` before it.
        r.assert_error(400, "EntityTooLarge");
    }
    server.stop().await;
}
