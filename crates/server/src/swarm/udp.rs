//! The UDP tracker's edge (BEP 15): one address, the same sans-IO tracker
//! as the HTTP edge (so HTTP and UDP clients see each other), answered by
//! a few threads that each read a socket of their own bound to it
//! (`SO_REUSEPORT`: the kernel spreads the senders across them) and take
//! the packets waiting, a batch at a time.
//!
//! A packet is small work (a lookup, the tracker's lock, one answer): a
//! task and a blocking-pool hand-off for each, as before, cost more than
//! the work itself (two thread wake-ups a packet), and the blocking pool
//! grew to a hundred threads under load. The threads block on the socket
//! instead, and take every packet waiting with one system call
//! ([`datagrams`](super::datagrams)); a packet that arrives while all are
//! busy waits in the socket's buffer, and past it is dropped by the
//! kernel, as a busy UDP server drops them anyway, and its client retries.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use s3torrent_metainfo::InfoHash;
use s3torrent_tracker::{
    Decision, Event, QueryLimits, RequestContext, Tracker, UDP_MAX_PACKET, UdpExchange, UdpKey,
    UdpParsed,
};
use tokio::net::UdpSocket;
use tokio::sync::watch;

use super::datagrams::{self, Inbox};
use super::peer::{AnnouncedCrypto, Leeching, Offered};
use super::{Allowed, PeerEdge, SkeyMark, SwarmSource, Tracked};

/// The most threads answering packets: a few, so that one waiting on a
/// lookup (a database page from disk) or on the tracker's lock does not
/// hold the others up; more would only queue on the lock.
const MAX_WORKERS: usize = 4;

/// How often an idle answering thread looks whether to stop.
const STOP_POLL: Duration = Duration::from_millis(200);

/// A fresh secret for this process's connection ids: from the standard
/// library's per-process random hasher keys, mixed with the time.
fn secret() -> [u8; 32] {
    let mut out = [0; 32];
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut h = RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(now);
        chunk.copy_from_slice(&h.finish().to_be_bytes());
    }
    out
}

/// Answers UDP tracker packets on `socket` until `shutdown` turns true,
/// on as many threads of the blocking pool as the host has cores (at most
/// [`MAX_WORKERS`]), each past the first on a socket of its own bound to
/// `socket`'s address (the first one's, when that fails). Answers list the endpoint's own peer first when its
/// address is known: `peer`'s, or the socket's address with `peer`'s port
/// (neither is known when both listen on every interface: then the peer
/// edge's dialing of leechers is what connects them).
pub(crate) async fn serve_udp_tracker(
    socket: UdpSocket,
    swarm: Arc<dyn SwarmSource>,
    tracker: Arc<Mutex<Tracker>>,
    peer: SocketAddr,
    edge: Arc<PeerEdge>,
    shutdown: watch::Receiver<bool>,
) {
    let local = socket.local_addr().ok();
    let seed = [Some(peer.ip()), local.map(|l| l.ip())]
        .into_iter()
        .flatten()
        .find(|ip| !ip.is_unspecified())
        .map(|ip| SocketAddr::new(ip, peer.port()));
    let socket = match socket.into_std().and_then(|s| {
        s.set_nonblocking(false)?;
        s.set_read_timeout(Some(STOP_POLL))?;
        Ok(s)
    }) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(target: "tracker", error = %e, "udp tracker not served");
            return;
        }
    };
    let limits = tracker
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .config()
        .query
        .clone();
    let shared = Arc::new(Shared {
        swarm,
        tracker,
        limits,
        edge,
        key: UdpKey::new(secret(), Instant::now()),
        seed,
    });
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_WORKERS));
    let mut handles = Vec::with_capacity(workers);
    for worker in 0..workers {
        // Each thread past the first reads a socket of its own bound beside
        // the first (the kernel spreads senders across them); one that
        // cannot be bound shares the first.
        let own = match (worker, local) {
            (0, _) | (_, None) => None,
            (_, Some(local)) => crate::edge::listen::bind_udp_shared(local)
                .and_then(|s| {
                    s.set_read_timeout(Some(STOP_POLL))?;
                    Ok(s)
                })
                .inspect_err(|e| {
                    tracing::debug!(target: "tracker", error = %e, "udp tracker socket shared");
                })
                .ok(),
        };
        let socket = match own.map_or_else(|| socket.try_clone(), Ok) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(target: "tracker", error = %e, "udp tracker thread not started");
                continue;
            }
        };
        let (shared, shutdown) = (Arc::clone(&shared), shutdown.clone());
        handles.push(tokio::task::spawn_blocking(move || {
            answer_packets(&socket, &shared, &shutdown);
        }));
    }
    for handle in handles {
        let _ = handle.await;
    }
}

/// What the answering threads share.
struct Shared {
    swarm: Arc<dyn SwarmSource>,
    tracker: Arc<Mutex<Tracker>>,
    /// The tracker's query limits (they do not change).
    limits: QueryLimits,
    edge: Arc<PeerEdge>,
    key: UdpKey,
    seed: Option<SocketAddr>,
}

/// The most packets one thread takes from the socket at once.
const BATCH: usize = 32;

/// One answering thread: takes the packets waiting on `socket`, a batch
/// at a time, and answers them until `shutdown` is true. Each packet is
/// decoded once, its connection id checked and its info-hash decided
/// before the tracker's lock, which the batch then takes once; the
/// answers go out together, then each served announce is handed to the
/// peer edge and logged (one line each).
fn answer_packets(socket: &std::net::UdpSocket, shared: &Shared, shutdown: &watch::Receiver<bool>) {
    let mut inbox = Inbox::new(BATCH, UDP_MAX_PACKET);
    let mut send_headers = datagrams::send_headers(BATCH);
    let mut work: Vec<Packet> = Vec::with_capacity(BATCH);
    let mut exchanges: Vec<Answered> = Vec::with_capacity(BATCH);
    while !*shutdown.borrow() {
        match inbox.recv(socket) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => {
                // An ICMP error of an earlier answer's destination, say.
                tracing::debug!(target: "tracker", error = %e, "udp receive failed");
                continue;
            }
        }
        let started = Instant::now();
        work.clear();
        for (packet, remote) in inbox.packets() {
            let parsed =
                UdpParsed::parse(packet, &shared.limits, &shared.key, remote.ip(), started);
            // An announce whose connection id checks out is decided before
            // the lock (a forged one costs no lookup).
            let early = parsed
                .verified_announce()
                .map(|a| (a.info_hash, shared.swarm.tracked(&a.info_hash)));
            work.push(Packet {
                remote,
                parsed,
                early,
            });
        }
        exchanges.clear();
        {
            let now = Instant::now();
            let mut tracker = shared.tracker.lock().unwrap_or_else(|p| p.into_inner());
            for Packet {
                remote,
                parsed,
                early,
            } in work.drain(..)
            {
                let mut ctx = RequestContext::new(remote);
                if let Some(seed) = shared.seed {
                    ctx = ctx.with_endpoint_seed(seed);
                }
                let mut seen: Option<(InfoHash, Decision)> = None;
                // Kept decisions hold what the peer edge was told already.
                let allowed = early.as_ref().and_then(|(_, t)| t.served()).map(Arc::clone);
                let authorize = super::authorize_with(&*shared.swarm, early, &mut seen);
                let exchange = tracker.udp_parsed(parsed, &ctx, &shared.key, now, authorize);
                exchanges.push((remote, exchange, seen, allowed));
            }
        }
        let replies: Vec<(SocketAddr, &[u8])> = exchanges
            .iter()
            .filter_map(|(remote, ex, ..)| ex.reply.as_deref().map(|r| (*remote, r)))
            .collect();
        datagrams::send_all(socket, &replies, &mut send_headers, |to, e| {
            tracing::debug!(target: "tracker", client = %to, error = %e, "udp send failed");
        });
        drop(replies);
        for (remote, exchange, seen, allowed) in exchanges.drain(..) {
            let mark = allowed.as_deref().map(Allowed::skey);
            offer_leecher(&shared.edge, &exchange, remote, mark);
            log_packet(remote, &exchange, seen, started);
        }
    }
}

/// A packet of a batch once the tracker answered it: its sender, the
/// exchange, what was decided about its info-hash (for the log), and the
/// kept decision that allowed it, if one did.
type Answered = (
    SocketAddr,
    UdpExchange,
    Option<(InfoHash, Decision)>,
    Option<Arc<Allowed>>,
);

/// A packet of a batch, decoded, before the tracker's lock.
struct Packet {
    remote: SocketAddr,
    parsed: UdpParsed,
    /// Its announce's info-hash and what is answered about it.
    early: Option<(InfoHash, Tracked)>,
}

/// Hands a leecher's served announce to the peer edge, as the HTTP edge
/// does: the address it sent from and the port it announced.
fn offer_leecher(
    edge: &PeerEdge,
    exchange: &UdpExchange,
    remote: SocketAddr,
    mark: Option<&SkeyMark>,
) {
    let Some(announce) = exchange.served_announce() else {
        return;
    };
    let leeching = if announce.left > 0 && announce.event != Event::Stopped {
        Leeching::Yes
    } else {
        Leeching::No
    };
    let peer_id = *announce.peer_id.as_bytes();
    edge.announced(announce.info_hash, mark);
    crate::metrics::METRICS.downloaded(
        announce.info_hash.as_bytes(),
        &peer_id,
        announce.downloaded,
    );
    if announce.event == Event::Completed {
        crate::metrics::METRICS.completed(&announce.info_hash);
    }
    if leeching == Leeching::Yes {
        let ip = remote.ip().to_canonical();
        // A UDP announce says nothing of encryption: the dial is plain
        // first under `prefer` (then encrypted if the plain one is refused).
        edge.offer(
            announce.info_hash,
            SocketAddr::new(ip, announce.port),
            Offered::Announced(peer_id),
            AnnouncedCrypto::Optional,
        );
    }
}

/// One line per announce or scrape (connects, the bulk of the traffic and
/// of no interest, at debug level).
fn log_packet(
    remote: SocketAddr,
    exchange: &UdpExchange,
    seen: Option<(InfoHash, Decision)>,
    started: Instant,
) {
    let action = exchange.request.as_ref().map_or("unknown", |r| r.action());
    let outcome: std::borrow::Cow<'_, str> = match &exchange.error {
        Some(e) => format!("refused: {e}").into(),
        None => "served".into(),
    };
    let info_hash = seen.map(|(h, _)| h.to_hex());
    let bytes = exchange.reply.as_ref().map_or(0, Vec::len);
    crate::metrics::METRICS.udp_announce(action, exchange.error.is_some());
    if action == "connect" && exchange.error.is_none() {
        tracing::debug!(target: "tracker", client = %remote, action, "udp");
        return;
    }
    tracing::info!(
        target: "tracker",
        client = %remote,
        transport = "udp",
        action,
        info_hash,
        bytes,
        outcome = &*outcome,
        ms = crate::edge::listen::millis(started),
        "announce"
    );
}
