//! The WebSocket tracker's edge (`--ws-tracker-listen`): WebTorrent's
//! browsers announce here and trade WebRTC offers and answers through the
//! sans-IO [`WsTracker`]. Each connection is a task that reads text
//! frames and writes what the tracker says to send to it; what the tracker
//! says to send to another connection goes through that connection's
//! queue. Every info-hash is decided as the HTTP and UDP trackers decide
//! it ([`super::authorize_with`]), before the tracker's lock.
//!
//! Under floods it holds as the HTTP tracker does: connection slots from
//! an [`Admission`](super::admission::Admission) of its own, each address (an IPv6 /64) held to its
//! share (a trusted proxy, which carries many browsers, is not; each
//! browser it forwards for is, under the address its `X-Forwarded-For` or
//! `Forwarded` names, once the upgrade request is read), and a
//! connection that has sent no tracker request yet is pending, closed for
//! a newcomer. A slow reader is bounded: at most [`QUEUE`] messages wait
//! for it (further ones are dropped and counted, one log line when it
//! closes), and a write it does not take within [`SEND_TIMEOUT`] closes it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use s3torrent_metainfo::InfoHash;
use s3torrent_tracker::{
    Decision, TrustedProxies, WsConfig, WsConn, WsOutcome, WsTracker, WsVerdict,
    ws_announce_info_hash,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::SwarmSource;
use super::admission::{Newcomer, Slot, Ticket};
use super::tracker::TrackerFront;
use crate::edge::listen::accept;

/// The most WebSocket connections at once; past it the oldest pending one
/// is closed for a newcomer, or the newcomer is.
pub(crate) const MAX_CONNECTIONS: usize = 4096;
/// How long a connection has for its TLS and WebSocket handshakes.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may stay silent (the browser's client re-announces
/// every interval, and pings keep it open meanwhile).
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// The most messages queued for one connection; past it further ones to it
/// are dropped (a reader that does not read loses offers, not the tracker
/// its memory).
const QUEUE: usize = 64;
/// How long one message may take to be written to a connection; past it
/// the reader is too slow and the connection closes.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often silent peers are swept.
const SWEEP: Duration = Duration::from_secs(60);

/// What the connection tasks share.
struct Shared {
    swarm: Arc<dyn SwarmSource>,
    tracker: Mutex<WsTracker>,
    /// Each open connection's queue, and how many messages to it were
    /// dropped because it was full.
    queues: Mutex<HashMap<WsConn, Queue>>,
    max_message: usize,
    /// `--trusted-proxy`: whose forwarding headers name the browser.
    trusted: Arc<TrustedProxies>,
}

/// One connection's queue of messages from others.
struct Queue {
    sender: mpsc::Sender<String>,
    dropped: Arc<AtomicU64>,
}

/// Answers WebSocket tracker connections on `listener` (over TLS with
/// `front.tls`), each in a slot of `front.slots`, until `shutdown` turns
/// true.
pub(crate) async fn serve_ws_tracker(
    listener: TcpListener,
    swarm: Arc<dyn SwarmSource>,
    front: TrackerFront,
    mut shutdown: watch::Receiver<bool>,
) {
    let TrackerFront {
        trusted,
        slots,
        tls,
    } = front;
    let config = WsConfig::default();
    let shared = Arc::new(Shared {
        swarm,
        max_message: config.max_message,
        tracker: Mutex::new(WsTracker::new(config)),
        queues: Mutex::new(HashMap::new()),
        trusted: Arc::clone(&trusted),
    });
    let next = AtomicU64::new(0);
    let sweeper = {
        let (shared, mut stop) = (Arc::clone(&shared), shutdown.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(SWEEP) => {}
                    () = super::stopped(&mut stop) => return,
                }
                lock(&shared.tracker).expire(Instant::now());
            }
        })
    };
    while let Some((socket, remote)) = accept(&listener, &mut shutdown, "ws tracker").await {
        // A trusted proxy carries many browsers from one address: it is
        // not held to the per-address cap (each browser is, once its
        // upgrade request names it: `serve_connection`). Refused: closed
        // at once (`Admission` logs a summary).
        let newcomer = if trusted.trusts(remote.ip()) {
            Newcomer::Proxied
        } else {
            Newcomer::Accepted
        };
        let Ok(slot) = slots.admit(remote.ip(), newcomer) else {
            continue;
        };
        let conn = WsConn(next.fetch_add(1, Ordering::Relaxed));
        let (shared, tls, mut stop) = (Arc::clone(&shared), tls.clone(), shutdown.clone());
        tokio::spawn(async move {
            let ticket = Arc::clone(slot.ticket());
            let mut ends = Ends {
                slot: &slot,
                ticket: &ticket,
                stop: &mut stop,
            };
            match tls {
                None => serve_connection(socket, conn, remote, &shared, &mut ends).await,
                Some(tls) => {
                    let stream = tokio::select! {
                        s = tls.handshake(socket, HANDSHAKE_TIMEOUT, "ws tracker", remote) => s,
                        () = ends.ticket.evicted() => None,
                        () = super::stopped(ends.stop) => None,
                    };
                    if let Some(stream) = stream {
                        serve_connection(stream, conn, remote, &shared, &mut ends).await;
                    }
                }
            }
        });
    }
    sweeper.abort();
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What ends a connection besides itself: its slot going to a newcomer
/// (while it is pending), or the tracker stopping.
struct Ends<'a> {
    /// The connection's slot, counted under the browser a trusted proxy
    /// forwards for once the upgrade request names it.
    slot: &'a Slot,
    ticket: &'a Ticket,
    stop: &'a mut watch::Receiver<bool>,
}

/// Why a connection ended, when the tracker ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// Its peer closed it, broke the protocol or idled; or the tracker
    /// stopped.
    Closed,
    /// A message to it was not taken within [`SEND_TIMEOUT`].
    SlowReader,
}

/// Sends `text` on `ws` within [`SEND_TIMEOUT`].
async fn send<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>, text: String) -> Result<(), Ended>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match tokio::time::timeout(SEND_TIMEOUT, ws.send(Message::text(text))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Ended::Closed),
        Err(_) => Err(Ended::SlowReader),
    }
}

/// One connection: the WebSocket handshake, then messages until it closes,
/// breaks a limit, idles, reads too slowly, loses its slot while pending,
/// or the tracker stops. From a trusted proxy, the upgrade request's
/// forwarding headers name the browser: its slot is counted under the
/// browser's address from then on ([`Slot::readdress`]: when that address
/// holds its share, its oldest pending connection is closed for this one,
/// or, with none pending, this one is refused with `429`), and its log
/// lines name the browser.
async fn serve_connection<S>(
    io: S,
    conn: WsConn,
    remote: SocketAddr,
    shared: &Arc<Shared>,
    ends: &mut Ends<'_>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(shared.max_message);
    config.max_frame_size = Some(shared.max_message);
    let mut client = remote;
    let slot = ends.slot;
    // The signature is tungstenite's `Callback`'s (its error response is
    // large, and made once per refused connection).
    #[allow(clippy::result_large_err)]
    let forwarded = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let browser = shared.trusted.client(remote, req.headers());
        client = browser;
        if browser.ip() == remote.ip() || slot.readdress(browser.ip()).is_ok() {
            return Ok(resp);
        }
        tracing::debug!(target: "tracker", client = %browser, proxy = %remote, transport = "ws",
            "ws connection refused: its address holds its share");
        let mut refused = ErrorResponse::new(Some(
            "This address holds its share of WebSocket tracker connections.".to_owned(),
        ));
        *refused.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
        Err(refused)
    };
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(io, forwarded, Some(config));
    let mut ws = tokio::select! {
        done = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake) => match done {
            Ok(Ok(ws)) => ws,
            Ok(Err(e)) => {
                tracing::debug!(target: "tracker", client = %remote, error = %e, "ws handshake failed");
                return;
            }
            Err(_) => return,
        },
        () = ends.ticket.evicted() => return,
        () = super::stopped(ends.stop) => return,
    };
    // Behind a trusted proxy, the browser it forwards for.
    let remote = client;
    let (tx, mut rx) = mpsc::channel::<String>(QUEUE);
    let dropped = Arc::new(AtomicU64::new(0));
    lock(&shared.queues).insert(
        conn,
        Queue {
            sender: tx,
            dropped: Arc::clone(&dropped),
        },
    );
    let mut ended = Ended::Closed;
    'conn: loop {
        tokio::select! {
            incoming = tokio::time::timeout(IDLE_TIMEOUT, ws.next()) => {
                let message = match incoming {
                    Ok(Some(Ok(m))) => m,
                    Ok(Some(Err(e))) => {
                        tracing::debug!(target: "tracker", client = %remote, error = %e, "ws connection ended");
                        break;
                    }
                    Ok(None) | Err(_) => break,
                };
                let text = match message {
                    Message::Text(t) => t,
                    Message::Close(_) => break,
                    // Pings are answered by tungstenite; binary frames are
                    // no part of the protocol.
                    Message::Binary(_) => break,
                    _ => continue,
                };
                // A task that failed (panicked): the connection ends.
                let Some(outcome) = answer(shared, conn, remote, text.as_str()).await else {
                    break;
                };
                if let WsVerdict::Close(why) = &outcome.verdict {
                    tracing::info!(target: "tracker", client = %remote, transport = "ws", reason = %why, "ws connection closed");
                } else if outcome.action.is_some() {
                    // A tracker request: the connection is useful, and
                    // keeps its slot.
                    ends.ticket.establish();
                }
                let mut mine = Vec::new();
                for send in outcome.sends {
                    if send.to == conn {
                        mine.push(send.text);
                    } else {
                        relay(shared, send.to, send.text);
                    }
                }
                for text in mine {
                    if let Err(e) = send(&mut ws, text).await {
                        ended = e;
                        break 'conn;
                    }
                }
                if matches!(outcome.verdict, WsVerdict::Close(_)) {
                    break;
                }
            }
            queued = rx.recv() => {
                let Some(text) = queued else { break };
                if let Err(e) = send(&mut ws, text).await {
                    ended = e;
                    break;
                }
            }
            // Its slot went to a newcomer (it had sent no request yet).
            () = ends.ticket.evicted() => break,
            () = super::stopped(ends.stop) => break,
        }
    }
    lock(&shared.queues).remove(&conn);
    lock(&shared.tracker).disconnect(conn);
    let dropped = dropped.load(Ordering::Relaxed);
    if ended == Ended::SlowReader || dropped > 0 {
        tracing::info!(
            target: "tracker",
            client = %remote,
            transport = "ws",
            dropped,
            slow_reader = ended == Ended::SlowReader,
            "ws messages dropped for a slow reader"
        );
    }
    // A reader too slow for a message is not waited on for the close.
    if ended != Ended::SlowReader {
        let _ = tokio::time::timeout(SEND_TIMEOUT, ws.close(None)).await;
    }
}

/// Queues `text` for connection `to`; dropped when it is gone, or when its
/// queue is full (counted, for the line its end logs).
fn relay(shared: &Shared, to: WsConn, text: String) {
    let queues = lock(&shared.queues);
    if let Some(queue) = queues.get(&to)
        && queue.sender.try_send(text).is_err()
    {
        queue.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// One message through the tracker: an announce's info-hash is looked up
/// first, off the async threads and outside the lock. `None` when that
/// work failed.
async fn answer(
    shared: &Arc<Shared>,
    conn: WsConn,
    remote: SocketAddr,
    text: &str,
) -> Option<WsOutcome> {
    let started = Instant::now();
    let shared2 = Arc::clone(shared);
    let text = text.to_owned();
    let done = tokio::task::spawn_blocking(move || {
        let early = ws_announce_info_hash(&text, shared2.max_message)
            .map(|h| (h, shared2.swarm.tracked(&h)));
        let mut seen: Option<(InfoHash, Decision)> = None;
        let outcome = {
            let authorize = super::authorize_with(&*shared2.swarm, early, &mut seen);
            lock(&shared2.tracker).message(conn, &text, Instant::now(), authorize)
        };
        (outcome, seen)
    })
    .await;
    let (outcome, seen) = done.ok()?;
    let action = outcome.action.unwrap_or("unknown");
    let outcome_text = match &outcome.error {
        Some(e) => format!("refused: {e}"),
        None => "served".to_owned(),
    };
    crate::metrics::METRICS.ws_announce(action, outcome.error.is_some());
    tracing::info!(
        target: "tracker",
        client = %remote,
        transport = "ws",
        action,
        info_hash = seen.map(|(h, _)| h.to_hex()),
        relayed = outcome.sends.iter().filter(|s| s.to != conn).count(),
        outcome = outcome_text,
        ms = crate::edge::listen::millis(started),
        "announce"
    );
    Some(outcome)
}
