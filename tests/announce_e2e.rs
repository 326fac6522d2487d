//! The endpoint announces itself to the other trackers its torrents list
//! (`--tracker`), checked against a real opentracker (Debian's, in its
//! whitelist mode) and a python-libtorrent client that knows only
//! opentracker: over HTTP (the leecher announced first: the endpoint dials
//! it; made private, the endpoint leaves opentracker's list), over UDP (the
//! endpoint announced first: the client dials it; shut down, it leaves),
//! and a fleet of two gateways over one Ceph RGW that both seed one client.

use crate::support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use s3torrent_bencode::{Decoder, Kind, Value};
use s3torrent_metainfo::{InfoHash, Torrent};
use support::ceph::{Gateway, cluster, scenario};
use support::serve::{DEV, Serve, boto, request};
use support::swarm::{
    Encryption, free_port, libtorrent_download, percent_all, publish_public, torrent_of,
};
use support::{have_program, have_python_module, random_bytes, write};

/// The port opentracker's observer announces with: a peer nobody is.
const OBSERVER_PORT: u16 = 9;

/// A running opentracker on loopback (HTTP and UDP on one port), in its
/// whitelist mode (Debian builds it so): info-hashes are allowed one by
/// one. Killed when dropped.
struct Opentracker {
    child: Child,
    /// An address of its own in 127/8: opentracker binds with
    /// SO_REUSEPORT, so a second opentracker on the same address and port
    /// (another test's, or anyone's on the machine) would silently take
    /// half its connections.
    addr: SocketAddr,
    whitelist: PathBuf,
    _dir: tempfile::TempDir,
}

impl Opentracker {
    fn start(test: &str) -> Option<Opentracker> {
        if !have_program(test, "opentracker") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        // Run as root, opentracker drops to `nobody` (after a chroot to `-d`,
        // here `/`), which must still read its whitelist on SIGHUP.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let whitelist = write(dir.path(), "whitelist.txt", b"");
        std::fs::set_permissions(&whitelist, std::fs::Permissions::from_mode(0o644)).unwrap();
        static STARTED: AtomicU8 = AtomicU8::new(0);
        let ip = std::net::Ipv4Addr::new(
            127,
            201,
            u8::try_from(std::process::id() % 250 + 1).unwrap(),
            STARTED.fetch_add(1, Ordering::Relaxed).wrapping_add(1),
        );
        let addr = std::net::TcpListener::bind((ip, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port on the tracker's address");
        let port = addr.port().to_string();
        let child = Command::new("opentracker")
            .args(["-i", &ip.to_string(), "-p", &port, "-P", &port])
            .arg("-w")
            .arg(&whitelist)
            .args(["-d", "/"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("opentracker starts");
        let tracker = Opentracker {
            child,
            addr,
            whitelist,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "opentracker did not listen within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(tracker)
    }

    fn http_url(&self) -> String {
        format!("http://{}/announce", self.addr)
    }

    fn udp_url(&self) -> String {
        format!("udp://{}/announce", self.addr)
    }

    /// One HTTP announce of `hash` by the observer: the bencoded answer.
    fn observe(&self, hash: &InfoHash, event: &str) -> Vec<u8> {
        let path = format!(
            "/announce?info_hash={}&peer_id=-XX0001-observer0000&port={OBSERVER_PORT}\
             &uploaded=0&downloaded=0&left=1&compact=1&numwant=200{event}",
            percent_all(hash.as_bytes())
        );
        let reply = request(&self.addr.to_string(), "GET", &path, &[]);
        assert_eq!(reply.status, 200, "opentracker: {}", reply.text());
        reply.body
    }

    /// Whitelists `hash` (SIGHUP reloads the list), and waits until
    /// opentracker takes announces for it.
    fn allow(&self, hash: &InfoHash) {
        std::fs::write(&self.whitelist, format!("{}\n", hash.to_hex())).unwrap();
        let hup = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(hup.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // An announce of the observer, then its `stopped` (which leaves
            // no peer behind). A `stopped` alone is no test: opentracker
            // answers one for a torrent it does not serve without a
            // failure.
            let answer = self.observe(hash, "");
            self.observe(hash, "&event=stopped");
            if !String::from_utf8_lossy(&answer).contains("failure reason") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "opentracker still refuses {} 10 s after SIGHUP",
                hash.to_hex()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The peers opentracker lists for `hash` now (the observer, which
    /// asks as a leecher and leaves at once, left out).
    fn peers(&self, hash: &InfoHash) -> Vec<SocketAddr> {
        let answer = self.observe(hash, "");
        self.observe(hash, "&event=stopped");
        let value = s3torrent_bencode::decode(&answer)
            .unwrap_or_else(|e| panic!("opentracker's answer {}: {e}", answer.escape_ascii()));
        let compact = value
            .get("peers")
            .and_then(|p| p.as_bytes())
            .unwrap_or_else(|| panic!("no peers in {}", answer.escape_ascii()));
        compact
            .chunks_exact(6)
            .map(|c| SocketAddr::from(([c[0], c[1], c[2], c[3]], u16::from_be_bytes([c[4], c[5]]))))
            .filter(|a| a.port() != OBSERVER_PORT)
            .collect()
    }

    /// Waits until `wanted` holds for opentracker's peers of `hash`, at
    /// most `seconds`; the peers it saw last.
    fn wait_for(
        &self,
        hash: &InfoHash,
        seconds: u64,
        wanted: impl Fn(&[SocketAddr]) -> bool,
    ) -> Result<Vec<SocketAddr>, Vec<SocketAddr>> {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let peers = self.peers(hash);
            if wanted(&peers) {
                return Ok(peers);
            }
            if Instant::now() >= deadline {
                return Err(peers);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Opentracker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `torrent` with its trackers replaced by `url` alone (`announce` and
/// `announce-list`), `info` left byte for byte as it was.
fn only_tracker(torrent: &[u8], url: &str) -> Vec<u8> {
    let bytes = Bytes::copy_from_slice(torrent);
    let mut value = Decoder::strict().decode_bytes(&bytes).unwrap();
    let Kind::Dict(dict) = value.kind_mut() else {
        panic!("a torrent is a dictionary")
    };
    let url = Bytes::copy_from_slice(url.as_bytes());
    dict.insert(Bytes::from_static(b"announce"), Value::bytes(url.clone()));
    dict.insert(
        Bytes::from_static(b"announce-list"),
        Value::list(vec![Value::list(vec![Value::bytes(url)])]),
    );
    let rewritten = value.to_vec();
    let (before, after) = (
        Torrent::from_bytes(torrent.to_vec()).unwrap(),
        Torrent::from_bytes(rewritten.clone()).unwrap(),
    );
    assert_eq!(
        after.info_hash(),
        before.info_hash(),
        "the info-hash changed"
    );
    assert_eq!(after.info_bytes(), before.info_bytes());
    rewritten
}

/// `serve` with its stderr lines kept, killed when dropped.
fn serve_logged(root: &Path, extra: &[&str]) -> (Serve, Arc<Mutex<Vec<String>>>) {
    let mut child = support::s3torrent()
        .arg("serve")
        .arg("--root")
        .arg(root)
        .args(["--listen", "127.0.0.1:0", "--tracker-listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stderr = child.stderr.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let kept = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("serve: listening on http://") {
                let _ = tx.send(addr.to_owned());
            }
            kept.lock().unwrap().push(line);
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("serve did not start: {:?}", lines.lock().unwrap()));
    (Serve { child, addr }, lines)
}

/// The lines of a log that mention `needle`, once there is at least one
/// (or `seconds` have passed): a line serve wrote reaches the log a moment
/// after what it tells of (the tracker's answer) is seen elsewhere.
fn lines_after(log: &Mutex<Vec<String>>, needle: &str, seconds: u64) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let lines = lines_with(log, needle);
        if !lines.is_empty() || Instant::now() >= deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lines of a log that mention `needle`.
fn lines_with(log: &Mutex<Vec<String>>, needle: &str) -> Vec<String> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(needle))
        .cloned()
        .collect()
}

fn ready(test: &str) -> bool {
    have_python_module(test, "libtorrent") && have_python_module(test, "boto3")
}

#[test]
fn over_http_the_endpoint_reaches_a_leecher_that_announced_first_and_stops_when_private() {
    let _heavy = support::heavy();
    let test =
        "over_http_the_endpoint_reaches_a_leecher_that_announced_first_and_stops_when_private";
    if !ready(test) {
        return;
    }
    let Some(ot) = Opentracker::start(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let peer_port = free_port();
    let peer = SocketAddr::from(([127, 0, 0, 1], peer_port));
    let (serve, log) = serve_logged(
        &dir.path().join("root"),
        &[
            "--seeding",
            "peer",
            "--peer-listen",
            &peer.to_string(),
            "--tracker",
            &ot.http_url(),
        ],
    );
    // 3 MiB and a bit, private at first: not served, so not announced.
    let data = random_bytes(3 * 1024 * 1024 + 777, 41);
    let key = "announced.bin";
    let file = write(dir.path(), "announced.bin", &data);
    assert_eq!(boto(&serve, DEV, "mb", &["pub"]), serde_json::json!({}));
    let put = boto(
        &serve,
        DEV,
        "put",
        &["pub", key, file.to_str().unwrap(), "private"],
    );
    assert!(put.get("error").is_none(), "{put}");
    let bytes = dir.path().join("owner.torrent");
    let got = boto(
        &serve,
        DEV,
        "torrent",
        &["pub", key, bytes.to_str().unwrap()],
    );
    assert!(got.get("error").is_none(), "{got}");
    let original = std::fs::read(&bytes).unwrap();
    let torrent = Torrent::from_bytes(original.clone()).unwrap();
    assert!(
        torrent.trackers().contains(&ot.http_url().as_str()),
        "{:?}",
        torrent.trackers()
    );
    let hash = torrent.info_hash();
    ot.allow(&hash);

    // The client knows only opentracker, and announces before the endpoint
    // does (the object is private): opentracker gives it no one.
    let only_ot = write(
        dir.path(),
        "only-opentracker.torrent",
        &only_tracker(&original, &ot.http_url()),
    );
    let save = dir.path().join("lt");
    let client = {
        let (only_ot, save) = (only_ot.clone(), save.clone());
        std::thread::spawn(move || {
            libtorrent_download(
                only_ot.to_str().unwrap(),
                &save,
                120,
                "127.0.0.1:0",
                Encryption::Default,
            )
        })
    };
    let listed = ot.wait_for(&hash, 30, |p| p.iter().any(|a| *a != peer));
    let leecher = listed.unwrap_or_else(|p| panic!("the client never announced: {p:?}"))[0];
    assert!(
        lines_with(&log, "tracker: announced ").is_empty(),
        "the endpoint announced a private object: {:?}",
        lines_with(&log, "tracker: announced ")
    );

    // Public now. A new torrent makes the endpoint's sweep run at once
    // (otherwise within a minute): it announces `started`, opentracker
    // lists the client, and the endpoint dials it.
    let acl = boto(&serve, DEV, "acl", &["pub", key, "public-read"]);
    assert!(acl.get("error").is_none(), "{acl}");
    publish_public_more(&serve, dir.path());
    let r = client.join().unwrap();
    assert_eq!(r["done"], true, "{r}\nserve: {:?}", log.lock().unwrap());
    assert_eq!(r["trackers"], serde_json::json!([ot.http_url()]));
    assert_eq!(std::fs::read(save.join(key)).unwrap(), data);
    let dialed = lines_with(&log, &format!("client={leecher} dialed=true"));
    assert!(
        dialed
            .iter()
            .any(|l| !l.contains("sent=0 ") && l.contains("sent=")),
        "the endpoint did not send to the client it dialed ({leecher}): {dialed:?}\n{:?}",
        log.lock().unwrap()
    );
    let started = lines_with(&log, "event=\"started\" outcome=\"answered");
    assert_eq!(started.len(), 1, "{started:?}");
    ot.wait_for(&hash, 10, |p| p.contains(&peer))
        .unwrap_or_else(|p| panic!("opentracker does not list the endpoint {peer}: {p:?}"));

    // Private again: within the sweep's minute the endpoint announces
    // `stopped`, and opentracker forgets it.
    let acl = boto(&serve, DEV, "acl", &["pub", key, "private"]);
    assert!(acl.get("error").is_none(), "{acl}");
    let gone = ot.wait_for(&hash, 90, |p| !p.contains(&peer));
    assert!(
        gone.is_ok(),
        "the endpoint is still listed 90 s after the object was made private: {gone:?}\n{:?}",
        lines_with(&log, "tracker")
    );
    assert_eq!(
        lines_after(&log, "event=\"stopped\" outcome=\"answered", 10).len(),
        1,
        "{:?}",
        lines_with(&log, "tracker")
    );
}

/// Puts one more public object (its torrent is made at once).
fn publish_public_more(serve: &Serve, dir: &Path) {
    let file = write(dir, "nudge.bin", b"another object");
    let put = boto(
        serve,
        DEV,
        "put",
        &["pub", "nudge.bin", file.to_str().unwrap(), "public-read"],
    );
    assert!(put.get("error").is_none(), "{put}");
}

#[test]
fn over_udp_a_client_finds_the_endpoint_and_it_leaves_at_shutdown() {
    let _heavy = support::heavy();
    let test = "over_udp_a_client_finds_the_endpoint_and_it_leaves_at_shutdown";
    if !ready(test) {
        return;
    }
    let Some(ot) = Opentracker::start(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let peer = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (mut serve, log) = serve_logged(
        &dir.path().join("root"),
        &[
            "--seeding",
            "peer",
            "--peer-listen",
            &peer.to_string(),
            "--tracker",
            &ot.udp_url(),
            // Listed, never announced to: no TLS client.
            "--tracker",
            "https://tracker.invalid/announce",
        ],
    );
    assert_eq!(
        lines_with(&log, "not announcing to https://tracker.invalid/announce").len(),
        1,
        "{:?}",
        log.lock().unwrap()
    );
    let data = random_bytes(2 * 1024 * 1024 + 5, 43);
    publish_public(&serve, dir.path(), "udp.bin", &data);
    let original = torrent_of(&serve, "udp.bin");
    let hash = Torrent::from_bytes(original.clone()).unwrap().info_hash();
    // The endpoint's first `started` came before the whitelist: opentracker
    // answered it with nothing usable, and the endpoint tries again 15 s
    // later.
    ot.allow(&hash);
    ot.wait_for(&hash, 45, |p| p.contains(&peer))
        .unwrap_or_else(|p| {
            panic!(
                "opentracker does not list the endpoint {peer}: {p:?}\n{:?}",
                lines_with(&log, "tracker")
            )
        });

    let only_ot = write(
        dir.path(),
        "only-opentracker.torrent",
        &only_tracker(&original, &ot.udp_url()),
    );
    let save = dir.path().join("lt");
    let r = libtorrent_download(
        only_ot.to_str().unwrap(),
        &save,
        60,
        "127.0.0.1:0",
        Encryption::Default,
    );
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(r["trackers"], serde_json::json!([ot.udp_url()]));
    assert_eq!(std::fs::read(save.join("udp.bin")).unwrap(), data);
    assert!(
        lines_with(&log, "tracker=https://").is_empty(),
        "announced over https: {:?}",
        lines_with(&log, "tracker=https://")
    );

    // Ctrl-C: the endpoint says `stopped` before it exits.
    let int = Command::new("kill")
        .args(["-INT", &serve.child.id().to_string()])
        .status()
        .unwrap();
    assert!(int.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while serve.child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "serve did not exit within 30 s of SIGINT"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let peers = ot.peers(&hash);
    assert!(
        !peers.contains(&peer),
        "opentracker still lists the endpoint after its shutdown: {peers:?}\n{:?}",
        lines_with(&log, "tracker")
    );
    assert_eq!(
        lines_after(&log, "event=\"stopped\" outcome=\"answered", 10).len(),
        1,
        "{:?}",
        lines_with(&log, "tracker")
    );
}

/// The payload a gateway's seeding peer sent for `hash`, from its
/// `peer: connection` lines (one per connection, as it ends).
fn sent_for(gateway: &Gateway, hash: &InfoHash) -> u64 {
    gateway
        .log()
        .iter()
        .filter(|l| l.contains("peer: connection") && l.contains(&hash.to_hex()))
        .filter_map(|l| {
            l.split(" sent=")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// The address a gateway's seeding peer listens on (its start-up line).
fn seeding_peer(gateway: &Gateway) -> SocketAddr {
    gateway
        .log()
        .iter()
        .find_map(|l| l.strip_prefix("gateway: seeding peer on ")?.parse().ok())
        .unwrap_or_else(|| panic!("no seeding peer line: {:?}", gateway.log()))
}

#[test]
fn a_fleet_of_two_gateways_seeds_one_client_through_one_opentracker() {
    let _heavy = support::heavy();
    let test = "a_fleet_of_two_gateways_seeds_one_client_through_one_opentracker";
    if !ready(test) {
        return;
    }
    let Some(cluster) = cluster(test) else {
        return;
    };
    let Some(ot) = Opentracker::start(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // 64 pieces of 256 KiB, each replica sending at most 2 MB/s: one
    // replica alone would take 8 s, so the client takes from both.
    let data = random_bytes(16 * 1024 * 1024, 47);
    let file = write(dir.path(), "fleet.bin", &data);
    // What replicas share: the names clients reach them by (so their
    // torrents are identical and one cache serves both) and the tracker.
    let shared = [
        "--seeding",
        "peer",
        "--public-url",
        "http://s3.fleet.invalid",
        "--announce-url",
        "http://tracker.fleet.invalid/announce",
        "--udp-tracker-listen",
        "off",
        "--tracker-listen",
        "127.0.0.1:0",
        "--peer-listen",
        "127.0.0.1:0",
        "--seed-rate",
        "2000000",
    ];
    let tracker = ot.http_url();
    let args: Vec<&str> = shared
        .iter()
        .copied()
        .chain(["--tracker", &tracker])
        .collect();
    let a = Gateway::start(cluster, "cache-fleet", &args);
    let b = Gateway::start(cluster, "cache-fleet", &args);
    let (ta, tb) = (dir.path().join("a.torrent"), dir.path().join("b.torrent"));
    let out = scenario(
        cluster,
        &a,
        r#"
c_alice.create_bucket(Bucket="fleet-b")
c_alice.put_object(Bucket="fleet-b", Key="fleet.bin", Body=open(ARGS[0], "rb").read(), ACL="public-read")
r = torrent(anon, "fleet-b", "fleet.bin")
open(ARGS[1], "wb").write(bytes.fromhex(r["hex"]))
print(json.dumps({"status": r["status"]}))
"#,
        &[file.to_str().unwrap(), ta.to_str().unwrap()],
    );
    assert_eq!(out["status"], 200, "{out}");
    let out = scenario(
        cluster,
        &b,
        r#"
r = torrent(anon, "fleet-b", "fleet.bin")
open(ARGS[0], "wb").write(bytes.fromhex(r["hex"]))
print(json.dumps({"status": r["status"]}))
"#,
        &[tb.to_str().unwrap()],
    );
    assert_eq!(out["status"], 200, "{out}");
    let original = std::fs::read(&ta).unwrap();
    assert_eq!(
        std::fs::read(&tb).unwrap(),
        original,
        "the replicas made different torrents"
    );
    assert_eq!((a.hashed("fleet.bin"), b.hashed("fleet.bin")), (1, 0));
    let torrent = Torrent::from_bytes(original.clone()).unwrap();
    assert_eq!(
        torrent.trackers(),
        [
            "http://tracker.fleet.invalid/announce",
            ot.http_url().as_str()
        ]
    );
    let hash = torrent.info_hash();

    // Both replicas' first `started` came before the whitelist; they try
    // again 15 s later, and opentracker lists both.
    ot.allow(&hash);
    let (pa, pb) = (seeding_peer(&a), seeding_peer(&b));
    ot.wait_for(&hash, 45, |p| p.contains(&pa) && p.contains(&pb))
        .unwrap_or_else(|p| {
            panic!(
                "opentracker does not list both replicas ({pa}, {pb}): {p:?}\nA: {:?}\nB: {:?}",
                a.log(),
                b.log()
            )
        });

    let only_ot = write(
        dir.path(),
        "only-opentracker.torrent",
        &only_tracker(&original, &ot.http_url()),
    );
    let save = dir.path().join("lt");
    let r = libtorrent_download(
        only_ot.to_str().unwrap(),
        &save,
        90,
        "127.0.0.1:0",
        Encryption::Default,
    );
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(std::fs::read(save.join("fleet.bin")).unwrap(), data);
    // Each replica logs a connection's payload when it ends: the client
    // is done, the replicas close.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut sa, mut sb) = (0, 0);
    while Instant::now() < deadline {
        (sa, sb) = (sent_for(&a, &hash), sent_for(&b, &hash));
        if sa > 0 && sb > 0 && sa + sb >= data.len() as u64 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    support::announce(&format!(
        "{test}: replica A sent {sa} bytes, replica B {sb} bytes of {}",
        data.len()
    ));
    assert!(
        sa > 0 && sb > 0,
        "both replicas should have sent: A {sa} bytes, B {sb} bytes\nA: {:?}\nB: {:?}",
        a.log(),
        b.log()
    );
    assert!(sa + sb >= data.len() as u64, "A {sa} + B {sb} bytes");
}
