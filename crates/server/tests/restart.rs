//! What survives a restart on the same root: buckets and their owners,
//! objects with their bytes, ETags, content types and ACLs, an upload in
//! progress with its parts (completed after the restart), and the cached
//! torrents, byte for byte, proved served from the cache.

use crate::support;

use s3torrent_metainfo::Torrent;
use support::{Server, hex, md5, pseudo_random, tag, tags, temp_root, tree};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_everything() {
    let temp = temp_root();
    let root = temp.path();
    let server = Server::start(root).await;
    let addr = server.addr;
    let (alice, bob) = (server.alice(), server.bob());
    alice.create_bucket("persist-a").await.ok();
    bob.create_bucket("persist-b").await.ok();
    let photo = pseudo_random(300_000, 1);
    let notes = b"plain notes".to_vec();
    let bobs = b"bob's data".to_vec();
    let r = alice
        .put_object(
            "persist-a",
            "photos/p.jpg",
            &[("content-type", "image/jpeg"), ("x-amz-acl", "public-read")],
            photo.clone(),
        )
        .await
        .ok();
    assert_eq!(r.etag().unwrap(), hex(&md5(&photo)));
    alice
        .put_object(
            "persist-a",
            "notes.txt",
            &[("content-type", "text/plain; charset=utf-8")],
            notes.clone(),
        )
        .await
        .ok();
    bob.put_object(
        "persist-b",
        "b.bin",
        &[("x-amz-acl", "authenticated-read")],
        bobs.clone(),
    )
    .await
    .ok();
    let torrent_before = server
        .anonymous()
        .torrent("persist-a", "photos/p.jpg")
        .await
        .ok()
        .body;
    let parsed = Torrent::from_bytes(torrent_before.clone()).unwrap();
    assert_eq!(parsed.info().length(), photo.len() as u64);

    // An upload in progress: one part of 5 MiB.
    let id = alice
        .create_upload(
            "persist-a",
            "later.bin",
            &[
                ("content-type", "application/x-later"),
                ("x-amz-acl", "public-read"),
            ],
        )
        .await;
    let p1 = pseudo_random(5 * 1024 * 1024, 11);
    let e1 = alice
        .upload_part("persist-a", "later.bin", &id, 1, &[], p1.clone())
        .await
        .ok()
        .etag()
        .unwrap();
    server.stop().await;

    // Stopped: nothing answers.
    assert!(
        !support::connects(addr).await,
        "{addr} still accepts connections"
    );

    // Behind the server's back: the photo's bytes change in its data file
    // (named by an ID, not by its key), its size and mtime stay, so the
    // store still takes the recorded metadata. Its torrent, had it been
    // made afresh, would hash the new bytes.
    assert!(
        !root.join("persist-a/photos").exists(),
        "a key became a path"
    );
    let data = root.join(".s3torrent/data");
    let photo_path = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read(p).unwrap() == photo)
        .expect("the photo's data file");
    let mtime = std::fs::metadata(&photo_path).unwrap().modified().unwrap();
    let mut changed = photo.clone();
    changed[0] ^= 0xff;
    std::fs::write(&photo_path, &changed).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&photo_path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(
        std::fs::metadata(&photo_path).unwrap().modified().unwrap(),
        mtime
    );
    // Leftovers a crash would leave: a temp file, a data file no record
    // names and a parts folder without an upload.
    let data_files = tree(&data);
    std::fs::write(
        root.join(".s3torrent/tmp/upload-crashed"),
        b"half an upload",
    )
    .unwrap();
    std::fs::write(data.join("0123456789abcdef0123456789abcdef"), b"orphan").unwrap();
    std::fs::create_dir_all(root.join(".multipart/00000000000000000000000000000000")).unwrap();

    let server = Server::start_on(root, addr).await;
    let (alice, bob, anonymous) = (server.alice(), server.bob(), server.anonymous());

    // The cached torrent, byte for byte (the old pieces, not the new bytes').
    let torrent_after = anonymous
        .torrent("persist-a", "photos/p.jpg")
        .await
        .ok()
        .body;
    assert!(
        torrent_after == torrent_before,
        "the torrent changed across the restart"
    );

    // Buckets and owners.
    let mine = alice.get("/").await.ok().text();
    assert_eq!(tags(&mine, "Name"), ["persist-a"], "{mine}");
    let his = bob.get("/").await.ok().text();
    assert_eq!(tags(&his, "Name"), ["persist-b"], "{his}");

    // Objects: ETags and content types as recorded, ACLs as set.
    let r = anonymous.get_object("persist-a", "photos/p.jpg").await.ok();
    assert_eq!(r.etag().unwrap(), hex(&md5(&photo)));
    assert_eq!(r.header("content-type").as_deref(), Some("image/jpeg"));
    let r = alice.head_object("persist-a", "notes.txt").await.ok();
    assert_eq!(r.etag().unwrap(), hex(&md5(&notes)));
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        alice.get_object("persist-a", "notes.txt").await.ok().body,
        notes
    );
    anonymous
        .get_object("persist-a", "notes.txt")
        .await
        .assert_error(403, "AccessDenied");
    bob.get_object("persist-a", "notes.txt")
        .await
        .assert_error(403, "AccessDenied");
    assert_eq!(alice.get_object("persist-b", "b.bin").await.ok().body, bobs);
    anonymous
        .get_object("persist-b", "b.bin")
        .await
        .assert_error(403, "AccessDenied");
    let listed = alice.list("persist-a", &[]).await.ok().text();
    assert_eq!(tags(&listed, "Key"), ["notes.txt", "photos/p.jpg"]);

    // The upload, with its part; completed now.
    let uploads = alice.list_uploads("persist-a").await.ok().text();
    assert_eq!(tags(&uploads, "UploadId"), [id.as_str()]);
    let parts = alice
        .list_parts("persist-a", "later.bin", &id)
        .await
        .ok()
        .text();
    assert_eq!(tags(&parts, "PartNumber"), ["1"]);
    assert_eq!(tag(&parts, "ETag").unwrap().trim_matches('"'), e1);
    let p2 = b"the tail".to_vec();
    let e2 = alice
        .upload_part("persist-a", "later.bin", &id, 2, &[], p2.clone())
        .await
        .ok()
        .etag()
        .unwrap();
    alice
        .complete_upload("persist-a", "later.bin", &id, &[(1, &e1), (2, &e2)])
        .await
        .ok();
    let mut digests = md5(&p1).to_vec();
    digests.extend_from_slice(&md5(&p2));
    let r = anonymous.get_object("persist-a", "later.bin").await.ok();
    assert_eq!(r.etag().unwrap(), format!("{}-2", hex(&md5(&digests))));
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/x-later")
    );
    assert_eq!(r.body.len(), p1.len() + p2.len());
    assert!(r.body[..p1.len()] == p1[..] && r.body[p1.len()..] == p2[..]);

    // The leftovers are gone.
    assert_eq!(tree(&root.join(".s3torrent/tmp")), Vec::<String>::new());
    let mut now = data_files.clone();
    now.push(
        tree(&data)
            .into_iter()
            .find(|f| !data_files.contains(f))
            .expect("later.bin's data file"),
    );
    now.sort();
    assert_eq!(tree(&data), now, "only the objects' data files remain");
    assert_eq!(tree(&root.join(".multipart")), Vec::<String>::new());
    server.stop().await;
}

/// A second server on a root that one holds is refused, and the first
/// goes on; once it stops, the root opens again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_per_root() {
    let temp = temp_root();
    let first = Server::start(temp.path()).await;
    first.alice().create_bucket("held").await.ok();
    let second = support::try_start(temp.path()).await;
    assert!(
        matches!(second, Err(s3torrent_server::Error::Root { .. })),
        "{second:?}"
    );
    first.alice().put_object("held", "k", &[], "v").await.ok();
    first.stop().await;
    let again = Server::start(temp.path()).await;
    assert_eq!(again.alice().get_object("held", "k").await.ok().body, b"v");
    again.stop().await;
}
