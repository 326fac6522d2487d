//! The `embed` example end to end: it starts, answers `?torrent` with a
//! torrent of its object, a missing key with S3's XML 404, `HEAD` with the
//! headers alone, and anything else with a plain 404.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use s3torrent_metainfo::Torrent;

/// The running example, killed however the test ends.
struct Embed(Child);

impl Drop for Embed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").port()
}

/// Connects, retrying while the example starts (at most 10 s).
fn connect(addr: &str, child: &mut Child) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(stream) = TcpStream::connect(addr) {
            return stream;
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("embed exited before listening: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "embed did not listen on {addr} within 10 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One HTTP/1.1 request on its own connection: (status, headers, body).
fn request(
    addr: &str,
    child: &mut Child,
    method: &str,
    target: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut stream = connect(addr, child);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("a response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = std::str::from_utf8(&raw[..split]).expect("ASCII headers");
    let body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (name, value) = l.split_once(':').expect("name: value");
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    (status, headers, body)
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn embed_serves_torrents() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(support::example("embed"))
        .arg(&addr)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("embed starts");
    let mut embed = Embed(child);

    let (status, headers, body) = request(&addr, &mut embed.0, "GET", "/demo/hello.txt?torrent");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/x-bittorrent")
    );
    assert_eq!(
        header(&headers, "content-length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(
        header(&headers, "content-disposition"),
        Some("attachment; filename=\"hello.txt.torrent\"")
    );
    let torrent = Torrent::from_bytes(body.clone()).expect("the body is a torrent");
    assert_eq!(torrent.info().name(), "hello.txt");
    assert_eq!(
        torrent.info().length(),
        b"Hello, BitTorrent!\n".len() as u64
    );
    assert_eq!(torrent.info().aws_bucket(), Some("demo"));

    let (status, head_headers, head_body) =
        request(&addr, &mut embed.0, "HEAD", "/demo/hello.txt?torrent=");
    assert_eq!(status, 200);
    assert!(head_body.is_empty());
    assert_eq!(
        header(&head_headers, "content-length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(header(&head_headers, "etag"), header(&headers, "etag"));

    let (status, headers, body) = request(&addr, &mut embed.0, "GET", "/demo/nope.txt?torrent");
    assert_eq!(status, 404);
    assert_eq!(header(&headers, "content-type"), Some("application/xml"));
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("<Code>NoSuchKey</Code>")
    );

    let (status, _, _) = request(&addr, &mut embed.0, "GET", "/demo/hello.txt");
    assert_eq!(status, 404);
}
