//! Canned ACLs decide GetObject, HeadObject and `?torrent` alike: private
//! objects are 403 `AccessDenied` to anonymous requests and to another
//! account, public-read ones are served to anyone (the torrent parsed and
//! checked), and PutObjectAcl changes the answer both ways, the cached
//! torrent included.

use crate::support;

use s3torrent_metainfo::Torrent;
use support::{Server, tag, temp_root};

const BUCKET: &str = "acl-bucket";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_and_public_read_objects() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let (alice, bob, anonymous) = (server.alice(), server.bob(), server.anonymous());
    alice.create_bucket(BUCKET).await.ok();
    let secret = b"private bytes, never to be seen".to_vec();
    let public = b"public bytes for everyone".repeat(1000);
    alice
        .put_object(BUCKET, "private.txt", &[], secret.clone())
        .await
        .ok();
    alice
        .put_object(
            BUCKET,
            "dir/public.txt",
            &[("x-amz-acl", "public-read")],
            public.clone(),
        )
        .await
        .ok();

    // Private: the owner reads it, nobody else, by any of the three.
    assert_eq!(
        alice.get_object(BUCKET, "private.txt").await.ok().body,
        secret
    );
    alice.torrent(BUCKET, "private.txt").await.ok();
    for (who, client) in [("anonymous", &anonymous), ("bob", &bob)] {
        let r = client.get_object(BUCKET, "private.txt").await;
        assert_eq!(
            (who, r.status, r.error_code().as_deref()),
            (who, 403, Some("AccessDenied"))
        );
        let r = client.torrent(BUCKET, "private.txt").await;
        assert_eq!(
            (who, r.status, r.error_code().as_deref()),
            (who, 403, Some("AccessDenied"))
        );
        assert!(!r.text().contains("private bytes"));
        assert_eq!(
            client.head_object(BUCKET, "private.txt").await.status,
            403,
            "{who}"
        );
    }
    // A missing key is not told apart from a private one without READ on
    // the bucket (S3's rule): 403 too.
    assert_eq!(anonymous.get_object(BUCKET, "missing").await.status, 403);

    // Public-read: anyone, and the torrent describes the object.
    for client in [&anonymous, &bob, &alice] {
        assert_eq!(
            client.get_object(BUCKET, "dir/public.txt").await.ok().body,
            public
        );
        let r = client.torrent(BUCKET, "dir/public.txt").await.ok();
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/x-bittorrent")
        );
        let t = Torrent::from_bytes(r.body).expect("a torrent");
        assert_eq!(t.info().name(), "dir_public.txt");
        assert_eq!(t.info().length(), public.len() as u64);
        assert_eq!(t.info().aws_bucket(), Some(BUCKET));
        assert_eq!(t.info().aws_key(), Some("dir/public.txt"));
    }
    // The anonymous request, unsigned as curl sends it.
    let r = anonymous
        .send(
            "GET",
            &format!("/{BUCKET}/dir/public.txt?torrent"),
            &[],
            Default::default(),
        )
        .await
        .ok();
    assert_eq!(
        Torrent::from_bytes(r.body).unwrap().info().length(),
        public.len() as u64
    );

    // Only the owner changes an ACL.
    bob.put_object_acl(BUCKET, "private.txt", "public-read")
        .await
        .assert_error(403, "AccessDenied");
    anonymous
        .put_object_acl(BUCKET, "private.txt", "public-read")
        .await
        .assert_error(403, "AccessDenied");
    bob.put_object(BUCKET, "bobs.txt", &[], "bob was here")
        .await
        .assert_error(403, "AccessDenied");
    assert_eq!(
        anonymous.get_object(BUCKET, "private.txt").await.status,
        403
    );

    // Private becomes public-read, and the reverse.
    alice
        .put_object_acl(BUCKET, "private.txt", "public-read")
        .await
        .ok();
    alice
        .put_object_acl(BUCKET, "dir/public.txt", "private")
        .await
        .ok();
    assert_eq!(
        anonymous.get_object(BUCKET, "private.txt").await.ok().body,
        secret
    );
    let t = Torrent::from_bytes(anonymous.torrent(BUCKET, "private.txt").await.ok().body).unwrap();
    assert_eq!(t.info().length(), secret.len() as u64);
    for client in [&anonymous, &bob] {
        client
            .get_object(BUCKET, "dir/public.txt")
            .await
            .assert_error(403, "AccessDenied");
        // The torrent was served (and cached) before: still refused.
        client
            .torrent(BUCKET, "dir/public.txt")
            .await
            .assert_error(403, "AccessDenied");
    }

    // GetObjectAcl shows the grant to everyone.
    let acl = alice
        .get_object_acl(BUCKET, "private.txt")
        .await
        .ok()
        .text();
    assert!(
        acl.contains("http://acs.amazonaws.com/groups/global/AllUsers"),
        "{acl}"
    );
    assert!(acl.contains("<Permission>READ</Permission>"), "{acl}");
    let acl = alice
        .get_object_acl(BUCKET, "dir/public.txt")
        .await
        .ok()
        .text();
    assert!(!acl.contains("AllUsers"), "{acl}");
    assert!(
        acl.contains("<Permission>FULL_CONTROL</Permission>"),
        "{acl}"
    );
    bob.get_object_acl(BUCKET, "dir/public.txt")
        .await
        .assert_error(403, "AccessDenied");
    // Not a canned ACL.
    let r = alice
        .put_object_acl(BUCKET, "private.txt", "world-writable")
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticated_read_and_the_bucket_owner() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let (alice, bob, anonymous) = (server.alice(), server.bob(), server.anonymous());
    alice.create_bucket(BUCKET).await.ok();
    alice
        .put_object(
            BUCKET,
            "members",
            &[("x-amz-acl", "authenticated-read")],
            "for members",
        )
        .await
        .ok();
    assert_eq!(
        bob.get_object(BUCKET, "members").await.ok().body,
        b"for members"
    );
    bob.torrent(BUCKET, "members").await.ok();
    anonymous
        .get_object(BUCKET, "members")
        .await
        .assert_error(403, "AccessDenied");
    anonymous
        .torrent(BUCKET, "members")
        .await
        .assert_error(403, "AccessDenied");

    // A bucket anyone may write in: Bob's objects are Bob's. Private ones
    // are not the bucket owner's to read; bucket-owner-read ones are.
    let r = alice
        .request(
            "PUT",
            "/open-bucket",
            &[],
            &[("x-amz-acl", "public-read-write")],
            "",
        )
        .await
        .ok();
    assert_eq!(r.status, 200);
    bob.put_object("open-bucket", "bobs", &[], "bob's own")
        .await
        .ok();
    bob.put_object(
        "open-bucket",
        "shared",
        &[("x-amz-acl", "bucket-owner-read")],
        "for alice",
    )
    .await
    .ok();
    assert_eq!(
        bob.get_object("open-bucket", "bobs").await.ok().body,
        b"bob's own"
    );
    alice
        .get_object("open-bucket", "bobs")
        .await
        .assert_error(403, "AccessDenied");
    assert_eq!(
        alice.get_object("open-bucket", "shared").await.ok().body,
        b"for alice"
    );
    let acl = bob.get_object_acl("open-bucket", "bobs").await.ok().text();
    assert_eq!(
        tag(&acl, "DisplayName").as_deref(),
        Some(support::BOB.2),
        "{acl}"
    );
    server.stop().await;
}
