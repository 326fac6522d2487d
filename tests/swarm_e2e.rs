//! The swarm end to end: `serve --seeding peer` (the default) is the tracker
//! and a seeding peer, and real clients download from it alone, with no web
//! seed: python libtorrent (from a `.torrent` and from a magnet link, through
//! `ut_metadata`; v1, and v2-only with `--torrent-version v2`, whose magnet
//! link needs BEP 52 hash requests answered), aria2c, transmission-cli and
//! rtorrent. The swarm follows
//! `?torrent`'s rules: a private, deleted or overwritten object gets no
//! announce and no byte. Hostile announces and peers leave it serving.
//!
//! Loopback only; every wait is bounded.

use crate::support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use s3torrent_bencode::decode;
use s3torrent_metainfo::Torrent;
use support::serve::{DEV, Serve, aria2c_download, aws, aws_ok, boto, request};
use support::swarm::{
    Encryption, Killed, downloaded, free_port, libtorrent_download, percent_all, publish_public,
    torrent_of, wait_for_bytes,
};
use support::{have_program, have_python_module, random_bytes, write};

/// The swarm's flags: peer seeding on ports of the system's choosing.
const PEER: &[&str] = &[
    "--seeding",
    "peer",
    "--tracker-listen",
    "127.0.0.1:0",
    "--peer-listen",
    "127.0.0.1:0",
];

/// A serve in peer mode with one public object: its torrent, saved as
/// `DIR/object.torrent`.
struct Published {
    serve: Serve,
    torrent: Torrent,
    torrent_path: PathBuf,
    data: Vec<u8>,
}

fn publish(dir: &Path, size: usize, seed: u64) -> Published {
    publish_with(dir, size, seed, &[])
}

/// [`publish`], with more flags for `serve`.
fn publish_with(dir: &Path, size: usize, seed: u64, flags: &[&str]) -> Published {
    let flags: Vec<&str> = PEER.iter().chain(flags).copied().collect();
    let serve = Serve::start(&dir.join("root"), &flags);
    let data = random_bytes(size, seed);
    publish_public(&serve, dir, "swarm/object.bin", &data);
    let body = torrent_of(&serve, "swarm/object.bin");
    let torrent = Torrent::from_bytes(body.clone()).expect("a torrent");
    // Peer seeding: the HTTP tracker, then the UDP tracker on the same
    // port, no web seed.
    let trackers = torrent.trackers();
    assert_eq!(trackers.len(), 2, "{trackers:?}");
    assert!(
        trackers[0].starts_with("http://127.0.0.1:") && trackers[0].ends_with("/announce"),
        "{trackers:?}"
    );
    assert_eq!(
        trackers[1],
        trackers[0].replacen("http://", "udp://", 1),
        "{trackers:?}"
    );
    assert!(torrent.web_seeds().is_empty(), "{:?}", torrent.web_seeds());
    let torrent_path = write(dir, "object.torrent", &body);
    Published {
        serve,
        torrent,
        torrent_path,
        data,
    }
}

/// python libtorrent downloads a torrent (`.torrent` file, or a magnet link
/// when the argument starts with `magnet:`) into `save` from the peers its
/// tracker gives, on loopback, within `seconds`.
fn libtorrent(source: &str, save: &Path, seconds: u32) -> serde_json::Value {
    libtorrent_download(source, save, seconds, "127.0.0.1:0", Encryption::Default)
}

#[test]
fn libtorrent_downloads_from_the_endpoint_peer_alone() {
    let _heavy = support::heavy();
    let test = "libtorrent_downloads_from_the_endpoint_peer_alone";
    if !have_python_module(test, "boto3") || !have_python_module(test, "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 17 pieces of 256 KiB and a short last one.
    let p = publish(dir.path(), 17 * 262_144 + 1_234, 71);
    let save = dir.path().join("lt");
    let r = libtorrent(p.torrent_path.to_str().unwrap(), &save, 60);
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(downloaded(&save.join("swarm_object.bin")), p.data);
}

/// `--torrent-version v2`: a v2-only torrent (no SHA-1 pieces), which
/// libtorrent downloads from the endpoint's peer alone under the truncated v2
/// info-hash, each piece checked against the file's merkle tree on both
/// sides.
#[test]
fn libtorrent_downloads_a_v2_only_torrent_from_the_endpoint_peer_alone() {
    let _heavy = support::heavy();
    let test = "libtorrent_downloads_a_v2_only_torrent_from_the_endpoint_peer_alone";
    if !have_python_module(test, "boto3") || !have_python_module(test, "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 9 pieces of 256 KiB and a short last one of 1 block and a bit.
    let p = publish_with(
        dir.path(),
        9 * 262_144 + 20_000,
        72,
        &["--torrent-version", "v2"],
    );
    assert_eq!(p.torrent.version(), s3torrent_metainfo::TorrentVersion::V2);
    assert!(p.torrent.info().pieces().is_empty());
    let save = dir.path().join("lt");
    let r = libtorrent(p.torrent_path.to_str().unwrap(), &save, 60);
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(downloaded(&save.join("swarm_object.bin")), p.data);
}

/// A v2 magnet link (`btmh`): libtorrent gets the info dictionary through
/// ut_metadata and the file's piece layer through BEP 52 hash requests,
/// which the endpoint's peer answers from the torrent's `piece layers`.
#[test]
fn a_v2_magnet_link_downloads_with_hash_requests() {
    let _heavy = support::heavy();
    let test = "a_v2_magnet_link_downloads_with_hash_requests";
    if !have_python_module(test, "boto3") || !have_python_module(test, "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 11 pieces of 256 KiB and a short last one.
    let p = publish_with(
        dir.path(),
        11 * 262_144 + 5_000,
        73,
        &["--torrent-version", "v2"],
    );
    let magnet = p.torrent.magnet();
    assert!(
        magnet.contains("xt=urn:btmh:1220") && magnet.contains("&tr="),
        "{magnet}"
    );
    let save = dir.path().join("magnet");
    let r = libtorrent(&magnet, &save, 30);
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(r["has_metadata"], true, "{r}");
    assert_eq!(downloaded(&save.join("swarm_object.bin")), p.data);
}

#[test]
fn a_magnet_link_downloads_through_ut_metadata() {
    let _heavy = support::heavy();
    let test = "a_magnet_link_downloads_through_ut_metadata";
    if !have_python_module(test, "boto3") || !have_python_module(test, "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 1 MiB + 5: the info dictionary spans one metadata piece, the data five.
    let p = publish(dir.path(), (1 << 20) + 5, 72);
    let hash = p.torrent.info_hash().to_hex();
    let tracker = p.torrent.trackers()[0].to_owned();
    // xt, dn and tr only, as the task asks.
    let tr: String = tracker
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let magnet = format!("magnet:?xt=urn:btih:{hash}&dn=swarm_object.bin&tr={tr}");
    let save = dir.path().join("magnet");
    let r = libtorrent(&magnet, &save, 60);
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(r["has_metadata"], true, "{r}");
    assert_eq!(downloaded(&save.join("swarm_object.bin")), p.data);
}

#[test]
fn aria2c_downloads_from_the_endpoint_peer_alone() {
    let _heavy = support::heavy();
    let test = "aria2c_downloads_from_the_endpoint_peer_alone";
    if !have_python_module(test, "boto3") || !have_program(test, "aria2c") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = publish(dir.path(), 3 * 262_144 + 99, 73);
    let save = dir.path().join("aria2");
    aria2c_download(&p.torrent_path, &save);
    assert_eq!(downloaded(&save.join("swarm_object.bin")), p.data);
}

#[test]
fn transmission_downloads_from_the_endpoint_peer_alone() {
    let _heavy = support::heavy();
    let test = "transmission_downloads_from_the_endpoint_peer_alone";
    if !have_python_module(test, "boto3") || !have_program(test, "transmission-cli") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = publish(dir.path(), 2 * 262_144 + 7, 74);
    let save = dir.path().join("transmission");
    std::fs::create_dir_all(&save).unwrap();
    // transmission does not connect to loopback peers a tracker lists; it
    // gets the endpoint because the endpoint connects to leechers that
    // announce.
    let _client = Killed(
        Command::new("transmission-cli")
            .env("HOME", dir.path().join("home"))
            .args(["--no-portmap", "--no-downlimit", "--no-uplimit", "-et"])
            .args(["-p", &free_port().to_string()])
            .arg("-w")
            .arg(&save)
            .arg(&p.torrent_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("transmission-cli starts"),
    );
    assert!(
        wait_for_bytes(&save.join("swarm_object.bin"), &p.data, 90),
        "transmission did not download the object within 90 s"
    );
}

#[test]
fn rtorrent_downloads_from_the_endpoint_peer_alone() {
    let _heavy = support::heavy();
    let test = "rtorrent_downloads_from_the_endpoint_peer_alone";
    if !have_python_module(test, "boto3")
        || !have_program(test, "rtorrent")
        || !have_program(test, "tmux")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = publish(dir.path(), 2 * 262_144 + 11, 75);
    let save = dir.path().join("rtorrent");
    let session = dir.path().join("session");
    std::fs::create_dir_all(&session).unwrap();
    let port = free_port();
    let name = format!("s3torrent-rt-{}", std::process::id());
    // rtorrent wants a terminal: tmux gives it one.
    let rtorrent = format!(
        "rtorrent -n -o directory={} -o session={} -o network.port_range.set={port}-{port} \
         -o dht.mode.set=disable -o protocol.pex.set=no -o trackers.use_udp.set=no {}",
        save.display(),
        session.display(),
        p.torrent_path.display()
    );
    std::fs::create_dir_all(&save).unwrap();
    let started = Command::new("tmux")
        .args(["new-session", "-d", "-s", &name, "-x", "200", "-y", "50"])
        .arg(&rtorrent)
        .status()
        .expect("tmux runs");
    assert!(started.success());
    struct Session(String);
    impl Drop for Session {
        fn drop(&mut self) {
            let _ = Command::new("tmux")
                .args(["kill-session", "-t", &self.0])
                .status();
        }
    }
    let session = Session(name);
    let ok = wait_for_bytes(&save.join("swarm_object.bin"), &p.data, 90);
    let screen = Command::new("tmux")
        .args(["capture-pane", "-p", "-t", &session.0])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(
        ok,
        "rtorrent did not download the object within 90 s:\n{screen}"
    );
}

/// `%XX` for every byte: what an announce's `info_hash` looks like.
/// The tracker's address, from the torrent's announce URL.
fn tracker_addr(torrent: &Torrent) -> String {
    let url = torrent.trackers()[0];
    url.trim_start_matches("http://")
        .trim_end_matches("/announce")
        .to_owned()
}

/// A raw announce for `info_hash`; the decoded answer.
fn announce(
    tracker: &str,
    info_hash: &[u8; 20],
    peer: &str,
    port: u16,
) -> s3torrent_bencode::OwnedValue {
    let query = format!(
        "info_hash={}&peer_id={peer}&port={port}&uploaded=0&downloaded=0&left=1000&compact=1&event=started",
        percent_all(info_hash)
    );
    let r = request(tracker, "GET", &format!("/announce?{query}"), &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    decode(&r.body).expect("a bencoded answer").to_owned_value()
}

fn failure(answer: &s3torrent_bencode::OwnedValue) -> Option<String> {
    answer
        .get("failure reason")
        .and_then(|v| v.as_bytes())
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// The endpoint's peer, the first in a successful answer.
fn endpoint_peer(answer: &s3torrent_bencode::OwnedValue) -> SocketAddr {
    let peers = answer
        .get("peers")
        .and_then(|v| v.as_bytes())
        .expect("compact peers");
    assert!(peers.len() >= 6, "no peers in {answer:?}");
    let ip = std::net::Ipv4Addr::new(peers[0], peers[1], peers[2], peers[3]);
    SocketAddr::from((ip, u16::from_be_bytes([peers[4], peers[5]])))
}

/// A BitTorrent handshake for `info_hash`; what the peer answers before it
/// closes or 3 s pass.
fn handshake(peer: SocketAddr, info_hash: &[u8; 20]) -> Vec<u8> {
    let mut s = TcpStream::connect(peer).expect("the endpoint's peer listens");
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut hello = vec![19u8];
    hello.extend_from_slice(b"BitTorrent protocol");
    hello.extend_from_slice(&[0; 8]);
    hello.extend_from_slice(info_hash);
    hello.extend_from_slice(b"-XX0001-handshaketst");
    s.write_all(&hello).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    got
}

#[test]
fn private_deleted_or_overwritten_objects_leave_the_swarm() {
    let _heavy = support::heavy();
    let test = "private_deleted_or_overwritten_objects_leave_the_swarm";
    if !have_python_module(test, "boto3") || !have_python_module(test, "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = publish(dir.path(), 600_000, 76);
    let hash = *p.torrent.info_hash().as_bytes();
    let tracker = tracker_addr(&p.torrent);
    let key = "swarm/object.bin";

    // Public: the announce lists the endpoint's peer, which answers the
    // handshake with its own for the same info-hash.
    let open = announce(&tracker, &hash, "-XX0001-aaaaaaaaaaaa", 40001);
    assert_eq!(failure(&open), None, "{open:?}");
    let peer = endpoint_peer(&open);
    let hello = handshake(peer, &hash);
    assert!(hello.len() >= 68, "{} bytes", hello.len());
    assert_eq!(&hello[28..48], &hash);

    // Private: no announce, no handshake, and a fresh client gets no byte.
    assert_eq!(
        boto(&p.serve, DEV, "acl", &["pub", key, "private"]),
        serde_json::json!({})
    );
    let refused = announce(&tracker, &hash, "-XX0001-bbbbbbbbbbbb", 40002);
    let reason = failure(&refused).expect("a failure reason");
    assert!(reason.contains("AccessDenied"), "{reason}");
    assert_eq!(handshake(peer, &hash), Vec::<u8>::new());
    let r = libtorrent(
        p.torrent_path.to_str().unwrap(),
        &dir.path().join("private"),
        6,
    );
    assert_eq!(
        (r["done"].as_bool(), r["downloaded"].as_u64()),
        (Some(false), Some(0)),
        "{r}"
    );

    // Public again, then overwritten: the old info-hash is gone for good,
    // and a client holding the old torrent gets no byte of the new data.
    assert_eq!(
        boto(&p.serve, DEV, "acl", &["pub", key, "public-read"]),
        serde_json::json!({})
    );
    assert_eq!(
        failure(&announce(&tracker, &hash, "-XX0001-cccccccccccc", 40003)),
        None
    );
    let newer = write(dir.path(), "newer.bin", &random_bytes(600_000, 77));
    let put = boto(
        &p.serve,
        DEV,
        "put",
        &["pub", key, newer.to_str().unwrap(), "public-read"],
    );
    assert!(put.get("error").is_none(), "{put}");
    let stale = failure(&announce(&tracker, &hash, "-XX0001-dddddddddddd", 40004))
        .expect("a failure reason");
    assert!(stale.contains("changed"), "{stale}");
    assert_eq!(handshake(peer, &hash), Vec::<u8>::new());
    let r = libtorrent(
        p.torrent_path.to_str().unwrap(),
        &dir.path().join("stale"),
        6,
    );
    assert_eq!(r["downloaded"].as_u64(), Some(0), "{r}");

    // Deleted: the new torrent's info-hash is refused too.
    let current = request(&p.serve.addr, "GET", &format!("/pub/{key}?torrent"), &[]);
    let current = Torrent::from_bytes(current.body).unwrap();
    let current_hash = *current.info_hash().as_bytes();
    assert_eq!(
        failure(&announce(
            &tracker,
            &current_hash,
            "-XX0001-eeeeeeeeeeee",
            40005
        )),
        None
    );
    assert_eq!(
        boto(&p.serve, DEV, "rm", &["pub", key]),
        serde_json::json!({})
    );
    let gone = failure(&announce(
        &tracker,
        &current_hash,
        "-XX0001-ffffffffffff",
        40006,
    ));
    assert!(gone.is_some(), "a deleted object is still announced");
}

#[test]
fn the_swarm_survives_a_restart() {
    let _heavy = support::heavy();
    let test = "the_swarm_survives_a_restart";
    if !have_python_module(test, "boto3") || !have_python_module(test, "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let (s3, tracker, peer) = (free_port(), free_port(), free_port());
    let listen = format!("127.0.0.1:{s3}");
    let tracker_listen = format!("127.0.0.1:{tracker}");
    let peer_listen = format!("127.0.0.1:{peer}");
    let flags = [
        "--seeding",
        "peer",
        "--tracker-listen",
        &tracker_listen,
        "--peer-listen",
        &peer_listen,
    ];
    let data = random_bytes(700_000, 80);
    let file = write(dir.path(), "upload.bin", &data);
    let torrent = {
        let serve = Serve::start_on(&root, &listen, &flags);
        boto(&serve, DEV, "mb", &["pub"]);
        let put = boto(
            &serve,
            DEV,
            "put",
            &["pub", "k.bin", file.to_str().unwrap(), "public-read"],
        );
        assert!(put.get("error").is_none(), "{put}");
        request(&serve.addr, "GET", "/pub/k.bin?torrent", &[]).body
    };
    // The same addresses after a restart: the info-hash → object index and
    // the cached torrent come back from the database.
    let serve = Serve::start_on(&root, &listen, &flags);
    let t = Torrent::from_bytes(torrent.clone()).unwrap();
    let answer = announce(
        &tracker_listen,
        t.info_hash().as_bytes(),
        "-XX0001-aaaaaaaaaaaa",
        40001,
    );
    assert_eq!(failure(&answer), None, "{answer:?}");
    let path = write(dir.path(), "k.torrent", &torrent);
    let save = dir.path().join("after");
    let r = libtorrent(path.to_str().unwrap(), &save, 60);
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(downloaded(&save.join("k.bin")), data);
    drop(serve);
}

#[test]
fn requester_pays_buckets_have_no_anonymous_swarm() {
    let test = "requester_pays_buckets_have_no_anonymous_swarm";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = publish(dir.path(), 300_000, 79);
    let hash = *p.torrent.info_hash().as_bytes();
    let tracker = tracker_addr(&p.torrent);
    let open = announce(&tracker, &hash, "-XX0001-aaaaaaaaaaaa", 40001);
    let peer = endpoint_peer(&open);
    assert_eq!(
        boto(&p.serve, DEV, "payer", &["pub"]),
        serde_json::json!({})
    );
    // As `?torrent`: an anonymous requester cannot agree to pay.
    let r = request(&p.serve.addr, "GET", "/pub/swarm/object.bin?torrent", &[]);
    assert_eq!(r.status, 403, "{}", r.text());
    let refused = announce(&tracker, &hash, "-XX0001-bbbbbbbbbbbb", 40002);
    let reason = failure(&refused).expect("a failure reason");
    assert!(reason.contains("AccessDenied"), "{reason}");
    assert_eq!(handshake(peer, &hash), Vec::<u8>::new());
}

#[test]
fn hostile_announces_and_peers_leave_the_server_serving() {
    let _heavy = support::heavy();
    let test = "hostile_announces_and_peers_leave_the_server_serving";
    if !have_python_module(test, "boto3") || !have_python_module(test, "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = publish(dir.path(), 2 * 262_144 + 3, 78);
    let hash = *p.torrent.info_hash().as_bytes();
    let tracker = tracker_addr(&p.torrent);
    let peer = endpoint_peer(&announce(&tracker, &hash, "-XX0001-aaaaaaaaaaaa", 40001));
    let ih = percent_all(&hash);
    let ok = "peer_id=-XX0001-bbbbbbbbbbbb&uploaded=0&downloaded=0&left=5";

    // Announces: each gets a bencoded failure reason naming the problem.
    let announces: &[(String, &str)] = &[
        (format!("info_hash={}&{ok}&port=1", &ih[..57]), "info_hash"),
        (format!("info_hash={ih}%00&{ok}&port=1"), "info_hash"),
        (format!("info_hash={ih}&{ok}&port=0"), "port"),
        (format!("info_hash={ih}&{ok}&port=70000"), "port"),
        (
            format!("info_hash={ih}&{ok}&port=1&numwant=99999999999999999999999"),
            "numwant",
        ),
        (format!("{ok}&port=1"), "info_hash"),
        (
            format!("info_hash={ih}&info_hash={ih}&{ok}&port=1"),
            "info_hash",
        ),
        (format!("info_hash={ih}&{ok}&port=1&event=%zz"), "percent"),
        (format!("info_hash={ih}&{ok}&port=1&key=%4"), "percent"),
        (
            format!("info_hash={}&{ok}&port=1", percent_all(&[7; 20])),
            "unknown",
        ),
        (
            format!("info_hash={ih}&{ok}&port=1&x={}", "y".repeat(10_000)),
            "limit",
        ),
    ];
    for (full, fragment) in announces {
        let query = &full[..full.len().min(120)];
        let r = request(&tracker, "GET", &format!("/announce?{full}"), &[]);
        let answer = decode(&r.body).unwrap_or_else(|e| panic!("{query}: {e}"));
        let reason =
            failure(&answer.to_owned_value()).unwrap_or_else(|| panic!("{query}: no failure"));
        assert!(
            reason.to_lowercase().contains(fragment),
            "{query}: {reason:?} does not mention {fragment:?}"
        );
    }

    // Peers: each stream is answered by a close, and nothing else breaks.
    let mut hello = vec![19u8];
    hello.extend_from_slice(b"BitTorrent protocol");
    hello.extend_from_slice(&[0; 8]);
    hello.extend_from_slice(&hash);
    hello.extend_from_slice(b"-XX0001-hostilehosti");
    let with = |tail: &[u8]| [hello.as_slice(), tail].concat();
    let request_msg = |index: u32, begin: u32, length: u32| {
        let mut m = vec![0, 0, 0, 13, 6];
        for v in [index, begin, length] {
            m.extend_from_slice(&v.to_be_bytes());
        }
        m
    };
    let streams: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        (
            "a bad protocol string",
            [&[19u8][..], b"BitTorrent protocoX", &[0; 48]].concat(),
        ),
        (
            "an unknown info-hash",
            [&hello[..28], &[9; 20], &hello[48..]].concat(),
        ),
        ("a huge length prefix", with(&[0xff, 0xff, 0xff, 0xff, 7])),
        ("a piece out of range", with(&request_msg(99, 0, 16384))),
        (
            "a block past the piece",
            with(&request_msg(0, 262_144 - 100, 16384)),
        ),
        ("a block of 128 KiB + 1", with(&request_msg(0, 0, 131_073))),
        (
            "a bitfield from a seed's peer of the wrong size",
            with(&[0, 0, 0, 3, 5, 0xff, 0xff]),
        ),
    ];
    // All at once: a stream that does not start as a BitTorrent handshake
    // may be the start of an encryption handshake (MSE), whose key is
    // waited for until the handshake deadline (10 s).
    let sockets: Vec<(&str, TcpStream)> = streams
        .iter()
        .map(|(what, bytes)| {
            let mut s = TcpStream::connect(peer).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
            let _ = s.write_all(bytes);
            (*what, s)
        })
        .collect();
    for (what, mut s) in sockets {
        let mut sink = Vec::new();
        let closed = s.read_to_end(&mut sink).is_ok();
        assert!(closed, "{what}: the connection stayed open");
    }
    // A crowd of idle connections that never say hello.
    let idle: Vec<TcpStream> = (0..50).map(|_| TcpStream::connect(peer).unwrap()).collect();

    // The server still serves: S3, the tracker, and a real download.
    assert_eq!(
        request(&p.serve.addr, "GET", "/pub/swarm/object.bin?torrent", &[]).status,
        200
    );
    let save = dir.path().join("after");
    let r = libtorrent(p.torrent_path.to_str().unwrap(), &save, 60);
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(downloaded(&save.join("swarm_object.bin")), p.data);
    drop(idle);
}

/// Publishing as AWS's guides say today: a private object in a bucket
/// whose policy grants `s3:GetObject` to `*`. The policy alone makes
/// `?torrent`, the tracker and the peer serve it (libtorrent downloads it
/// from the endpoint's peer); a `Deny` for the key wins over it; without
/// the policy they stop at the next announce.
#[test]
fn a_bucket_policy_publishes_to_the_swarm() {
    let _heavy = support::heavy();
    let test = "a_bucket_policy_publishes_to_the_swarm";
    if !have_program(test, "aws") || !have_python_module(test, "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("root"), PEER);
    let data = random_bytes(700_000, 81);
    let file = write(dir.path(), "upload.bin", &data);
    aws_ok(&serve, &["s3api", "create-bucket", "--bucket", "site"]);
    aws_ok(
        &serve,
        &["s3", "cp", file.to_str().unwrap(), "s3://site/iso/disk.img"],
    );
    let path = "/site/iso/disk.img?torrent";
    assert_eq!(
        request(&serve.addr, "GET", path, &[]).code(),
        "AccessDenied"
    );

    let put_policy = |policy: &str| {
        let args = [
            "s3api",
            "put-bucket-policy",
            "--bucket",
            "site",
            "--policy",
            policy,
        ];
        aws(&serve, &args)
    };
    // The AWS CLI failed, and its error names `code`.
    let failed_with = |out: std::process::Output, code: &str| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(code), "{stderr}");
    };
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::site/*"]}]}"#;
    let put = put_policy(policy);
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let got = aws_ok(&serve, &["s3api", "get-bucket-policy", "--bucket", "site"]);
    let got: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(got["Policy"], policy);
    let status = aws_ok(
        &serve,
        &["s3api", "get-bucket-policy-status", "--bucket", "site"],
    );
    assert!(status.contains("\"IsPublic\": true"), "{status}");

    // Anonymous: the object, its torrent, and a download from the peer alone.
    let plain = request(&serve.addr, "GET", "/site/iso/disk.img", &[]);
    assert_eq!(plain.status, 200);
    assert_eq!(plain.body, data);
    let got = request(&serve.addr, "GET", path, &[]);
    assert_eq!(got.status, 200, "{}", got.text());
    let torrent = Torrent::from_bytes(got.body.clone()).unwrap();
    let torrent_path = write(dir.path(), "disk.torrent", &got.body);
    let save = dir.path().join("client");
    let r = libtorrent(torrent_path.to_str().unwrap(), &save, 60);
    assert_eq!(r["done"], true, "{r}");
    // The torrent's name is the key with `/` as `_`.
    let got = downloaded(&save.join("iso_disk.img"));
    assert!(got == data, "{} bytes, not the object's", got.len());

    // An explicit deny for the key wins over the allow.
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"},{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/iso/*"}]}"#;
    let put = put_policy(deny);
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    assert_eq!(
        request(&serve.addr, "GET", path, &[]).code(),
        "AccessDenied"
    );

    // Without a policy: no torrent, and the tracker refuses the info-hash.
    aws_ok(
        &serve,
        &["s3api", "delete-bucket-policy", "--bucket", "site"],
    );
    failed_with(
        aws(&serve, &["s3api", "get-bucket-policy", "--bucket", "site"]),
        "NoSuchBucketPolicy",
    );
    assert_eq!(
        request(&serve.addr, "GET", path, &[]).code(),
        "AccessDenied"
    );
    let hash = *torrent.info_hash().as_bytes();
    let refused = announce(
        &tracker_addr(&torrent),
        &hash,
        "-XX0001-pppppppppppp",
        40011,
    );
    let reason = failure(&refused).expect("a failure reason");
    assert!(reason.contains("AccessDenied"), "{reason}");

    // A policy that is not one is S3's MalformedPolicy.
    failed_with(put_policy("{\"Statement\":[]}"), "MalformedPolicy");
}
