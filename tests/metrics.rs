//! `--metrics-listen`: Prometheus metrics and health checks on a listener
//! of their own. `serve` is started with one, asked S3 requests, announces
//! and (with python libtorrent) a download from its peer; the counters
//! scraped from `/metrics` are checked against what was done, and the
//! exposition against `promtool check metrics` when it is installed.
//!
//! Loopback only; every wait is bounded.

use crate::support;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use s3torrent_metainfo::Torrent;
use support::metered::Metered;
use support::serve::{DEV, request};
use support::{have_program, have_python_module, python, random_bytes, write};

/// The samples of a `/metrics` scrape, by name and labels as written
/// (`name{label="v"}`), after checking the format: every family has HELP
/// and TYPE lines before its samples, every sample a family and an
/// integer value.
fn scrape(metrics: &str) -> BTreeMap<String, u64> {
    let r = request(metrics, "GET", "/metrics", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        r.header("content-type")
    );
    let text = r.text();
    let (mut helped, mut typed) = (Vec::new(), Vec::new());
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name text");
            assert!(!help.is_empty(), "{line}");
            helped.push(name.to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(matches!(kind, "counter" | "gauge"), "{line}");
            assert_eq!(helped.last().map(String::as_str), Some(name), "{line}");
            typed.push(name.to_owned());
        } else {
            let (series, value) = line.rsplit_once(' ').expect("a sample");
            let name = series.split('{').next().unwrap();
            assert_eq!(typed.last().map(String::as_str), Some(name), "{line}");
            let value = value.parse().unwrap_or_else(|_| panic!("{line}"));
            assert!(samples.insert(series.to_owned(), value).is_none(), "{line}");
        }
    }
    samples
}

/// The value of `series` in `samples`; the test fails without it.
fn value(samples: &BTreeMap<String, u64>, series: &str) -> u64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("{series} missing from {samples:?}"))
}

/// `promtool check metrics` on a scrape, when promtool is installed.
fn promtool_accepts(test: &str, metrics: &str) {
    if !have_program(test, "promtool") {
        return;
    }
    let text = request(metrics, "GET", "/metrics", &[]).body;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child.stdin.take().unwrap().write_all(&text).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&text)
    );
}

/// A raw HTTP announce; its status.
fn announce(tracker: &str, info_hash: &[u8; 20], peer_id: &str, downloaded: u64) -> u16 {
    let hash: String = info_hash.iter().map(|b| format!("%{b:02X}")).collect();
    let query = format!(
        "info_hash={hash}&peer_id={peer_id}&port=1&uploaded=0&downloaded={downloaded}&left=0&compact=1&event=completed"
    );
    request(tracker, "GET", &format!("/announce?{query}"), &[]).status
}

#[test]
fn health_ready_and_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Metered::start(&dir.path().join("root"), &[]);
    let health = request(&serve.metrics, "GET", "/health", &[]);
    assert_eq!((health.status, health.text().as_str()), (200, "ok\n"));
    let ready = request(&serve.metrics, "GET", "/ready", &[]);
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert_eq!(request(&serve.metrics, "GET", "/", &[]).status, 404);
    assert_eq!(request(&serve.metrics, "GET", "/metricsx", &[]).status, 404);
    // Nothing of the metrics listener is on the S3 one...
    assert_ne!(request(&serve.addr, "GET", "/metrics", &[]).status, 200);
    // ...but health and readiness, where no bucket name can be.
    let health = request(&serve.addr, "GET", "/_s3torrent/health", &[]);
    assert_eq!((health.status, health.text().as_str()), (200, "ok\n"));
    let ready = request(&serve.addr, "GET", "/_s3torrent/ready", &[]);
    assert_eq!((ready.status, ready.text().as_str()), (200, "ready\n"));
    // A bucket named like it cannot exist: `_` is not in bucket names.
    assert_eq!(
        request(&serve.addr, "GET", "/_s3torrent/healthz", &[]).status,
        404
    );
}

#[test]
fn the_counters_count_what_serve_did() {
    let _heavy = support::heavy();
    let test = "the_counters_count_what_serve_did";
    let dir = tempfile::tempdir().unwrap();
    let serve = Metered::start(&dir.path().join("root"), &[]);
    promtool_accepts(test, &serve.metrics);

    // Two anonymous requests for a bucket that is not there.
    for _ in 0..2 {
        let r = request(&serve.addr, "GET", "/missing/key", &[]);
        assert_eq!(r.status / 100, 4, "{}", r.text());
    }
    let m = scrape(&serve.metrics);
    assert_eq!(value(&m, "s3torrent_s3_requests_total{class=\"4xx\"}"), 2);
    assert_eq!(value(&m, "s3torrent_s3_requests_total{class=\"2xx\"}"), 0);
    assert_eq!(value(&m, "s3torrent_origin_sent_bytes"), 0);
    assert_eq!(value(&m, "s3torrent_swarm_saved_bytes"), 0);
    if !have_python_module(test, "boto3") {
        return;
    }

    // A public object: created, put, fetched, and its torrent.
    let size = 3 * 262_144 + 777;
    let data = random_bytes(size, 5);
    let file = write(dir.path(), "upload.bin", &data);
    let boto = |op: &str, args: &[&str]| {
        let (ak, sk, _) = DEV;
        let endpoint = format!("http://{}", serve.addr);
        let mut all = vec![endpoint.as_str(), ak, sk, op];
        all.extend(args);
        let out = python(support::serve::BOTO, &all);
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON from boto3");
        assert!(v.get("error").is_none(), "{v}");
    };
    boto("mb", &["pub"]);
    boto(
        "put",
        &["pub", "o.bin", file.to_str().unwrap(), "public-read"],
    );
    let got = request(&serve.addr, "GET", "/pub/o.bin", &[]);
    assert_eq!((got.status, got.body.len()), (200, size));
    let t = request(&serve.addr, "GET", "/pub/o.bin?torrent", &[]);
    assert_eq!(t.status, 200, "{}", t.text());
    let torrent = Torrent::from_bytes(t.body.clone()).expect("a torrent");
    let info_hash = *torrent.info_hash().as_bytes();
    let tracker = torrent.trackers()[0]
        .trim_start_matches("http://")
        .trim_end_matches("/announce")
        .to_owned();

    // Two clients report their downloads, one twice (the latest counts);
    // an unknown torrent is refused.
    assert_eq!(
        announce(&tracker, &info_hash, "-XX0001-aaaaaaaaaaaa", 1_000),
        200
    );
    assert_eq!(
        announce(&tracker, &info_hash, "-XX0001-aaaaaaaaaaaa", 5_000_000),
        200
    );
    assert_eq!(
        announce(&tracker, &info_hash, "-XX0001-bbbbbbbbbbbb", 2_000_000),
        200
    );
    assert_eq!(announce(&tracker, &[7; 20], "-XX0001-cccccccccccc", 9), 200);

    let m = scrape(&serve.metrics);
    assert_eq!(value(&m, "s3torrent_s3_requests_total{class=\"4xx\"}"), 2);
    // mb, put, the GET and ?torrent.
    assert_eq!(value(&m, "s3torrent_s3_requests_total{class=\"2xx\"}"), 4);
    assert_eq!(value(&m, "s3torrent_s3_requests_total{class=\"5xx\"}"), 0);
    assert!(value(&m, "s3torrent_s3_sent_bytes_total") >= (size + t.body.len()) as u64);
    assert_eq!(value(&m, "s3torrent_torrents_served_total"), 1);
    let http = "s3torrent_tracker_announces_total{transport=\"http\",outcome=";
    assert_eq!(value(&m, &format!("{http}\"answered\"}}")), 3);
    assert_eq!(value(&m, &format!("{http}\"refused\"}}")), 1);
    assert_eq!(value(&m, "s3torrent_swarm_downloaded_bytes"), 7_000_000);
    assert_eq!(value(&m, "s3torrent_origin_sent_bytes"), size as u64);
    assert_eq!(
        value(&m, "s3torrent_swarm_saved_bytes"),
        7_000_000 - size as u64
    );
    assert_eq!(value(&m, "s3torrent_peer_sent_bytes_total"), 0);
    promtool_accepts(test, &serve.metrics);

    if !have_python_module(test, "libtorrent") {
        return;
    }
    // libtorrent downloads the object from the endpoint's peer alone.
    let save = dir.path().join("lt");
    let torrent_path = write(dir.path(), "o.torrent", &t.body);
    let out = python(
        LT_DOWNLOAD,
        &[torrent_path.to_str().unwrap(), save.to_str().unwrap(), "60"],
    );
    let r: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON from libtorrent");
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(std::fs::read(save.join("o.bin")).unwrap_or_default(), data);
    // Its connection ends with python: then its bytes are counted.
    let deadline = Instant::now() + Duration::from_secs(20);
    let m = loop {
        let m = scrape(&serve.metrics);
        if value(&m, "s3torrent_peer_connections") == 0 || Instant::now() > deadline {
            break m;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(value(&m, "s3torrent_peer_connections"), 0);
    // Every piece at least once (libtorrent's end game may ask a block of
    // both its connections to the endpoint).
    let peer_sent = value(&m, "s3torrent_peer_sent_bytes_total");
    assert!(peer_sent >= size as u64, "{peer_sent}");
    let origin = value(&m, "s3torrent_origin_sent_bytes");
    assert_eq!(origin, peer_sent + size as u64);
    let downloaded = value(&m, "s3torrent_swarm_downloaded_bytes");
    assert!(downloaded >= 7_000_000, "{downloaded}");
    assert_eq!(
        value(&m, "s3torrent_swarm_saved_bytes"),
        downloaded.saturating_sub(origin)
    );
    // libtorrent announced too, over HTTP or UDP.
    let udp = "s3torrent_tracker_announces_total{transport=\"udp\",outcome=\"answered\"}";
    assert!(
        value(&m, &format!("{http}\"answered\"}}")) + value(&m, udp) > 3,
        "{m:?}"
    );
    promtool_accepts(test, &serve.metrics);
}

/// python libtorrent downloads a `.torrent` into `save` from the peers its
/// tracker gives, within `seconds`: `tests/clients/libtorrent_tracker_download.py`
/// (its docstring says what it prints).
const LT_DOWNLOAD: &str = include_str!("clients/libtorrent_tracker_download.py");
