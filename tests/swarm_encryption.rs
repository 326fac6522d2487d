//! Message stream encryption (MSE/PE) end to end: clients that require
//! encryption (python libtorrent with its policies forced to RC4, aria2c
//! with `--bt-require-crypto=true`, transmission-cli with `-er`) download
//! from the endpoint's seeding peer alone, and the endpoint's connection
//! log says the connections were RC4. Under `--peer-encryption require` a
//! client that speaks plain only gets nothing. A fake leecher that refuses
//! plain connections shows how the endpoint dials under each policy.
//!
//! Loopback only; every wait is bounded.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use support::serve::{Serve, aria2c_download_with, listening};
use support::swarm::{
    Encryption, Killed, downloaded, free_port, libtorrent_download, publish_public, torrent_of,
    wait_for_bytes,
};
use support::{have_program, have_python_module, python, random_bytes, s3torrent, write};

/// A `serve` in peer mode with one public object, whose log lines are kept.
struct Published {
    serve: Serve,
    reader: Option<JoinHandle<Vec<String>>>,
    torrent_path: PathBuf,
    data: Vec<u8>,
}

impl Published {
    /// `serve --seeding peer` with `flags`, and a public object of `size`
    /// bytes: its torrent saved as `DIR/object.torrent`.
    fn new(dir: &Path, size: usize, seed: u64, flags: &[&str]) -> Published {
        let mut child = s3torrent()
            .arg("serve")
            .arg("--root")
            .arg(dir.join("root"))
            .args(["--listen", "127.0.0.1:0", "--seeding", "peer"])
            .args(["--tracker-listen", "127.0.0.1:0"])
            .args(["--peer-listen", "127.0.0.1:0"])
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let (addr, reader) = listening(&mut child);
        let serve = Serve { child, addr };
        let data = random_bytes(size, seed);
        publish_public(&serve, dir, "swarm/object.bin", &data);
        let torrent_path = write(
            dir,
            "object.torrent",
            &torrent_of(&serve, "swarm/object.bin"),
        );
        Published {
            serve,
            reader: Some(reader),
            torrent_path,
            data,
        }
    }

    /// Stops serve (Ctrl-C, which flushes the log) and gives its peer
    /// connection lines.
    fn connections(mut self) -> Vec<String> {
        let _ = Command::new("kill")
            .args(["-INT", &self.serve.child.id().to_string()])
            .status();
        // Bounded: a serve that does not stop within 20 s is killed.
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.serve.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.serve.child.kill();
        let _ = self.serve.child.wait();
        let lines = self.reader.take().unwrap().join().expect("stderr reader");
        lines
            .into_iter()
            .filter(|l| l.contains("connection") && l.contains("encryption"))
            .collect()
    }
}

/// Whether some connection of the log served bytes over RC4.
fn served_over_rc4(lines: &[String]) -> bool {
    lines
        .iter()
        .any(|l| l.contains("rc4") && !l.contains("sent=0"))
}

/// python libtorrent downloads `torrent` into `save` within `seconds`, with
/// its encryption `policy` (RC4 forced, or disabled), on loopback.
fn libtorrent(source: &Path, save: &Path, seconds: u32, policy: Encryption) -> serde_json::Value {
    libtorrent_download(
        source.to_str().unwrap(),
        save,
        seconds,
        "127.0.0.1:0",
        policy,
    )
}

#[test]
fn libtorrent_forced_rc4_downloads_from_the_endpoint_peer() {
    let _heavy = support::heavy();
    let test = "libtorrent_forced_rc4_downloads_from_the_endpoint_peer";
    if !have_python_module(test, "boto3") || !have_python_module(test, "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 5 pieces of 256 KiB and a short last one; the default policy.
    let p = Published::new(dir.path(), 5 * 262_144 + 1_234, 81, &[]);
    let save = dir.path().join("lt");
    let r = libtorrent(&p.torrent_path, &save, 60, Encryption::Forced);
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(downloaded(&save.join("swarm_object.bin")), p.data);
    let lines = p.connections();
    assert!(served_over_rc4(&lines), "{lines:#?}");
}

#[test]
fn require_refuses_plain_peers() {
    let _heavy = support::heavy();
    let test = "require_refuses_plain_peers";
    if !have_python_module(test, "boto3") || !have_python_module(test, "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = Published::new(
        dir.path(),
        262_144 + 5,
        82,
        &["--peer-encryption", "require"],
    );
    let save = dir.path().join("lt");
    let r = libtorrent(&p.torrent_path, &save, 8, Encryption::Disabled);
    assert_eq!(r["done"], false, "{r}");
    assert_eq!(r["downloaded"], 0, "{r}");
    let lines = p.connections();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("encryption (MSE) is required")),
        "{lines:#?}"
    );
}

#[test]
fn aria2c_requiring_crypto_downloads_from_the_endpoint_peer() {
    let _heavy = support::heavy();
    let test = "aria2c_requiring_crypto_downloads_from_the_endpoint_peer";
    if !have_python_module(test, "boto3") || !have_program(test, "aria2c") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = Published::new(dir.path(), 3 * 262_144 + 99, 83, &[]);
    let save = dir.path().join("aria2");
    aria2c_download_with(
        &p.torrent_path,
        &save,
        &["--bt-require-crypto=true", "--bt-min-crypto-level=arc4"],
    );
    assert_eq!(downloaded(&save.join("swarm_object.bin")), p.data);
    let lines = p.connections();
    assert!(served_over_rc4(&lines), "{lines:#?}");
}

#[test]
fn transmission_requiring_encryption_downloads_from_the_endpoint_peer() {
    let _heavy = support::heavy();
    let test = "transmission_requiring_encryption_downloads_from_the_endpoint_peer";
    if !have_python_module(test, "boto3") || !have_program(test, "transmission-cli") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = Published::new(dir.path(), 2 * 262_144 + 7, 84, &[]);
    let save = dir.path().join("transmission");
    std::fs::create_dir_all(&save).unwrap();
    let client = Killed(
        Command::new("transmission-cli")
            .env("HOME", dir.path().join("home"))
            .args(["--no-portmap", "--no-downlimit", "--no-uplimit", "-er"])
            .args(["-p", &free_port().to_string()])
            .arg("-w")
            .arg(&save)
            .arg(&p.torrent_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("transmission-cli starts"),
    );
    let got = wait_for_bytes(&save.join("swarm_object.bin"), &p.data, 90);
    drop(client);
    let lines = p.connections();
    assert!(
        got,
        "transmission did not download the object within 90 s: {lines:#?}"
    );
    assert!(served_over_rc4(&lines), "{lines:#?}");
}

/// A leecher that announces to `tracker` for `info_hash` (hex), with
/// `supportcrypto=1` or `requirecrypto=1` as the last argument says, then
/// accepts up to `want` connections within `seconds`, reading each one's
/// first 20 bytes and closing it: prints for each `plain` (a BitTorrent
/// handshake), `mse` (anything else: an encryption handshake) or `short`.
const FAKE_LEECHER: &str = include_str!("clients/fake_leecher_encryption_probe.py");

/// What the endpoint's dials to a leecher that refuses plain connections
/// look like, under `flags`, when its announce said `crypto=1`.
fn dials_to_a_leecher_refusing_plain(
    flags: &[&str],
    crypto: &str,
    want: usize,
) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let p = Published::new(dir.path(), 1000, 85, flags);
    let torrent =
        s3torrent_metainfo::Torrent::from_bytes(std::fs::read(&p.torrent_path).unwrap()).unwrap();
    let tracker = torrent.trackers()[0].to_owned();
    let out = python(
        FAKE_LEECHER,
        &[
            &tracker,
            &torrent.info_hash().to_hex(),
            &want.to_string(),
            "6",
            crypto,
        ],
    );
    serde_json::from_str(out.trim()).expect("JSON from the fake leecher")
}

/// Under `prefer` the endpoint dials plain first (the announce did not
/// require encryption); a leecher that closes it before its handshake is
/// dialed once more, encrypted.
#[test]
fn prefer_redials_encrypted_when_a_plain_dial_is_refused() {
    if !have_python_module(
        "prefer_redials_encrypted_when_a_plain_dial_is_refused",
        "boto3",
    ) {
        return;
    }
    let kinds = dials_to_a_leecher_refusing_plain(&[], "supportcrypto", 3);
    assert_eq!(kinds, serde_json::json!(["plain", "mse"]));
}

/// Under `require` every dial is encrypted, and not repeated.
#[test]
fn require_dials_encrypted() {
    if !have_python_module("require_dials_encrypted", "boto3") {
        return;
    }
    let kinds =
        dials_to_a_leecher_refusing_plain(&["--peer-encryption", "require"], "supportcrypto", 2);
    assert_eq!(kinds, serde_json::json!(["mse"]));
}

/// Under `off` every dial is plain, and not repeated.
#[test]
fn off_dials_plain() {
    if !have_python_module("off_dials_plain", "boto3") {
        return;
    }
    let kinds =
        dials_to_a_leecher_refusing_plain(&["--peer-encryption", "off"], "requirecrypto", 2);
    assert_eq!(kinds, serde_json::json!(["plain"]));
}

/// Under `prefer` a leecher whose announce said `requirecrypto=1` is
/// dialed encrypted from the first dial.
#[test]
fn prefer_dials_encrypted_when_the_announce_requires_it() {
    if !have_python_module(
        "prefer_dials_encrypted_when_the_announce_requires_it",
        "boto3",
    ) {
        return;
    }
    let kinds = dials_to_a_leecher_refusing_plain(&[], "requirecrypto", 2);
    assert_eq!(kinds, serde_json::json!(["mse"]));
}
