//! `/metrics` read by a real Prometheus server: Debian's `prometheus`,
//! started on loopback with a scrape configuration that points at serve's
//! `--metrics-listen` every second (its own storage in a temp dir). After
//! three python-libtorrent clients download one object as a swarm (the
//! endpoint's peer rationing, so that they pass pieces to each other),
//! Prometheus's query API returns the saved-bytes series with a value
//! above 0, and the per-torrent series of the torrent's info-hash; the
//! target is up, scraped without error (in OpenMetrics, which Prometheus
//! asks for).
//!
//! Loopback only; every wait is bounded.

use crate::support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use s3torrent_metainfo::Torrent;
use support::metered::{Metered, query_encode, swarm_download};
use support::serve::{BOTO, DEV, request};
use support::swarm::{Killed, free_port};
use support::{have_program, have_python_module, python, random_bytes, write};

/// Prometheus on `127.0.0.1:PORT`, scraping `target` every second, with
/// its data under `dir`; killed when dropped. Waits (60 s at most) until
/// it says it is ready.
fn prometheus(dir: &Path, target: &str) -> (Killed, String) {
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: s3torrent\n    static_configs:\n      - targets: ['{target}']\n"
    );
    let config = write(dir, "prometheus.yml", config.as_bytes());
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .expect("prometheus starts");
    let child = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = std::net::TcpStream::connect(&addr).is_ok()
            && request(&addr, "GET", "/-/ready", &[]).status == 200;
        if ready {
            return (child, addr);
        }
        assert!(
            Instant::now() < deadline,
            "prometheus not ready within 60 s: {}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An instant query through Prometheus's HTTP API: each result's labels
/// and value.
fn query(prometheus: &str, promql: &str) -> Vec<(serde_json::Value, f64)> {
    let r = request(
        prometheus,
        "GET",
        &format!("/api/v1/query?query={}", query_encode(promql)),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON from Prometheus");
    assert_eq!(v["status"], "success", "{v}");
    v["data"]["result"]
        .as_array()
        .expect("a vector")
        .iter()
        .map(|s| {
            let value = s["value"][1].as_str().unwrap_or("nan").parse().unwrap();
            (s["metric"].clone(), value)
        })
        .collect()
}

/// Polls `promql` until some result's value passes `ok` (60 s at most):
/// the results then.
fn wait_for(
    prometheus: &str,
    promql: &str,
    ok: impl Fn(f64) -> bool,
) -> Vec<(serde_json::Value, f64)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let results = query(prometheus, promql);
        if results.iter().any(|(_, v)| ok(*v)) {
            return results;
        }
        assert!(
            Instant::now() < deadline,
            "{promql}: {results:?} after 60 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn prometheus_scrapes_the_bandwidth_a_swarm_saved() {
    let _heavy = support::heavy();
    let test = "prometheus_scrapes_the_bandwidth_a_swarm_saved";
    if !have_program(test, "prometheus")
        || !have_python_module(test, "boto3")
        || !have_python_module(test, "libtorrent")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The peer always rations (each piece leaves it about once) and is
    // held to 4 MB/s, so the clients get most pieces from each other.
    let serve = Metered::start(
        &dir.path().join("root"),
        &["--ration-above", "0", "--seed-rate", "4000000"],
    );
    let (_prometheus, prom) = prometheus(dir.path(), &serve.metrics);

    let size = 8 * 1024 * 1024 + 12_345;
    let data = random_bytes(size, 24);
    let file = write(dir.path(), "upload.bin", &data);
    let endpoint = format!("http://{}", serve.addr);
    let (ak, sk, _) = DEV;
    for args in [
        vec!["mb", "pub"],
        vec![
            "put",
            "pub",
            "shared.bin",
            file.to_str().unwrap(),
            "public-read",
        ],
    ] {
        let mut all = vec![endpoint.as_str(), ak, sk];
        all.extend(args);
        let out: serde_json::Value = serde_json::from_str(python(BOTO, &all).trim()).unwrap();
        assert!(out.get("error").is_none(), "{out}");
    }
    let t = request(&serve.addr, "GET", "/pub/shared.bin?torrent", &[]);
    assert_eq!(t.status, 200, "{}", t.text());
    let info_hash = Torrent::from_bytes(t.body.clone())
        .expect("a torrent")
        .info_hash()
        .to_hex();
    let torrent = write(dir.path(), "shared.torrent", &t.body);

    let save = dir.path().join("clients");
    let started = Instant::now();
    let out = swarm_download(&torrent, &save, 3, 120);
    assert_eq!(out["done"], true, "{out}");
    for i in 0..3 {
        let got = std::fs::read(save.join(i.to_string()).join("shared.bin")).unwrap_or_default();
        assert!(got == data, "client {i} has other bytes");
    }
    support::announce(&format!(
        "{test}: 3 clients downloaded {size} bytes in {:.1} s: {out}",
        started.elapsed().as_secs_f64()
    ));

    // Prometheus saw the swarm save bandwidth.
    let saved = wait_for(&prom, "s3torrent_swarm_saved_bytes", |v| v > 0.0);
    let downloaded = query(&prom, "s3torrent_swarm_downloaded_bytes");
    let origin = query(&prom, "s3torrent_origin_sent_bytes");
    support::announce(&format!(
        "{test}: saved {saved:?}, downloaded {downloaded:?}, origin {origin:?}"
    ));
    assert!(downloaded[0].1 >= 3.0 * size as f64, "{downloaded:?}");
    // And per torrent, under its info-hash.
    let per = wait_for(
        &prom,
        &format!("s3torrent_torrent_saved_bytes{{info_hash=\"{info_hash}\"}}"),
        |v| v > 0.0,
    );
    assert_eq!(per[0].0["info_hash"], info_hash.as_str(), "{per:?}");
    let sent = query(
        &prom,
        &format!("s3torrent_torrent_origin_sent_bytes{{info_hash=\"{info_hash}\"}}"),
    );
    assert!(
        sent.first().is_some_and(|(_, v)| *v >= size as f64),
        "{sent:?}"
    );
    // The peer's bytes by channel agree with the peer's own counter.
    let by_channel = query(&prom, "s3torrent_sent_bytes_total{channel=\"peer\"}");
    let peer = query(&prom, "s3torrent_peer_sent_bytes_total");
    assert_eq!(by_channel[0].1, peer[0].1, "{by_channel:?} {peer:?}");
    // Requests by operation and status.
    let puts = query(
        &prom,
        "s3torrent_s3_operations_total{operation=\"PutObject\",status=\"200\"}",
    );
    assert_eq!(puts.first().map(|(_, v)| *v), Some(1.0), "{puts:?}");

    // The target is up and its scrapes have no error.
    let r = request(&prom, "GET", "/api/v1/targets", &[]);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let target = &v["data"]["activeTargets"][0];
    assert_eq!(target["health"], "up", "{v}");
    assert_eq!(target["lastError"], "", "{v}");
}
