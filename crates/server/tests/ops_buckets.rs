//! DeleteBucket, DeleteObjects, GetBucketLocation, ListBuckets pages,
//! S3's bucket-name rules, anonymous writes into a `public-read-write`
//! bucket, and the error document's RequestId: each answer and each error
//! as S3 gives it.

use crate::support;

use support::{Client, Server, base64, md5, tag, tags, temp_root};

async fn delete_objects(client: &Client, bucket: &str, xml: &str) -> support::Response {
    let digest = base64(&md5(xml.as_bytes()));
    client
        .request(
            "POST",
            &format!("/{bucket}"),
            &[("delete", "")],
            &[
                ("content-md5", &digest),
                ("content-type", "application/xml"),
            ],
            xml.to_owned(),
        )
        .await
}

fn delete_xml(keys: &[&str], quiet: bool) -> String {
    let mut xml = String::from("<Delete>");
    if quiet {
        xml.push_str("<Quiet>true</Quiet>");
    }
    for k in keys {
        xml.push_str(&format!("<Object><Key>{k}</Key></Object>"));
    }
    xml.push_str("</Delete>");
    xml
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_bucket_refuses_until_empty_then_forgets_it() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let (alice, bob) = (server.alice(), server.bob());
    alice.create_bucket("doomed").await.ok();
    alice.put_object("doomed", "k", &[], "v").await.ok();
    let upload = alice.create_upload("doomed", "big", &[]).await;

    let delete = |c: Client| async move {
        c.request("DELETE", "/doomed", &[], &[], bytes::Bytes::new())
            .await
    };
    delete(alice.clone())
        .await
        .assert_error(409, "BucketNotEmpty");
    delete(bob.clone()).await.assert_error(403, "AccessDenied");
    server
        .anonymous()
        .request("DELETE", "/doomed", &[], &[], bytes::Bytes::new())
        .await
        .assert_error(403, "AccessDenied");
    alice.delete_object("doomed", "k").await.ok();
    let r = delete(alice.clone()).await.ok();
    assert_eq!(r.status, 204);
    assert!(!temp.path().join("doomed").exists(), "its folder went");
    // Gone: its upload, its listing, its name (Bob may take it now).
    alice
        .list_parts("doomed", "big", &upload)
        .await
        .assert_error(404, "NoSuchBucket");
    alice
        .list("doomed", &[])
        .await
        .assert_error(404, "NoSuchBucket");
    delete(alice.clone())
        .await
        .assert_error(404, "NoSuchBucket");
    bob.create_bucket("doomed").await.ok();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_objects_quiet_loud_missing_and_refused() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let (alice, bob) = (server.alice(), server.bob());
    alice.create_bucket("multi").await.ok();
    for k in ["a", "b", "c", "d"] {
        alice.put_object("multi", k, &[], k).await.ok();
    }
    let r = delete_objects(&alice, "multi", &delete_xml(&["a", "missing"], false))
        .await
        .ok();
    let text = r.text();
    assert!(text.contains("<DeleteResult"), "{text}");
    let deleted: Vec<String> = tags(&text, "Deleted")
        .iter()
        .map(|d| tag(d, "Key").unwrap())
        .collect();
    assert_eq!(deleted, ["a", "missing"], "{text}");
    assert!(tags(&text, "Error").is_empty(), "{text}");

    let r = delete_objects(&alice, "multi", &delete_xml(&["b", "c"], true))
        .await
        .ok();
    assert!(
        tags(&r.text(), "Deleted").is_empty() && tags(&r.text(), "Error").is_empty(),
        "{}",
        r.text()
    );

    // Bob may not write here: every key is an error, quiet or not.
    let r = delete_objects(&bob, "multi", &delete_xml(&["d"], true)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let errors = tags(&r.text(), "Error");
    assert_eq!(errors.len(), 1, "{}", r.text());
    assert_eq!(tag(&errors[0], "Key").as_deref(), Some("d"));
    assert_eq!(tag(&errors[0], "Code").as_deref(), Some("AccessDenied"));

    let listed = alice.list("multi", &[]).await.ok();
    assert_eq!(tags(&listed.text(), "Key"), ["d"]);

    // 1001 keys is MalformedXML, as is none.
    let many: Vec<String> = (0..1001).map(|i| format!("k{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    delete_objects(&alice, "multi", &delete_xml(&many, true))
        .await
        .assert_error(400, "MalformedXML");
    delete_objects(&alice, "nobucket", &delete_xml(&["a"], false))
        .await
        .assert_error(404, "NoSuchBucket");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_location_is_what_create_bucket_asked_for() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    let create = |bucket: &str, region: &str| {
        let body = format!(
            "<CreateBucketConfiguration><LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
        );
        let alice = alice.clone();
        let path = format!("/{bucket}");
        async move { alice.request("PUT", &path, &[], &[], body).await }
    };
    create("in-eu", "eu-west-1").await.ok();
    alice.create_bucket("plain").await.ok();
    let location = |bucket: &str| {
        let alice = alice.clone();
        let path = format!("/{bucket}");
        async move {
            alice
                .request("GET", &path, &[("location", "")], &[], bytes::Bytes::new())
                .await
        }
    };
    let ns = r#"<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#;
    let r = location("in-eu").await.ok();
    assert!(
        r.text()
            .ends_with(&format!("{ns}eu-west-1</LocationConstraint>")),
        "{}",
        r.text()
    );
    // us-east-1 (or none) is an empty LocationConstraint, as S3 answers.
    let r = location("plain").await.ok();
    assert!(
        r.text().ends_with(&format!("{ns}</LocationConstraint>")),
        "{}",
        r.text()
    );
    location("missing").await.assert_error(404, "NoSuchBucket");
    server
        .bob()
        .request(
            "GET",
            "/in-eu",
            &[("location", "")],
            &[],
            bytes::Bytes::new(),
        )
        .await
        .assert_error(403, "AccessDenied");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_buckets_pages_with_max_buckets_and_continuation_tokens() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    let names = ["b-one", "b-two", "c-three", "d-four", "e-five"];
    for n in names {
        alice.create_bucket(n).await.ok();
    }
    server.bob().create_bucket("bobs").await.ok();
    let mut pages: Vec<Vec<String>> = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let mut query = vec![("max-buckets", "2")];
        if let Some(t) = &token {
            query.push(("continuation-token", t.as_str()));
        }
        let r = alice
            .request("GET", "/", &query, &[], bytes::Bytes::new())
            .await
            .ok();
        pages.push(tags(&r.text(), "Name"));
        token = tag(&r.text(), "ContinuationToken");
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        pages,
        [
            vec!["b-one", "b-two"],
            vec!["c-three", "d-four"],
            vec!["e-five"]
        ]
    );
    let r = alice
        .request("GET", "/", &[("prefix", "c")], &[], bytes::Bytes::new())
        .await
        .ok();
    assert_eq!(tags(&r.text(), "Name"), ["c-three"]);
    for bad in ["0", "10001", "-1"] {
        alice
            .request(
                "GET",
                "/",
                &[("max-buckets", bad)],
                &[],
                bytes::Bytes::new(),
            )
            .await
            .assert_error(400, "InvalidArgument");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_names_follow_s3s_rules() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    for bad in [
        "a.-b",
        "a-.b",
        "a..b",
        "192.168.1.2",
        "xn--abc",
        "sthree-abc",
        "abc-s3alias",
        "abc--ol-s3",
        "-abc",
        "abc-",
        "ab",
    ] {
        let r = alice.create_bucket(bad).await;
        assert_eq!(
            (r.status, r.error_code().as_deref()),
            (400, Some("InvalidBucketName")),
            "{bad}: {}",
            r.text()
        );
        assert!(!temp.path().join(bad).exists(), "{bad}");
    }
    for good in ["a.b-c", "abc", "a1-2.3b", "192.168.1.2a"] {
        alice.create_bucket(good).await.ok();
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_writes_need_a_public_read_write_bucket() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    let anonymous = server.anonymous();
    alice
        .request(
            "PUT",
            "/open",
            &[],
            &[("x-amz-acl", "public-read-write")],
            bytes::Bytes::new(),
        )
        .await
        .ok();
    alice.create_bucket("closed").await.ok();
    anonymous
        .put_object("open", "dropped", &[], "by anyone")
        .await
        .ok();
    anonymous
        .put_object("closed", "dropped", &[], "by anyone")
        .await
        .assert_error(403, "AccessDenied");
    // Multipart uploads too.
    let upload = anonymous.create_upload("open", "parts", &[]).await;
    let part = anonymous
        .upload_part("open", "parts", &upload, 1, &[], "one part")
        .await
        .ok();
    anonymous
        .complete_upload("open", "parts", &upload, &[(1, &part.etag().unwrap())])
        .await
        .ok();
    assert_eq!(
        alice.get_object("open", "parts").await.ok().body,
        b"one part"
    );
    anonymous
        .request(
            "POST",
            "/closed/parts",
            &[("uploads", "")],
            &[],
            bytes::Bytes::new(),
        )
        .await
        .assert_error(403, "AccessDenied");
    // The bucket owner owns what anonymous writers write.
    let r = alice.get_object("open", "dropped").await.ok();
    assert_eq!(r.body, b"by anyone");
    let acl = alice.get_object_acl("open", "dropped").await.ok();
    assert_eq!(
        tag(&acl.text(), "DisplayName").as_deref(),
        Some(support::ALICE.2)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_error_documents_request_id_is_the_headers() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    for r in [
        alice.get_object("missing-bucket", "k").await,
        alice
            .request("DELETE", "/missing-bucket", &[], &[], bytes::Bytes::new())
            .await,
        alice.create_bucket("a.-b").await,
    ] {
        assert!(r.error_code().is_some(), "{}", r.text());
        let header = r.header("x-amz-request-id").expect("x-amz-request-id");
        assert_eq!(tag(&r.text(), "RequestId"), Some(header), "{}", r.text());
    }
    server.stop().await;
}
