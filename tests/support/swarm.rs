//! What the swarm's end-to-end tests share: a python-libtorrent download
//! (`tests/clients/libtorrent_download.py`), waiting for a client's bytes,
//! free ports, child processes killed on drop, percent-encoding.

use std::path::Path;
use std::time::{Duration, Instant};

use super::serve::{DEV, Serve, boto, request};
use super::{python, write};

/// The python-libtorrent client (see the script's docstring).
const LIBTORRENT_DOWNLOAD: &str = include_str!("../clients/libtorrent_download.py");

/// How a libtorrent client treats encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encryption {
    /// libtorrent's default: encrypted or plain.
    Default,
    /// RC4 only, both ways.
    Forced,
    /// Plain only.
    Disabled,
}

/// python libtorrent downloads `source` (a `.torrent` path, or a magnet
/// link) into `save` from the peers its trackers give, listening on
/// `listen`, within `seconds`: the script's JSON (`done`, `downloaded`,
/// `has_metadata`, `name`, `trackers`, `alerts`).
pub(crate) fn libtorrent_download(
    source: &str,
    save: &Path,
    seconds: u32,
    listen: &str,
    encryption: Encryption,
) -> serde_json::Value {
    run_libtorrent_download(source, save, seconds, listen, encryption, &[], "")
}

/// python libtorrent downloads the `.torrent` at `torrent` into `save` on
/// loopback (default encryption) within `seconds`; the test fails unless
/// the download finishes with `save/file` holding exactly `data`.
pub(crate) fn libtorrent_downloads(
    torrent: &Path,
    save: &Path,
    seconds: u32,
    file: &str,
    data: &[u8],
) {
    let r = libtorrent_download(
        torrent.to_str().unwrap(),
        save,
        seconds,
        "127.0.0.1:0",
        Encryption::Default,
    );
    assert_eq!(r["done"], true, "{r}");
    let path = save.join(file);
    assert!(
        downloaded(&path) == data,
        "{} does not hold the seeded bytes",
        path.display()
    );
}

/// [`libtorrent_download`], its outgoing connections bound to `outgoing`
/// (an address; with `listen` on it too, the client's announces come from
/// there), dialing over TCP only.
pub(crate) fn libtorrent_download_from(
    source: &str,
    save: &Path,
    seconds: u32,
    listen: &str,
    encryption: Encryption,
    outgoing: &str,
) -> serde_json::Value {
    assert!(!outgoing.is_empty(), "an address to bind");
    run_libtorrent_download(source, save, seconds, listen, encryption, &[], outgoing)
}

/// [`libtorrent_download`] with the Mainline DHT on, bootstrapped from
/// `dht_nodes` (`IP:PORT`, a private DHT's: never the public routers)
/// only, besides the torrent's trackers.
pub(crate) fn libtorrent_download_with_dht(
    source: &str,
    save: &Path,
    seconds: u32,
    listen: &str,
    dht_nodes: &[String],
) -> serde_json::Value {
    assert!(!dht_nodes.is_empty(), "a private DHT has nodes");
    run_libtorrent_download(
        source,
        save,
        seconds,
        listen,
        Encryption::Default,
        dht_nodes,
        "",
    )
}

fn run_libtorrent_download(
    source: &str,
    save: &Path,
    seconds: u32,
    listen: &str,
    encryption: Encryption,
    dht_nodes: &[String],
    outgoing: &str,
) -> serde_json::Value {
    let encryption = match encryption {
        Encryption::Default => "default",
        Encryption::Forced => "forced",
        Encryption::Disabled => "disabled",
    };
    let seconds = seconds.to_string();
    let nodes = dht_nodes.join(",");
    let mut args = vec![source, save.to_str().unwrap(), &seconds, listen, encryption];
    if !nodes.is_empty() || !outgoing.is_empty() {
        args.push(&nodes);
    }
    if !outgoing.is_empty() {
        args.push(outgoing);
    }
    let out = python(LIBTORRENT_DOWNLOAD, &args);
    serde_json::from_str(out.trim()).expect("JSON from libtorrent")
}

/// Makes bucket `pub` and puts `data` as the public-read `pub/KEY`.
pub(crate) fn publish_public(serve: &Serve, dir: &Path, key: &str, data: &[u8]) {
    let file = write(dir, "upload.bin", data);
    assert_eq!(boto(serve, DEV, "mb", &["pub"]), serde_json::json!({}));
    let put = boto(
        serve,
        DEV,
        "put",
        &["pub", key, file.to_str().unwrap(), "public-read"],
    );
    assert!(put.get("error").is_none(), "{put}");
}

/// `GET /pub/KEY?torrent`, anonymously: the torrent's bytes (200, or the
/// test fails).
pub(crate) fn torrent_of(serve: &Serve, key: &str) -> Vec<u8> {
    let got = request(&serve.addr, "GET", &format!("/pub/{key}?torrent"), &[]);
    assert_eq!(got.status, 200, "{}", got.text());
    got.body
}

/// A file's bytes, or none.
pub(crate) fn downloaded(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

/// Waits until `path` holds exactly `data`, at most `seconds`.
pub(crate) fn wait_for_bytes(path: &Path, data: &[u8], seconds: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if std::fs::metadata(path).is_ok_and(|m| m.len() == data.len() as u64)
            && downloaded(path) == data
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// A port free on loopback now, for TCP and UDP both, that this process
/// has not handed out before, below the kernel's ephemeral range (32768
/// and up by default): a port the kernel picked for `bind(0)` and that was
/// let go could be picked again for another test's listener, or taken as
/// the local port of a connection some test makes, before the test that
/// asked for it binds it. Each process starts at its own place in the
/// range, so that test binaries run side by side rarely meet.
pub(crate) fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const PORTS: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(397) % PORTS;
    for _ in 0..PORTS {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = u16::try_from(FIRST + (start + n) % PORTS).expect("below 32000");
        let free = std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
            && std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok();
        if free {
            return port;
        }
    }
    panic!(
        "no free port on loopback between {FIRST} and {}",
        FIRST + PORTS
    )
}

/// Kills a child process when dropped.
pub(crate) struct Killed(pub(crate) std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every byte percent-encoded, as a tracker query's `info_hash`.
pub(crate) fn percent_all(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// The HTTP tracker's `HOST:PORT`, from a torrent's first announce URL.
pub(crate) fn tracker_of(torrent: &s3torrent_metainfo::Torrent) -> String {
    torrent.trackers()[0]
        .trim_start_matches("http://")
        .trim_end_matches("/announce")
        .to_owned()
}

/// A raw HTTP announce of `info_hash` (a client starting, as `peer_id` on
/// `port`): the tracker's `failure reason`, or `None` when it answered
/// with peers.
pub(crate) fn announce_failure(
    tracker: &str,
    info_hash: &[u8; 20],
    peer_id: &str,
    port: u16,
) -> Option<String> {
    let query = format!(
        "info_hash={}&peer_id={peer_id}&port={port}&uploaded=0&downloaded=0&left=1000&compact=1&event=started",
        percent_all(info_hash)
    );
    let r = super::serve::request(tracker, "GET", &format!("/announce?{query}"), &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = s3torrent_bencode::decode(&r.body)
        .expect("a bencoded answer")
        .to_owned_value();
    match answer.get("failure reason").and_then(|v| v.as_bytes()) {
        Some(reason) => Some(String::from_utf8_lossy(reason).into_owned()),
        None => {
            assert!(answer.get("peers").is_some(), "{answer:?}");
            None
        }
    }
}
