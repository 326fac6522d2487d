//! `serve --log-format json`: one JSON object a line per request, with the
//! request's fields, on stderr; the start-up lines stay plain text; Ctrl-C
//! still flushes the last lines.

use crate::support;

use std::process::{Command, Stdio};

use support::s3torrent;
use support::serve::request;

/// A running `serve --log-format FORMAT` whose stderr lines are collected.
struct Logging {
    child: std::process::Child,
    addr: String,
    reader: std::thread::JoinHandle<Vec<String>>,
    _root: tempfile::TempDir,
}

impl Logging {
    fn start(format: &str) -> Logging {
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
            .args(["--log-format", format])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let (addr, reader) = support::serve::listening(&mut child);
        Logging {
            child,
            addr,
            reader,
            _root: root,
        }
    }

    /// SIGTERM, as systemd stops a service (the graceful shutdown must
    /// flush the queued lines, as on Ctrl-C), then every line serve wrote.
    fn stop(mut self) -> Vec<String> {
        let interrupted = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(interrupted.success());
        let status = self.child.wait().expect("serve exits");
        assert!(status.success(), "serve exited with {status}");
        self.reader.join().expect("stderr reader")
    }
}

#[test]
fn text_log_is_one_line_per_request() {
    let serve = Logging::start("text");
    let denied = request(&serve.addr, "GET", "/", &[]);
    assert_eq!(denied.status, 403);
    // A path with an encoded newline and quote stays on its line, quoted.
    let odd = request(&serve.addr, "GET", "/nobucket/a%0Ab%22c?torrent", &[]);
    let lines = serve.stop();
    let requests: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains(" serve: request "))
        .collect();
    assert_eq!(requests.len(), 2, "{lines:#?}");
    let id = denied.header("x-amz-request-id").expect("request id");
    // TIME  LEVEL TARGET: MESSAGE field=value...
    let (time, rest) = requests[0].split_once(' ').expect("a time");
    assert!(time.ends_with('Z') && time.contains('T'), "{time}");
    let rest = rest
        .strip_prefix(" INFO serve: request ")
        .expect(requests[0]);
    let client = rest.rsplit_once(" client=").expect("a client").1;
    assert!(client.parse::<std::net::SocketAddr>().is_ok(), "{client}");
    assert!(
        rest.starts_with(&format!(
            "method=GET path=\"/\" status=403 bytes={} ms=",
            denied.body.len()
        )),
        "{rest}"
    );
    assert!(rest.contains(&format!(" request_id=\"{id}\" ")), "{rest}");
    assert!(
        requests[1].contains(&format!(
            " path=\"/nobucket/a%0Ab%22c?torrent\" status={} ",
            odd.status
        )),
        "{}",
        requests[1]
    );
}

#[test]
fn json_log_is_one_object_per_request() {
    let serve = Logging::start("json");
    let addr = serve.addr.clone();

    // Two anonymous requests: a ?torrent of a missing bucket (404, an XML
    // body with a length) and a ListBuckets (403).
    let missing = request(&addr, "GET", "/nobucket/some%20key?torrent", &[]);
    assert_eq!(missing.status, 404);
    let denied = request(&addr, "GET", "/", &[]);
    assert_eq!(denied.status, 403);

    let lines = serve.stop();

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
