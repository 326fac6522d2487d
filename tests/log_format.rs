//! `serve --log-format json`: one JSON object a line per request, with the
//! request's fields, on stderr; the start-up lines stay plain text; Ctrl-C
//! still flushes the last lines.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::s3torrent;
use support::serve::request;

#[test]
fn json_log_is_one_object_per_request() {
    let root = tempfile::tempdir().unwrap();
    let mut child = s3torrent()
        .arg("serve")
        .arg("--root")
        .arg(root.path())
        .args(["--listen", "127.0.0.1:0", "--seeding", "web"])
        .args([
            "--tracker-listen",
            "127.0.0.1:0",
            "--peer-listen",
            "127.0.0.1:0",
        ])
        .args(["--log-format", "json"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stderr = child.stderr.take().expect("piped");
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
    let Ok(addr) = rx.recv_timeout(Duration::from_secs(20)) else {
        let _ = child.kill();
        panic!("serve did not say where it listens within 20 s");
    };

    // Two anonymous requests: a ?torrent of a missing bucket (404, an XML
    // body with a length) and a ListBuckets (403).
    let missing = request(&addr, "GET", "/nobucket/some%20key?torrent", &[]);
    assert_eq!(missing.status, 404);
    let denied = request(&addr, "GET", "/", &[]);
    assert_eq!(denied.status, 403);

    // Ctrl-C: the graceful shutdown must flush the queued lines.
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(interrupted.success());
    let status = child.wait().expect("serve exits");
    assert!(status.success(), "serve exited with {status}");
    let lines = reader.join().expect("stderr reader");

    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("serve: listening on http://")),
        "{lines:#?}"
    );
    let events: Vec<serde_json::Value> = lines
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let requests: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["message"] == "request")
        .collect();
    assert_eq!(requests.len(), 2, "{lines:#?}");

    for (event, reply, path, status) in [
        (requests[0], &missing, "/nobucket/some%20key?torrent", 404),
        (requests[1], &denied, "/", 403),
    ] {
        assert_eq!(event["level"], "INFO", "{event}");
        assert_eq!(event["target"], "serve", "{event}");
        assert_eq!(event["method"], "GET", "{event}");
        assert_eq!(event["path"], path, "{event}");
        assert_eq!(event["status"], status, "{event}");
        assert!(event["ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{event}");
        assert_eq!(
            event["request_id"].as_str(),
            reply.header("x-amz-request-id"),
            "{event}"
        );
        let client = event["client"].as_str().expect("client");
        let client: std::net::SocketAddr = client.parse().expect("client is an address");
        assert!(client.ip().is_loopback(), "{event}");
        if let Some(length) = reply.header("content-length") {
            assert_eq!(
                event["bytes"].as_u64(),
                Some(length.parse().unwrap()),
                "{event}"
            );
        }
    }
    // The 404 has a body of a declared length.
    assert_eq!(
        requests[0]["bytes"].as_u64(),
        Some(missing.body.len() as u64)
    );
}
