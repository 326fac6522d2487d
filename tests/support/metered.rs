//! What the metrics and console end-to-end tests share: a `serve` with a
//! metrics listener, and a swarm of python-libtorrent clients that share
//! pieces among themselves.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{python, s3torrent};

/// A running `serve` with its metrics listener, killed when dropped.
pub(crate) struct Metered {
    pub(crate) child: Child,
    /// The S3 listener's address.
    pub(crate) addr: String,
    /// The metrics listener's address.
    pub(crate) metrics: String,
}

impl Drop for Metered {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Metered {
    /// `serve --seeding peer --metrics-listen 127.0.0.1:0 EXTRA…` over
    /// `root`, every listener on a free loopback port: its S3 and metrics
    /// addresses, from its start-up lines (20 s at most).
    pub(crate) fn start(root: &Path, extra: &[&str]) -> Metered {
        let mut child = s3torrent()
            .arg("serve")
            .arg("--root")
            .arg(root)
            .args(["--listen", "127.0.0.1:0"])
            .args(["--seeding", "peer"])
            .args(["--tracker-listen", "127.0.0.1:0"])
            .args(["--peer-listen", "127.0.0.1:0"])
            .args(["--metrics-listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, rx) = mpsc::channel();
        // Reads every line until serve ends, so that its stderr never fills.
        std::thread::spawn(move || {
            let mut metrics = None;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("serve: metrics on http://") {
                    metrics = rest.strip_suffix("/metrics").map(str::to_owned);
                }
                if let Some(addr) = line.strip_prefix("serve: listening on http://") {
                    let _ = tx.send((addr.to_owned(), metrics.take()));
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok((addr, Some(metrics))) => Metered {
                child,
                addr,
                metrics,
            },
            Ok((_, None)) => {
                let _ = child.kill();
                panic!("serve listened without saying where its metrics are");
            }
            Err(_) => {
                let _ = child.kill();
                panic!("serve did not say where it listens within 20 s");
            }
        }
    }
}

/// COUNT python-libtorrent clients in one process download one `.torrent`
/// at once into `SAVE/0`, `SAVE/1`, … (loopback, no DHT, LSD, UPnP or
/// NAT-PMP; several connections per address), within SECONDS; once all
/// are seeding each announces again (so the tracker hears its final
/// `downloaded`) and the process waits for those answers (5 s at most).
/// Prints JSON: `done` (all seeding), `downloaded` (each one's payload
/// bytes) and `replied` (how many heard back from the tracker after).
const SWARM: &str = include_str!("../clients/libtorrent_swarm_of_clients.py");

/// Runs [`SWARM`]: `count` clients download `torrent` into `save`; the
/// script's JSON.
pub(crate) fn swarm_download(
    torrent: &Path,
    save: &Path,
    count: u32,
    seconds: u32,
) -> serde_json::Value {
    let out = python(
        SWARM,
        &[
            torrent.to_str().unwrap(),
            save.to_str().unwrap(),
            &count.to_string(),
            &seconds.to_string(),
        ],
    );
    serde_json::from_str(out.trim()).expect("JSON from the swarm")
}

/// `%XX` for every byte of `text` but unreserved ones (RFC 3986), for a
/// query parameter's value.
pub(crate) fn query_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
