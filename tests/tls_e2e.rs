//! `serve --tls-cert FILE --tls-key FILE` (and `gateway`'s) end to end. Each
//! test makes its own CA and server certificates with rcgen for 127.0.0.1
//! and localhost; boto3, aws-cli, curl and aria2c trust that CA and speak
//! HTTPS to the S3 listener and the tracker; torrents name `https://` web
//! seeds and trackers; plain HTTP on a TLS port gets a plain `400`; a
//! stalled handshake is closed within the header timeout; SIGHUP reloads
//! the certificate for new connections while open ones go on, and a broken
//! file keeps the one in use; bad flags are refused naming the file.
//!
//! Loopback only; every wait is bounded.

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use s3torrent_metainfo::Torrent;
use support::serve::{BOTO, DEV, Serve};
use support::{have_program, have_python_module, random_bytes, s3torrent, write};

// ---------------------------------------------------------------- the PKI

/// A test CA, and the server certificates it issues.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

/// A server certificate for 127.0.0.1 and localhost, with its key.
struct Leaf {
    der: CertificateDer<'static>,
    cert_pem: String,
    key_pem: String,
}

impl Ca {
    fn new() -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "s3torrent test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2040, 1, 1);
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate with this serial number and common name.
    fn issue(&self, serial: u64, name: &str) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.serial_number = Some(serial.into());
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2040, 1, 1);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            der: cert.der().clone(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// The files a test's server reads: `ca.pem` (for the clients),
/// `cert.pem` and `key.pem`.
struct Files {
    dir: PathBuf,
}

impl Files {
    fn new(dir: &Path, ca: &Ca, leaf: &Leaf) -> Files {
        std::fs::write(dir.join("ca.pem"), &ca.pem).unwrap();
        let files = Files {
            dir: dir.to_owned(),
        };
        files.install(&leaf.cert_pem, &leaf.key_pem);
        files
    }

    fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }

    /// Replaces the certificate and the key, each by a rename (as certbot
    /// and friends do), the key first.
    fn install(&self, cert_pem: &str, key_pem: &str) {
        for (name, text) in [("key.pem", key_pem), ("cert.pem", cert_pem)] {
            let tmp = self.dir.join(format!(".{name}.new"));
            std::fs::write(&tmp, text).unwrap();
            std::fs::rename(&tmp, self.dir.join(name)).unwrap();
        }
    }

    /// `--tls-cert CERT --tls-key KEY`.
    fn flags(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            self.cert().display().to_string(),
            "--tls-key".into(),
            self.key().display().to_string(),
        ]
    }
}

// ------------------------------------------------------- a running server

/// A running `serve` or `gateway` over TLS, killed when dropped, with its
/// stderr lines as they come.
struct Running {
    child: Child,
    /// `https`, or `http` for a server without TLS.
    scheme: String,
    /// `127.0.0.1:PORT` of the S3 listener.
    addr: String,
    /// `127.0.0.1:PORT` of the HTTP tracker, when there is one.
    tracker: Option<String>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// `s3torrent COMMAND ARGS…`, once it says `COMMAND: listening on
    /// https://ADDR` (or `http://ADDR`, without TLS; within 30 s).
    fn start(command: &str, args: &[String]) -> Running {
        let mut child = s3torrent()
            .arg(command)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("s3torrent starts");
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                shared.lock().unwrap().push(line);
            }
        });
        let mut running = Running {
            child,
            scheme: String::new(),
            addr: String::new(),
            tracker: None,
            lines,
        };
        let listening = format!("{command}: listening on ");
        let line = running.wait_for(Duration::from_secs(30), 1, |l| l.starts_with(&listening));
        let (scheme, addr) = line[listening.len()..].split_once("://").expect("a URL");
        (running.scheme, running.addr) = (scheme.to_owned(), addr.to_owned());
        let tracker = format!("{command}: tracker on {scheme}://");
        running.tracker = running
            .lines()
            .iter()
            .find_map(|l| l.strip_prefix(&tracker))
            .map(|rest| rest.trim_end_matches("/announce").to_owned());
        running
    }

    fn endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The `count`-th line that `matches`, waited for `limit` at most (the
    /// test fails, with every line so far, otherwise).
    #[track_caller]
    fn wait_for(&self, limit: Duration, count: usize, matches: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            if let Some(line) = self
                .lines()
                .into_iter()
                .filter(|l| matches(l))
                .nth(count - 1)
            {
                return line;
            }
            assert!(
                started.elapsed() < limit,
                "not seen within {limit:?}; the lines:\n{}",
                self.lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGHUP.
    fn hangup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `serve` over TLS on free loopback ports, seeding as `seeding` says.
fn serve_tls(root: &Path, files: &Files, seeding: &str, extra: &[&str]) -> Running {
    let mut args: Vec<String> = [
        "--root",
        root.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--tracker-listen",
        "127.0.0.1:0",
        "--peer-listen",
        "127.0.0.1:0",
        "--seeding",
        seeding,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(files.flags());
    args.extend(extra.iter().map(|s| s.to_string()));
    Running::start("serve", &args)
}

/// `gateway` over TLS for the development user on a free loopback port,
/// with `extra` flags, in front of a plain `serve` in `dir/upstream` (kept
/// running as long as the second value is).
fn gateway_tls(dir: &Path, files: &Files, extra: &[&str]) -> (Running, Serve) {
    let upstream = Serve::start(&dir.join("upstream"), &[]);
    let mut args: Vec<String> = [
        "--upstream",
        &upstream.endpoint(),
        "--listen",
        "127.0.0.1:0",
    ]
    .iter()
    .chain(extra)
    .map(|s| s.to_string())
    .collect();
    args.extend(s3torrent_testkit::user_flags(&[DEV]));
    args.extend(files.flags());
    (Running::start("gateway", &args), upstream)
}

// ------------------------------------------------------------- the clients

/// boto3 over HTTPS, trusting `ca` through `AWS_CA_BUNDLE`: the support
/// module's script, its JSON answer.
fn boto_tls(endpoint: &str, ca: &Path, op: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new("timeout")
        .args(["120", "python3", "-c", BOTO, endpoint, DEV.0, DEV.1, op])
        .args(args)
        .env("AWS_CA_BUNDLE", ca)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 {op}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("boto prints JSON")
}

/// aws-cli over HTTPS with `--ca-bundle`, as the development user.
fn aws_tls(endpoint: &str, ca: &Path, args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["120", "aws", "--endpoint-url", endpoint, "--ca-bundle"])
        .arg(ca)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", DEV.0)
        .env("AWS_SECRET_ACCESS_KEY", DEV.1)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_CA_BUNDLE")
        .output()
        .unwrap()
}

#[track_caller]
fn aws_tls_ok(endpoint: &str, ca: &Path, args: &[&str]) -> Vec<u8> {
    let out = aws_tls(endpoint, ca, args);
    assert!(
        out.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// curl `url` trusting `ca` (none: the system's roots only), within 60 s:
/// whether it succeeded, and the body.
fn curl(url: &str, ca: Option<&Path>) -> (bool, Vec<u8>) {
    let mut command = Command::new("timeout");
    command.args(["60", "curl", "-sS", "--fail", "--max-time", "50"]);
    if let Some(ca) = ca {
        command.arg("--cacert").arg(ca);
    }
    let out = command.arg(url).output().unwrap();
    (out.status.success(), out.stdout)
}

/// aria2c downloads `torrent` into `dir` trusting `ca`, from the seeds the
/// torrent names, within 120 s.
fn aria2c_tls(torrent: &Path, dir: &Path, ca: &Path) {
    support::serve::aria2c_download_with(
        torrent,
        dir,
        &[&format!("--ca-certificate={}", ca.display())],
    );
}

/// A TLS client (rustls) that trusts the test CA, offers ALPN `http/1.1`
/// and never resumes a session: each connection makes a full handshake,
/// so it sees the certificate the server presents now.
fn client(ca: &Ca) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem.as_bytes()).unwrap())
        .unwrap();
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// A TLS connection to the server, kept alive between requests.
struct Conn {
    tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    host: String,
}

impl Conn {
    /// Connects and completes the handshake.
    fn open(addr: &str, config: &Arc<rustls::ClientConfig>) -> Conn {
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        tcp.set_write_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let conn = rustls::ClientConnection::new(Arc::clone(config), name).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock).unwrap();
        }
        assert_eq!(
            tls.conn.alpn_protocol(),
            Some(&b"http/1.1"[..]),
            "ALPN http/1.1"
        );
        Conn {
            tls,
            host: addr.to_owned(),
        }
    }

    /// The certificate the server presented.
    fn certificate(&self) -> CertificateDer<'static> {
        self.tls.conn.peer_certificates().unwrap()[0]
            .clone()
            .into_owned()
    }

    /// Whether the server presented `leaf`; the test fails naming the
    /// certificate it presented otherwise.
    #[track_caller]
    fn presents(&self, leaf: &Leaf, all: &[(&str, &Leaf)]) {
        let got = self.certificate();
        if got != leaf.der {
            let name = all
                .iter()
                .find(|(_, l)| l.der == got)
                .map_or("an unknown one", |(name, _)| name);
            panic!("the server presented {name}, not the expected certificate");
        }
    }

    /// `GET path` on this connection (kept alive): the status and body.
    fn get(&mut self, path: &str) -> (u16, Vec<u8>) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.host);
        self.tls.write_all(request.as_bytes()).unwrap();
        self.tls.flush().unwrap();
        let mut raw = Vec::new();
        let mut byte = [0u8; 1];
        while !raw.ends_with(b"\r\n\r\n") {
            assert_eq!(self.tls.read(&mut byte).unwrap(), 1, "the answer's head");
            raw.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&raw).into_owned();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().unwrap())
            })
            .expect("a Content-Length");
        let mut body = vec![0u8; length];
        self.tls.read_exact(&mut body).unwrap();
        (status, body)
    }
}

/// A plain TCP connection's answer to `request`, read until the server
/// closes (within 10 s).
fn plain_exchange(addr: &str, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw).into_owned()
}

/// How long after connecting (and sending `first`) the server closes a
/// connection that goes no further, at most `limit`.
fn closed_after(addr: &str, first: &[u8], limit: Duration) -> Duration {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(limit)).unwrap();
    s.write_all(first).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            Ok(_) => {}
            Err(e) if started.elapsed() >= limit => panic!("still open after {limit:?}: {e}"),
            Err(_) => return started.elapsed(),
        }
    }
}

fn ready(test: &str, programs: &[&str]) -> bool {
    programs.iter().all(|p| have_program(test, p)) && have_python_module(test, "boto3")
}

// ------------------------------------------------------------------ tests

#[test]
fn s3_clients_torrent_and_web_seed_over_https() {
    let test = "s3_clients_torrent_and_web_seed_over_https";
    if !ready(test, &["aws", "curl", "aria2c"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let files = Files::new(dir.path(), &ca, &ca.issue(1, "s3torrent test server"));
    let serve = serve_tls(&dir.path().join("root"), &files, "web", &[]);
    let ep = serve.endpoint();
    let data = random_bytes(3_000_017, 24);
    let file = write(dir.path(), "data.bin", &data);

    // boto3, trusting the CA through AWS_CA_BUNDLE.
    assert_eq!(
        boto_tls(&ep, &files.ca(), "mb", &["films"]),
        serde_json::json!({})
    );
    let put = boto_tls(
        &ep,
        &files.ca(),
        "put",
        &["films", "reel.bin", file.to_str().unwrap(), "public-read"],
    );
    assert!(put["etag"].is_string(), "{put}");
    let got = dir.path().join("got.bin");
    let get = boto_tls(
        &ep,
        &files.ca(),
        "get",
        &["films", "reel.bin", "bytes=0-", got.to_str().unwrap()],
    );
    assert_eq!(get["len"], 3_000_017, "{get}");
    assert_eq!(std::fs::read(&got).unwrap(), data);
    let by_boto = dir.path().join("boto.torrent");
    let answer = boto_tls(
        &ep,
        &files.ca(),
        "torrent",
        &["films", "reel.bin", by_boto.to_str().unwrap()],
    );
    assert_eq!(answer["type"], "application/x-bittorrent", "{answer}");

    // The torrent names the HTTPS web seed, no tracker.
    let torrent = Torrent::from_bytes(std::fs::read(&by_boto).unwrap()).unwrap();
    assert_eq!(torrent.web_seeds(), [format!("{ep}/films/reel.bin")]);
    assert!(torrent.trackers().is_empty(), "{:?}", torrent.trackers());

    // aws-cli with --ca-bundle: a PUT, a GET and GetObjectTorrent.
    aws_tls_ok(
        &ep,
        &files.ca(),
        &["s3", "cp", file.to_str().unwrap(), "s3://films/copy.bin"],
    );
    let copy = dir.path().join("copy.bin");
    aws_tls_ok(
        &ep,
        &files.ca(),
        &["s3", "cp", "s3://films/copy.bin", copy.to_str().unwrap()],
    );
    assert_eq!(std::fs::read(&copy).unwrap(), data);
    let by_aws = dir.path().join("aws.torrent");
    aws_tls_ok(
        &ep,
        &files.ca(),
        &[
            "s3api",
            "get-object-torrent",
            "--bucket",
            "films",
            "--key",
            "reel.bin",
            by_aws.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read(&by_aws).unwrap(),
        std::fs::read(&by_boto).unwrap()
    );

    // curl: with the CA, the anonymous ?torrent and GET; without it, the
    // certificate is refused (this is TLS with the test CA's certificate).
    let (ok, by_curl) = curl(&format!("{ep}/films/reel.bin?torrent"), Some(&files.ca()));
    assert!(ok);
    assert_eq!(by_curl, std::fs::read(&by_boto).unwrap());
    let (ok, body) = curl(&format!("{ep}/films/reel.bin"), Some(&files.ca()));
    assert!(ok);
    assert_eq!(body, data);
    let (ok, _) = curl(&format!("{ep}/films/reel.bin?torrent"), None);
    assert!(!ok, "curl trusted a certificate of the test CA without it");
    let localhost = ep.replace("127.0.0.1", "localhost");
    let (ok, _) = curl(
        &format!("{localhost}/films/reel.bin?torrent"),
        Some(&files.ca()),
    );
    assert!(ok, "the certificate names localhost too");

    // aria2c downloads from the HTTPS web seed: every byte checked.
    let out = dir.path().join("aria2c");
    std::fs::create_dir(&out).unwrap();
    aria2c_tls(&by_boto, &out, &files.ca());
    assert_eq!(std::fs::read(out.join("reel.bin")).unwrap(), data);
    let ranged = serve
        .lines()
        .iter()
        .filter(|l| l.contains("path=\"/films/reel.bin\"") && l.contains("status=206"))
        .count();
    assert!(ranged > 0, "no ranged GET from aria2c's web seed");

    // The usual "deny anything not over TLS" bucket policy (AWS's
    // aws:SecureTransport): requests over this listener are secure, so the
    // owner's GET and the anonymous ?torrent still pass.
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::films","arn:aws:s3:::films/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
    aws_tls_ok(
        &ep,
        &files.ca(),
        &[
            "s3api",
            "put-bucket-policy",
            "--bucket",
            "films",
            "--policy",
            policy,
        ],
    );
    let again = dir.path().join("again.bin");
    aws_tls_ok(
        &ep,
        &files.ca(),
        &["s3", "cp", "s3://films/copy.bin", again.to_str().unwrap()],
    );
    assert_eq!(std::fs::read(&again).unwrap(), data);
    let (ok, by_curl) = curl(&format!("{ep}/films/reel.bin?torrent"), Some(&files.ca()));
    assert!(
        ok,
        "a secure-transport-only policy refused a request over TLS"
    );
    assert_eq!(by_curl, std::fs::read(&by_boto).unwrap());
}

#[test]
fn the_tracker_speaks_https_and_torrents_name_it() {
    let test = "the_tracker_speaks_https_and_torrents_name_it";
    if !ready(test, &["aria2c"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let files = Files::new(dir.path(), &ca, &ca.issue(7, "s3torrent test server"));
    let serve = serve_tls(&dir.path().join("root"), &files, "both", &[]);
    let ep = serve.endpoint();
    let tracker = serve.tracker.clone().expect("a tracker line");
    let data = random_bytes(2_000_003, 7);
    let file = write(dir.path(), "data.bin", &data);
    boto_tls(&ep, &files.ca(), "mb", &["swarm"]);
    boto_tls(
        &ep,
        &files.ca(),
        "put",
        &["swarm", "both.bin", file.to_str().unwrap(), "public-read"],
    );
    let path = dir.path().join("both.torrent");
    boto_tls(
        &ep,
        &files.ca(),
        "torrent",
        &["swarm", "both.bin", path.to_str().unwrap()],
    );
    let torrent = Torrent::from_bytes(std::fs::read(&path).unwrap()).unwrap();
    // The HTTP tracker switches to https://; the UDP one stays udp://.
    assert_eq!(
        torrent.trackers(),
        [
            format!("https://{tracker}/announce"),
            format!("udp://{tracker}/announce")
        ]
    );
    assert_eq!(torrent.web_seeds(), [format!("{ep}/swarm/both.bin")]);

    // aria2c announces over HTTPS (the tracker's log line says the
    // info-hash was served) and downloads.
    let out = dir.path().join("aria2c");
    std::fs::create_dir(&out).unwrap();
    aria2c_tls(&path, &out, &files.ca());
    assert_eq!(std::fs::read(out.join("both.bin")).unwrap(), data);
    serve.wait_for(Duration::from_secs(10), 1, |l| {
        l.contains("tracker: announce") && l.contains("outcome=\"served\"")
    });

    // Plain HTTP to the tracker's TLS port: a plain 400.
    let answer = plain_exchange(
        &tracker,
        b"GET /announce?info_hash=x HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer:?}");
}

#[test]
fn explicit_urls_win_over_the_https_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let files = Files::new(dir.path(), &ca, &ca.issue(3, "s3torrent test server"));
    let serve = serve_tls(
        &dir.path().join("root"),
        &files,
        "both",
        &[
            "--public-url",
            "http://s3.example.net:9000",
            "--announce-url",
            "http://tracker.example.net/announce",
        ],
    );
    let lines = serve.lines();
    for wanted in [
        "serve: torrents name the web seed http://s3.example.net:9000/BUCKET/KEY",
        "serve: torrents name the tracker http://tracker.example.net/announce",
    ] {
        assert!(lines.iter().any(|l| l == wanted), "{wanted}: {lines:#?}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l
                .starts_with("serve: torrents name the UDP tracker udp://tracker.example.net:")),
        "{lines:#?}"
    );
}

#[test]
fn plain_http_on_the_tls_port_fails_cleanly_and_serving_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let files = Files::new(dir.path(), &ca, &ca.issue(5, "s3torrent test server"));
    let serve = serve_tls(&dir.path().join("root"), &files, "web", &[]);
    let config = client(&ca);
    for _ in 0..3 {
        let answer = plain_exchange(
            &serve.addr,
            format!("GET /bucket/key HTTP/1.1\r\nHost: {}\r\n\r\n", serve.addr).as_bytes(),
        );
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer:?}"
        );
        assert!(answer.contains("Connection: close"), "{answer:?}");
        assert!(answer.contains("https://"), "{answer:?}");
        // And HTTPS goes on being served.
        let mut conn = Conn::open(&serve.addr, &config);
        let (status, body) = conn.get("/");
        assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    }
    // A handshake record that holds no handshake rustls knows: closed at
    // once (with an alert), and still serving.
    let started = Instant::now();
    let answer = plain_exchange(&serve.addr, &[0x16, 0x03, 0x01, 0x00, 0x04, 0x63, 0, 0, 0]);
    assert!(!answer.contains("HTTP/1.1"), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let (status, _) = Conn::open(&serve.addr, &config).get("/");
    assert_eq!(status, 403);
}

#[test]
fn a_stalled_tls_handshake_is_closed_within_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let files = Files::new(dir.path(), &ca, &ca.issue(9, "s3torrent test server"));
    let serve = serve_tls(
        &dir.path().join("root"),
        &files,
        "both",
        &["--header-timeout", "2"],
    );
    // A TLS record header announcing a ClientHello that never comes, and a
    // connection that sends nothing; on the tracker, the same (its header
    // timeout is 10 s).
    let partial: &[u8] = &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01];
    let tracker = serve.tracker.clone().unwrap();
    let on_tracker =
        std::thread::spawn(move || closed_after(&tracker, partial, Duration::from_secs(20)));
    let silent = {
        let addr = serve.addr.clone();
        std::thread::spawn(move || closed_after(&addr, &[], Duration::from_secs(20)))
    };
    let stalled = closed_after(&serve.addr, partial, Duration::from_secs(20));
    let silent = silent.join().unwrap();
    for (what, took) in [
        ("a stalled ClientHello", stalled),
        ("a silent connection", silent),
    ] {
        assert!(
            took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
            "{what} closed after {took:?} (header timeout 2 s)"
        );
    }
    let took = on_tracker.join().unwrap();
    assert!(
        took >= Duration::from_secs(8) && took < Duration::from_secs(15),
        "the tracker closed a stalled handshake after {took:?} (its header timeout is 10 s)"
    );
    // Still serving.
    let (status, _) = Conn::open(&serve.addr, &client(&ca)).get("/");
    assert_eq!(status, 403);
}

#[test]
fn sighup_reloads_the_certificate_for_new_connections_only() {
    let test = "sighup_reloads_the_certificate_for_new_connections_only";
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let first = ca.issue(101, "s3torrent first");
    let second = ca.issue(102, "s3torrent second");
    assert_ne!(first.der, second.der);
    let third = ca.issue(103, "s3torrent third");
    let all = [
        ("the first", &first),
        ("the second", &second),
        ("the third", &third),
    ];
    let files = Files::new(dir.path(), &ca, &first);
    let serve = serve_tls(&dir.path().join("root"), &files, "both", &[]);
    let tracker = serve.tracker.clone().unwrap();
    let config = client(&ca);

    // Keep-alive connections made with the first certificate.
    let mut before = Conn::open(&serve.addr, &config);
    before.presents(&first, &all);
    assert_eq!(before.get("/").0, 403);
    let mut tracker_before = Conn::open(&tracker, &config);
    tracker_before.presents(&first, &all);
    assert_eq!(tracker_before.get("/scrape").0, 200);

    // New files, SIGHUP: new connections get the second certificate, on
    // both listeners; the open ones go on with theirs.
    files.install(&second.cert_pem, &second.key_pem);
    serve.hangup();
    serve.wait_for(Duration::from_secs(10), 1, |l| {
        l.contains("TLS certificate reloaded")
    });
    Conn::open(&serve.addr, &config).presents(&second, &all);
    Conn::open(&tracker, &config).presents(&second, &all);
    assert_eq!(before.get("/").0, 403);
    before.presents(&first, &all);
    assert_eq!(tracker_before.get("/scrape").0, 200);
    if have_program(test, "openssl") {
        // An outside client reads the serial and the subject.
        let shown = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "openssl s_client -connect {} -CAfile {} </dev/null 2>/dev/null \
                 | openssl x509 -noout -serial -subject",
                serve.addr,
                files.ca().display()
            ))
            .output()
            .unwrap();
        let shown = String::from_utf8_lossy(&shown.stdout);
        assert!(shown.contains("serial=66"), "{shown}");
        assert!(shown.contains("s3torrent second"), "{shown}");
    }

    // A broken certificate file: the second certificate stays.
    std::fs::write(files.cert(), "-----BEGIN CERTIFICATE-----\nbroken\n").unwrap();
    serve.hangup();
    let line = serve.wait_for(Duration::from_secs(10), 1, |l| {
        l.contains("TLS certificate not reloaded")
    });
    assert!(line.contains(&files.cert().display().to_string()), "{line}");
    Conn::open(&serve.addr, &config).presents(&second, &all);

    // A certificate with another certificate's key: refused, named.
    files.install(&third.cert_pem, &first.key_pem);
    serve.hangup();
    let line = serve.wait_for(Duration::from_secs(10), 2, |l| {
        l.contains("TLS certificate not reloaded")
    });
    assert!(line.contains("is not the key of the certificate"), "{line}");
    assert!(line.contains(&files.key().display().to_string()), "{line}");
    Conn::open(&serve.addr, &config).presents(&second, &all);
    assert_eq!(before.get("/").0, 403);

    // Mended: the third certificate.
    files.install(&third.cert_pem, &third.key_pem);
    serve.hangup();
    serve.wait_for(Duration::from_secs(10), 2, |l| {
        l.contains("TLS certificate reloaded")
    });
    Conn::open(&serve.addr, &config).presents(&third, &all);
}

#[test]
fn bad_tls_flags_exit_non_zero_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let leaf = ca.issue(11, "s3torrent test server");
    let other = ca.issue(12, "s3torrent other");
    let files = Files::new(dir.path(), &ca, &leaf);
    let other_key = write(dir.path(), "other.key", other.key_pem.as_bytes());
    let garbage = write(dir.path(), "garbage.pem", b"not PEM at all\n");
    let cert = files.cert().display().to_string();
    let key = files.key().display().to_string();
    let root = dir.path().join("root").display().to_string();
    let run = |args: &[&str]| -> (i32, String) {
        let out = Command::new("timeout")
            .arg("30")
            .arg(env!("CARGO_BIN_EXE_s3torrent"))
            .args(["serve", "--root", &root, "--listen", "127.0.0.1:0"])
            .args(["--seeding", "web"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let missing = dir.path().join("missing.pem").display().to_string();
    let a_dir = dir.path().display().to_string();
    let other_key = other_key.display().to_string();
    let garbage = garbage.display().to_string();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["--tls-cert", &cert], vec!["--tls-key"]),
        (vec!["--tls-key", &key], vec!["--tls-cert"]),
        (
            vec!["--tls-cert", &missing, "--tls-key", &key],
            vec!["TLS certificate", &missing, "cannot be read"],
        ),
        (
            vec!["--tls-cert", &cert, "--tls-key", &a_dir],
            vec!["TLS private key", &a_dir, "cannot be read"],
        ),
        (
            vec!["--tls-cert", &cert, "--tls-key", &other_key],
            vec![
                "TLS private key",
                &other_key,
                "is not the key of the certificate",
                &cert,
            ],
        ),
        (
            vec!["--tls-cert", &garbage, "--tls-key", &key],
            vec!["TLS certificate", &garbage, "holds no certificate"],
        ),
        (
            vec!["--tls-cert", &cert, "--tls-key", &cert],
            vec!["TLS private key", &cert, "holds no private key"],
        ),
    ];
    for (args, said) in &cases {
        let (code, stderr) = run(args);
        assert!(code != 0 && code != 124, "{args:?}: exit {code}\n{stderr}");
        for s in said {
            assert!(stderr.contains(s), "{args:?}: {s:?} not in\n{stderr}");
        }
        assert!(
            !stderr.contains("listening on"),
            "{args:?} started:\n{stderr}"
        );
    }
    // The config file's keys are the flags': half a pair is refused there too.
    let config = write(
        dir.path(),
        "half.toml",
        format!("tls-cert = {cert:?}\n").as_bytes(),
    );
    let (code, stderr) = run(&["--config", config.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--tls-key"), "{stderr}");
    // And a whole pair works from the file; --print-config shows it.
    let whole = write(
        dir.path(),
        "whole.toml",
        format!("tls-cert = {cert:?}\ntls-key = {key:?}\n").as_bytes(),
    );
    let out = s3torrent()
        .args([
            "serve",
            "--config",
            whole.to_str().unwrap(),
            "--print-config",
        ])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        printed.contains(&format!("tls-cert = {cert:?}  # config file")),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("tls-key = {key:?}  # config file")),
        "{printed}"
    );
    let serve = Running::start(
        "serve",
        &[
            "--config".into(),
            whole.display().to_string(),
            "--root".into(),
            root.clone(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--seeding".into(),
            "web".into(),
        ],
    );
    assert_eq!(Conn::open(&serve.addr, &client(&ca)).get("/").0, 403);
}

#[test]
fn the_gateway_speaks_https_too() {
    let test = "the_gateway_speaks_https_too";
    if !ready(test, &["aria2c", "curl"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let files = Files::new(dir.path(), &ca, &ca.issue(21, "s3torrent test gateway"));
    // The cluster: a plain `serve`.
    let (gateway, _upstream) = gateway_tls(dir.path(), &files, &[]);
    let ep = gateway.endpoint();
    let data = random_bytes(1_500_007, 21);
    let file = write(dir.path(), "data.bin", &data);
    boto_tls(&ep, &files.ca(), "mb", &["through"]);
    boto_tls(
        &ep,
        &files.ca(),
        "put",
        &["through", "gw.bin", file.to_str().unwrap(), "public-read"],
    );
    let path = dir.path().join("gw.torrent");
    let answer = boto_tls(
        &ep,
        &files.ca(),
        "torrent",
        &["through", "gw.bin", path.to_str().unwrap()],
    );
    assert_eq!(answer["type"], "application/x-bittorrent", "{answer}");
    let torrent = Torrent::from_bytes(std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(torrent.web_seeds(), [format!("{ep}/through/gw.bin")]);
    let (ok, body) = curl(&format!("{ep}/through/gw.bin"), Some(&files.ca()));
    assert!(ok);
    assert_eq!(body, data);
    let out = dir.path().join("aria2c");
    std::fs::create_dir(&out).unwrap();
    aria2c_tls(&path, &out, &files.ca());
    assert_eq!(std::fs::read(out.join("gw.bin")).unwrap(), data);
    let answer = plain_exchange(&gateway.addr, b"GET / HTTP/1.1\r\nHost: g\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer:?}");
}

/// One WebSocket text message each way over `conn` (the handshake first
/// when `upgrade`): the answer's text. Client frames are masked, as RFC
/// 6455 says; the server's are read whole.
fn ws_exchange(conn: &mut Conn, upgrade: bool, text: &str) -> String {
    if upgrade {
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            conn.host
        );
        conn.tls.write_all(request.as_bytes()).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(conn.tls.read(&mut byte).unwrap(), 1, "the upgrade's head");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        // RFC 6455's own example key and accept value.
        assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    }
    let payload = text.as_bytes();
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut frame = vec![0x81u8];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    conn.tls.write_all(&frame).unwrap();
    conn.tls.flush().unwrap();
    let mut head = [0u8; 2];
    conn.tls.read_exact(&mut head).unwrap();
    assert_eq!(head[0], 0x81, "a final text frame");
    let len = match head[1] & 0x7f {
        126 => {
            let mut n = [0u8; 2];
            conn.tls.read_exact(&mut n).unwrap();
            usize::from(u16::from_be_bytes(n))
        }
        n => usize::from(n),
    };
    let mut body = vec![0u8; len];
    conn.tls.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}

/// The `HOST:PORT` of `running`'s WebSocket tracker, from its start-up
/// line `NAME: WebSocket tracker on wss://HOST:PORT/` (10 s at most).
fn wss_tracker(running: &Running, name: &str) -> String {
    let prefix = format!("{name}: WebSocket tracker on wss://");
    let line = running.wait_for(Duration::from_secs(10), 1, |l| l.starts_with(&prefix));
    line.trim_start_matches(&prefix)
        .trim_end_matches('/')
        .to_owned()
}

/// Through boto3 over TLS to `endpoint`: a bucket `browsers` with a public
/// object `key` (300,001 bytes from `seed`), and its torrent.
fn public_torrent(endpoint: &str, files: &Files, dir: &Path, key: &str, seed: u64) -> Torrent {
    let file = write(dir, "data.bin", &random_bytes(300_001, seed));
    boto_tls(endpoint, &files.ca(), "mb", &["browsers"]);
    boto_tls(
        endpoint,
        &files.ca(),
        "put",
        &["browsers", key, file.to_str().unwrap(), "public-read"],
    );
    let path = dir.join(format!("{key}.torrent"));
    boto_tls(
        endpoint,
        &files.ca(),
        "torrent",
        &["browsers", key, path.to_str().unwrap()],
    );
    Torrent::from_bytes(std::fs::read(&path).unwrap()).unwrap()
}

/// Over wss to `ws` (trusting `ca`), as peer `peer_id`: an announce of
/// `torrent` is served (one leecher, no failure), one of an unknown
/// info-hash refused.
fn wss_serves_only(ws: &str, ca: &Ca, torrent: &Torrent, peer_id: &str) {
    let mut conn = Conn::open(ws, &client(ca));
    let binary = |bytes: &[u8]| bytes.iter().map(|&b| char::from(b)).collect::<String>();
    let announce = |hash: &[u8]| {
        serde_json::json!({
            "action": "announce", "info_hash": binary(hash), "peer_id": peer_id,
            "left": 5, "numwant": 0, "event": "started", "offers": [],
        })
        .to_string()
    };
    let served: serde_json::Value = serde_json::from_str(&ws_exchange(
        &mut conn,
        true,
        &announce(torrent.info_hash().as_bytes()),
    ))
    .unwrap();
    assert_eq!(served["action"], "announce", "{served}");
    assert_eq!(served["incomplete"], 1, "{served}");
    assert!(served.get("failure reason").is_none(), "{served}");
    let refused: serde_json::Value =
        serde_json::from_str(&ws_exchange(&mut conn, false, &announce(&[7; 20]))).unwrap();
    let reason = refused["failure reason"].as_str().unwrap_or_default();
    assert!(reason.contains("unknown info_hash"), "{refused}");
}

#[test]
fn the_websocket_tracker_speaks_wss_and_torrents_name_it() {
    let test = "the_websocket_tracker_speaks_wss_and_torrents_name_it";
    if !ready(test, &[]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let files = Files::new(dir.path(), &ca, &ca.issue(11, "s3torrent test server"));
    let serve = serve_tls(
        &dir.path().join("root"),
        &files,
        "both",
        &["--ws-tracker-listen", "127.0.0.1:0"],
    );
    let ws = wss_tracker(&serve, "serve");
    let ep = serve.endpoint();
    let torrent = public_torrent(&ep, &files, dir.path(), "w.bin", 11);
    // A tier of its own after the HTTP and UDP trackers.
    assert_eq!(
        torrent.announce_list().last(),
        Some(&vec![format!("wss://{ws}/")])
    );
    // Over TLS with the endpoint's certificate: an announce of the public
    // object is served, an unknown info-hash refused.
    wss_serves_only(&ws, &ca, &torrent, "-TT0001-abcdefghijkl");
}

/// `gateway --ws-tracker-listen` (seeding both, over TLS, in front of a
/// plain `serve`): torrents list `wss://` as their last tier, and the
/// tracker serves the public object's info-hash (decided as the cluster
/// sees it) and refuses an unknown one.
#[test]
fn the_gateway_runs_the_websocket_tracker_too() {
    let test = "the_gateway_runs_the_websocket_tracker_too";
    if !ready(test, &[]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let files = Files::new(dir.path(), &ca, &ca.issue(31, "s3torrent test gateway"));
    let (gateway, _upstream) = gateway_tls(
        dir.path(),
        &files,
        &[
            "--seeding",
            "both",
            "--tracker-listen",
            "127.0.0.1:0",
            "--peer-listen",
            "127.0.0.1:0",
            "--udp-tracker-listen",
            "off",
            "--ws-tracker-listen",
            "127.0.0.1:0",
        ],
    );
    let ws = wss_tracker(&gateway, "gateway");
    let ep = gateway.endpoint();
    let torrent = public_torrent(&ep, &files, dir.path(), "g.bin", 31);
    assert_eq!(
        torrent.announce_list().last(),
        Some(&vec![format!("wss://{ws}/")]),
        "{:?}",
        torrent.announce_list()
    );
    assert_eq!(torrent.web_seeds(), [format!("{ep}/browsers/g.bin")]);
    wss_serves_only(&ws, &ca, &torrent, "-TT0001-gatewaybrows");
}

/// A real nginx terminating TLS in front of a plain-HTTP `serve` (the
/// GUIDE's configuration, `listen … ssl`), `serve` trusting it
/// (`--trusted-proxy 127.0.0.1`), and the usual "deny anything not over
/// TLS" bucket policy: boto3 through nginx over HTTPS is let through
/// (SigV4 signing, SigV4 and SigV2 presigned URLs, an anonymous GET from 127.0.0.3, which
/// S3's log line names, behind the proxy's address), while a direct
/// plain-HTTP request is denied, and so is a direct one forging
/// `X-Forwarded-Proto: https` and `Forwarded: proto=https` from 127.0.0.2,
/// which is no trusted proxy (the same header from the trusted address is
/// believed, which is what makes the refusal the trust rule's). SSE-C the
/// same way, without `--allow-sse-c-over-http`: boto3's PUT and GET with a
/// customer key through nginx over HTTPS succeed; straight to `serve` over
/// plain HTTP, and forging HTTPS from 127.0.0.2, they are refused with
/// S3's `InvalidRequest` and nothing is stored.
#[test]
fn behind_nginx_over_https_a_tls_only_policy_lets_its_clients_through() {
    let test = "behind_nginx_over_https_a_tls_only_policy_lets_its_clients_through";
    if !ready(test, &["curl"]) {
        return;
    }
    let Some(nginx) = support::have_nginx(test) else {
        return;
    };
    let _heavy = support::heavy();
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let files = Files::new(dir.path(), &ca, &ca.issue(1, "nginx in front"));
    let root = dir.path().join("root");
    let serve = Running::start(
        "serve",
        &[
            "--root",
            root.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--seeding",
            "web",
            "--trusted-proxy",
            "127.0.0.1",
        ]
        .map(String::from),
    );
    assert_eq!(serve.scheme, "http");
    let front = format!("127.0.0.1:{}", support::swarm::free_port());
    let proxy = support::nginx::Nginx::start_tls(
        &nginx,
        dir.path(),
        &front,
        (&files.cert(), &files.key()),
        &serve.addr,
        // Web seeding only: no tracker to send /announce to.
        &format!("127.0.0.1:{}", support::swarm::free_port()),
    );
    let https = format!("https://{front}");
    let data = random_bytes(70_001, 41);
    let file = write(dir.path(), "doc.bin", &data);
    let ok = |answer: serde_json::Value| {
        assert!(
            answer.get("error").is_none(),
            "{answer}\n{}",
            proxy.errors()
        );
        answer
    };
    ok(boto_tls(&https, &files.ca(), "mb", &["vault"]));
    ok(boto_tls(
        &https,
        &files.ca(),
        "put",
        &["vault", "doc.bin", file.to_str().unwrap(), "public-read"],
    ));
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::vault","arn:aws:s3:::vault/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
    ok(boto_tls(&https, &files.ca(), "policy", &["vault", policy]));

    // Through nginx over HTTPS: signed, presigned and anonymous requests.
    let got = dir.path().join("got.bin");
    let get = ok(boto_tls(
        &https,
        &files.ca(),
        "get",
        &["vault", "doc.bin", "bytes=0-", got.to_str().unwrap()],
    ));
    assert_eq!(get["len"], 70_001, "{get}");
    assert_eq!(std::fs::read(&got).unwrap(), data);
    let listed = ok(boto_tls(&https, &files.ca(), "list", &["vault"]));
    assert_eq!(listed["keys"], serde_json::json!(["doc.bin"]));
    for (version, mark) in [("s3v4", "X-Amz-Signature="), ("s3", "&Signature=")] {
        let url = ok(boto_tls(
            &https,
            &files.ca(),
            "presign",
            &["vault", "doc.bin", version],
        ));
        let url = url["url"].as_str().expect("a URL");
        assert!(url.starts_with(&https) && url.contains(mark), "{url}");
        let (fetched, body) = curl(url, Some(&files.ca()));
        assert!(
            fetched,
            "the presigned URL through nginx was refused: {url}"
        );
        assert_eq!(body, data);
    }
    let anonymous = Command::new("timeout")
        .args(["60", "curl", "-sS", "--fail", "--max-time", "50"])
        .args(["--interface", "127.0.0.3", "--cacert"])
        .arg(files.ca())
        .arg(format!("{https}/vault/doc.bin"))
        .output()
        .unwrap();
    assert!(
        anonymous.status.success(),
        "{}",
        String::from_utf8_lossy(&anonymous.stderr)
    );
    assert_eq!(anonymous.stdout, data);
    let logged = serve.wait_for(Duration::from_secs(10), 1, |l| {
        l.contains(" serve: request ")
            && l.contains("path=\"/vault/doc.bin\" status=200")
            && l.contains("client=127.0.0.3:")
    });
    assert!(logged.contains(" proxy=127.0.0.1:"), "{logged}");

    // Straight to serve over plain HTTP: denied, signed or anonymous.
    let direct = serve.endpoint();
    let out = support::python(
        support::serve::BOTO,
        &[&direct, DEV.0, DEV.1, "get", "vault", "doc.bin"],
    );
    let denied: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(denied["error"], "AccessDenied", "{denied}");
    let anonymous = |from: [u8; 4], headers: &[(&str, &str)]| {
        support::serve::request_from(from.into(), &serve.addr, "GET", "/vault/doc.bin", headers)
    };
    assert_eq!(anonymous([127, 0, 0, 2], &[]).status, 403);
    // Forged from an address that is no trusted proxy: ignored.
    for forged in [
        &[("X-Forwarded-Proto", "https")][..],
        &[("Forwarded", "for=127.0.0.2;proto=https")],
        &[
            ("X-Forwarded-For", "127.0.0.2"),
            ("X-Forwarded-Proto", "https"),
            ("Forwarded", "for=127.0.0.2;proto=https"),
        ],
    ] {
        let r = anonymous([127, 0, 0, 2], forged);
        assert_eq!(
            (r.status, r.code()),
            (403, "AccessDenied".into()),
            "{forged:?}"
        );
    }
    // The trusted address's word is believed, both ways.
    let r = anonymous([127, 0, 0, 1], &[("X-Forwarded-Proto", "https")]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, data);
    let r = anonymous([127, 0, 0, 1], &[("X-Forwarded-Proto", "http")]);
    assert_eq!(r.status, 403);

    // SSE-C is taken from a request that came over HTTPS, here nginx's,
    // without `--allow-sse-c-over-http`; a bucket without the TLS-only
    // policy, so that only the transport decides.
    ok(boto_tls(&https, &files.ca(), "mb", &["keys"]));
    let secret = "a customer key of 32 bytes, here";
    let put = ok(boto_tls(
        &https,
        &files.ca(),
        "ssec-put",
        &["keys", "sealed.bin", file.to_str().unwrap(), secret],
    ));
    // base64(MD5(secret)), as Python's hashlib has it.
    let key_md5 = "7QJtE71/W6ZfrynryPS3Qw==";
    assert_eq!(put["key_md5"], key_md5, "{put}");
    let opened = dir.path().join("opened.bin");
    let get = ok(boto_tls(
        &https,
        &files.ca(),
        "ssec-get",
        &["keys", "sealed.bin", secret, opened.to_str().unwrap()],
    ));
    assert_eq!(get["key_md5"], key_md5, "{get}");
    assert_eq!(std::fs::read(&opened).unwrap(), data);
    // Straight to serve over plain HTTP: S3's refusal, for the write and
    // for the read.
    let plain = |op: &str, args: &[&str]| -> serde_json::Value {
        let mut all = vec![direct.as_str(), DEV.0, DEV.1, op];
        all.extend_from_slice(args);
        serde_json::from_str(support::python(BOTO, &all).trim()).unwrap()
    };
    let refused = "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.";
    let put = plain(
        "ssec-put",
        &["keys", "plain.bin", file.to_str().unwrap(), secret],
    );
    assert_eq!(
        (&put["status"], &put["error"], &put["message"]),
        (&400.into(), &"InvalidRequest".into(), &refused.into()),
        "{put}"
    );
    let get = plain(
        "ssec-get",
        &["keys", "sealed.bin", secret, opened.to_str().unwrap()],
    );
    assert_eq!(get["error"], "InvalidRequest", "{get}");
    let missing = plain("head", &["keys", "plain.bin"]);
    assert_eq!(missing["status"], 404, "{missing}");
    // Unsigned, from an address that is no trusted proxy and forges
    // HTTPS: refused for its transport; the trusted address saying HTTPS
    // is believed (so nothing else refused the first).
    let sse_c = [
        ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
        (
            "x-amz-server-side-encryption-customer-key",
            "YSBjdXN0b21lciBrZXkgb2YgMzIgYnl0ZXMsIGhlcmU=",
        ),
        ("x-amz-server-side-encryption-customer-key-MD5", key_md5),
    ];
    ok(boto_tls(
        &https,
        &files.ca(),
        "policy",
        &[
            "keys",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::keys/anonymous*"}]}"#,
        ],
    ));
    let anonymous_put = |from: [u8; 4], key: &str, proto: &str| {
        let mut headers = sse_c.to_vec();
        headers.extend([("Content-Length", "0"), ("X-Forwarded-Proto", proto)]);
        support::serve::request_from(from.into(), &serve.addr, "PUT", key, &headers)
    };
    for forged in ["https", "HTTPS"] {
        let r = anonymous_put([127, 0, 0, 2], "/keys/anonymous-forged", forged);
        assert_eq!(
            (r.status, r.code()),
            (400, "InvalidRequest".into()),
            "{}",
            r.text()
        );
        assert!(r.text().contains(refused), "{}", r.text());
    }
    let missing = plain("head", &["keys", "anonymous-forged"]);
    assert_eq!(missing["status"], 404, "{missing}");
    let r = anonymous_put([127, 0, 0, 1], "/keys/anonymous-trusted", "https");
    assert_eq!(r.status, 200, "{}", r.text());
    let r = anonymous_put([127, 0, 0, 1], "/keys/anonymous-trusted", "http");
    assert_eq!(r.code(), "InvalidRequest", "{}", r.text());
}
