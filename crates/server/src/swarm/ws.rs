//! The WebSocket tracker's edge (`--ws-tracker-listen`): WebTorrent's
//! browsers announce here and trade WebRTC offers and answers through the
//! sans-IO [`WsTracker`]. Each connection is a task that reads text
//! frames and writes what the tracker says to send to it; what the tracker
//! says to send to another connection goes through that connection's
//! queue. Every info-hash is decided as the HTTP and UDP trackers decide
//! it ([`super::authorize_with`]), before the tracker's lock.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use s3torrent_metainfo::InfoHash;
use s3torrent_tracker::{
    Decision, WsConfig, WsConn, WsOutcome, WsTracker, WsVerdict, ws_announce_info_hash,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::SwarmSource;
use crate::edge::listen::accept;

/// The most WebSocket connections at once; past it newcomers are closed.
const MAX_CONNECTIONS: usize = 4096;
/// How long a connection has for its TLS and WebSocket handshakes.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may stay silent (the browser's client re-announces
/// every interval, and pings keep it open meanwhile).
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// The most messages queued for one connection; past it further ones to it
/// are dropped (a reader that does not read loses offers, not the tracker
/// its memory).
const QUEUE: usize = 64;
/// How often silent peers are swept.
const SWEEP: Duration = Duration::from_secs(60);

/// What the connection tasks share.
struct Shared {
    swarm: Arc<dyn SwarmSource>,
    tracker: Mutex<WsTracker>,
    /// Each open connection's queue.
    queues: Mutex<HashMap<WsConn, mpsc::Sender<String>>>,
    max_message: usize,
}

/// Answers WebSocket tracker connections on `listener` (over TLS with
/// `tls`) until `shutdown` turns true.
pub(crate) async fn serve_ws_tracker(
    listener: TcpListener,
    swarm: Arc<dyn SwarmSource>,
    tls: Option<crate::Tls>,
    mut shutdown: watch::Receiver<bool>,
) {
    let config = WsConfig::default();
    let shared = Arc::new(Shared {
        swarm,
        max_message: config.max_message,
        tracker: Mutex::new(WsTracker::new(config)),
        queues: Mutex::new(HashMap::new()),
    });
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
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
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::debug!(target: "tracker", client = %remote, "ws tracker full: connection closed");
            continue;
        };
        let conn = WsConn(next.fetch_add(1, Ordering::Relaxed));
        let (shared, tls, mut stop) = (Arc::clone(&shared), tls.clone(), shutdown.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                None => serve_connection(socket, conn, remote, &shared, &mut stop).await,
                Some(tls) => {
                    let stream = tokio::select! {
                        s = tls.handshake(socket, HANDSHAKE_TIMEOUT, "ws tracker", remote) => s,
                        () = super::stopped(&mut stop) => None,
                    };
                    if let Some(stream) = stream {
                        serve_connection(stream, conn, remote, &shared, &mut stop).await;
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

/// One connection: the WebSocket handshake, then messages until it closes,
/// breaks a limit, idles, or the tracker stops.
async fn serve_connection<S>(
    io: S,
    conn: WsConn,
    remote: SocketAddr,
    shared: &Arc<Shared>,
    stop: &mut watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(shared.max_message);
    config.max_frame_size = Some(shared.max_message);
    let handshake = tokio_tungstenite::accept_async_with_config(io, Some(config));
    let mut ws = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            tracing::debug!(target: "tracker", client = %remote, error = %e, "ws handshake failed");
            return;
        }
        Err(_) => return,
    };
    let (tx, mut rx) = mpsc::channel::<String>(QUEUE);
    lock(&shared.queues).insert(conn, tx);
    loop {
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
                let mut mine = Vec::new();
                for send in outcome.sends {
                    if send.to == conn {
                        mine.push(send.text);
                    } else {
                        let queue = lock(&shared.queues).get(&send.to).cloned();
                        if let Some(queue) = queue {
                            let _ = queue.try_send(send.text);
                        }
                    }
                }
                for text in mine {
                    if ws.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
                if let WsVerdict::Close(why) = outcome.verdict {
                    tracing::info!(target: "tracker", client = %remote, transport = "ws", reason = %why, "ws connection closed");
                    break;
                }
            }
            queued = rx.recv() => {
                let Some(text) = queued else { break };
                if ws.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
            () = super::stopped(stop) => break,
        }
    }
    lock(&shared.queues).remove(&conn);
    lock(&shared.tracker).disconnect(conn);
    let _ = ws.close(None).await;
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
