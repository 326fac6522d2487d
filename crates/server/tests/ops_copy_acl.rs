//! CopyObject (metadata directive, the new object's ACL, the four
//! conditional headers, copying onto itself), UploadPartCopy with ranges,
//! and ACLs with grants: `x-amz-grant-*` headers and `AccessControlPolicy`
//! bodies on buckets and objects, what Get*Acl answers, and the access
//! decisions (GET, `?torrent`, listing, writing, ACL reads) that follow
//! from the grants, also after a restart.

use crate::support;

use bytes::Bytes;
use support::{ALICE, BOB, Client, Server, key_path, pseudo_random, tag, tags, temp_root};

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

async fn copy(
    client: &Client,
    to: (&str, &str),
    from: &str,
    headers: &[(&str, &str)],
) -> support::Response {
    let mut all = vec![("x-amz-copy-source", from)];
    all.extend_from_slice(headers);
    client
        .request("PUT", &key_path(to.0, to.1), &[], &all, Bytes::new())
        .await
}

/// The canonical ID of a user, as ListBuckets names its owner.
async fn canonical_id(client: &Client) -> String {
    let r = client.get("/").await.ok();
    tag(&tag(&r.text(), "Owner").expect("Owner"), "ID").expect("ID")
}

/// (grantee ID or URI, display name, permission) of each grant.
fn grants(text: &str) -> Vec<(String, Option<String>, String)> {
    let mut out: Vec<_> = tags(text, "Grant")
        .iter()
        .map(|g| {
            (
                tag(g, "ID").or_else(|| tag(g, "URI")).expect("ID or URI"),
                tag(g, "DisplayName"),
                tag(g, "Permission").expect("Permission"),
            )
        })
        .collect();
    out.sort();
    out
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_object_as_s3_copies() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let (alice, bob) = (server.alice(), server.bob());
    alice.create_bucket("src").await.ok();
    alice.create_bucket("dst").await.ok();
    let body = pseudo_random(100_000, 7);
    let put = alice
        .put_object(
            "src",
            "a key",
            &[("content-type", "image/png")],
            body.clone(),
        )
        .await
        .ok();
    let etag = put.etag().unwrap();

    // COPY (the default) keeps the content type; the copy is private.
    let r = copy(&alice, ("dst", "copy"), "/src/a%20key", &[])
        .await
        .ok();
    let text = r.text();
    assert!(text.contains("<CopyObjectResult"), "{text}");
    assert_eq!(
        tag(&text, "ETag").map(|e| e.trim_matches('"').to_owned()),
        Some(etag.clone())
    );
    assert!(tag(&text, "LastModified").is_some());
    let got = alice.get_object("dst", "copy").await.ok();
    assert_eq!(got.body, body);
    assert_eq!(got.header("content-type").as_deref(), Some("image/png"));
    assert_eq!(got.etag(), Some(etag.clone()));
    server
        .anonymous()
        .get_object("dst", "copy")
        .await
        .assert_error(403, "AccessDenied");

    // REPLACE takes the request's; the copy's ACL is the request's too.
    copy(
        &alice,
        ("dst", "public"),
        "/src/a%20key",
        &[
            ("x-amz-metadata-directive", "REPLACE"),
            ("content-type", "text/plain"),
            ("x-amz-acl", "public-read"),
        ],
    )
    .await
    .ok();
    let got = server.anonymous().get_object("dst", "public").await.ok();
    assert_eq!(got.header("content-type").as_deref(), Some("text/plain"));

    // Onto itself only with REPLACE.
    copy(&alice, ("src", "a key"), "/src/a%20key", &[])
        .await
        .assert_error(400, "InvalidRequest");
    copy(
        &alice,
        ("src", "a key"),
        "/src/a%20key",
        &[
            ("x-amz-metadata-directive", "REPLACE"),
            ("content-type", "x/y"),
        ],
    )
    .await
    .ok();
    let head = alice.head_object("src", "a key").await.ok();
    assert_eq!(head.header("content-type").as_deref(), Some("x/y"));
    assert_eq!(head.etag(), Some(etag.clone()));
    copy(
        &alice,
        ("dst", "x"),
        "/src/a%20key",
        &[("x-amz-metadata-directive", "MOVE")],
    )
    .await
    .assert_error(400, "InvalidArgument");

    // The conditions: each failing one is 412, and S3's pairings hold.
    let quoted = format!("\"{etag}\"");
    let past = "Mon, 01 Jan 2001 00:00:00 GMT";
    let future = "Fri, 01 Jan 2100 00:00:00 GMT";
    let fails: [&[(&str, &str)]; 4] = [
        &[("x-amz-copy-source-if-match", "\"0123\"")],
        &[("x-amz-copy-source-if-none-match", &quoted)],
        &[("x-amz-copy-source-if-modified-since", future)],
        &[("x-amz-copy-source-if-unmodified-since", past)],
    ];
    for headers in fails {
        copy(&alice, ("dst", "cond"), "/src/a%20key", headers)
            .await
            .assert_error(412, "PreconditionFailed");
    }
    let passes: [&[(&str, &str)]; 4] = [
        &[("x-amz-copy-source-if-match", &quoted)],
        &[("x-amz-copy-source-if-none-match", "\"0123\"")],
        // if-match true wins over a failing if-unmodified-since.
        &[
            ("x-amz-copy-source-if-match", &quoted),
            ("x-amz-copy-source-if-unmodified-since", past),
        ],
        &[("x-amz-copy-source-if-modified-since", past)],
    ];
    for headers in passes {
        copy(&alice, ("dst", "cond"), "/src/a%20key", headers)
            .await
            .ok();
    }
    // if-none-match false fails whatever if-modified-since says.
    copy(
        &alice,
        ("dst", "cond"),
        "/src/a%20key",
        &[
            ("x-amz-copy-source-if-none-match", &quoted),
            ("x-amz-copy-source-if-modified-since", past),
        ],
    )
    .await
    .assert_error(412, "PreconditionFailed");

    // The source must be readable and the target writable by the requester.
    copy(&alice, ("dst", "x"), "/src/missing", &[])
        .await
        .assert_error(404, "NoSuchKey");
    copy(&alice, ("dst", "x"), "/nosuchbucket/k", &[])
        .await
        .assert_error(404, "NoSuchBucket");
    bob.create_bucket("bobs").await.ok();
    copy(&bob, ("bobs", "x"), "/src/a%20key", &[])
        .await
        .assert_error(403, "AccessDenied");
    copy(&bob, ("dst", "x"), "/bobs/x", &[])
        .await
        .assert_error(403, "AccessDenied");
    alice
        .put_object_acl("src", "a key", "public-read")
        .await
        .ok();
    copy(&bob, ("bobs", "x"), "/src/a%20key", &[]).await.ok();
    // Bob owns his copy.
    let acl = bob.get_object_acl("bobs", "x").await.ok();
    let owner = tag(&acl.text(), "Owner").unwrap();
    assert_eq!(tag(&owner, "DisplayName").as_deref(), Some(BOB.2));
    copy(&alice, ("dst", "x"), "/src/a%20key?versionId=v7", &[])
        .await
        .assert_error(404, "NoSuchVersion");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_part_copy_copies_ranges() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("parts").await.ok();
    let source = pseudo_random(6 * 1024 * 1024, 3);
    alice
        .put_object("parts", "source", &[], source.clone())
        .await
        .ok();
    let upload = alice.create_upload("parts", "joined", &[]).await;
    let part = |n: &str, range: Option<&str>| {
        let alice = alice.clone();
        let (n, range, upload) = (n.to_owned(), range.map(str::to_owned), upload.clone());
        async move {
            let mut headers = vec![("x-amz-copy-source", "/parts/source".to_owned())];
            if let Some(r) = range {
                headers.push(("x-amz-copy-source-range", r));
            }
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            alice
                .request(
                    "PUT",
                    "/parts/joined",
                    &[("partNumber", &n), ("uploadId", &upload)],
                    &headers,
                    Bytes::new(),
                )
                .await
        }
    };
    let split = 5 * 1024 * 1024;
    let first = part("1", Some(&format!("bytes=0-{}", split - 1)))
        .await
        .ok();
    let second = part("2", Some(&format!("bytes={split}-{}", source.len() - 1)))
        .await
        .ok();
    assert!(first.text().contains("<CopyPartResult"), "{}", first.text());
    let e1 = tag(&first.text(), "ETag")
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let e2 = tag(&second.text(), "ETag")
        .unwrap()
        .trim_matches('"')
        .to_owned();
    assert_eq!(e1, support::hex(&support::md5(&source[..split])));
    for bad in ["bytes=5-1", "bytes=0-", "0-10"] {
        part("3", Some(bad))
            .await
            .assert_error(400, "InvalidArgument");
    }
    part("3", Some("bytes=0-6291456"))
        .await
        .assert_error(416, "InvalidRange");
    alice
        .complete_upload("parts", "joined", &upload, &[(1, &e1), (2, &e2)])
        .await
        .ok();
    let got = alice.get_object("parts", "joined").await.ok();
    assert!(got.body == source, "the parts join to the source");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_decide_who_reads_writes_and_sees_acls() {
    let temp = temp_root();
    let root = temp.path().to_owned();
    let server = Server::start(&root).await;
    let (alice, bob) = (server.alice(), server.bob());
    let (alice_id, bob_id) = (canonical_id(&alice).await, canonical_id(&bob).await);
    alice.create_bucket("granted").await.ok();
    alice
        .put_object("granted", "doc", &[], "the document")
        .await
        .ok();

    // An object grant by header: Bob may read it (and its torrent); the
    // anonymous requester may not.
    let grant = format!("id=\"{bob_id}\"");
    alice
        .request(
            "PUT",
            &key_path("granted", "doc"),
            &[("acl", "")],
            &[
                ("x-amz-grant-read", &grant),
                ("x-amz-grant-full-control", &format!("id={alice_id}")),
            ],
            Bytes::new(),
        )
        .await
        .ok();
    assert_eq!(
        bob.get_object("granted", "doc").await.ok().body,
        b"the document"
    );
    assert_eq!(bob.torrent("granted", "doc").await.status, 200);
    server
        .anonymous()
        .get_object("granted", "doc")
        .await
        .assert_error(403, "AccessDenied");
    // READ is not READ_ACP.
    bob.get_object_acl("granted", "doc")
        .await
        .assert_error(403, "AccessDenied");
    let acl = alice.get_object_acl("granted", "doc").await.ok();
    assert_eq!(
        grants(&acl.text()),
        sorted(vec![
            (
                alice_id.clone(),
                Some(ALICE.2.to_owned()),
                "FULL_CONTROL".to_owned()
            ),
            (bob_id.clone(), Some(BOB.2.to_owned()), "READ".to_owned()),
        ])
    );

    // An object grant by body: AuthenticatedUsers READ_ACP and WRITE_ACP.
    let policy = format!(
        "<AccessControlPolicy><Owner><ID>{alice_id}</ID></Owner><AccessControlList>\
         <Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\"><URI>{AUTHENTICATED}</URI></Grantee><Permission>READ_ACP</Permission></Grant>\
         <Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\"><URI>{AUTHENTICATED}</URI></Grantee><Permission>WRITE_ACP</Permission></Grant>\
         <Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\"><URI>{ALL_USERS}</URI></Grantee><Permission>READ</Permission></Grant>\
         </AccessControlList></AccessControlPolicy>"
    );
    let put_policy = |client: Client, path: String, policy: String| async move {
        client
            .request(
                "PUT",
                &path,
                &[("acl", "")],
                &[("content-type", "application/xml")],
                policy,
            )
            .await
    };
    put_policy(alice.clone(), key_path("granted", "doc"), policy.clone())
        .await
        .ok();
    let seen = bob.get_object_acl("granted", "doc").await.ok();
    assert_eq!(grants(&seen.text()).len(), 3, "{}", seen.text());
    assert_eq!(
        server
            .anonymous()
            .get_object("granted", "doc")
            .await
            .ok()
            .body,
        b"the document"
    );
    server
        .anonymous()
        .get_object_acl("granted", "doc")
        .await
        .assert_error(403, "AccessDenied");
    // WRITE_ACP lets Bob set the ACL (owner stays Alice's).
    bob.put_object_acl("granted", "doc", "private").await.ok();
    server
        .anonymous()
        .get_object("granted", "doc")
        .await
        .assert_error(403, "AccessDenied");
    let acl = alice.get_object_acl("granted", "doc").await.ok();
    assert_eq!(
        tag(&tag(&acl.text(), "Owner").unwrap(), "ID").as_deref(),
        Some(alice_id.as_str())
    );

    // Bad ACLs.
    let other_owner = policy.replace(
        &format!("<ID>{alice_id}</ID>"),
        &format!("<ID>{bob_id}</ID>"),
    );
    put_policy(alice.clone(), key_path("granted", "doc"), other_owner)
        .await
        .assert_error(403, "AccessDenied");
    let bad_permission = policy.replace("READ_ACP", "READ_EVERYTHING");
    put_policy(alice.clone(), key_path("granted", "doc"), bad_permission)
        .await
        .assert_error(400, "MalformedACLError");
    let bad_group = policy.replace(ALL_USERS, "http://acs.amazonaws.com/groups/global/Nobody");
    put_policy(alice.clone(), key_path("granted", "doc"), bad_group)
        .await
        .assert_error(400, "InvalidArgument");
    for (headers, status, code) in [
        (
            vec![("x-amz-grant-read", "id=\"0000\"")],
            400,
            "InvalidArgument",
        ),
        (
            vec![("x-amz-grant-read", "emailAddress=\"a@example.com\"")],
            400,
            "UnresolvableGrantByEmailAddress",
        ),
        (
            vec![("x-amz-grant-read", "nonsense")],
            400,
            "InvalidArgument",
        ),
        (
            vec![("x-amz-acl", "private"), ("x-amz-grant-read", &grant)],
            400,
            "InvalidRequest",
        ),
    ] {
        alice
            .request(
                "PUT",
                &key_path("granted", "doc"),
                &[("acl", "")],
                &headers,
                Bytes::new(),
            )
            .await
            .assert_error(status, code);
    }

    // A bucket grant by body: Bob may list; by header: Bob may write.
    let bucket_policy = format!(
        "<AccessControlPolicy><Owner><ID>{alice_id}</ID></Owner><AccessControlList>\
         <Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\"><ID>{bob_id}</ID></Grantee><Permission>READ</Permission></Grant>\
         </AccessControlList></AccessControlPolicy>"
    );
    bob.list("granted", &[])
        .await
        .assert_error(403, "AccessDenied");
    put_policy(alice.clone(), "/granted".into(), bucket_policy)
        .await
        .ok();
    assert_eq!(
        tags(&bob.list("granted", &[]).await.ok().text(), "Key"),
        ["doc"]
    );
    bob.put_object("granted", "bobs", &[], "x")
        .await
        .assert_error(403, "AccessDenied");
    bob.request("GET", "/granted", &[("acl", "")], &[], Bytes::new())
        .await
        .assert_error(403, "AccessDenied");
    alice
        .request(
            "PUT",
            "/granted",
            &[("acl", "")],
            &[
                ("x-amz-grant-write", &grant),
                ("x-amz-grant-read-acp", &format!("uri={AUTHENTICATED}")),
            ],
            Bytes::new(),
        )
        .await
        .ok();
    bob.put_object("granted", "bobs", &[], "x").await.ok();
    bob.list("granted", &[])
        .await
        .assert_error(403, "AccessDenied");
    let bucket_acl = bob
        .request("GET", "/granted", &[("acl", "")], &[], Bytes::new())
        .await
        .ok();
    assert_eq!(
        grants(&bucket_acl.text()),
        sorted(vec![
            (AUTHENTICATED.to_owned(), None, "READ_ACP".to_owned()),
            (bob_id.clone(), Some(BOB.2.to_owned()), "WRITE".to_owned()),
        ])
    );

    // Grants at creation: PutObject, CreateBucket and CreateMultipartUpload
    // take the x-amz-grant-* headers too.
    alice
        .put_object("granted", "at-put", &[("x-amz-grant-read", &grant)], "put")
        .await
        .ok();
    assert_eq!(bob.get_object("granted", "at-put").await.ok().body, b"put");
    alice
        .request(
            "PUT",
            "/listed-by-bob",
            &[],
            &[("x-amz-grant-read", &grant)],
            Bytes::new(),
        )
        .await
        .ok();
    alice.put_object("listed-by-bob", "k", &[], "v").await.ok();
    assert_eq!(
        tags(&bob.list("listed-by-bob", &[]).await.ok().text(), "Key"),
        ["k"]
    );
    let upload = alice
        .create_upload("granted", "at-mpu", &[("x-amz-grant-read", &grant)])
        .await;
    let part = alice
        .upload_part("granted", "at-mpu", &upload, 1, &[], "mpu")
        .await
        .ok();
    alice
        .complete_upload("granted", "at-mpu", &upload, &[(1, &part.etag().unwrap())])
        .await
        .ok();
    assert_eq!(bob.get_object("granted", "at-mpu").await.ok().body, b"mpu");
    alice
        .put_object(
            "granted",
            "both",
            &[("x-amz-grant-read", &grant), ("x-amz-acl", "public-read")],
            "x",
        )
        .await
        .assert_error(400, "InvalidRequest");

    // Grants survive a restart as they were written.
    let addr = server.addr;
    server.stop().await;
    let server = Server::start_on(&root, addr).await;
    let again = server
        .bob()
        .request("GET", "/granted", &[("acl", "")], &[], Bytes::new())
        .await
        .ok();
    assert_eq!(grants(&again.text()), grants(&bucket_acl.text()));
    server
        .bob()
        .put_object("granted", "bobs2", &[], "x")
        .await
        .ok();
    server.stop().await;
}
