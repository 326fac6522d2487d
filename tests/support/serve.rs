//! A running `s3torrent serve` for the end-to-end tests, an unsigned HTTP
//! client for the anonymous requester, and boto3 for signed S3 calls.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{python, s3torrent};

pub(crate) use s3torrent_testkit::{DEV, OTHER};

/// Runs python's `prelude` then `scenario` against `serve`, then prints
/// the scenario's `out` as JSON: what it printed.
pub(crate) fn scenario(serve: &Serve, prelude: &str, scenario: &str) -> serde_json::Value {
    let script = format!("{prelude}{scenario}\nprint(json.dumps(out))\n");
    serde_json::from_str(python(&script, &[&serve.endpoint()]).trim())
        .expect("the scenario prints JSON")
}

/// Reads `child`'s stderr (piped) on a thread until it ends: the address
/// `serve: listening on http://ADDR` names (waited for 20 s at most; the
/// child is killed and the test fails otherwise), and the thread, which
/// returns every line once the child's stderr closes.
pub(crate) fn listening(child: &mut Child) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("serve: listening on http://") {
                let _ = tx.send(addr.to_owned());
            }
            lines.push(line);
        }
        lines
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(addr) => (addr, reader),
        Err(_) => {
            let _ = child.kill();
            panic!("serve did not say where it listens within 20 s");
        }
    }
}

/// aria2c downloads `torrent` into `dir` from its seeds as the torrent
/// names them, with no DHT, peer exchange or local discovery, within 120 s,
/// or the test fails.
pub(crate) fn aria2c_download(torrent: &Path, dir: &Path) {
    aria2c_download_with(torrent, dir, &[]);
}

/// [`aria2c_download`] with more of aria2c's options
/// (`--bt-require-crypto=true`, say).
pub(crate) fn aria2c_download_with(torrent: &Path, dir: &Path, extra: &[&str]) {
    let out = std::process::Command::new("timeout")
        .args([
            "120",
            "aria2c",
            "--enable-dht=false",
            "--enable-dht6=false",
            "--enable-peer-exchange=false",
            "--bt-enable-lpd=false",
            "--seed-time=0",
            "--bt-stop-timeout=60",
            "--summary-interval=0",
            "--console-log-level=warn",
            "--allow-overwrite=true",
            "--file-allocation=none",
        ])
        .args(extra)
        .arg(format!("--dir={}", dir.display()))
        .arg(torrent)
        .output()
        .expect("timeout runs");
    assert!(
        out.status.success(),
        "aria2c: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running `serve`, killed when dropped.
pub(crate) struct Serve {
    pub(crate) child: Child,
    pub(crate) addr: String,
}

impl Serve {
    pub(crate) fn start(root: &Path, extra: &[&str]) -> Serve {
        Self::start_on(root, "127.0.0.1:0", extra)
    }

    /// [`Serve::start`] with [`DEV`] and [`OTHER`] as its users.
    pub(crate) fn start_two_users(root: &Path, extra: &[&str]) -> Serve {
        let users = s3torrent_testkit::user_flags(&[DEV, OTHER]);
        let mut args: Vec<&str> = users.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        Self::start(root, &args)
    }

    pub(crate) fn start_on(root: &Path, listen: &str, extra: &[&str]) -> Serve {
        // Web seeding unless a test asks otherwise (these tests are about
        // the web seed), and no fixed tracker or peer port (tests run at once).
        let mut defaults = Vec::new();
        for (flag, value) in [
            ("--seeding", "web"),
            ("--tracker-listen", "127.0.0.1:0"),
            ("--peer-listen", "127.0.0.1:0"),
        ] {
            if !extra.contains(&flag) {
                defaults.extend([flag, value]);
            }
        }
        let mut child = s3torrent()
            .arg("serve")
            .arg("--root")
            .arg(root)
            .args(["--listen", listen])
            .args(defaults)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let (addr, _) = listening(&mut child);
        Serve { child, addr }
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response from the tiny HTTP client below.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `<Code>` of an S3 XML error.
    pub(crate) fn code(&self) -> String {
        let t = self.text();
        let start = t.find("<Code>").map(|i| i + 6).unwrap_or(0);
        let end = t.find("</Code>").unwrap_or(start);
        t[start..end].to_owned()
    }
}

/// An unsigned HTTP/1.1 request on loopback (the anonymous requester).
pub(crate) fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let s = TcpStream::connect(addr).expect("connect");
    request_on(s, addr, method, path, headers)
}

/// [`request`] from the local address `from` (`127.0.0.2`: Linux's
/// loopback takes all of 127.0.0.0/8), so the server sees another client.
pub(crate) fn request_from(
    from: std::net::IpAddr,
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Reply {
    request_on(tcp_from(from, addr), addr, method, path, headers)
}

/// A TCP connection to `addr` from the local address `from` (a port of
/// the system's choosing), within 10 s.
pub(crate) fn tcp_from(from: std::net::IpAddr, addr: &str) -> TcpStream {
    let to: std::net::SocketAddr = addr.parse().expect("an IP address and port");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = if from.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }
        .unwrap();
        socket.bind(std::net::SocketAddr::new(from, 0)).unwrap();
        tokio::time::timeout(Duration::from_secs(10), socket.connect(to))
            .await
            .unwrap_or_else(|_| panic!("connect {from} -> {to}: timed out"))
            .unwrap_or_else(|e| panic!("connect {from} -> {to}: {e}"))
            .into_std()
            .unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    stream
}

fn request_on(
    mut s: TcpStream,
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Reply {
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// boto3 driven from python: `python3 -c BOTO ENDPOINT ACCESS SECRET OP ARGS…`.
/// Prints JSON; on an S3 error prints {"error": code, "status": n}.
pub(crate) const BOTO: &str = concat!(
    include_str!("../clients/boto3_prelude.py"),
    include_str!("../clients/boto3_ops.py")
);

pub(crate) fn boto(
    serve: &Serve,
    user: (&str, &str, &str),
    op: &str,
    args: &[&str],
) -> serde_json::Value {
    let ep = serve.endpoint();
    let mut all = vec![ep.as_str(), user.0, user.1, op];
    all.extend_from_slice(args);
    serde_json::from_str(python(BOTO, &all).trim()).expect("boto prints JSON")
}

/// The AWS CLI as the development user, with its defaults, for at most 120 s.
pub(crate) fn aws(serve: &Serve, args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["120", "aws", "--endpoint-url", &serve.endpoint()])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", DEV.0)
        .env("AWS_SECRET_ACCESS_KEY", DEV.1)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap()
}

#[track_caller]
pub(crate) fn aws_ok(serve: &Serve, args: &[&str]) -> String {
    let out = aws(serve, args);
    assert!(
        out.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
