//! The Mainline DHT (BEP 5), end to end: `serve --dht` puts its objects in
//! a private DHT of python-libtorrent nodes on loopback addresses of their
//! own (bootstrapped from each other, never from the public routers), and
//! libtorrent, given a magnet link with only `xt`, finds the endpoint there
//! and downloads the object; an object made private is announced no more
//! while the others still are, as the nodes themselves report. And the
//! flags are checked at start-up.
//!
//! Loopback only; every wait is bounded.

use crate::support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use s3torrent_metainfo::Torrent;
use support::serve::{DEV, Serve, boto};
use support::swarm::{Killed, libtorrent_download_with_dht, publish_public, torrent_of};
use support::{have_python_module, random_bytes, write};

/// The private DHT's nodes (see the script's docstring).
const DHT_NODES: &str = include_str!("clients/libtorrent_dht_nodes.py");

/// The endpoint's address: a loopback address of its own, so that the
/// nodes tell its announces from the client's by their source.
const ENDPOINT_IP: &str = "127.0.0.21";
/// The libtorrent client's.
const CLIENT_IP: &str = "127.0.0.22";
/// The re-announce interval the test runs with: short, to watch a
/// withdrawal happen.
const INTERVAL_SECS: u64 = 5;

/// An announce_peer one of the private DHT's nodes took.
#[derive(Debug, Clone)]
struct Announce {
    info_hash: String,
    peer: String,
    at: Instant,
}

/// The private DHT: three python-libtorrent nodes, killed when dropped.
struct PrivateDht {
    nodes: Vec<String>,
    announces: mpsc::Receiver<Announce>,
    seen: Vec<Announce>,
    _child: Killed,
}

impl PrivateDht {
    /// Starts the nodes (for at most `seconds`) on 127.0.0.11 to .13.
    fn start(seconds: u64) -> PrivateDht {
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(DHT_NODES)
            .arg(seconds.to_string())
            .args(["127.0.0.11", "127.0.0.12", "127.0.0.13"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs");
        let stdout = child.stdout.take().expect("stdout piped");
        let child = Killed(child);
        let (nodes_tx, nodes_rx) = mpsc::channel();
        let (tx, announces) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v: serde_json::Value = serde_json::from_str(&line).expect("JSON lines");
                if let Some(nodes) = v["nodes"].as_array() {
                    let nodes = nodes.iter().map(|n| n.as_str().unwrap().to_owned());
                    let _ = nodes_tx.send(nodes.collect::<Vec<_>>());
                } else if tx
                    .send(Announce {
                        info_hash: v["announce"].as_str().unwrap().to_owned(),
                        peer: v["peer"].as_str().unwrap().to_owned(),
                        at: Instant::now(),
                    })
                    .is_err()
                {
                    return;
                }
            }
        });
        let nodes = nodes_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the DHT nodes start within 30 s");
        PrivateDht {
            nodes,
            announces,
            seen: Vec::new(),
            _child: child,
        }
    }

    /// Takes in the announces that arrived.
    fn drain(&mut self) {
        self.seen.extend(self.announces.try_iter());
    }

    /// Waits, at most `seconds`, for an announce of `info_hash` by `peer`
    /// arriving after `after`: when it came.
    fn wait_for(&mut self, info_hash: &str, peer: &str, after: Instant, seconds: u64) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            self.drain();
            if let Some(a) = self
                .seen
                .iter()
                .find(|a| a.info_hash == info_hash && a.peer == peer && a.at > after)
            {
                return a.at;
            }
            assert!(
                Instant::now() < deadline,
                "no announce of {info_hash} by {peer} within {seconds} s; the nodes took {:?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The times `peer` announced `info_hash`, after `after`.
    fn times(&self, info_hash: &str, peer: &str, after: Instant) -> Vec<Instant> {
        let mut times: Vec<Instant> = self
            .seen
            .iter()
            .filter(|a| a.info_hash == info_hash && a.peer == peer && a.at > after)
            .map(|a| a.at)
            .collect();
        // One announce reaches every node: count it once.
        times.dedup_by(|b, a| b.duration_since(*a) < Duration::from_secs(1));
        times
    }
}

/// Puts `data` as the public-read `pub/KEY` (the bucket exists) and
/// fetches its torrent: its info-hash, in hex.
fn put_public(serve: &Serve, dir: &Path, key: &str, data: &[u8]) -> String {
    let file = write(dir, "upload.bin", data);
    let put = boto(
        serve,
        DEV,
        "put",
        &["pub", key, file.to_str().unwrap(), "public-read"],
    );
    assert!(put.get("error").is_none(), "{put}");
    info_hash_of(serve, key)
}

fn info_hash_of(serve: &Serve, key: &str) -> String {
    Torrent::from_bytes(torrent_of(serve, key))
        .expect("a torrent")
        .info_hash()
        .to_hex()
}

/// A TCP port free on `ip` now.
fn free_port_on(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_magnet_link_with_xt_alone_finds_the_endpoint_through_the_dht_and_private_objects_leave_it() {
    let _heavy = support::heavy();
    let test = "a_magnet_link_with_xt_alone_finds_the_endpoint_through_the_dht_and_private_objects_leave_it";
    if !have_python_module(test, "boto3") || !have_python_module(test, "libtorrent") {
        return;
    }
    let started = Instant::now();
    let mut dht = PrivateDht::start(600);
    let dir = tempfile::tempdir().unwrap();
    let any = format!("{ENDPOINT_IP}:0");
    let peer_port = free_port_on(ENDPOINT_IP);
    let peer_listen = format!("{ENDPOINT_IP}:{peer_port}");
    let interval = INTERVAL_SECS.to_string();
    // The node on a port of its own: the announces must name the peer's.
    let mut flags = vec![
        "--seeding",
        "peer",
        "--tracker-listen",
        &any,
        "--peer-listen",
        &peer_listen,
        "--dht",
        "--dht-listen",
        &any,
        "--dht-interval",
        &interval,
    ];
    for node in &dht.nodes {
        flags.extend(["--dht-bootstrap", node]);
    }
    let serve = Serve::start_on(&dir.path().join("root"), &any, &flags);

    // Two public objects: both announced, with the seeding peer's port,
    // from the endpoint's address.
    let a = random_bytes(7 * 262_144 + 1234, 111);
    let b = random_bytes(300_000, 112);
    publish_public(&serve, dir.path(), "dht/a.bin", &a);
    let hash_a = info_hash_of(&serve, "dht/a.bin");
    let hash_b = put_public(&serve, dir.path(), "dht/b.bin", &b);
    let endpoint = peer_listen.clone();
    dht.wait_for(&hash_a, &endpoint, started, 60);
    dht.wait_for(&hash_b, &endpoint, started, 60);
    eprintln!("announced after {:?}", started.elapsed());

    // libtorrent with the DHT on, given the info-hash alone: no tracker,
    // no web seed, no peer but what the DHT tells it.
    let magnet = format!("magnet:?xt=urn:btih:{hash_a}");
    let save = dir.path().join("client");
    let download = Instant::now();
    let r =
        libtorrent_download_with_dht(&magnet, &save, 120, &format!("{CLIENT_IP}:0"), &dht.nodes);
    eprintln!("downloaded in {:?}: {r}", download.elapsed());
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(r["has_metadata"], true, "{r}");
    assert_eq!(r["trackers"], serde_json::json!([]), "{r}");
    assert_eq!(
        std::fs::read(save.join("dht_a.bin")).unwrap_or_default(),
        a,
        "the object's bytes"
    );

    // Withdrawal: object a made private. A third object's announce comes
    // after the sweep that saw the change (its torrent moves the sweep);
    // from then on a is announced no more, while b goes on being
    // announced every interval.
    let private = boto(&serve, DEV, "acl", &["pub", "dht/a.bin", "private"]);
    assert_eq!(private, serde_json::json!({}));
    let changed = Instant::now();
    let hash_c = put_public(&serve, dir.path(), "dht/c.bin", &random_bytes(200_000, 113));
    let swept = dht.wait_for(&hash_c, &endpoint, changed, 90);
    // An announce of a started before the sweep may still land meanwhile.
    let settled = swept + Duration::from_secs(INTERVAL_SECS);
    let watch = settled + Duration::from_secs(4 * INTERVAL_SECS);
    while Instant::now() < watch {
        std::thread::sleep(Duration::from_millis(200));
    }
    dht.drain();
    let a_after = dht.times(&hash_a, &endpoint, settled);
    let b_after = dht.times(&hash_b, &endpoint, settled);
    let c_after = dht.times(&hash_c, &endpoint, settled);
    eprintln!(
        "after the sweep ({:?} after the change): a {} announces, b {}, c {}",
        swept - changed,
        a_after.len(),
        b_after.len(),
        c_after.len()
    );
    assert!(a_after.is_empty(), "a private object is still announced");
    assert!(
        b_after.len() >= 2 && c_after.len() >= 2,
        "public objects are announced every {INTERVAL_SECS} s: b {}, c {}",
        b_after.len(),
        c_after.len()
    );
    eprintln!("whole test {:?}", started.elapsed());
}

/// `--dht` needs the seeding peer and an IPv4 node address; its other flags
/// need `--dht`; its node's address is the peer's by default.
#[test]
fn dht_flags_are_checked_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = support::s3torrent()
            .args(args)
            .output()
            .expect("s3torrent runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let root = dir.path().join("root");
    let root = root.to_str().unwrap();
    let serve = [
        "serve",
        "--root",
        root,
        "--listen",
        "127.0.0.1:0",
        "--tracker-listen",
        "127.0.0.1:0",
        "--peer-listen",
        "127.0.0.1:0",
    ];

    let (code, stderr) = run(&[&serve[..], &["--seeding", "web", "--dht"]].concat());
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--seeding peer or both"), "{stderr}");

    let (code, stderr) = run(&[&serve[..], &["--dht", "--dht-listen", "[::1]:0"]].concat());
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("IPv4"), "{stderr}");

    for flag in [
        ["--dht-listen", "127.0.0.1:0"],
        ["--dht-bootstrap", "127.0.0.1:1"],
        ["--dht-interval", "60"],
    ] {
        let (code, stderr) = run(&[&serve[..], &flag[..]].concat());
        assert_eq!(code, Some(2), "{flag:?}: {stderr}");
        assert!(stderr.contains("--dht"), "{stderr}");
    }
    let (code, stderr) = run(&[&serve[..], &["--dht", "--dht-interval", "0"]].concat());
    assert_eq!(code, Some(2), "{stderr}");

    // Without --dht-listen the node takes the seeding peer's address and
    // port, over UDP (its bootstrap node here answers nothing).
    let port = free_port_on("127.0.0.1");
    let peer = format!("127.0.0.1:{port}");
    let mut child = support::s3torrent()
        .args(["serve", "--root", root, "--listen", "127.0.0.1:0"])
        .args(["--tracker-listen", "127.0.0.1:0", "--peer-listen", &peer])
        .args(["--dht", "--dht-bootstrap", "127.0.0.1:1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let (_, lines) = support::serve::listening(&mut child);
    let _ = child.kill();
    let _ = child.wait();
    let lines = lines.join().unwrap();
    let line = format!(
        "serve: DHT node on udp {peer}, announcing the seeding peer's port {port} every 900s, bootstrap 127.0.0.1:1"
    );
    assert!(lines.contains(&line), "{lines:#?}");

    // The gateway's: the same check, before it asks its upstream anything.
    let (code, stderr) = run(&[
        "gateway",
        "--upstream",
        "http://127.0.0.1:1",
        "--listen",
        "127.0.0.1:0",
        "--dht",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--seeding peer or both"), "{stderr}");
}
