//! The s3s example (`examples/s3s_torrent.rs`) end to end: s3s-fs with
//! GetObjectTorrent added, run as its own process. boto3 creates a bucket,
//! puts an object and asks for its torrent (signed); plain HTTP asks as the
//! anonymous requester. The torrent is checked against the data by Python's
//! hashlib with a bencode reader of its own, and by aria2c, which then
//! downloads the object through the web seed alone (no tracker, no peer).

use crate::support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use md5::{Digest, Md5};
use support::serve::{BOTO, aria2c_download, request};
use support::{have_program, have_python_module, python, random_bytes, write};

const ACCESS_KEY: &str = "embed";
const SECRET_KEY: &str = "embed-secret";

/// The example's binary. `cargo test --all-targets` builds examples only as
/// test harnesses, so this asks Cargo for the program itself, in the test's
/// own target folder and profile: one small crate to compile the first time,
/// nothing after. Bounded: 10 minutes at most (a cold, loaded machine).
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // TARGET/PROFILE/deps/embed_s3s-HASH
    let profile_dir = exe.parent().and_then(Path::parent).expect("PROFILE/deps");
    let target_dir = profile_dir.parent().expect("the target folder");
    let mut cargo = Command::new("timeout");
    cargo
        .args([
            "600",
            env!("CARGO"),
            "build",
            "--quiet",
            "--example",
            "s3s_torrent",
        ])
        .arg("--message-format=json")
        .arg("--manifest-path")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            cargo.arg("--release");
        }
        Some(profile) => {
            cargo.args(["--profile", profile]);
        }
    }
    let out = cargo.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo build --example s3s_torrent: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "s3s_torrent")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the example's executable")
}

/// The example, running; killed when dropped.
struct Example {
    child: Child,
    addr: String,
}

impl Example {
    /// Starts it on a free loopback port over `root` and waits (20 s at
    /// most) for the address it prints.
    fn start(binary: &Path, root: &Path) -> Example {
        let mut child = Command::new(binary)
            .args(["127.0.0.1:0", ACCESS_KEY, SECRET_KEY])
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the example starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("s3s_torrent: listening on http://") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(addr) => Example { child, addr },
            Err(_) => {
                let _ = child.kill();
                panic!("s3s_torrent did not say where it listens within 20 s");
            }
        }
    }

    /// boto3, signed with the example's user (the support module's script).
    fn boto(&self, op: &str, args: &[&str]) -> serde_json::Value {
        let endpoint = format!("http://{}", self.addr);
        let mut all = vec![endpoint.as_str(), ACCESS_KEY, SECRET_KEY, op];
        all.extend_from_slice(args);
        serde_json::from_str(python(BOTO, &all).trim()).expect("boto prints JSON")
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a torrent with nothing of ours: a bencode reader, the info-hash as
/// the SHA-1 of the `info` value's bytes as they stand in the file, and the
/// piece hashes recomputed from the data with hashlib.
const CHECK: &str = include_str!("clients/verify_torrent_without_libraries.py");

/// The info-hash aria2c reads from a torrent (`aria2c -S`).
fn aria2c_info_hash(torrent: &Path) -> String {
    let out = Command::new("timeout")
        .args(["60", "aria2c", "-S"])
        .arg(torrent)
        .output()
        .expect("aria2c runs");
    assert!(out.status.success(), "aria2c -S failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Info Hash: "))
        .expect("aria2c prints the info-hash")
        .trim()
        .to_ascii_lowercase()
}

#[test]
fn s3s_fs_serves_torrents_that_aria2c_downloads_from_its_web_seed() {
    let test = "s3s_fs_serves_torrents_that_aria2c_downloads_from_its_web_seed";
    if !have_program(test, "aria2c") || !have_python_module(test, "boto3") {
        return;
    }
    let binary = example_binary();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let server = Example::start(&binary, &root);

    // Four pieces of 256 KiB, the last one short; a key with a folder, a
    // space and a `#`, which the web seed's URL must encode.
    let data = random_bytes(1_000_003, 19);
    let file = write(dir.path(), "data.bin", &data);
    let key = "reel 1/take #2.bin";
    assert_eq!(server.boto("mb", &["films"]), serde_json::json!({}));
    // s3s-fs ignores the ACL; in the example every object reads as public-read.
    let put = server.boto(
        "put",
        &["films", key, file.to_str().unwrap(), "public-read"],
    );
    let md5: String = Md5::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(put["etag"], format!("\"{md5}\""), "{put}");

    // Signed, through boto3's GetObjectTorrent.
    let signed = dir.path().join("signed.torrent");
    let got = server.boto("torrent", &["films", key, signed.to_str().unwrap()]);
    assert_eq!(got["type"], "application/x-bittorrent", "{got}");
    let torrent = std::fs::read(&signed).unwrap();

    // Anonymous: the same bytes (from the cache now), with S3's headers.
    let path = "/films/reel%201/take%20%232.bin?torrent";
    let anonymous = request(&server.addr, "GET", path, &[]);
    assert_eq!(anonymous.status, 200, "{}", anonymous.text());
    assert_eq!(anonymous.body, torrent);
    assert_eq!(
        anonymous.header("content-disposition"),
        Some("attachment; filename=\"reel 1_take #2.bin.torrent\"")
    );

    // What the torrent says, read by Python and by aria2c.
    let checked: serde_json::Value = serde_json::from_str(
        python(CHECK, &[signed.to_str().unwrap(), file.to_str().unwrap()]).trim(),
    )
    .unwrap();
    let web_seed = format!("http://{}/films/reel%201/take%20%232.bin", server.addr);
    assert_eq!(
        checked,
        serde_json::json!({
            "info_hash": checked["info_hash"],
            "name": "reel 1_take #2.bin",
            "length": data.len(),
            "piece_length": 262_144,
            "pieces_match": true,
            "url_list": [web_seed],
            "top_keys": ["info", "url-list"],
            "aws": ["films", key],
        })
    );
    assert_eq!(aria2c_info_hash(&signed), checked["info_hash"]);
    let ours = s3torrent::metainfo::Torrent::from_bytes(torrent).unwrap();
    assert_eq!(ours.info_hash().to_string(), checked["info_hash"]);

    // aria2c downloads it from the web seed: the torrent names no tracker.
    let downloads = dir.path().join("downloads");
    aria2c_download(&signed, &downloads);
    assert!(std::fs::read(downloads.join("reel 1_take #2.bin")).unwrap() == data);

    // S3's errors, signed and anonymous.
    let missing = server.boto("torrent", &["films", "reel 1/take 3.bin", "/dev/null"]);
    assert_eq!(
        (&missing["error"], &missing["status"]),
        (&"NoSuchKey".into(), &404.into())
    );
    let missing = request(
        &server.addr,
        "GET",
        "/films/reel%201/take%203.bin?torrent",
        &[],
    );
    assert_eq!((missing.status, missing.code()), (404, "NoSuchKey".into()));
    let no_bucket = server.boto("torrent", &["no-such-bucket", key, "/dev/null"]);
    assert_eq!(no_bucket["error"], "NoSuchBucket", "{no_bucket}");
    // A key s3s-fs would read from another key's file has no torrent.
    let moved = request(
        &server.addr,
        "GET",
        "/films/reel%201//take%20%232.bin?torrent",
        &[],
    );
    assert_eq!((moved.status, moved.code()), (404, "NoSuchKey".into()));
    // Reads are open to anyone; writes are not.
    let put = request(
        &server.addr,
        "PUT",
        "/films/anonymous.bin",
        &[("Content-Length", "0")],
    );
    assert_eq!((put.status, put.code()), (403, "AccessDenied".into()));
}
