//! Reach, end to end: the UDP tracker (BEP 15) alone gets python
//! libtorrent, aria2c and transmission-cli their download, hostile UDP
//! packets (short, oversized, a wrong action or magic, a forged or
//! borrowed connection id, num_want 2^31 - 1, a scrape of 1000 info-hashes)
//! leave it serving; an
//! announce through a trusted reverse proxy lists the client it forwards
//! for (and an untrusted one's header is ignored), with a real nginx
//! running the README's configuration (`examples/nginx/s3torrent.conf`)
//! in front of S3 and the tracker for raw clients and python libtorrent
//! on distinct loopback addresses; and `serve` on `[::1]`
//! works over IPv6: S3, `?torrent`, the HTTP tracker's `peers6`, the UDP
//! tracker's 18-byte peers, and a libtorrent download over `::1`.
//!
//! Loopback only; every wait is bounded.

use crate::support;

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use s3torrent_bencode::decode;
use s3torrent_metainfo::Torrent;
use support::nginx::{self, Nginx};
use support::serve::{DEV, Serve, aria2c_download_with, request, request_from};
use support::swarm::{
    Encryption, Killed, downloaded, free_port, libtorrent_download, libtorrent_download_from,
    percent_all, publish_public, torrent_of, wait_for_bytes,
};
use support::{have_nginx, have_program, have_python_module, python, random_bytes, write};

/// A serve in peer mode on `host` (`127.0.0.1` or `[::1]`) with one public
/// object, its torrent saved as `DIR/object.torrent`.
struct Published {
    serve: Serve,
    torrent: Torrent,
    torrent_path: PathBuf,
    data: Vec<u8>,
}

fn publish(dir: &Path, host: &str, size: usize, seed: u64, flags: &[&str]) -> Published {
    let any = format!("{host}:0");
    let mut all = vec![
        "--seeding",
        "peer",
        "--tracker-listen",
        &any,
        "--peer-listen",
        &any,
    ];
    all.extend_from_slice(flags);
    let serve = Serve::start_on(&dir.join("root"), &any, &all);
    let data = random_bytes(size, seed);
    publish_public(&serve, dir, "reach/object.bin", &data);
    let body = torrent_of(&serve, "reach/object.bin");
    let torrent = Torrent::from_bytes(body.clone()).expect("a torrent");
    let torrent_path = write(dir, "object.torrent", &body);
    Published {
        serve,
        torrent,
        torrent_path,
        data,
    }
}

/// python libtorrent downloads `source` (a torrent or a magnet link) into
/// `save` from the peers its trackers give, listening on `listen`, within
/// `seconds`; the JSON has the trackers and the alerts it saw.
fn libtorrent(source: &str, save: &Path, seconds: u32, listen: &str) -> serde_json::Value {
    libtorrent_download(source, save, seconds, listen, Encryption::Default)
}

/// `udp://HOST:PORT/announce` → `HOST:PORT`.
fn udp_addr(url: &str) -> SocketAddr {
    let hostport = url
        .strip_prefix("udp://")
        .and_then(|u| u.strip_suffix("/announce"))
        .unwrap_or_else(|| panic!("not a UDP tracker URL: {url}"));
    hostport.parse().expect("an address")
}

/// A UDP client of the tracker: every read waits 2 s at most.
struct Client(UdpSocket);

impl Client {
    fn new(tracker: SocketAddr) -> Client {
        let local = if tracker.is_ipv6() {
            "[::1]:0"
        } else {
            "127.0.0.1:0"
        };
        let s = UdpSocket::bind(local).unwrap();
        s.connect(tracker).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        Client(s)
    }

    /// Sends `packet`; the answer, or `None` after 2 s.
    fn ask(&self, packet: &[u8]) -> Option<Vec<u8>> {
        self.0.send(packet).unwrap();
        let mut buf = vec![0; 4096];
        self.0.recv(&mut buf).ok().map(|n| buf[..n].to_vec())
    }

    /// A connect (BEP 15): the connection id.
    fn connect(&self) -> Vec<u8> {
        let reply = self
            .ask(&[
                0, 0, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0, 1, 2, 3, 4,
            ])
            .expect("a connect answer");
        assert_eq!(reply.len(), 16, "{reply:?}");
        assert_eq!(&reply[..8], &[0, 0, 0, 0, 1, 2, 3, 4]);
        reply[8..].to_vec()
    }
}

/// An announce packet (BEP 15), started, num_want -1.
fn announce_packet(cid: &[u8], hash: &[u8; 20], peer: &[u8; 20], left: u64, port: u16) -> Vec<u8> {
    announce_packet_wanting(cid, hash, peer, left, port, -1)
}

/// An announce packet (BEP 15), started, asking for `num_want` peers,
/// transaction id 9.
fn announce_packet_wanting(
    cid: &[u8],
    hash: &[u8; 20],
    peer: &[u8; 20],
    left: u64,
    port: u16,
    num_want: i32,
) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(cid);
    b.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 9]);
    b.extend_from_slice(hash);
    b.extend_from_slice(peer);
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&left.to_be_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&num_want.to_be_bytes());
    b.extend_from_slice(&port.to_be_bytes());
    b
}

fn error_text(reply: &[u8], tid: [u8; 4]) -> String {
    assert_eq!(&reply[..4], &[0, 0, 0, 3], "not an error: {reply:?}");
    assert_eq!(&reply[4..8], &tid);
    String::from_utf8_lossy(&reply[8..]).into_owned()
}

#[test]
fn udp_tracker_survives_hostile_packets_and_alone_serves_a_download() {
    let _heavy = support::heavy();
    let test = "udp_tracker_survives_hostile_packets_and_alone_serves_a_download";
    if !have_python_module(test, "boto3") || !have_python_module(test, "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = publish(dir.path(), "127.0.0.1", 9 * 262_144 + 777, 91, &[]);
    let trackers = p.torrent.trackers();
    assert_eq!(trackers.len(), 2, "{trackers:?}");
    let udp = udp_addr(trackers[1]);
    let c = Client::new(udp);
    let hash = *p.torrent.info_hash().as_bytes();

    // Hostile packets: garbage too short for a transaction id gets nothing;
    // the rest an error packet no longer than themselves, naming the fault.
    assert_eq!(c.ask(b"hello"), None);
    let mut bad_magic = vec![
        0, 0, 0x04, 0x17, 0x27, 0x10, 0x19, 0x81, 0, 0, 0, 0, 5, 5, 5, 5,
    ];
    let reply = c.ask(&bad_magic).expect("an error packet");
    assert_eq!(
        error_text(&reply, [5, 5, 5, 5]),
        "udp prot" // cut to the request's 16 bytes
    );
    bad_magic.extend_from_slice(&[0; 100]);
    let reply = c.ask(&bad_magic).expect("an error packet");
    assert!(reply.len() <= bad_magic.len());
    assert!(
        error_text(&reply, [5, 5, 5, 5]).starts_with("udp connect packet must be 16 to 16 bytes"),
        "{reply:?}"
    );
    let forged = announce_packet(&[0xee; 8], &hash, b"-XX0001-forgedforged", 5, 40001);
    let reply = c.ask(&forged).expect("an error packet");
    assert_eq!(
        error_text(&reply, [0, 0, 0, 9]),
        "udp connection_id at byte 0 is unknown or expired; connect again"
    );
    let cid = c.connect();
    let mut huge = cid.clone();
    huge.extend_from_slice(&[0, 0, 0, 2, 7, 7, 7, 7]);
    huge.extend_from_slice(&vec![1; 20 * 100]);
    let reply = c.ask(&huge).expect("an error packet");
    assert!(
        error_text(&reply, [7, 7, 7, 7]).starts_with("udp request packet must be 16 to 1496 bytes"),
        "{reply:?}"
    );
    let mut many = cid.clone();
    many.extend_from_slice(&[0, 0, 0, 2, 7, 7, 7, 8]);
    many.extend_from_slice(&vec![1; 20 * 65]);
    let reply = c.ask(&many).expect("an error packet");
    assert_eq!(
        error_text(&reply, [7, 7, 7, 8]),
        "scrape names more than 64 info_hash values"
    );
    // A scrape of 1000 info-hashes (20,016 bytes): read as far as the
    // longest packet, and refused in no more bytes than were read.
    let mut thousand = cid.clone();
    thousand.extend_from_slice(&[0, 0, 0, 2, 7, 7, 7, 9]);
    thousand.extend_from_slice(&vec![2; 20 * 1000]);
    let reply = c.ask(&thousand).expect("an error packet");
    assert!(reply.len() <= 1497, "{}", reply.len());
    assert_eq!(
        error_text(&reply, [7, 7, 7, 9]),
        "udp request packet must be 16 to 1496 bytes, got 1497"
    );
    // An action BEP 15 does not have, in an announce-sized packet.
    let mut action = cid.clone();
    action.extend_from_slice(&[0, 0, 0, 7, 7, 7, 7, 10]);
    action.resize(98, 0);
    let reply = c.ask(&action).expect("an error packet");
    assert!(reply.len() <= action.len());
    assert_eq!(
        error_text(&reply, [7, 7, 7, 10]),
        "udp action at byte 8 must be 0 (connect), 1 (announce) or 2 (scrape), got 7"
    );
    // A connection id given to another address is no better than a forged
    // one.
    let elsewhere = UdpSocket::bind("127.0.0.2:0").unwrap();
    elsewhere
        .send_to(
            &announce_packet(&cid, &hash, b"-XX0001-elsewhereels", 5, 40003),
            udp,
        )
        .unwrap();
    elsewhere
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut buf = [0; 256];
    let (n, _) = elsewhere.recv_from(&mut buf).expect("an error packet");
    assert_eq!(
        error_text(&buf[..n], [0, 0, 0, 9]),
        "udp connection_id at byte 0 is unknown or expired; connect again"
    );

    // num_want 2^31 - 1 from a sixth client, after five: all five, and the
    // endpoint's peer, 6 bytes each, in one packet.
    for i in 0..5u8 {
        let peer = format!("-XX0001-numwant{i:05}");
        let reply = c
            .ask(&announce_packet(
                &cid,
                &hash,
                peer.as_bytes().try_into().unwrap(),
                5,
                41000 + u16::from(i),
            ))
            .expect("an announce answer");
        assert_eq!(&reply[..4], &[0, 0, 0, 1], "{reply:?}");
    }
    let reply = c
        .ask(&announce_packet_wanting(
            &cid,
            &hash,
            b"-XX0001-numwantmaxxx",
            5,
            41010,
            i32::MAX,
        ))
        .expect("an announce answer");
    assert_eq!(&reply[..8], &[0, 0, 0, 1, 0, 0, 0, 9], "{reply:?}");
    assert_eq!(reply.len(), 20 + 6 * 6, "{reply:?}");
    let mut ports: Vec<u16> = reply[20..]
        .chunks(6)
        .skip(1)
        .map(|p| u16::from_be_bytes([p[4], p[5]]))
        .collect();
    ports.sort_unstable();
    assert_eq!(ports, [41000, 41001, 41002, 41003, 41004]);
    for i in 0..5u8 {
        let peer = format!("-XX0001-numwant{i:05}");
        let mut stopped = announce_packet(
            &cid,
            &hash,
            peer.as_bytes().try_into().unwrap(),
            5,
            41000 + u16::from(i),
        );
        stopped[80..84].copy_from_slice(&[0, 0, 0, 3]);
        c.ask(&stopped).expect("an announce answer");
    }
    let mut stopped = announce_packet(&cid, &hash, b"-XX0001-numwantmaxxx", 5, 41010);
    stopped[80..84].copy_from_slice(&[0, 0, 0, 3]);
    c.ask(&stopped).expect("an announce answer");

    // A real announce over UDP: the endpoint's peer comes first, 6 bytes.
    let reply = c
        .ask(&announce_packet(
            &cid,
            &hash,
            b"-XX0001-udpudpudpudp",
            0,
            40002,
        ))
        .expect("an announce answer");
    assert_eq!(&reply[..8], &[0, 0, 0, 1, 0, 0, 0, 9], "{reply:?}");
    assert_eq!(&reply[8..12], &120u32.to_be_bytes(), "interval");
    assert_eq!(reply.len(), 20 + 6, "{reply:?}");
    assert_eq!(&reply[20..24], &[127, 0, 0, 1]);

    // The server still serves, and a magnet link whose only tracker is the
    // UDP one downloads.
    assert_eq!(
        request(&p.serve.addr, "GET", "/pub/reach/object.bin?torrent", &[]).status,
        200
    );
    let magnet = format!(
        "magnet:?xt=urn:btih:{}&dn=object.bin&tr={}",
        p.torrent.info_hash().to_hex(),
        percent_all(trackers[1].as_bytes())
    );
    let save = dir.path().join("udp");
    let r = libtorrent(&magnet, &save, 60, "127.0.0.1:0");
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(r["trackers"], serde_json::json!([trackers[1]]), "{r}");
    assert_eq!(
        std::fs::read(save.join("reach_object.bin")).unwrap_or_default(),
        p.data
    );
}

/// Many announces in flight from many sources at once, so that the UDP
/// tracker takes them from its sockets in batches (on a host of several
/// cores, the kernel spreads the sources across the answering threads'
/// sockets, all bound to the tracker's address): each source, connected
/// to that address (so that it takes only answers from it), gets one
/// answer for each of its announces, with its own transaction ids, and
/// the tracker lists every announced peer at the address and port it
/// announced from (none mixed up with another packet's sender).
#[test]
fn udp_batches_answer_each_source_its_own() {
    let test = "udp_batches_answer_each_source_its_own";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = publish(dir.path(), "127.0.0.1", 1000, 92, &[]);
    let udp = udp_addr(p.torrent.trackers()[1]);
    let hash = *p.torrent.info_hash().as_bytes();
    const SOURCES: u8 = 16;
    // 128 announces in one burst: well within a socket's default buffer.
    const IN_FLIGHT: u16 = 8;
    // Every source connects first, then all send their announces in one
    // burst before any reads an answer.
    let sockets: Vec<(UdpSocket, Vec<u8>)> = (0..SOURCES)
        .map(|i| {
            let s = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 20 + i), 0)).unwrap();
            s.connect(udp).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let c = Client(s);
            let cid = c.connect();
            (c.0, cid)
        })
        .collect();
    for (i, (s, cid)) in sockets.iter().enumerate() {
        for k in 0..IN_FLIGHT {
            let peer = format!("-XX0001-b{i:02}k{k:02}xxxxxx");
            let mut packet = announce_packet_wanting(
                cid,
                &hash,
                peer.as_bytes().try_into().unwrap(),
                5,
                50_000 + k,
                0,
            );
            // Transaction id: the source and the announce.
            packet[12..16].copy_from_slice(&[0xb0, i as u8, 0, k as u8]);
            s.send(&packet).unwrap();
        }
    }
    for (i, (s, _)) in sockets.iter().enumerate() {
        let mut tids = Vec::new();
        let mut buf = [0; 2048];
        while let Ok(n) = s.recv(&mut buf) {
            assert_eq!(&buf[..4], &[0, 0, 0, 1], "{:?}", &buf[..n]);
            // num_want 0: no peers.
            assert_eq!(n, 20, "{:?}", &buf[..n]);
            tids.push([buf[4], buf[5], buf[6], buf[7]]);
            if tids.len() == usize::from(IN_FLIGHT) {
                break;
            }
        }
        tids.sort_unstable();
        let expected: Vec<[u8; 4]> = (0..IN_FLIGHT)
            .map(|k| [0xb0, i as u8, 0, k as u8])
            .collect();
        assert_eq!(tids, expected, "source {i}");
    }
    // A seeder asking for every peer gets leechers only: the endpoint's
    // peer first, then every announced one, each at its source's address
    // with a port that source announced.
    let c = Client::new(udp);
    let cid = c.connect();
    let reply = c
        .ask(&announce_packet_wanting(
            &cid,
            &hash,
            b"-XX0001-batchseeder0",
            0,
            40_100,
            i32::MAX,
        ))
        .expect("an announce answer");
    let announced = usize::from(SOURCES) * usize::from(IN_FLIGHT);
    assert_eq!(&reply[..4], &[0, 0, 0, 1], "{reply:?}");
    assert_eq!(
        &reply[12..16],
        &(announced as u32).to_be_bytes(),
        "leechers"
    );
    assert_eq!(reply.len(), 20 + 6 * (1 + announced), "{}", reply.len());
    assert_eq!(&reply[20..24], &[127, 0, 0, 1], "the endpoint's peer first");
    let mut listed: Vec<(Ipv4Addr, u16)> = reply[26..]
        .chunks(6)
        .map(|p| {
            (
                Ipv4Addr::new(p[0], p[1], p[2], p[3]),
                u16::from_be_bytes([p[4], p[5]]),
            )
        })
        .collect();
    listed.sort_unstable();
    let mut expected: Vec<(Ipv4Addr, u16)> = (0..SOURCES)
        .flat_map(|i| (0..IN_FLIGHT).map(move |k| (Ipv4Addr::new(127, 0, 0, 20 + i), 50_000 + k)))
        .collect();
    expected.sort_unstable();
    assert_eq!(listed, expected);
    // On a host of several cores, several sockets (the kernel's own list)
    // are bound to the tracker's address.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cfg!(target_os = "linux") && cores > 1 {
        let local = format!("0100007F:{:04X}", udp.port());
        let table = std::fs::read_to_string("/proc/net/udp").unwrap();
        let bound = table
            .lines()
            .filter(|l| l.split_whitespace().nth(1) == Some(local.as_str()))
            .count();
        assert!(bound >= 2, "{bound} sockets at {udp}:\n{table}");
    }
}

/// Sends `request` on a new connection to `tracker`, in `parts` written
/// 200 ms apart, and reads until the tracker closes: the whole answer.
fn raw_http(tracker: SocketAddr, parts: &[&[u8]]) -> Vec<u8> {
    use std::io::Write as _;
    let mut s = std::net::TcpStream::connect(tracker).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // 200 ms before each part but the first.
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(200));
        }
        s.write_all(part).unwrap();
    }
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("the tracker closes");
    out
}

/// An answer's status line, its headers (names lowercased) and its body.
fn http_parts(answer: &[u8]) -> (String, Vec<(String, String)>, Vec<u8>) {
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(answer)));
    let head = String::from_utf8(answer[..end].to_vec()).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(": ").unwrap_or((l, ""));
            (n.to_ascii_lowercase(), v.to_owned())
        })
        .collect();
    (status, headers, answer[end + 4..].to_vec())
}

/// Announces that arrive whole and ask to close are answered on the
/// accepting thread: the same status line, headers and body as hyper
/// gives (a kept-alive one, or one sent in two parts, goes to hyper),
/// `connection: close`, a `date` in hyper's form, and then the close. Odd
/// requests (HEAD, POST with a body, HTTP/1.0, a path that is not the
/// tracker's) are hyper's and answered as before.
#[test]
fn one_shot_http_announces_are_answered_as_hyper_answers_them() {
    let test = "one_shot_http_announces_are_answered_as_hyper_answers_them";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = publish(dir.path(), "127.0.0.1", 1000, 93, &[]);
    let tracker: SocketAddr = p.torrent.trackers()[0]
        .trim_start_matches("http://")
        .trim_end_matches("/announce")
        .parse()
        .unwrap();
    let hash = percent_all(p.torrent.info_hash().as_bytes());
    let get = |peer: &str, port: u16, connection: &str| {
        format!(
            "GET /announce?info_hash={hash}&peer_id={peer}&port={port}&uploaded=0&downloaded=0\
             &left=5&compact=1&numwant=50 HTTP/1.1\r\nHost: tracker\r\n{connection}\r\n"
        )
    };
    // Hyper: kept alive (the answer read by its length), from peer A.
    let kept = {
        use std::io::Write as _;
        let mut s = std::net::TcpStream::connect(tracker).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(get("-XX0001-oneshotaaaaa", 42_001, "").as_bytes())
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0; 4096];
        loop {
            let n = s.read(&mut buf).expect("an answer");
            assert!(n > 0, "closed early: {got:?}");
            got.extend_from_slice(&buf[..n]);
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let (_, headers, _) = http_parts(&got);
                let len: usize = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .map(|(_, v)| v.parse().unwrap())
                    .expect("a content-length");
                if got.len() >= end + 4 + len {
                    break;
                }
            }
        }
        got
    };
    // At once (the info-hash's answer is in memory by now), from peer B.
    let once = raw_http(
        tracker,
        &[get("-XX0001-oneshotbbbbb", 42_002, "Connection: close\r\n").as_bytes()],
    );
    let (kept_status, kept_headers, kept_body) = http_parts(&kept);
    let (status, headers, body) = http_parts(&once);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(kept_status, status);
    let names = |h: &[(String, String)]| -> Vec<String> {
        h.iter()
            .map(|(n, _)| n.clone())
            .filter(|n| n != "connection")
            .collect()
    };
    assert_eq!(
        names(&headers),
        names(&kept_headers),
        "{headers:?} {kept_headers:?}"
    );
    let value = |h: &[(String, String)], name: &str| {
        h.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(value(&headers, "connection"), "close");
    for name in ["content-type", "cache-control"] {
        assert_eq!(value(&headers, name), value(&kept_headers, name), "{name}");
    }
    assert_eq!(value(&headers, "content-length"), body.len().to_string());
    let (date, kept_date) = (value(&headers, "date"), value(&kept_headers, "date"));
    assert!(
        date.len() == kept_date.len() && date.ends_with(" GMT") && date[3..5] == kept_date[3..5],
        "{date:?} against hyper's {kept_date:?}"
    );
    // Both answers list the endpoint's peer first; B's lists A too.
    let kept_answer = decode(&kept_body).expect("bencode").to_owned_value();
    assert!(
        kept_answer.get("failure reason").is_none(),
        "{kept_answer:?}"
    );
    let answer = decode(&body).expect("bencode").to_owned_value();
    assert!(answer.get("failure reason").is_none(), "{answer:?}");
    assert_eq!(
        other_peers(&answer),
        [SocketAddrV4::new(Ipv4Addr::LOCALHOST, 42_001)],
        "{answer:?}"
    );
    // In two parts: hyper reads the rest; the same kind of answer, closed.
    let request = get("-XX0001-oneshotccccc", 42_003, "Connection: close\r\n");
    let (first, rest) = request.as_bytes().split_at(40);
    let split = raw_http(tracker, &[first, rest]);
    let (status, headers, body) = http_parts(&split);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(value(&headers, "connection"), "close");
    let answer = decode(&body).expect("bencode").to_owned_value();
    assert_eq!(
        other_peers(&answer),
        [
            SocketAddrV4::new(Ipv4Addr::LOCALHOST, 42_001),
            SocketAddrV4::new(Ipv4Addr::LOCALHOST, 42_002)
        ],
        "{answer:?}"
    );
    // Sent a moment after the connection (held by the accepting thread
    // until it arrives), and after a silence past that hold (hyper's then):
    // the same kind of answer, closed.
    for (n, gaps) in [(6u16, 1), (7, 4)] {
        let peer = format!("-XX0001-oneshotlate{n}");
        let request = get(&peer, 42_000 + n, "Connection: close\r\n");
        let mut parts = vec![&b""[..]; gaps];
        parts.push(request.as_bytes());
        let (status, headers, body) = http_parts(&raw_http(tracker, &parts));
        assert_eq!(status, "HTTP/1.1 200 OK", "after {gaps} gaps");
        assert_eq!(value(&headers, "connection"), "close");
        let answer = decode(&body).expect("bencode").to_owned_value();
        assert!(
            other_peers(&answer).contains(&SocketAddrV4::new(Ipv4Addr::LOCALHOST, 42_001)),
            "after {gaps} gaps: {answer:?}"
        );
    }
    // HEAD: the head alone.
    let head =
        get("-XX0001-oneshotddddd", 42_004, "Connection: close\r\n").replacen("GET", "HEAD", 1);
    let (status, _, body) = http_parts(&raw_http(tracker, &[head.as_bytes()]));
    assert_eq!((status.as_str(), body.len()), ("HTTP/1.1 200 OK", 0));
    // POST with a body: 405, as ever.
    let post =
        "POST /announce HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc";
    let (status, headers, _) = http_parts(&raw_http(tracker, &[post.as_bytes()]));
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    assert_eq!(value(&headers, "allow"), "GET, HEAD");
    // HTTP/1.0: hyper's, answered and closed.
    let old = get("-XX0001-oneshoteeeee", 42_005, "").replacen("HTTP/1.1", "HTTP/1.0", 1);
    let (status, _, body) = http_parts(&raw_http(tracker, &[old.as_bytes()]));
    assert!(status.ends_with(" 200 OK"), "{status}");
    assert!(decode(&body).is_ok(), "{body:?}");
    // Another path: 404 with a failure reason.
    let (status, _, body) = http_parts(&raw_http(
        tracker,
        &[b"GET /elsewhere HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"],
    ));
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert!(
        String::from_utf8_lossy(&body).contains("failure reason"),
        "{body:?}"
    );
}

/// The torrent as served with the UDP tracker alone: `announce` its URL,
/// no `announce-list` (nothing else outside `info`), and the `info`
/// dictionary's bytes as they were, so the info-hash is the same. Written
/// to `DIR/udp-only.torrent`; the path and the URL.
fn udp_only(p: &Published, dir: &Path) -> (PathBuf, String) {
    let body = std::fs::read(&p.torrent_path).unwrap();
    let value = decode(&body).expect("the torrent decodes");
    let info = value
        .get("info")
        .and_then(|v| v.raw())
        .copied()
        .expect("an info dictionary");
    let udp = p.torrent.trackers()[1].to_owned();
    assert!(udp.starts_with("udp://"), "{udp}");
    let mut out = format!("d8:announce{}:{udp}4:info", udp.len()).into_bytes();
    out.extend_from_slice(info);
    out.push(b'e');
    (write(dir, "udp-only.torrent", &out), udp)
}

/// A program's standard output, which must have succeeded.
fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().expect("the program runs");
    assert!(out.status.success(), "{cmd:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// aria2c, told of the UDP tracker alone (the torrent rewritten: aria2c
/// itself reads the same info-hash and that one tracker), downloads from
/// the endpoint's peer: it could learn of it only from the UDP tracker.
#[test]
fn aria2c_downloads_with_the_udp_tracker_alone() {
    let _heavy = support::heavy();
    let test = "aria2c_downloads_with_the_udp_tracker_alone";
    if !have_python_module(test, "boto3") || !have_program(test, "aria2c") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = publish(dir.path(), "127.0.0.1", 3 * 262_144 + 17, 97, &[]);
    let (path, udp) = udp_only(&p, dir.path());
    let shown = stdout_of(Command::new("aria2c").arg("-S").arg(&path));
    assert!(
        shown.contains(&format!("Info Hash: {}\n", p.torrent.info_hash().to_hex())),
        "{shown}"
    );
    let announce: Vec<&str> = shown
        .lines()
        .skip_while(|l| *l != "Announce:")
        .skip(1)
        .take_while(|l| l.starts_with(' '))
        .map(str::trim)
        .collect();
    assert_eq!(announce, [udp.as_str()], "{shown}");
    // aria2c speaks to UDP trackers only through its DHT's socket: the DHT
    // is on, with no routing table and no entry point (it knows no node).
    let dht_port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let save = dir.path().join("aria2");
    aria2c_download_with(
        &path,
        &save,
        &[
            "--enable-dht=true",
            &format!("--dht-file-path={}", dir.path().join("dht.dat").display()),
            &format!("--dht-listen-port={dht_port}"),
        ],
    );
    assert_eq!(downloaded(&save.join("reach_object.bin")), p.data);
}

/// transmission-cli, told of the UDP tracker alone (transmission-show reads
/// the same info-hash and that one tracker), downloads from the endpoint's
/// peer. transmission dials no loopback peer a tracker lists: the endpoint
/// dials it, which it does only for a leecher whose announce it served.
#[test]
fn transmission_downloads_with_the_udp_tracker_alone() {
    let _heavy = support::heavy();
    let test = "transmission_downloads_with_the_udp_tracker_alone";
    if !have_python_module(test, "boto3")
        || !have_program(test, "transmission-cli")
        || !have_program(test, "transmission-show")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = publish(dir.path(), "127.0.0.1", 2 * 262_144 + 5, 98, &[]);
    let (path, udp) = udp_only(&p, dir.path());
    let shown = stdout_of(Command::new("transmission-show").arg(&path));
    assert!(
        shown.contains(&format!("Hash: {}\n", p.torrent.info_hash().to_hex())),
        "{shown}"
    );
    let trackers: Vec<&str> = shown
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "TRACKERS")
        .skip(1)
        .filter(|l| !l.is_empty())
        .take_while(|l| *l != "FILES")
        .collect();
    assert_eq!(trackers, ["Tier #1", udp.as_str()], "{shown}");
    let save = dir.path().join("transmission");
    std::fs::create_dir_all(&save).unwrap();
    let _client = Killed(
        Command::new("transmission-cli")
            .env("HOME", dir.path().join("home"))
            .args(["--no-portmap", "--no-downlimit", "--no-uplimit", "-et"])
            .args(["-p", &free_port().to_string()])
            .arg("-w")
            .arg(&save)
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("transmission-cli starts"),
    );
    assert!(
        wait_for_bytes(&save.join("reach_object.bin"), &p.data, 90),
        "transmission did not download the object within 90 s"
    );
}

/// A raw HTTP announce with extra headers; the decoded answer.
fn http_announce(
    tracker: &str,
    hash: &[u8; 20],
    peer: &str,
    port: u16,
    headers: &[(&str, &str)],
) -> s3torrent_bencode::OwnedValue {
    let query = format!(
        "info_hash={}&peer_id={peer}&port={port}&uploaded=0&downloaded=0&left=1000&compact=1&event=started",
        percent_all(hash)
    );
    let r = request(tracker, "GET", &format!("/announce?{query}"), headers);
    assert_eq!(r.status, 200, "{}", r.text());
    decode(&r.body).expect("a bencoded answer").to_owned_value()
}

fn compact(answer: &s3torrent_bencode::OwnedValue, key: &str) -> Vec<u8> {
    answer
        .get(key)
        .and_then(|v| v.as_bytes())
        .map(<[u8]>::to_vec)
        .unwrap_or_else(|| panic!("no {key} in {answer:?}"))
}

fn http_tracker(torrent: &Torrent) -> String {
    torrent.trackers()[0]
        .trim_start_matches("http://")
        .trim_end_matches("/announce")
        .to_owned()
}

#[test]
fn a_trusted_proxy_forwards_the_client_address_and_an_untrusted_one_does_not() {
    let test = "a_trusted_proxy_forwards_the_client_address_and_an_untrusted_one_does_not";
    if !have_python_module(test, "boto3") {
        return;
    }
    for (trusted, forwarded) in [("127.0.0.1", true), ("10.0.0.0/8", false)] {
        let dir = tempfile::tempdir().unwrap();
        let p = publish(
            dir.path(),
            "127.0.0.1",
            300_000,
            92,
            &["--trusted-proxy", trusted],
        );
        let tracker = http_tracker(&p.torrent);
        let hash = *p.torrent.info_hash().as_bytes();
        // Through the "proxy": 127.0.0.1, forwarding for 203.0.113.7.
        let first = http_announce(
            &tracker,
            &hash,
            "-XX0001-proxiedproxi",
            40001,
            &[("X-Forwarded-For", "198.51.100.1, 203.0.113.7")],
        );
        assert!(first.get("failure reason").is_none(), "{first:?}");
        let second = http_announce(&tracker, &hash, "-XX0001-secondsecond", 40002, &[]);
        let peers = compact(&second, "peers");
        // The endpoint's peer first, then the first client.
        assert_eq!(peers.len(), 12, "{trusted}: {peers:?}");
        let expected: &[u8] = if forwarded {
            &[203, 0, 113, 7, 0x9c, 0x41] // 203.0.113.7:40001
        } else {
            &[127, 0, 0, 1, 0x9c, 0x41] // 127.0.0.1:40001
        };
        assert_eq!(&peers[6..], expected, "--trusted-proxy {trusted}");
    }
    // Forwarded: for= is read too.
    let dir = tempfile::tempdir().unwrap();
    let p = publish(
        dir.path(),
        "127.0.0.1",
        300_000,
        93,
        &["--trusted-proxy", "127.0.0.0/8"],
    );
    let tracker = http_tracker(&p.torrent);
    let hash = *p.torrent.info_hash().as_bytes();
    http_announce(
        &tracker,
        &hash,
        "-XX0001-proxiedproxi",
        40001,
        &[("Forwarded", "for=\"198.51.100.20:5555\";proto=http")],
    );
    let second = http_announce(&tracker, &hash, "-XX0001-secondsecond", 40002, &[]);
    assert_eq!(
        &compact(&second, "peers")[6..],
        &[198, 51, 100, 20, 0x9c, 0x41]
    );
}

/// The peers of a compact (BEP 23) IPv4 list, in its order.
fn peers_v4(answer: &s3torrent_bencode::OwnedValue) -> Vec<SocketAddrV4> {
    compact(answer, "peers")
        .chunks(6)
        .map(|p| {
            assert_eq!(p.len(), 6, "a partial peer in {answer:?}");
            SocketAddrV4::new(
                Ipv4Addr::new(p[0], p[1], p[2], p[3]),
                u16::from_be_bytes([p[4], p[5]]),
            )
        })
        .collect()
}

/// An announce (`left` bytes to go, compact) to `tracker` over a
/// connection from the local address `from`, with extra headers: the
/// decoded answer, which must not be a failure.
fn announce_from(
    from: Ipv4Addr,
    tracker: &str,
    hash: &[u8; 20],
    peer: &str,
    port: u16,
    left: u64,
    headers: &[(&str, &str)],
) -> s3torrent_bencode::OwnedValue {
    let query = format!(
        "info_hash={}&peer_id={peer}&port={port}&uploaded=0&downloaded=0&left={left}&compact=1",
        percent_all(hash)
    );
    let r = request_from(
        from.into(),
        tracker,
        "GET",
        &format!("/announce?{query}"),
        headers,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = decode(&r.body).expect("a bencoded answer").to_owned_value();
    assert!(answer.get("failure reason").is_none(), "{answer:?}");
    answer
}

/// The peers an answer lists after the endpoint's own (the first, at the
/// address the announce reached the tracker on: nginx's upstream side,
/// 127.0.0.1), sorted.
fn other_peers(answer: &s3torrent_bencode::OwnedValue) -> Vec<SocketAddrV4> {
    let mut peers = peers_v4(answer);
    assert!(!peers.is_empty(), "no endpoint peer in {answer:?}");
    assert_eq!(*peers[0].ip(), Ipv4Addr::LOCALHOST, "{peers:?}");
    peers.remove(0);
    peers.sort();
    peers
}

/// A real nginx in front of serve, with the configuration the README
/// quotes (`examples/nginx/s3torrent.conf`): S3 (signed and anonymous)
/// and `?torrent` through it, torrents naming its announce URL; clients
/// announcing through it from 127.0.0.2 and 127.0.0.3 are each listed to
/// the other at their own address, not nginx's, a header a client sends
/// nginx is replaced, and one forged straight to the tracker (not a
/// trusted proxy) gains nothing. Then python libtorrent, bound to
/// 127.0.0.4, downloads through the proxy's announce URL, connects to the
/// client the tracker listed at 127.0.0.2, and is listed to it at
/// 127.0.0.4; nginx's own log says where each announce came from.
#[test]
fn nginx_in_front_lists_every_client_at_its_own_address() {
    let _heavy = support::heavy();
    let test = "nginx_in_front_lists_every_client_at_its_own_address";
    if !have_python_module(test, "boto3") || !have_python_module(test, "libtorrent") {
        return;
    }
    let Some(nginx) = have_nginx(test) else {
        return;
    };
    let guide = include_str!("../GUIDE.md");
    assert!(
        guide.contains(nginx::EXAMPLE),
        "GUIDE.md does not quote examples/nginx/s3torrent.conf as it is"
    );
    let dir = tempfile::tempdir().unwrap();
    let front = format!("127.0.0.1:{}", free_port());
    let tracker = format!("127.0.0.1:{}", free_port());
    let announce_url = format!("http://{front}/announce");
    let serve = Serve::start_on(
        &dir.path().join("root"),
        "127.0.0.1:0",
        &[
            "--seeding",
            "peer",
            "--tracker-listen",
            &tracker,
            "--peer-listen",
            "127.0.0.1:0",
            "--udp-tracker-listen",
            "off",
            "--trusted-proxy",
            "127.0.0.1",
            "--announce-url",
            &announce_url,
        ],
    );
    let proxy = Nginx::start(&nginx, dir.path(), &front, &serve.addr, &tracker);
    let data = random_bytes((4 << 20) + 5, 96);
    publish_public(&serve, dir.path(), "reach/object.bin", &data);

    // S3 through the proxy: a signed listing (SigV4 over the Host header
    // nginx passes on) and the anonymous ?torrent, which names the proxy.
    let listed = python(
        support::serve::BOTO,
        &[&format!("http://{front}"), DEV.0, DEV.1, "list", "pub"],
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(listed.trim()).unwrap(),
        serde_json::json!({"keys": ["reach/object.bin"]}),
        "{}",
        proxy.errors()
    );
    let got = request(&front, "GET", "/pub/reach/object.bin?torrent", &[]);
    assert_eq!(got.status, 200, "{}{}", got.text(), proxy.errors());
    let torrent = Torrent::from_bytes(got.body.clone()).expect("a torrent");
    assert_eq!(torrent.trackers(), vec![announce_url.as_str()]);
    let torrent_path = write(dir.path(), "object.torrent", &got.body);
    let hash = *torrent.info_hash().as_bytes();

    // B from 127.0.0.2 (listening, for libtorrent below), C from 127.0.0.3,
    // which sends nginx a forged X-Forwarded-For: nginx replaces it.
    let (b, c, d, lt) = (
        Ipv4Addr::new(127, 0, 0, 2),
        Ipv4Addr::new(127, 0, 0, 3),
        Ipv4Addr::new(127, 0, 0, 5),
        Ipv4Addr::new(127, 0, 0, 4),
    );
    let b_listener = TcpListener::bind((b, 0)).unwrap();
    let b_port = b_listener.local_addr().unwrap().port();
    let b_peer = "-XX0001-bbbbbbbbbbbb";
    announce_from(b, &front, &hash, b_peer, b_port, 1000, &[]);
    let to_c = announce_from(
        c,
        &front,
        &hash,
        "-XX0001-cccccccccccc",
        40003,
        1000,
        &[("X-Forwarded-For", "198.51.100.7")],
    );
    assert_eq!(other_peers(&to_c), [SocketAddrV4::new(b, b_port)]);
    let to_b = announce_from(b, &front, &hash, b_peer, b_port, 1000, &[]);
    assert_eq!(other_peers(&to_b), [SocketAddrV4::new(c, 40003)]);

    // D forges X-Forwarded-For straight to the tracker: it is no trusted
    // proxy, so it is listed at its own address.
    announce_from(
        d,
        &tracker,
        &hash,
        "-XX0001-dddddddddddd",
        40005,
        1000,
        &[("X-Forwarded-For", "198.51.100.9")],
    );
    let to_b = announce_from(b, &front, &hash, b_peer, b_port, 1000, &[]);
    assert_eq!(
        other_peers(&to_b),
        [SocketAddrV4::new(c, 40003), SocketAddrV4::new(d, 40005)]
    );

    // libtorrent from 127.0.0.4, through the proxy's announce URL. B waits
    // for its connection (the endpoint's peer dials B too, from 127.0.0.1:
    // those are dropped), reads its handshake, and announces at once,
    // while libtorrent is in the swarm.
    let deadline = Instant::now() + Duration::from_secs(90);
    let waiter = std::thread::spawn(move || {
        b_listener.set_nonblocking(true).unwrap();
        loop {
            match b_listener.accept() {
                Ok((mut s, from)) if from.ip() == lt => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    let mut handshake = [0; 68];
                    let read = s.read_exact(&mut handshake);
                    let to_b = announce_from(b, &front, &hash, b_peer, b_port, 1000, &[]);
                    return Some((read.map(|()| handshake), other_peers(&to_b)));
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    });
    let save = dir.path().join("libtorrent");
    let r = libtorrent_download_from(
        torrent_path.to_str().unwrap(),
        &save,
        60,
        &format!("{lt}:0"),
        Encryption::Disabled,
        &lt.to_string(),
    );
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(downloaded(&save.join("reach_object.bin")), data);
    let (handshake, to_b) = waiter
        .join()
        .unwrap()
        .expect("libtorrent never connected to B at 127.0.0.2, where the tracker listed it");
    let handshake = handshake.expect("libtorrent's handshake");
    assert_eq!(&handshake[..20], b"\x13BitTorrent protocol");
    assert_eq!(&handshake[28..48], &hash);
    assert!(
        to_b.iter().any(|p| *p.ip() == lt),
        "libtorrent (127.0.0.4) is not among {to_b:?}"
    );
    assert!(to_b.iter().all(|p| [c, d, lt].contains(p.ip())), "{to_b:?}");

    // nginx's log: each client's announces came from its own address.
    let lines = proxy.access_lines();
    for ip in [b, c, lt] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{ip} ")) && l.contains("\"GET /announce?")),
            "no announce from {ip} in nginx's log: {lines:#?}"
        );
    }
}

/// One announce over a kept-alive connection from `from` to `tracker`
/// (which stays open): the answer's bytes, or none when the tracker closed
/// the connection instead of answering (within 10 s).
fn keep_alive_announce(
    from: Ipv4Addr,
    tracker: &str,
    hash: &[u8; 20],
    n: usize,
) -> (std::net::TcpStream, Option<Vec<u8>>) {
    use std::io::Write;
    let mut s = support::serve::tcp_from(from.into(), tracker);
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "GET /announce?info_hash={}&peer_id=-XX0001-keep{n:08}&port={}&uploaded=0&downloaded=0&left=1&compact=1 HTTP/1.1\r\nHost: {tracker}\r\n\r\n",
        percent_all(hash),
        20000 + n
    );
    if s.write_all(head.as_bytes()).is_err() {
        return (s, None);
    }
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    loop {
        let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return (s, None),
                Ok(k) => got.extend_from_slice(&buf[..k]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("a Content-Length");
        while got.len() < end + 4 + length {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return (s, None),
                Ok(k) => got.extend_from_slice(&buf[..k]),
            }
        }
        let body = got[end + 4..end + 4 + length].to_vec();
        return (s, Some(body));
    }
}

/// Behind a proxy every client's announce comes from the proxy's one
/// address: a trusted proxy may hold more tracker connections than one
/// address may (32), where another address past its share is closed.
#[test]
fn a_trusted_proxy_holds_more_tracker_connections_than_an_address_may() {
    let test = "a_trusted_proxy_holds_more_tracker_connections_than_an_address_may";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = publish(
        dir.path(),
        "127.0.0.1",
        100_000,
        99,
        &["--trusted-proxy", "127.0.0.1"],
    );
    let tracker = http_tracker(&p.torrent);
    let hash = *p.torrent.info_hash().as_bytes();
    for (from, trusted) in [
        (Ipv4Addr::LOCALHOST, true),
        (Ipv4Addr::new(127, 0, 0, 3), false),
    ] {
        let mut held = Vec::new();
        let mut answered = 0;
        for n in 0..40 {
            let (stream, body) = keep_alive_announce(from, &tracker, &hash, n);
            if let Some(body) = body {
                let answer = decode(&body).expect("bencode").to_owned_value();
                assert!(answer.get("failure reason").is_none(), "{answer:?}");
                answered += 1;
            }
            held.push(stream);
        }
        let expected = if trusted { 40 } else { 32 };
        assert_eq!(answered, expected, "{from} (trusted: {trusted})");
    }
}

/// Whether `::1` can be bound; if not, says SKIPPED (fails under CI=true).
fn have_ipv6_loopback(test: &str) -> bool {
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        return true;
    }
    let line = format!("SKIPPED {test}: this machine has no ::1");
    if std::env::var_os("CI").is_some_and(|v| v == "true") {
        panic!("{line}; under CI=true that is a failure");
    }
    support::announce(&line);
    false
}

#[test]
fn serve_on_ipv6_loopback_tracks_and_seeds_over_ipv6() {
    let _heavy = support::heavy();
    let test = "serve_on_ipv6_loopback_tracks_and_seeds_over_ipv6";
    if !have_ipv6_loopback(test)
        || !have_python_module(test, "boto3")
        || !have_python_module(test, "libtorrent")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = publish(dir.path(), "[::1]", 5 * 262_144 + 99, 94, &[]);
    assert!(p.serve.addr.starts_with("[::1]:"), "{}", p.serve.addr);
    let trackers = p.torrent.trackers();
    assert_eq!(trackers.len(), 2, "{trackers:?}");
    assert!(trackers[0].starts_with("http://[::1]:"), "{trackers:?}");
    assert_eq!(trackers[1], trackers[0].replacen("http://", "udp://", 1));
    let hash = *p.torrent.info_hash().as_bytes();

    // The HTTP tracker: the endpoint's peer in peers6, 18 bytes, ::1.
    let tracker = http_tracker(&p.torrent);
    let answer = http_announce(&tracker, &hash, "-XX0001-ipv6ipv6ipv6", 40001, &[]);
    assert!(answer.get("failure reason").is_none(), "{answer:?}");
    let peers6 = compact(&answer, "peers6");
    assert_eq!(peers6.len(), 18, "{peers6:?}");
    assert_eq!(
        &peers6[..16],
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    );
    let peer_port = u16::from_be_bytes([peers6[16], peers6[17]]);

    // The UDP tracker over IPv6: 18-byte peers, the endpoint's and the
    // HTTP client's.
    let c = Client::new(udp_addr(trackers[1]));
    let cid = c.connect();
    let reply = c
        .ask(&announce_packet(
            &cid,
            &hash,
            b"-XX0001-udp6udp6udp6",
            0,
            40002,
        ))
        .expect("an announce answer");
    assert_eq!(&reply[..8], &[0, 0, 0, 1, 0, 0, 0, 9], "{reply:?}");
    assert_eq!(reply.len(), 20 + 2 * 18, "{reply:?}");
    let mut endpoint = vec![0; 15];
    endpoint.push(1);
    endpoint.extend_from_slice(&peer_port.to_be_bytes());
    assert_eq!(&reply[20..38], &endpoint[..]);
    let mut http_client = vec![0; 15];
    http_client.extend_from_slice(&[1, 0x9c, 0x41]);
    assert_eq!(&reply[38..56], &http_client[..]);

    // libtorrent downloads over ::1 from the torrent as served.
    let save = dir.path().join("v6");
    let r = libtorrent(p.torrent_path.to_str().unwrap(), &save, 60, "[::1]:0");
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(
        std::fs::read(save.join("reach_object.bin")).unwrap_or_default(),
        p.data
    );
}

/// `--udp-tracker-listen off` leaves the UDP tracker out of torrents; a
/// `--trusted-proxy` that is no address block is refused at start-up,
/// naming the flag's value.
#[test]
fn the_udp_tracker_can_be_off_and_a_bad_trusted_proxy_is_refused() {
    let test = "the_udp_tracker_can_be_off_and_a_bad_trusted_proxy_is_refused";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = publish(
        dir.path(),
        "127.0.0.1",
        100_000,
        95,
        &["--udp-tracker-listen", "off"],
    );
    let trackers = p.torrent.trackers();
    assert_eq!(trackers.len(), 1, "{trackers:?}");
    assert!(trackers[0].starts_with("http://"), "{trackers:?}");

    let out = support::s3torrent()
        .args(["serve", "--root"])
        .arg(dir.path().join("other"))
        .args(["--listen", "127.0.0.1:0", "--trusted-proxy", "10.0.0.0/33"])
        .output()
        .expect("s3torrent runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("10.0.0.0/33") && stderr.contains("--trusted-proxy"),
        "{stderr}"
    );
}
