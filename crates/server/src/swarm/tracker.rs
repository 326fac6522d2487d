//! The tracker's tokio edge: its own listener (so that no bucket name is
//! taken from S3's namespace), HTTP/1.1 by hyper, and the sans-IO tracker
//! behind a mutex.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use s3torrent_metainfo::InfoHash;
use s3torrent_tracker::{
    Announce, Decision, Event, RequestContext, Tracker, TrustedProxies, handle, parse_announce,
};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::admission::{Admission, Newcomer};
use super::peer::{AnnouncedCrypto, Leeching, Offered};
use super::{PeerEdge, SwarmSource, Tracked};
use crate::edge::listen::accept;

/// How long a client may take to send its request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Who the HTTP tracker admits, and whose forwarding headers it believes.
pub(crate) struct TrackerFront {
    /// The proxies whose `X-Forwarded-For` or `Forwarded` names the client.
    pub(crate) trusted: Arc<TrustedProxies>,
    /// The connection slots.
    pub(crate) slots: Arc<Admission>,
    /// The certificate, when the tracker speaks HTTPS.
    pub(crate) tls: Option<crate::edge::tls::Tls>,
}

/// Answers announces and scrapes on `listener` until `shutdown` turns true.
/// Each answer lists the endpoint's own peer first: the local address the
/// announce arrived on (or `peer`'s address, when that is not unspecified)
/// and `peer`'s port. An announce from a `trusted` proxy is taken to come
/// from the client its forwarding headers name.
pub(crate) async fn serve_tracker(
    listener: TcpListener,
    swarm: Arc<dyn SwarmSource>,
    tracker: Arc<Mutex<Tracker>>,
    peer: SocketAddr,
    edge: Arc<PeerEdge>,
    front: TrackerFront,
    mut shutdown: watch::Receiver<bool>,
) {
    let TrackerFront {
        trusted,
        slots,
        tls,
    } = front;
    // The tracker's query limits and announce path do not change: the
    // dialer, and the decision made before the lock, read them here.
    let (limits, announce_path) = {
        let t = tracker.lock().unwrap_or_else(|p| p.into_inner());
        (
            Arc::new(t.config().query.clone()),
            Arc::<str>::from(t.config().announce_path.as_str()),
        )
    };
    loop {
        let Some((socket, remote)) = accept(&listener, &mut shutdown, "tracker").await else {
            return;
        };
        // A trusted proxy carries many clients from one address: it is not
        // held to the per-address cap. Refused: closed at once (`Admission`
        // logs a summary).
        let newcomer = if trusted.trusts(remote.ip()) {
            Newcomer::Proxied
        } else {
            Newcomer::Accepted
        };
        let Ok(slot) = slots.admit(remote.ip(), newcomer) else {
            continue;
        };
        let local = socket.local_addr().unwrap_or(peer);
        let seed_ip = if peer.ip().is_unspecified() {
            local.ip()
        } else {
            peer.ip()
        };
        let seed = SocketAddr::new(seed_ip, peer.port());
        let ticket = Arc::clone(slot.ticket());
        let (swarm, tracker, edge, limits, trusted, announce_path) = (
            Arc::clone(&swarm),
            Arc::clone(&tracker),
            Arc::clone(&edge),
            Arc::clone(&limits),
            Arc::clone(&trusted),
            Arc::clone(&announce_path),
        );
        let service =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let (swarm, tracker, edge, limits, announce_path) = (
                    Arc::clone(&swarm),
                    Arc::clone(&tracker),
                    Arc::clone(&edge),
                    Arc::clone(&limits),
                    Arc::clone(&announce_path),
                );
                let req = req.map(|_| ());
                // Behind a trusted proxy, the client it forwards for.
                let remote = trusted.client(remote, req.headers());
                let ctx = RequestContext::new(remote).with_endpoint_seed(seed);
                // A request: the connection is useful, and keeps its slot.
                ticket.establish();
                async move {
                    let started = Instant::now();
                    // An announce is decided before the tracker's lock; when
                    // the answer about its info-hash is in memory, all of it
                    // on this thread (the lock is held for a short, bounded
                    // time), else on a blocking one (a lookup may read the
                    // store).
                    let announce = (req.uri().path() == &*announce_path)
                        .then(|| parse_announce(req.uri().query().unwrap_or_default(), &limits))
                        .and_then(Result::ok);
                    let known = announce.as_ref().and_then(|a| {
                        swarm
                            .tracked_in_memory(&a.info_hash)
                            .map(|t| (a.info_hash, t))
                    });
                    let response = if let Some(known) = known {
                        let exchange = Exchange {
                            swarm: &*swarm,
                            tracker: &tracker,
                            edge: &edge,
                            req: &req,
                            ctx: &ctx,
                        };
                        exchange.answer(announce, Some(known), started)
                    } else {
                        tokio::task::spawn_blocking(move || {
                            let early = announce
                                .as_ref()
                                .map(|a| (a.info_hash, swarm.tracked(&a.info_hash)));
                            let exchange = Exchange {
                                swarm: &*swarm,
                                tracker: &tracker,
                                edge: &edge,
                                req: &req,
                                ctx: &ctx,
                            };
                            exchange.answer(announce, early, started)
                        })
                        .await
                        .unwrap_or_else(|_| {
                            let mut r = http::Response::new(Bytes::from_static(
                                b"d14:failure reason14:internal errore",
                            ));
                            *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                            r
                        })
                    };
                    Ok::<_, std::convert::Infallible>(response.map(Full::new))
                }
            });
        let mut stop = shutdown.clone();
        let Some(tls) = &tls else {
            tokio::spawn(async move {
                let ticket = Arc::clone(slot.ticket());
                serve_connection(socket, service, &ticket, &mut stop).await;
            });
            continue;
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            let ticket = Arc::clone(slot.ticket());
            // The handshake, then the connection, as a plain one; a
            // pending connection (no request yet) may still be closed for
            // a newcomer meanwhile.
            let stream = tokio::select! {
                stream = tls.handshake(socket, HEADER_TIMEOUT, "tracker", remote) => stream,
                () = ticket.evicted() => return,
                () = super::stopped(&mut stop) => return,
            };
            if let Some(stream) = stream {
                serve_connection(stream, service, &ticket, &mut stop).await;
            }
        });
    }
}

/// Serves one tracker connection (its socket, plain or TLS) until it ends,
/// its slot goes to a newcomer, or the tracker stops (then gracefully, for
/// at most the header timeout).
async fn serve_connection<I, S>(
    io: I,
    service: S,
    ticket: &super::admission::Ticket,
    stop: &mut watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = Full<Bytes>>,
{
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    // Idle past hyper's header timeout, it closes: the address's other
    // connections get its slot.
    tokio::select! {
        _ = conn.as_mut() => return,
        // Its slot went to a newcomer: closed.
        () = ticket.evicted() => return,
        () = super::stopped(stop) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(HEADER_TIMEOUT, conn).await;
}

/// One tracker request and what answers it.
struct Exchange<'a> {
    swarm: &'a dyn SwarmSource,
    tracker: &'a Mutex<Tracker>,
    edge: &'a PeerEdge,
    req: &'a http::Request<()>,
    ctx: &'a RequestContext,
}

impl Exchange<'_> {
    /// Answers the request (`announce` is its announce, when it is one
    /// that parsed; `early` the answer about its info-hash, found before
    /// the lock), hands a served announce to the peer edge, and logs it.
    fn answer(
        &self,
        announce: Option<Announce>,
        early: Option<(InfoHash, Tracked)>,
        started: Instant,
    ) -> http::Response<Bytes> {
        let mut seen = None;
        let response = {
            let authorize = super::authorize_with(self.swarm, early, &mut seen);
            let mut tracker = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
            handle(&mut tracker, self.req, self.ctx, Instant::now(), authorize)
        };
        let remote = self.ctx.remote;
        if let Some((info_hash, Decision::Allow)) = &seen
            && let Some(announce) = &announce
        {
            offer_leecher(self.edge, self.req, remote, *info_hash, announce);
        }
        log_announce(self.req, remote, seen, &response, started);
        response
    }
}

/// Hands a leecher's announce (one that wants data) to the peer edge,
/// which connects to it: the address it announced from and the port it
/// announced.
fn offer_leecher(
    edge: &PeerEdge,
    req: &http::Request<()>,
    remote: SocketAddr,
    info_hash: InfoHash,
    announce: &Announce,
) {
    let leeching = if announce.left > 0 && announce.event != Event::Stopped {
        Leeching::Yes
    } else {
        Leeching::No
    };
    edge.announced(info_hash);
    crate::metrics::METRICS.downloaded(
        info_hash.as_bytes(),
        announce.peer_id.as_bytes(),
        announce.downloaded,
    );
    if announce.event == Event::Completed {
        crate::metrics::METRICS.completed(&info_hash);
    }
    if leeching == Leeching::Yes {
        let ip = match remote.ip() {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(remote.ip(), Into::into),
            v4 => v4,
        };
        // Not part of BEP 3, but sent by libtorrent, Transmission and
        // aria2: whether the client accepts only encrypted connections.
        let query = req.uri().query().unwrap_or_default();
        let crypto = if query.split('&').any(|kv| kv == "requirecrypto=1") {
            AnnouncedCrypto::Required
        } else {
            AnnouncedCrypto::Optional
        };
        edge.offer(
            info_hash,
            SocketAddr::new(ip, announce.port),
            Offered::Announced(*announce.peer_id.as_bytes()),
            crypto,
        );
    }
}

/// One line per announce: who, which info-hash, what was decided, how long.
fn log_announce(
    req: &http::Request<()>,
    remote: SocketAddr,
    seen: Option<(InfoHash, Decision)>,
    response: &http::Response<Bytes>,
    started: Instant,
) {
    let path = req.uri().path();
    crate::metrics::METRICS.http_announce(path, seen.as_ref().map(|(_, d)| d));
    let (info_hash, outcome) = match seen {
        Some((h, Decision::Allow)) => (Some(h.to_hex()), "served".to_owned()),
        Some((h, Decision::Refuse(reason))) => (Some(h.to_hex()), format!("refused: {reason}")),
        None => (None, "not asked".into()),
    };
    tracing::info!(
        target: "tracker",
        client = %remote,
        path,
        info_hash,
        status = response.status().as_u16(),
        bytes = response.body().len(),
        outcome,
        ms = crate::edge::listen::millis(started),
        "announce"
    );
}
