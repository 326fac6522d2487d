//! The metrics listener (`--metrics-listen`): `GET /metrics` (the text of
//! [`crate::metrics`]), `/health` and `/ready`, on a listener of its own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::listen::{accept, stopped};
use crate::metrics::{Format, METRICS};

/// How many scrapes or probes are served at once; more wait in the backlog.
const MAX_CONNECTIONS: usize = 64;

/// How long a scraper may take to send its request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a health check may take.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// The endpoint's health check: `Ok` when it can serve (for `serve`, the
/// store can be read), or why not. Run on a blocking thread.
pub(crate) type Health = Arc<dyn Fn() -> Result<(), Unhealthy> + Send + Sync>;

/// Why an endpoint cannot serve, as its health check found: the error of
/// what it checked (for `serve`, the store's), kept as it is.
pub(crate) type Unhealthy = Box<dyn std::error::Error + Send + Sync>;

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
            () = stopped(&mut shutdown) => return,
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
        "/metrics" => {
            let format = Format::accepted(
                req.headers()
                    .get(http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok()),
            );
            // The tracker's census walks its swarms: off the runtime.
            match tokio::task::spawn_blocking(move || METRICS.render(format)).await {
                Ok(body) => text(200, body, format.content_type()),
                Err(_) => text(500, "rendering the metrics failed\n".into(), PLAIN),
            }
        }
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
) -> Result<tokio::task::JoinHandle<()>, crate::error::Error> {
    let addr: SocketAddr = listener
        .local_addr()
        .map_err(crate::error::Error::Listener)?;
    eprintln!("{name}: metrics on http://{addr}/metrics");
    Ok(tokio::spawn(serve_metrics(
        listener,
        health,
        stopping.clone(),
    )))
}
