//! Prometheus metrics and health checks, on a listener of their own
//! (`--metrics-listen`): counters and gauges kept in atomics that the
//! edges bump (one call each), written out in the Prometheus text
//! exposition format (version 0.0.4) on `GET /metrics`; `GET /health` and
//! `GET /ready` for probes.
//!
//! The counters are process-wide ([`METRICS`]): one `serve` or gateway per
//! process, as the binary runs them.
//!
//! **The bandwidth the swarm saved** is an estimate from what clients
//! report: every announce carries the client's cumulative `downloaded`
//! bytes for its torrent; the latest one per (info-hash, peer id) is kept
//! (at most [`MAX_CLIENTS`] of them; the oldest one out, its bytes kept in
//! the sum) and summed into `s3torrent_swarm_downloaded_bytes`. What the
//! origin sent (`s3torrent_origin_sent_bytes`) is the seeding peer's
//! payload plus the body bytes of successful GETs other than `?torrent`.
//! Their difference, floored at 0, is `s3torrent_swarm_saved_bytes`.
//! Clients may lie, restart with a fresh count, or announce to other
//! trackers too; the numbers are a guide, not an account.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use s3torrent_tracker::Decision;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::listen::accept;

/// The most clients whose latest `downloaded` is kept.
pub(crate) const MAX_CLIENTS: usize = 100_000;

/// How many scrapes or probes are served at once; more wait in the backlog.
const MAX_CONNECTIONS: usize = 64;

/// How long a scraper may take to send its request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a health check may take.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// The process's metrics.
pub(crate) static METRICS: Metrics = Metrics::new();

/// A client of a torrent: (info-hash, peer id).
type Client = ([u8; 20], [u8; 20]);

/// What clients reported downloading.
struct Reported {
    /// The latest `downloaded` of each client.
    latest: BTreeMap<Client, u64>,
    /// The clients in the order first seen, for the oldest out.
    order: VecDeque<Client>,
    /// The sum of `latest`, plus the last reports of the clients let go.
    sum: u64,
}

/// The counters and gauges, in atomics.
pub(crate) struct Metrics {
    /// S3 answers by status class: 1xx, 2xx, 3xx, 4xx, 5xx.
    s3_requests: [AtomicU64; 5],
    /// Body bytes delivered to S3 clients.
    s3_sent: AtomicU64,
    /// Body bytes of successful GETs other than `?torrent`.
    get_sent: AtomicU64,
    /// `?torrent` answers served (2xx).
    torrents: AtomicU64,
    /// Peer connections open.
    peer_open: AtomicI64,
    /// Payload bytes the seeding peer sent (counted as connections end).
    peer_sent: AtomicU64,
    /// Announces: [HTTP, UDP] × [answered, refused].
    announces: [[AtomicU64; 2]; 2],
    /// What clients reported downloading.
    reported: Mutex<Reported>,
}

/// The tracker's transports.
#[derive(Debug, Clone, Copy)]
enum Transport {
    /// HTTP announces.
    Http = 0,
    /// UDP announces (BEP 15).
    Udp = 1,
}

/// Counts a peer connection open while it lives.
pub(crate) struct PeerOpen(());

impl Drop for PeerOpen {
    fn drop(&mut self) {
        METRICS.peer_open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    const fn new() -> Metrics {
        Metrics {
            s3_requests: [const { AtomicU64::new(0) }; 5],
            s3_sent: AtomicU64::new(0),
            get_sent: AtomicU64::new(0),
            torrents: AtomicU64::new(0),
            peer_open: AtomicI64::new(0),
            peer_sent: AtomicU64::new(0),
            announces: [const { [const { AtomicU64::new(0) }; 2] }; 2],
            reported: Mutex::new(Reported {
                latest: BTreeMap::new(),
                order: VecDeque::new(),
                sum: 0,
            }),
        }
    }

    /// An S3 answer is over: its status and the body bytes it delivered.
    pub(crate) fn s3_answer(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        status: u16,
        bytes: u64,
    ) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.s3_requests[class].fetch_add(1, Ordering::Relaxed);
        self.s3_sent.fetch_add(bytes, Ordering::Relaxed);
        if (200..300).contains(&status) {
            if s3torrent_http::is_torrent_request(method, uri) {
                self.torrents.fetch_add(1, Ordering::Relaxed);
            } else if method == http::Method::GET {
                self.get_sent.fetch_add(bytes, Ordering::Relaxed);
            }
        }
    }

    /// A peer connection opened; it counts as open until the guard drops.
    pub(crate) fn peer_open(&self) -> PeerOpen {
        self.peer_open.fetch_add(1, Ordering::Relaxed);
        PeerOpen(())
    }

    /// A peer connection ended, having sent `payload` bytes of pieces.
    pub(crate) fn peer_sent(&self, payload: u64) {
        self.peer_sent.fetch_add(payload, Ordering::Relaxed);
    }

    /// An announce was answered (`refused` false) or refused.
    fn announce(&self, transport: Transport, refused: bool) {
        self.announces[transport as usize][usize::from(refused)].fetch_add(1, Ordering::Relaxed);
    }

    /// The HTTP tracker answered a request for `path` with what was
    /// decided for its info-hash, if anything: an announce (the tracker's
    /// path, `/announce`) is answered when its torrent was allowed, else
    /// refused. Scrapes are not counted.
    pub(crate) fn http_announce(&self, path: &str, decided: Option<&Decision>) {
        if path == "/announce" {
            let refused = !matches!(decided, Some(Decision::Allow));
            self.announce(Transport::Http, refused);
        }
    }

    /// The UDP tracker answered a packet of `action` (`connect`,
    /// `announce`, `scrape`), refused or not: announces are counted.
    pub(crate) fn udp_announce(&self, action: &str, refused: bool) {
        if action == "announce" {
            self.announce(Transport::Udp, refused);
        }
    }

    /// A served announce reported `downloaded` bytes for a client.
    pub(crate) fn downloaded(&self, info_hash: &[u8; 20], peer_id: &[u8; 20], downloaded: u64) {
        let mut r = self.reported.lock().unwrap_or_else(|p| p.into_inner());
        let key = (*info_hash, *peer_id);
        match r.latest.insert(key, downloaded) {
            Some(before) => r.sum = r.sum.saturating_sub(before).saturating_add(downloaded),
            None => {
                r.sum = r.sum.saturating_add(downloaded);
                r.order.push_back(key);
                if r.order.len() > MAX_CLIENTS
                    && let Some(oldest) = r.order.pop_front()
                {
                    // Let go; its bytes stay in the sum.
                    r.latest.remove(&oldest);
                }
            }
        }
    }

    /// The metrics in the Prometheus text exposition format.
    pub(crate) fn render(&self) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::with_capacity(2048);
        let mut family = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let classes = ["1xx", "2xx", "3xx", "4xx", "5xx"];
        let by_class: Vec<(String, u64)> = classes
            .iter()
            .zip(&self.s3_requests)
            .map(|(c, n)| (format!("{{class=\"{c}\"}}"), get(n)))
            .collect();
        let by_class: Vec<(&str, u64)> = by_class.iter().map(|(l, n)| (l.as_str(), *n)).collect();
        family(
            "s3torrent_s3_requests_total",
            "counter",
            "S3 requests answered, by status class.",
            &by_class,
        );
        family(
            "s3torrent_s3_sent_bytes_total",
            "counter",
            "Body bytes delivered to S3 clients.",
            &[("", get(&self.s3_sent))],
        );
        family(
            "s3torrent_torrents_served_total",
            "counter",
            "?torrent answers served (2xx).",
            &[("", get(&self.torrents))],
        );
        family(
            "s3torrent_peer_connections",
            "gauge",
            "Connections of the seeding peer open.",
            &[(
                "",
                self.peer_open.load(Ordering::Relaxed).max(0).unsigned_abs(),
            )],
        );
        family(
            "s3torrent_peer_sent_bytes_total",
            "counter",
            "Payload (piece) bytes the seeding peer sent, counted as its connections end.",
            &[("", get(&self.peer_sent))],
        );
        let [http, udp] = &self.announces;
        family(
            "s3torrent_tracker_announces_total",
            "counter",
            "Announces the tracker answered or refused, by transport.",
            &[
                ("{transport=\"http\",outcome=\"answered\"}", get(&http[0])),
                ("{transport=\"http\",outcome=\"refused\"}", get(&http[1])),
                ("{transport=\"udp\",outcome=\"answered\"}", get(&udp[0])),
                ("{transport=\"udp\",outcome=\"refused\"}", get(&udp[1])),
            ],
        );
        let downloaded = self.reported.lock().unwrap_or_else(|p| p.into_inner()).sum;
        let origin = get(&self.peer_sent).saturating_add(get(&self.get_sent));
        family(
            "s3torrent_swarm_downloaded_bytes",
            "gauge",
            "Bytes the swarm's clients downloaded, as they report it: the sum of the latest \
             downloaded of each client seen in an announce (an estimate).",
            &[("", downloaded)],
        );
        family(
            "s3torrent_origin_sent_bytes",
            "gauge",
            "Bytes the origin sent: the seeding peer's payload plus the body bytes of \
             successful GETs other than ?torrent.",
            &[("", origin)],
        );
        family(
            "s3torrent_swarm_saved_bytes",
            "gauge",
            "Bandwidth the swarm saved: swarm downloaded minus origin sent, floored at 0 \
             (an estimate from what clients report).",
            &[("", downloaded.saturating_sub(origin))],
        );
        out
    }
}

/// The endpoint's health check: `Ok` when it can serve (for `serve`, the
/// store can be read), or why not. Run on a blocking thread.
pub(crate) type Health = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// Answers `GET /metrics`, `/health` and `/ready` on `listener` until
/// `shutdown` turns true; then the listener closes (a request still being
/// answered gets `/ready` 503).
pub(crate) async fn serve_metrics(
    listener: TcpListener,
    health: Health,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Some((socket, _)) = accept(&listener, &mut shutdown, "metrics").await else {
            return;
        };
        // Every slot taken: this one waits for a free one (the others wait
        // in the backlog), or for the shutdown.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => return,
            },
            () = crate::listen::stopped(&mut shutdown) => return,
        };
        let (health, stopping) = (Arc::clone(&health), shutdown.clone());
        let service = hyper::service::service_fn(
            move |req: hyper::Request<hyper::body::Incoming>| {
                let (health, stopping) = (Arc::clone(&health), *stopping.borrow());
                async move { Ok::<_, std::convert::Infallible>(answer(&req, health, stopping).await) }
            },
        );
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .keep_alive(false)
            .serve_connection(TokioIo::new(socket), service);
        tokio::spawn(async move {
            let _slot = slot;
            let _ = tokio::time::timeout(HEADER_TIMEOUT + HEALTH_TIMEOUT, conn).await;
        });
    }
}

/// The answer to one request of the metrics listener.
async fn answer<B>(
    req: &hyper::Request<B>,
    health: Health,
    stopping: bool,
) -> hyper::Response<Full<Bytes>> {
    let text = |status: u16, body: String, kind: &'static str| {
        let mut r = hyper::Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(kind),
        );
        r
    };
    const PLAIN: &str = "text/plain; charset=utf-8";
    if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
        return text(405, "method not allowed\n".into(), PLAIN);
    }
    match req.uri().path() {
        "/metrics" => text(
            200,
            METRICS.render(),
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        "/health" => {
            let checked = tokio::time::timeout(
                HEALTH_TIMEOUT,
                tokio::task::spawn_blocking(move || health()),
            )
            .await;
            match checked {
                Ok(Ok(Ok(()))) => text(200, "ok\n".into(), PLAIN),
                Ok(Ok(Err(why))) => text(503, format!("unhealthy: {why}\n"), PLAIN),
                Ok(Err(_)) => text(503, "unhealthy: the check failed\n".into(), PLAIN),
                Err(_) => text(503, "unhealthy: the check timed out\n".into(), PLAIN),
            }
        }
        "/ready" if stopping => text(503, "shutting down\n".into(), PLAIN),
        "/ready" => text(200, "ready\n".into(), PLAIN),
        _ => text(404, "not found\n".into(), PLAIN),
    }
}

/// Says where the metrics listener is (`NAME: metrics on
/// http://ADDR/metrics`, a start-up line) and spawns [`serve_metrics`] on
/// it, until `stopping` turns true.
pub(crate) fn spawn(
    name: &str,
    listener: TcpListener,
    health: Health,
    stopping: &watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, crate::Error> {
    let addr: SocketAddr = listener.local_addr().map_err(crate::Error::Listener)?;
    eprintln!("{name}: metrics on http://{addr}/metrics");
    Ok(tokio::spawn(serve_metrics(
        listener,
        health,
        stopping.clone(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_is_downloaded_minus_origin() {
        let m = Metrics::new();
        m.downloaded(&[1; 20], &[2; 20], 100);
        m.downloaded(&[1; 20], &[2; 20], 300);
        m.downloaded(&[1; 20], &[3; 20], 200);
        m.peer_sent(150);
        let get: http::Uri = "/b/k".parse().unwrap();
        m.s3_answer(&http::Method::GET, &get, 200, 50);
        let torrent: http::Uri = "/b/k?torrent".parse().unwrap();
        m.s3_answer(&http::Method::GET, &torrent, 200, 400);
        m.s3_answer(&http::Method::GET, &get, 404, 120);
        let text = m.render();
        for line in [
            "s3torrent_swarm_downloaded_bytes 500",
            "s3torrent_origin_sent_bytes 200",
            "s3torrent_swarm_saved_bytes 300",
            "s3torrent_torrents_served_total 1",
            "s3torrent_s3_requests_total{class=\"2xx\"} 2",
            "s3torrent_s3_requests_total{class=\"4xx\"} 1",
            "s3torrent_s3_sent_bytes_total 570",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }

    #[test]
    fn the_oldest_client_goes_and_its_bytes_stay() {
        let m = Metrics::new();
        for i in 0..=MAX_CLIENTS as u32 {
            let mut peer = [0; 20];
            peer[..4].copy_from_slice(&i.to_be_bytes());
            m.downloaded(&[9; 20], &peer, 1);
        }
        let r = m.reported.lock().unwrap();
        assert_eq!(r.latest.len(), MAX_CLIENTS);
        assert_eq!(r.order.len(), MAX_CLIENTS);
        assert_eq!(r.sum, MAX_CLIENTS as u64 + 1);
    }

    #[test]
    fn saved_floors_at_zero() {
        let m = Metrics::new();
        m.peer_sent(10);
        assert!(
            m.render()
                .lines()
                .any(|l| l == "s3torrent_swarm_saved_bytes 0")
        );
    }
}
