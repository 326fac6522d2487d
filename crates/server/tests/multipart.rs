//! Multipart upload's completion rules, as S3 has them: `InvalidPart` (a
//! wrong ETag, a part never uploaded), `InvalidPartOrder`, `EntityTooSmall`
//! (a part under 5 MiB that is not the last), `NoSuchUpload`, abort; the
//! `-N` ETag is the MD5 of the parts' binary MD5s (computed here with the
//! md-5 crate), and the object is the listed parts' bytes in order.

use crate::support;

use support::{Client, Server, hex, md5, pseudo_random, tag, tags, temp_root, tree};

const MIB: usize = 1024 * 1024;

/// Uploads a part and returns its ETag, checked against the MD5 of `data`.
async fn part(client: &Client, bucket: &str, key: &str, id: &str, n: u32, data: &[u8]) -> String {
    let etag = client
        .upload_part(bucket, key, id, n, &[], data.to_vec())
        .await
        .ok()
        .etag()
        .expect("an ETag");
    assert_eq!(etag, hex(&md5(data)), "part {n}'s ETag");
    etag
}

/// S3's multipart ETag: the MD5 of the binary MD5s, then `-N`.
fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut digests = Vec::new();
    for p in parts {
        digests.extend_from_slice(&md5(p));
    }
    format!("{}-{}", hex(&md5(&digests)), parts.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_assembles_the_listed_parts() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("multi").await.ok();
    let id = alice
        .create_upload("multi", "dir/big.bin", &[("content-type", "video/x-test")])
        .await;
    // Part numbers with gaps; part 5 uploaded twice (the second counts);
    // part 7 uploaded but not listed. The first part is exactly 5 MiB.
    let p2 = pseudo_random(5 * MIB, 2);
    let p5_old = pseudo_random(5 * MIB + 17, 50);
    let p5 = pseudo_random(5 * MIB + 3, 5);
    let p7 = pseudo_random(1000, 7);
    let p9 = pseudo_random(12_345, 9);
    let e2 = part(&alice, "multi", "dir/big.bin", &id, 2, &p2).await;
    let e5_old = part(&alice, "multi", "dir/big.bin", &id, 5, &p5_old).await;
    let e9 = part(&alice, "multi", "dir/big.bin", &id, 9, &p9).await;
    let e5 = part(&alice, "multi", "dir/big.bin", &id, 5, &p5).await;
    part(&alice, "multi", "dir/big.bin", &id, 7, &p7).await;
    assert_ne!(e5, e5_old);

    // Not an object yet.
    alice
        .get_object("multi", "dir/big.bin")
        .await
        .assert_error(404, "NoSuchKey");
    let listed = alice
        .list_parts("multi", "dir/big.bin", &id)
        .await
        .ok()
        .text();
    assert_eq!(tags(&listed, "PartNumber"), ["2", "5", "7", "9"]);
    assert_eq!(
        tags(&listed, "Size"),
        [p2.len(), p5.len(), p7.len(), p9.len()].map(|n| n.to_string())
    );
    let uploads = alice.list_uploads("multi").await.ok().text();
    assert_eq!(tags(&uploads, "UploadId"), [id.as_str()]);

    // The old ETag of part 5 is no longer a part.
    alice
        .complete_upload(
            "multi",
            "dir/big.bin",
            &id,
            &[(2, &e2), (5, &e5_old), (9, &e9)],
        )
        .await
        .assert_error(400, "InvalidPart");

    let r = alice
        .complete_upload("multi", "dir/big.bin", &id, &[(2, &e2), (5, &e5), (9, &e9)])
        .await
        .ok();
    let expected_etag = multipart_etag(&[&p2, &p5, &p9]);
    let text = r.text();
    assert_eq!(
        tag(&text, "ETag").map(|e| e.trim_matches('"').to_owned()),
        Some(expected_etag.clone()),
        "{text}"
    );
    assert!(expected_etag.ends_with("-3"));

    let mut whole = p2.clone();
    whole.extend_from_slice(&p5);
    whole.extend_from_slice(&p9);
    let got = alice.get_object("multi", "dir/big.bin").await.ok();
    assert_eq!(got.body.len(), whole.len());
    assert!(
        got.body == whole,
        "the object is not the listed parts in order"
    );
    assert_eq!(got.etag().as_deref(), Some(expected_etag.as_str()));
    assert_eq!(got.header("content-type").as_deref(), Some("video/x-test"));
    let head = alice.head_object("multi", "dir/big.bin").await.ok();
    assert_eq!(head.etag().as_deref(), Some(expected_etag.as_str()));
    assert_eq!(head.header("content-length"), Some(whole.len().to_string()));

    // The upload is gone, and its parts with it.
    assert!(tags(&alice.list_uploads("multi").await.ok().text(), "UploadId").is_empty());
    assert_eq!(tree(&temp.path().join(".multipart")), Vec::<String>::new());
    alice
        .list_parts("multi", "dir/big.bin", &id)
        .await
        .assert_error(404, "NoSuchUpload");
    // Completing it again answers as the first time, as S3 does, and
    // changes nothing.
    let again = alice
        .complete_upload("multi", "dir/big.bin", &id, &[(2, &e2), (5, &e5), (9, &e9)])
        .await
        .ok();
    assert_eq!(
        support::tag(&again.text(), "ETag").map(|e| e.trim_matches('"').to_owned()),
        Some(expected_etag.clone())
    );
    assert_eq!(tree(&temp.path().join(".multipart")), Vec::<String>::new());

    // Its torrent describes the object.
    let torrent = alice.torrent("multi", "dir/big.bin").await.ok();
    let torrent = s3torrent_metainfo::Torrent::from_bytes(torrent.body).expect("a torrent");
    assert_eq!(torrent.info().length(), whole.len() as u64);
    assert_eq!(torrent.info().name(), "dir_big.bin");
    server.stop().await;
}

/// A list of parts to complete with, and the status and code expected.
type Case<'a> = (Vec<(u32, &'a str)>, u16, &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_refuses_bad_lists() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("multi").await.ok();
    let id = alice.create_upload("multi", "k", &[]).await;
    let small1 = pseudo_random(100, 1);
    let small2 = pseudo_random(200, 2);
    let almost = pseudo_random(5 * MIB - 1, 3);
    let e1 = part(&alice, "multi", "k", &id, 1, &small1).await;
    let e2 = part(&alice, "multi", "k", &id, 2, &small2).await;
    let e3 = part(&alice, "multi", "k", &id, 3, &almost).await;
    let wrong = hex(&md5(b"not a part"));

    let cases: Vec<Case<'_>> = vec![
        // An ETag that is no part's, or a part never uploaded.
        (vec![(1, &wrong)], 400, "InvalidPart"),
        (vec![(1, &e2)], 400, "InvalidPart"),
        (vec![(4, &e1)], 400, "InvalidPart"),
        (vec![(1, &e1), (2, &e2), (4, &e2)], 400, "InvalidPart"),
        // Not ascending.
        (vec![(2, &e2), (1, &e1)], 400, "InvalidPartOrder"),
        (vec![(1, &e1), (1, &e1)], 400, "InvalidPartOrder"),
        // A small part that is not the last; 5 MiB - 1 is small too.
        (vec![(1, &e1), (2, &e2)], 400, "EntityTooSmall"),
        (vec![(3, &e3), (2, &e2)], 400, "InvalidPartOrder"),
        (vec![(1, &e1), (3, &e3)], 400, "EntityTooSmall"),
        (vec![(3, &e3), (4, &e1)], 400, "InvalidPart"),
    ];
    for (list, status, code) in &cases {
        let r = alice.complete_upload("multi", "k", &id, list).await;
        assert_eq!(
            (r.status, r.error_code().as_deref()),
            (*status, Some(*code)),
            "completing with {list:?}: {}",
            r.text()
        );
    }
    // No part list at all is malformed.
    alice
        .complete_upload("multi", "k", &id, &[])
        .await
        .assert_error(400, "MalformedXML");
    alice
        .get_object("multi", "k")
        .await
        .assert_error(404, "NoSuchKey");

    // Every refusal left the upload as it was: one small part alone, the
    // last, is a whole object.
    let r = alice
        .complete_upload("multi", "k", &id, &[(2, &e2)])
        .await
        .ok();
    let etag = multipart_etag(&[&small2]);
    assert_eq!(tag(&r.text(), "ETag").unwrap().trim_matches('"'), etag);
    let got = alice.get_object("multi", "k").await.ok();
    assert_eq!(got.body, small2);
    assert_eq!(got.etag().unwrap(), etag);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_aborted_and_foreign_uploads() {
    let temp = temp_root();
    let server = Server::start(temp.path()).await;
    let alice = server.alice();
    alice.create_bucket("multi").await.ok();
    let id = alice.create_upload("multi", "k", &[]).await;
    let e1 = part(&alice, "multi", "k", &id, 1, b"one").await;
    let other_key = alice.create_upload("multi", "other", &[]).await;

    let bogus = [
        "0123456789abcdef0123456789abcdef".to_owned(),
        "not-an-id".to_owned(),
        "..%2F..%2Fescape".to_owned(),
        id.to_uppercase(),
        // An upload of another key is not one of this key's.
        other_key.clone(),
    ];
    for b in &bogus {
        alice
            .upload_part("multi", "k", b, 1, &[], "x")
            .await
            .assert_error(404, "NoSuchUpload");
        alice
            .complete_upload("multi", "k", b, &[(1, &e1)])
            .await
            .assert_error(404, "NoSuchUpload");
        alice
            .list_parts("multi", "k", b)
            .await
            .assert_error(404, "NoSuchUpload");
        alice
            .abort_upload("multi", "k", b)
            .await
            .assert_error(404, "NoSuchUpload");
    }
    // Part numbers outside 1..=10000.
    for n in [0, 10_001] {
        alice
            .upload_part("multi", "k", &id, n, &[], "x")
            .await
            .assert_error(400, "InvalidArgument");
    }
    // Bob may not write in Alice's bucket.
    server
        .bob()
        .upload_part("multi", "k", &id, 2, &[], "x")
        .await
        .assert_error(403, "AccessDenied");
    server
        .bob()
        .abort_upload("multi", "k", &id)
        .await
        .assert_error(403, "AccessDenied");

    // Abort: the parts go, no object appears, the ID is unknown afterwards.
    let parts_dir = temp.path().join(".multipart").join(&id);
    assert!(parts_dir.is_dir());
    let r = alice.abort_upload("multi", "k", &id).await.ok();
    assert_eq!(r.status, 204);
    assert!(!parts_dir.exists());
    alice
        .get_object("multi", "k")
        .await
        .assert_error(404, "NoSuchKey");
    alice
        .complete_upload("multi", "k", &id, &[(1, &e1)])
        .await
        .assert_error(404, "NoSuchUpload");
    alice
        .upload_part("multi", "k", &id, 2, &[], "x")
        .await
        .assert_error(404, "NoSuchUpload");
    alice
        .abort_upload("multi", "k", &id)
        .await
        .assert_error(404, "NoSuchUpload");
    let uploads = alice.list_uploads("multi").await.ok().text();
    assert_eq!(tags(&uploads, "UploadId"), [other_key]);
    server.stop().await;
}
