//! Files put in the folder by hand are adopted without hashing: a refused
//! request computes no MD5, and the first allowed read computes it once.
//! (And the `?torrent` route's match, which is the adapter's now.)
//!
//! Hashing is observed through what the store records: if a refused request
//! had computed (and recorded) the MD5, changing the file's bytes behind the
//! server's back while keeping its size and mtime would leave the old MD5 in
//! place, and the owner's HEAD would show it.

use crate::support;

use support::{Server, hex, md5, temp_root};

const BUCKET: &str = "adopt-bucket";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_hash_nothing_and_the_first_read_hashes_once() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let (alice, anonymous) = (server.alice(), server.anonymous());
    alice.create_bucket(BUCKET).await.ok();
    let path = temp.path().join(BUCKET).join("placed.bin");
    let before = b"placed by hand, never uploaded".repeat(100);
    std::fs::write(&path, &before).unwrap();

    // Refused: private to the bucket owner. Every way in, several times.
    for _ in 0..3 {
        anonymous
            .torrent(BUCKET, "placed.bin")
            .await
            .assert_error(403, "AccessDenied");
        anonymous
            .get_object(BUCKET, "placed.bin")
            .await
            .assert_error(403, "AccessDenied");
        // A HEAD error has no body: the status says it.
        let head = server.bob().head_object(BUCKET, "placed.bin").await;
        assert_eq!(head.status, 403);
    }

    // Behind the server's back: other bytes, the same size and mtime.
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut after = before.clone();
    after[0] ^= 0xff;
    std::fs::write(&path, &after).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();

    // The owner's first read computes the MD5 of the bytes as they are now:
    // nothing was hashed (or recorded) before.
    let head = alice.head_object(BUCKET, "placed.bin").await.ok();
    assert_eq!(head.etag().unwrap(), hex(&md5(&after)));
    // Recorded: the GET and the listing agree, and the ?torrent is of the
    // same bytes.
    let get = alice.get_object(BUCKET, "placed.bin").await.ok();
    assert_eq!(get.etag().unwrap(), hex(&md5(&after)));
    assert_eq!(get.body, after);
    let listing = alice.list(BUCKET, &[]).await.ok().text();
    assert!(listing.contains(&hex(&md5(&after))), "{listing}");
    let torrent = alice.torrent(BUCKET, "placed.bin").await.ok();
    let t = s3torrent_metainfo::Torrent::from_bytes(torrent.body).unwrap();
    assert_eq!(t.info().length(), after.len() as u64);
    server.stop().await;
}

/// The route uses the adapter's `is_torrent_request`, which percent-decodes
/// the parameter's name (the route's own copy did not): `?%74orrent` is
/// `?torrent`, and the same torrent as `?torrent` comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encoded_torrent_parameter_is_a_torrent_request() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let body = support::public_object(&server, "route-bucket", 40_000, 7).await;
    let anonymous = server.anonymous();
    let plain = anonymous.get("/route-bucket/public.bin?torrent").await.ok();
    let encoded = anonymous
        .get("/route-bucket/public.bin?%74orrent")
        .await
        .ok();
    assert_eq!(
        encoded.header("content-type").as_deref(),
        Some("application/x-bittorrent")
    );
    assert_eq!(encoded.body, plain.body);
    let t = s3torrent_metainfo::Torrent::from_bytes(encoded.body).unwrap();
    assert_eq!(t.info().length(), body.len() as u64);
    server.stop().await;
}
