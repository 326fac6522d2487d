//! `serve` end to end: unmodified boto3 uploads, GetObjectTorrent through
//! boto3 and plain HTTP, python libtorrent reads the torrents, aria2c
//! downloads from the web seed alone, S3's access rules hold, and multipart
//! uploads (the AWS CLI's and boto3's) follow S3's rules.

use crate::support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use s3torrent_metainfo::{Torrent, Verifier};
use support::serve::{DEV, OTHER, Serve, aria2c_download, boto, request};
use support::{have_program, have_python_module, python, random_bytes, write};

fn ready(test: &str) -> bool {
    have_python_module(test, "boto3") & have_python_module(test, "libtorrent")
}

/// Whether `data` is exactly what `torrent` describes (every piece and the
/// length).
fn describes(torrent: &Torrent, data: &[u8]) -> bool {
    let mut v = Verifier::new(torrent.info());
    v.update(data);
    v.finish().is_ok()
}

const LT_INFO: &str = include_str!("clients/libtorrent_info_hashes.py");

#[test]
fn boto3_upload_libtorrent_reads_aria2c_downloads_from_the_web_seed() {
    let _heavy = support::heavy();
    let test = "boto3_upload_libtorrent_reads_aria2c_downloads_from_the_web_seed";
    if !ready(test) || !have_program(test, "aria2c") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let serve = Serve::start(&root, &[]);
    let data = random_bytes(3 * 1024 * 1024 + 12_345, 42);
    let file = write(dir.path(), "upload.bin", &data);
    assert_eq!(boto(&serve, DEV, "mb", &["pub"]), serde_json::json!({}));
    let key = "some dir/data file+1.bin";
    let put = boto(
        &serve,
        DEV,
        "put",
        &["pub", key, file.to_str().unwrap(), "public-read"],
    );
    assert!(put.get("etag").is_some(), "{put}");

    let torrent = dir.path().join("t.torrent");
    let got = boto(
        &serve,
        DEV,
        "torrent",
        &["pub", key, torrent.to_str().unwrap()],
    );
    assert_eq!(got["type"], "application/x-bittorrent", "{got}");
    let lt: serde_json::Value =
        serde_json::from_str(python(LT_INFO, &[torrent.to_str().unwrap()]).trim()).unwrap();
    assert_eq!(lt["length"], data.len() as u64);
    assert_eq!(lt["name"], "some dir_data file+1.bin");
    let seed = format!("{}/pub/some%20dir/data%20file%2B1.bin", serve.endpoint());
    assert_eq!(lt["web_seeds"], serde_json::json!([seed]));
    // Ours agree, and the torrent describes exactly the uploaded bytes.
    let ours = Torrent::from_bytes(std::fs::read(&torrent).unwrap()).unwrap();
    assert_eq!(lt["info_hash"], ours.info_hash().to_hex());
    assert_eq!(ours.info().aws_key(), Some(key));
    assert!(describes(&ours, &data));

    let down = dir.path().join("down");
    aria2c_download(&torrent, &down);
    assert_eq!(
        std::fs::read(down.join("some dir_data file+1.bin")).unwrap(),
        data
    );

    // The same torrent over plain anonymous HTTP, and GET with Range as a web seed uses it.
    let r = request(
        &serve.addr,
        "GET",
        "/pub/some%20dir/data%20file%2Bq.bin?torrent",
        &[],
    );
    assert_eq!(
        r.status,
        403,
        "a missing key in a private bucket: {}",
        r.text()
    );
    let r = request(
        &serve.addr,
        "GET",
        "/pub/some%20dir/data%20file%2B1.bin?torrent",
        &[],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, std::fs::read(&torrent).unwrap());
    let r = request(
        &serve.addr,
        "GET",
        "/pub/some%20dir/data%20file%2B1.bin",
        &[("Range", "bytes=100-199")],
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &data[100..200]);
    let listed = boto(&serve, DEV, "list", &["pub"]);
    assert_eq!(listed["keys"], serde_json::json!([key]));
}

#[test]
fn private_objects_stop_both_the_torrent_and_the_download() {
    let test = "private_objects_stop_both_the_torrent_and_the_download";
    if !ready(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("root"), &[]);
    let file = write(dir.path(), "f", &random_bytes(50_000, 1));
    boto(&serve, DEV, "mb", &["bkt"]);
    boto(
        &serve,
        DEV,
        "put",
        &["bkt", "k", file.to_str().unwrap(), "private"],
    );
    for path in ["/bkt/k?torrent", "/bkt/k"] {
        let r = request(&serve.addr, "GET", path, &[]);
        assert_eq!(
            (r.status, r.code().as_str()),
            (403, "AccessDenied"),
            "{path}: {}",
            r.text()
        );
        assert!(r.header("content-type").unwrap_or("").contains("xml"));
    }
    boto(&serve, DEV, "acl", &["bkt", "k", "public-read"]);
    let acl = boto(&serve, DEV, "getacl", &["bkt", "k"]);
    assert!(
        acl["grants"]
            .to_string()
            .contains("http://acs.amazonaws.com/groups/global/AllUsers"),
        "{acl}"
    );
    for path in ["/bkt/k?torrent", "/bkt/k"] {
        assert_eq!(request(&serve.addr, "GET", path, &[]).status, 200, "{path}");
    }
    boto(&serve, DEV, "acl", &["bkt", "k", "private"]);
    for path in ["/bkt/k?torrent", "/bkt/k"] {
        assert_eq!(request(&serve.addr, "GET", path, &[]).status, 403, "{path}");
    }
    // The owner still reads it, signed.
    let t = dir.path().join("t.torrent");
    assert!(
        boto(&serve, DEV, "torrent", &["bkt", "k", t.to_str().unwrap()])
            .get("error")
            .is_none()
    );
}

#[test]
fn expected_bucket_owner_and_requester_pays() {
    let test = "expected_bucket_owner_and_requester_pays";
    if !ready(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start_two_users(&dir.path().join("root"), &[]);
    let file = write(dir.path(), "f", &random_bytes(40_000, 2));
    boto(&serve, DEV, "mb", &["bkt"]);
    boto(
        &serve,
        DEV,
        "put",
        &["bkt", "k", file.to_str().unwrap(), "public-read"],
    );
    let wrong = request(
        &serve.addr,
        "GET",
        "/bkt/k?torrent",
        &[("x-amz-expected-bucket-owner", OTHER.2)],
    );
    assert_eq!((wrong.status, wrong.code().as_str()), (403, "AccessDenied"));
    let right = request(
        &serve.addr,
        "GET",
        "/bkt/k?torrent",
        &[("x-amz-expected-bucket-owner", DEV.2)],
    );
    assert_eq!(right.status, 200);
    let bad = request(
        &serve.addr,
        "GET",
        "/bkt/k?torrent",
        &[("x-amz-expected-bucket-owner", "12")],
    );
    assert_eq!(bad.status, 400, "{}", bad.text());

    boto(&serve, DEV, "payer", &["bkt"]);
    let anon = request(
        &serve.addr,
        "GET",
        "/bkt/k?torrent",
        &[("x-amz-request-payer", "requester")],
    );
    assert_eq!((anon.status, anon.code().as_str()), (403, "AccessDenied"));
    let t = dir.path().join("t.torrent");
    let t = t.to_str().unwrap();
    let no_header = boto(&serve, OTHER, "torrent", &["bkt", "k", t]);
    assert_eq!(
        (no_header["error"].as_str(), no_header["status"].as_u64()),
        (Some("AccessDenied"), Some(403))
    );
    let paying = boto(&serve, OTHER, "torrent", &["bkt", "k", t, "payer"]);
    assert_eq!(paying["charged"], "requester", "{paying}");
    let owner = boto(&serve, DEV, "torrent", &["bkt", "k", t]);
    assert!(
        owner.get("error").is_none() && owner["charged"].is_null(),
        "{owner}"
    );
}

#[test]
fn size_limit_bucket_torrents_and_missing_keys() {
    let test = "size_limit_bucket_torrents_and_missing_keys";
    if !ready(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("root"), &["--max-torrent-size", "1000"]);
    boto(&serve, DEV, "mb", &["bkt"]);
    let small = write(dir.path(), "small", &random_bytes(1000, 3));
    let big = write(dir.path(), "big", &random_bytes(1001, 4));
    boto(
        &serve,
        DEV,
        "put",
        &["bkt", "small", small.to_str().unwrap(), "public-read"],
    );
    boto(
        &serve,
        DEV,
        "put",
        &["bkt", "big", big.to_str().unwrap(), "public-read"],
    );
    assert_eq!(
        request(&serve.addr, "GET", "/bkt/small?torrent", &[]).status,
        200
    );
    let r = request(&serve.addr, "GET", "/bkt/big?torrent", &[]);
    assert_eq!((r.status, r.code().as_str()), (400, "InvalidRequest"));
    assert!(
        r.text().contains(
            "<Message>Torrent creation is not supported for objects larger than 1000</Message>"
        ),
        "{}",
        r.text()
    );
    let r = request(&serve.addr, "GET", "/bkt?torrent", &[]);
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "RequestTorrentOfBucketError")
    );
    // A missing key: 404 to whoever may list the bucket, 403 to others.
    let t = dir.path().join("t.torrent");
    let owner = boto(
        &serve,
        DEV,
        "torrent",
        &["bkt", "nope", t.to_str().unwrap()],
    );
    assert_eq!(
        (owner["error"].as_str(), owner["status"].as_u64()),
        (Some("NoSuchKey"), Some(404)),
        "{owner}"
    );
    let r = request(&serve.addr, "GET", "/bkt/nope?torrent", &[]);
    assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"));
}

/// Rewrites a file's bytes behind the server's back, keeping its size and
/// mtime, so its metadata still matches: whatever `serve` answers then came
/// from its cache, not from hashing the file again.
fn swap_bytes_keeping_mtime(path: &Path, data: &[u8]) {
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    std::fs::write(path, data).unwrap();
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
}

/// The store's data file holding exactly `data` (files are named by IDs,
/// not by keys).
fn data_file(root: &Path, data: &[u8]) -> std::path::PathBuf {
    std::fs::read_dir(root.join(".s3torrent/data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read(p).unwrap() == data)
        .expect("a data file with these bytes")
}

#[test]
fn hashed_at_upload_new_torrent_on_overwrite_cached_across_restarts() {
    let test = "hashed_at_upload_new_torrent_on_overwrite_cached_across_restarts";
    if !ready(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let first = random_bytes(700_000, 5);
    let second = random_bytes(700_000, 6);
    let decoy = random_bytes(700_000, 7);
    let serve = Serve::start(&root, &[]);
    boto(&serve, DEV, "mb", &["bkt"]);
    let f1 = write(dir.path(), "f1", &first);
    boto(
        &serve,
        DEV,
        "put",
        &["bkt", "k", f1.to_str().unwrap(), "public-read"],
    );
    // Hashed while uploaded: even with the file's bytes swapped before the
    // first ?torrent, the torrent describes the uploaded bytes.
    let f1_data = data_file(&root, &first);
    swap_bytes_keeping_mtime(&f1_data, &decoy);
    let t1 = Torrent::from_bytes(request(&serve.addr, "GET", "/bkt/k?torrent", &[]).body).unwrap();
    assert!(
        describes(&t1, &first),
        "the first torrent was not the one hashed at upload"
    );

    // Overwrite: a new torrent.
    let f2 = write(dir.path(), "f2", &second);
    boto(
        &serve,
        DEV,
        "put",
        &["bkt", "k", f2.to_str().unwrap(), "public-read"],
    );
    let t2 = Torrent::from_bytes(request(&serve.addr, "GET", "/bkt/k?torrent", &[]).body).unwrap();
    assert_ne!(t1.info_hash(), t2.info_hash());
    let port = serve.addr.rsplit(':').next().unwrap().to_owned();
    drop(serve);

    // Restart on the same address (the web seed URL is part of the torrent):
    // the cached torrent is served, not a hash of what the file holds now.
    swap_bytes_keeping_mtime(&data_file(&root, &second), &decoy);
    // An upload a crash cut short leaves its temp file; a start removes it.
    let stale = root.join(".s3torrent/tmp").join("upload-999999-0");
    std::fs::write(&stale, b"half an upload").unwrap();
    let serve = Serve::start_on(&root, &format!("127.0.0.1:{port}"), &[]);
    let t3 = Torrent::from_bytes(request(&serve.addr, "GET", "/bkt/k?torrent", &[]).body).unwrap();
    assert_eq!(t3.info_hash(), t2.info_hash());
    assert!(!stale.exists(), "a stale temp file survived a start");
}

#[test]
fn files_placed_by_hand_are_hashed_on_first_request_and_keys_stay_inside_the_root() {
    let test = "files_placed_by_hand_are_hashed_on_first_request_and_keys_stay_inside_the_root";
    if !ready(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let serve = Serve::start(&root, &[]);
    boto(&serve, DEV, "mb", &["bkt"]);
    let data = random_bytes(300_000, 8);
    std::fs::create_dir_all(root.join("bkt/by/hand")).unwrap();
    std::fs::write(root.join("bkt/by/hand/file.bin"), &data).unwrap();
    // Adopted as private: the owner gets its torrent, anonymous does not.
    let t = dir.path().join("t.torrent");
    let got = boto(
        &serve,
        DEV,
        "torrent",
        &["bkt", "by/hand/file.bin", t.to_str().unwrap()],
    );
    assert!(got.get("error").is_none(), "{got}");
    let torrent = Torrent::from_bytes(std::fs::read(&t).unwrap()).unwrap();
    assert!(describes(&torrent, &data));
    assert_eq!(
        request(&serve.addr, "GET", "/bkt/by/hand/file.bin?torrent", &[]).status,
        403
    );

    // Keys that are no paths are objects like any other, and stay inside
    // the store's own files.
    let file = write(dir.path(), "x", b"x");
    let keys = [
        "../escape",
        "a/../../b",
        "a//b",
        "/abs",
        "back\\slash",
        "trailing/",
    ];
    for key in keys {
        let r = boto(
            &serve,
            DEV,
            "put",
            &["bkt", key, file.to_str().unwrap(), "private"],
        );
        assert!(r.get("error").is_none(), "{key:?}: {r}");
    }
    let mut listed: Vec<String> =
        serde_json::from_value(boto(&serve, DEV, "list", &["bkt"])["keys"].clone()).unwrap();
    listed.retain(|k| k != "by/hand/file.bin");
    let mut expected: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    assert!(
        !dir.path().join("escape").exists() && !root.join("bkt").join("..").join("escape").exists()
    );
    assert!(!root.join("b").exists() && !root.join("bkt/a").exists());
}

/// The AWS CLI as the development user, with its defaults (no config or
/// credentials files), for at most 120 s; panics if it fails.
fn aws_cli(serve: &Serve, args: &[&str]) -> Output {
    let out = Command::new("timeout")
        .args(["120", "aws", "--endpoint-url", &serve.endpoint()])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", DEV.0)
        .env("AWS_SECRET_ACCESS_KEY", DEV.1)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn aws_cli_put_object_then_torrent_as_in_the_readme() {
    let test = "aws_cli_put_object_then_torrent_as_in_the_readme";
    if !have_program(test, "aws") || !have_python_module(test, "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("root"), &[]);
    let data = random_bytes(1_000_000, 9);
    let file = write(dir.path(), "photo.jpg", &data);
    let aws = |args: &[&str]| aws_cli(&serve, &[&["s3api"], args].concat());
    aws(&["create-bucket", "--bucket", "quotes"]);
    aws(&[
        "put-object",
        "--bucket",
        "quotes",
        "--key",
        "photo.jpg",
        "--body",
        file.to_str().unwrap(),
        "--acl",
        "public-read",
    ]);
    let anon = request(&serve.addr, "GET", "/quotes/photo.jpg?torrent", &[]);
    assert_eq!(anon.status, 200);
    assert_eq!(
        anon.header("content-disposition"),
        Some("attachment; filename=\"photo.jpg.torrent\"")
    );
    let signed = dir.path().join("signed.torrent");
    aws(&[
        "get-object-torrent",
        "--bucket",
        "quotes",
        "--key",
        "photo.jpg",
        signed.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&signed).unwrap(), anon.body);
    let t = Torrent::from_bytes(anon.body).unwrap();
    assert_eq!(t.info().length(), data.len() as u64);
}

#[test]
fn virtual_hosted_requests_and_a_clean_ctrl_c() {
    let test = "virtual_hosted_requests_and_a_clean_ctrl_c";
    if !ready(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(&dir.path().join("root"), &["--base-domain", "s3.test"]);
    let file = write(dir.path(), "f", &random_bytes(20_000, 10));
    boto(&serve, DEV, "mb", &["vbkt"]);
    boto(
        &serve,
        DEV,
        "put",
        &["vbkt", "a b.txt", file.to_str().unwrap(), "public-read"],
    );
    let host = format!("vbkt.s3.test:{}", serve.addr.rsplit(':').next().unwrap());
    let path_style = request(&serve.addr, "GET", "/vbkt/a%20b.txt?torrent", &[]);
    assert_eq!(path_style.status, 200);
    // The raw client sends its own Host header first; send a second request by hand.
    let mut s = TcpStream::connect(&serve.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET /a%20b.txt?torrent HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    assert!(
        raw.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert!(
        raw.ends_with(&path_style.body),
        "the same torrent either way"
    );

    // Ctrl-C: a graceful exit with status 0.
    let pid = serve.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = serve.child.try_wait().unwrap() {
            assert!(status.success(), "serve exited with {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not stop within 15 s of SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// python libtorrent downloads `torrent` into `save` from its web seeds
/// alone (no DHT, LSD, UPnP or NAT-PMP; listening on loopback), for at most
/// 120 s, unless `save` is `-`. Prints its v1 and v2 info-hashes, whether it
/// finished, and the errors it reported.
const LT_DOWNLOAD: &str = include_str!("clients/libtorrent_web_seed_download.py");

#[test]
fn libtorrent_downloads_a_hybrid_torrent_from_the_web_seed_alone() {
    let _heavy = support::heavy();
    let test = "libtorrent_downloads_a_hybrid_torrent_from_the_web_seed_alone";
    if !ready(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    // 13 pieces of 256 KiB, the last one short: a real piece layer.
    let data = random_bytes(3 * 1024 * 1024 + 77_777, 52);
    let file = write(dir.path(), "upload.bin", &data);
    let key = "sets/v2 data.bin";
    let name = "sets_v2 data.bin";
    let path = "/pub/sets/v2%20data.bin?torrent";

    // Uploaded under --torrent-version hybrid: hashed at upload (SHA-1 and
    // SHA-256 in one pass), so the first ?torrent comes from the cache.
    let mut fetched = Vec::new();
    for (round, version) in ["hybrid", "v2", "v1"].into_iter().enumerate() {
        let serve = Serve::start(&root, &["--torrent-version", version]);
        if round == 0 {
            boto(&serve, DEV, "mb", &["pub"]);
            let put = boto(
                &serve,
                DEV,
                "put",
                &["pub", key, file.to_str().unwrap(), "public-read"],
            );
            assert!(put.get("etag").is_some(), "{put}");
        }
        let t = dir.path().join(format!("{version}.torrent"));
        let got = boto(&serve, DEV, "torrent", &["pub", key, t.to_str().unwrap()]);
        assert_eq!(got["type"], "application/x-bittorrent", "{version}: {got}");
        let bytes = std::fs::read(&t).unwrap();
        // Anonymous plain HTTP gets the same bytes.
        let r = request(&serve.addr, "GET", path, &[]);
        assert_eq!((r.status, &r.body), (200, &bytes), "{version}");
        let ours = Torrent::from_bytes(bytes.clone()).unwrap();
        assert_eq!(ours.version().to_string(), version);
        assert_eq!(ours.info().aws_key(), Some(key));
        assert!(describes(&ours, &data), "{version}");
        fetched.push(bytes);
        if version == "v1" {
            // The AWS default is untouched by the other versions.
            assert!(ours.info_hash_v2().is_none());
            continue;
        }

        // libtorrent (2.1.1) gives a v2-only file a tail pad file, so it
        // counts two files and asks a web seed for `URL/name`, as for a
        // multi-file torrent: it downloads hybrid torrents from S3 URLs, but
        // not v2-only ones. It still reads the v2 torrent.
        let down = dir.path().join(format!("down-{version}"));
        let save = if version == "hybrid" {
            down.to_str().unwrap()
        } else {
            "-"
        };
        let out: serde_json::Value =
            serde_json::from_str(python(LT_DOWNLOAD, &[t.to_str().unwrap(), save]).trim()).unwrap();
        if version == "hybrid" {
            // aria2c reads only the v1 half: a hybrid torrent serves v1
            // clients too.
            if have_program(test, "aria2c") {
                let by_aria = dir.path().join("down-aria2c");
                aria2c_download(&t, &by_aria);
                assert_eq!(std::fs::read(by_aria.join(name)).unwrap(), data);
            }
            assert_eq!(out["done"], true, "libtorrent did not finish: {out}");
            assert_eq!(
                std::fs::read(down.join(name)).unwrap(),
                data,
                "the downloaded bytes"
            );
        }
        // libtorrent's identifiers for the torrent are ours.
        assert_eq!(
            out["v2"],
            ours.info_hash_v2().unwrap().to_hex(),
            "{version}: v2 info-hash"
        );
        match ours.info_hash_v1() {
            Some(h) => assert_eq!(out["v1"], h.to_hex(), "{version}: v1 info-hash"),
            None => assert_eq!(out["v1"], serde_json::Value::Null, "{version}"),
        }
    }
    // Three different torrents of one object: the version is in the cache key.
    assert!(fetched[0] != fetched[1] && fetched[1] != fetched[2] && fetched[0] != fetched[2]);
}

/// The ETag S3 gives an object uploaded in these parts: the MD5 of the
/// parts' binary MD5s, then `-N`, quoted.
fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut all = Md5::new();
    for part in parts {
        all.update(Md5::digest(part));
    }
    let hex: String = all.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}-{}\"", parts.len())
}

#[test]
fn aws_cli_copies_a_large_file_in_parts_and_its_torrent_verifies() {
    let test = "aws_cli_copies_a_large_file_in_parts_and_its_torrent_verifies";
    if !have_program(test, "aws") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let serve = Serve::start(&root, &[]);
    // Over the CLI's 8 MiB threshold: parts of 8, 8 and 4 MiB (and a bit).
    let data = random_bytes(20 * 1024 * 1024 + 4321, 60);
    let file = write(dir.path(), "clip.mp4", &data);
    let key = "videos/big clip.mp4";
    aws_cli(&serve, &["s3", "mb", "s3://media"]);
    aws_cli(
        &serve,
        &[
            "s3",
            "cp",
            file.to_str().unwrap(),
            &format!("s3://media/{key}"),
            "--acl",
            "public-read",
        ],
    );

    // Anyone reads it back (the canned ACL of CreateMultipartUpload), with the
    // content type the CLI guessed and S3's multipart ETag.
    let path = "/media/videos/big%20clip.mp4";
    let r = request(&serve.addr, "GET", path, &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body == data, "the object is not the uploaded bytes");
    assert_eq!(r.header("content-type"), Some("video/mp4"));
    let mib8 = 8 * 1024 * 1024;
    let expected = multipart_etag(&[&data[..mib8], &data[mib8..2 * mib8], &data[2 * mib8..]]);
    assert_eq!(r.header("etag"), Some(expected.as_str()));
    let down = dir.path().join("down.mp4");
    aws_cli(
        &serve,
        &[
            "s3",
            "cp",
            &format!("s3://media/{key}"),
            down.to_str().unwrap(),
        ],
    );
    assert!(std::fs::read(&down).unwrap() == data, "aws s3 cp download");
    let listed: serde_json::Value = serde_json::from_slice(
        &aws_cli(&serve, &["s3api", "list-objects-v2", "--bucket", "media"]).stdout,
    )
    .unwrap();
    assert_eq!(listed["Contents"][0]["Key"], key, "{listed}");
    assert_eq!(listed["Contents"].as_array().map(Vec::len), Some(1));
    // The parts are gone.
    assert_eq!(
        std::fs::read_dir(root.join(".multipart")).unwrap().count(),
        0
    );

    // Hashed while assembled: even with the file's bytes swapped before the
    // first ?torrent, the torrent describes the uploaded bytes.
    swap_bytes_keeping_mtime(&data_file(&root, &data), &random_bytes(data.len(), 61));
    let r = request(&serve.addr, "GET", &format!("{path}?torrent"), &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    let torrent = Torrent::from_bytes(r.body).unwrap();
    assert_eq!(torrent.info().aws_key(), Some(key));
    assert_eq!(torrent.info().length(), data.len() as u64);
    assert!(
        describes(&torrent, &data),
        "the torrent does not describe the uploaded bytes"
    );
}

#[test]
fn multipart_rules_unknown_uploads_abort_and_a_restart_in_between() {
    let test = "multipart_rules_unknown_uploads_abort_and_a_restart_in_between";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let serve = Serve::start_two_users(&root, &[]);
    let five_mib = random_bytes(5 * 1024 * 1024, 70);
    let one_mib = random_bytes(1024 * 1024, 71);
    let tail = random_bytes(100_000, 72);
    let files = [("five", &five_mib), ("one", &one_mib), ("tail", &tail)]
        .map(|(name, data)| write(dir.path(), name, data));
    let [five_f, one_f, tail_f] = files.each_ref().map(|f| f.to_str().unwrap());
    let code =
        |v: &serde_json::Value| (v["error"].as_str().map(str::to_owned), v["status"].as_u64());
    let err = |c: &str, s: u64| (Some(c.to_owned()), Some(s));

    boto(&serve, DEV, "mb", &["bkt"]);
    // Another account may not write to DEV's private bucket.
    let other = boto(&serve, OTHER, "mpu", &["bkt", "k"]);
    assert_eq!(code(&other), err("AccessDenied", 403), "{other}");

    let started = boto(&serve, DEV, "mpu", &["bkt", "k", "public-read"]);
    let up = started["upload"].as_str().expect("an upload ID").to_owned();
    let part = |user, n: &str, file: &str| boto(&serve, user, "part", &["bkt", "k", &up, n, file]);
    let e1 = part(DEV, "1", one_f)["etag"].as_str().unwrap().to_owned();
    let e2 = part(DEV, "2", tail_f)["etag"].as_str().unwrap().to_owned();
    assert_eq!(code(&part(OTHER, "3", tail_f)), err("AccessDenied", 403));
    for n in ["0", "10001"] {
        assert_eq!(
            code(&part(DEV, n, tail_f)),
            err("InvalidArgument", 400),
            "part {n}"
        );
    }
    // An upload in progress is no object, but it is listed as an upload.
    assert_eq!(
        boto(&serve, DEV, "list", &["bkt"])["keys"],
        serde_json::json!([])
    );
    // (HEAD answers carry no body, so boto3 reports the status as the code.)
    assert_eq!(
        code(&boto(&serve, DEV, "head", &["bkt", "k"])),
        err("404", 404)
    );
    assert_eq!(
        boto(&serve, DEV, "uploads", &["bkt"])["uploads"],
        serde_json::json!([["k", up]])
    );
    assert_eq!(
        boto(&serve, DEV, "parts", &["bkt", "k", &up])["parts"],
        serde_json::json!([[1, e1, 1024 * 1024], [2, e2, 100_000]])
    );

    let complete = |parts: serde_json::Value| {
        boto(
            &serve,
            DEV,
            "complete",
            &["bkt", "k", &up, &parts.to_string()],
        )
    };
    // A part under 5 MiB that is not the last.
    let small = complete(serde_json::json!([[1, e1], [2, e2]]));
    assert_eq!(code(&small), err("EntityTooSmall", 400), "{small}");
    // Uploading part 1 again replaces it: its old ETag is no longer a part.
    let e1b = part(DEV, "1", five_f)["etag"].as_str().unwrap().to_owned();
    assert_ne!(e1b, e1);
    assert_eq!(
        boto(&serve, DEV, "parts", &["bkt", "k", &up])["parts"],
        serde_json::json!([[1, e1b, 5 * 1024 * 1024], [2, e2, 100_000]])
    );
    for (parts, expected) in [
        (serde_json::json!([[1, e1], [2, e2]]), "InvalidPart"),
        (serde_json::json!([[1, e1b], [3, e2]]), "InvalidPart"),
        (serde_json::json!([[2, e2], [1, e1b]]), "InvalidPartOrder"),
    ] {
        let r = complete(parts.clone());
        assert_eq!(code(&r), err(expected, 400), "{parts}: {r}");
    }

    // Unknown upload IDs, and an ID under another key.
    let bogus = "0123456789abcdef0123456789abcdef";
    for (key, id) in [("k", bogus), ("k", "../../escape"), ("other", up.as_str())] {
        let tries = [
            boto(&serve, DEV, "part", &["bkt", key, id, "1", tail_f]),
            boto(&serve, DEV, "parts", &["bkt", key, id]),
            boto(
                &serve,
                DEV,
                "complete",
                &["bkt", key, id, &serde_json::json!([[1, e1b]]).to_string()],
            ),
            boto(&serve, DEV, "abort", &["bkt", key, id]),
        ];
        for r in tries {
            assert_eq!(code(&r), err("NoSuchUpload", 404), "{key} {id}: {r}");
        }
    }

    // Uploads survive a restart; then it completes.
    drop(serve);
    let serve = Serve::start_two_users(&root, &[]);
    assert_eq!(
        boto(&serve, DEV, "uploads", &["bkt"])["uploads"],
        serde_json::json!([["k", up]])
    );
    let done = boto(
        &serve,
        DEV,
        "complete",
        &[
            "bkt",
            "k",
            &up,
            &serde_json::json!([[1, e1b], [2, e2]]).to_string(),
        ],
    );
    let etag = multipart_etag(&[&five_mib, &tail]);
    assert_eq!(done["etag"].as_str(), Some(etag.as_str()), "{done}");
    let r = request(&serve.addr, "GET", "/bkt/k", &[]);
    assert_eq!(r.status, 200, "public-read, as CreateMultipartUpload said");
    assert!(
        r.body == [&five_mib[..], &tail[..]].concat(),
        "the parts, in order"
    );
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(
        boto(&serve, DEV, "uploads", &["bkt"])["uploads"],
        serde_json::json!([])
    );
    let again = boto(&serve, DEV, "parts", &["bkt", "k", &up]);
    assert_eq!(code(&again), err("NoSuchUpload", 404), "{again}");

    // Abort: no object, no upload, no parts left.
    let gone = boto(&serve, DEV, "mpu", &["bkt", "gone"])["upload"]
        .as_str()
        .unwrap()
        .to_owned();
    boto(&serve, DEV, "part", &["bkt", "gone", &gone, "1", tail_f]);
    assert_eq!(
        boto(&serve, DEV, "abort", &["bkt", "gone", &gone]),
        serde_json::json!({})
    );
    assert_eq!(
        code(&boto(&serve, DEV, "head", &["bkt", "gone"])),
        err("404", 404)
    );
    let twice = boto(&serve, DEV, "abort", &["bkt", "gone", &gone]);
    assert_eq!(code(&twice), err("NoSuchUpload", 404), "{twice}");
    assert_eq!(
        boto(&serve, DEV, "list", &["bkt"])["keys"],
        serde_json::json!(["k"])
    );
    assert_eq!(
        boto(&serve, DEV, "uploads", &["bkt"])["uploads"],
        serde_json::json!([])
    );
    assert_eq!(
        std::fs::read_dir(root.join(".multipart")).unwrap().count(),
        0
    );
}

#[test]
fn list_objects_v2_pages_with_a_delimiter_never_repeat_a_prefix() {
    let test = "list_objects_v2_pages_with_a_delimiter_never_repeat_a_prefix";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let serve = Serve::start(&root, &[]);
    boto(&serve, DEV, "mb", &["bkt"]);
    let file = write(dir.path(), "x", b"x");
    for key in ["a/1", "a/2", "a/3", "b", "c/1", "c/2", "d"] {
        boto(
            &serve,
            DEV,
            "put",
            &["bkt", key, file.to_str().unwrap(), "private"],
        );
    }
    // As S3 pages them: a common prefix counts once, wherever its keys fall.
    let listed = boto(&serve, DEV, "listpages", &["bkt", "/", "1"]);
    assert_eq!(
        listed["pages"],
        serde_json::json!([[[], ["a/"]], [["b"], []], [[], ["c/"]], [["d"], []]]),
        "{listed}"
    );
    let listed = boto(&serve, DEV, "listpages", &["bkt", "/", "2"]);
    assert_eq!(
        listed["pages"],
        serde_json::json!([[["b"], ["a/"]], [["d"], ["c/"]]]),
        "{listed}"
    );
}

#[test]
fn content_md5_is_checked() {
    let test = "content_md5_is_checked";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let serve = Serve::start(&root, &[]);
    boto(&serve, DEV, "mb", &["bkt"]);
    let file = write(dir.path(), "hello", b"hello world\n");
    let put = |key: &str, md5: &str| {
        boto(
            &serve,
            DEV,
            "put",
            &["bkt", key, file.to_str().unwrap(), "private", md5],
        )
    };
    // `printf 'hello world\n' | openssl md5 -binary | base64`
    let right = put("good", "b1kCrCNwJL3QwXbLkwY9xA==");
    assert_eq!(
        right["etag"], "\"6f5902ac237024bdd0c176cb93063dc4\"",
        "{right}"
    );
    let wrong = put("bad", "1B2M2Y8AsgTpgAmY7PhCfg==");
    assert_eq!(
        (wrong["error"].as_str(), wrong["status"].as_u64()),
        (Some("BadDigest"), Some(400)),
        "{wrong}"
    );
    for malformed in [
        "not base64",
        "b1kCrCNwJL3QwXbLkwY9xA=",
        "b1kCrCNwJL3QwXbLkwY9xB==",
    ] {
        let r = put("bad", malformed);
        assert_eq!(
            (r["error"].as_str(), r["status"].as_u64()),
            (Some("InvalidDigest"), Some(400)),
            "{malformed}: {r}"
        );
    }
    // Refused uploads leave nothing behind.
    let listed = boto(&serve, DEV, "list", &["bkt"]);
    assert_eq!(listed["keys"], serde_json::json!(["good"]));
}
