//! The UDP tracker's tokio edge (BEP 15): one socket, the same sans-IO
//! tracker as the HTTP edge (so HTTP and UDP clients see each other), a
//! bounded number of packets in hand at once.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use s3torrent_metainfo::InfoHash;
use s3torrent_tracker::{
    Decision, Event, RequestContext, Tracker, UDP_MAX_PACKET, UdpExchange, UdpKey,
};
use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, watch};

use super::peer::{AnnouncedCrypto, Leeching, Offered};
use super::{PeerEdge, SwarmSource};

/// How many packets are decided at once (each may look an object up, on a
/// blocking thread); packets past that are dropped, as a busy UDP server
/// drops them anyway, and their clients retry.
const IN_FLIGHT: usize = 64;

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

/// Answers UDP tracker packets on `socket` until `shutdown` turns true.
/// Answers list the endpoint's own peer first when its address is known:
/// `peer`'s, or the socket's address with `peer`'s port (neither is known
/// when both listen on every interface: then the peer edge's dialing of
/// leechers is what connects them).
pub(crate) async fn serve_udp_tracker(
    socket: UdpSocket,
    swarm: Arc<dyn SwarmSource>,
    tracker: Arc<Mutex<Tracker>>,
    peer: SocketAddr,
    edge: Arc<PeerEdge>,
    mut shutdown: watch::Receiver<bool>,
) {
    let socket = Arc::new(socket);
    let local = socket.local_addr().ok();
    let seed = [Some(peer.ip()), local.map(|l| l.ip())]
        .into_iter()
        .flatten()
        .find(|ip| !ip.is_unspecified())
        .map(|ip| SocketAddr::new(ip, peer.port()));
    let key = Arc::new(UdpKey::new(secret(), Instant::now()));
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    // One byte more than the longest packet read, so a longer datagram
    // (cut to the buffer) is seen as too long.
    let mut buf = vec![0; UDP_MAX_PACKET + 1];
    loop {
        let received = tokio::select! {
            r = socket.recv_from(&mut buf) => r,
            () = super::stopped(&mut shutdown) => return,
        };
        let (len, remote) = match received {
            Ok(r) => r,
            Err(e) => {
                // An ICMP error of an earlier answer's destination, say.
                tracing::debug!(target: "tracker", error = %e, "udp receive failed");
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::debug!(target: "tracker", client = %remote, "udp packet dropped: busy");
            continue;
        };
        let packet = buf.get(..len).unwrap_or_default().to_vec();
        let (socket, swarm, tracker, edge, key) = (
            Arc::clone(&socket),
            Arc::clone(&swarm),
            Arc::clone(&tracker),
            Arc::clone(&edge),
            Arc::clone(&key),
        );
        tokio::spawn(async move {
            let _permit = permit;
            let started = Instant::now();
            let mut ctx = RequestContext::new(remote);
            if let Some(seed) = seed {
                ctx = ctx.with_endpoint_seed(seed);
            }
            let decided = tokio::task::spawn_blocking(move || {
                let mut seen: Option<(InfoHash, Decision)> = None;
                let exchange = {
                    let mut tracker = tracker.lock().unwrap_or_else(|p| p.into_inner());
                    tracker.udp(&packet, &ctx, &key, Instant::now(), |info_hash| {
                        let decision = match swarm.lookup(info_hash) {
                            Ok(target) => {
                                crate::metrics::METRICS.serving(info_hash, &target.torrent);
                                Decision::Allow
                            }
                            Err(reason) => Decision::Refuse(reason),
                        };
                        seen = Some((*info_hash, decision.clone()));
                        decision
                    })
                };
                offer_leecher(&edge, &exchange, remote);
                (exchange, seen)
            })
            .await;
            let Ok((exchange, seen)) = decided else {
                return;
            };
            if let Some(reply) = &exchange.reply
                && let Err(e) = socket.send_to(reply, remote).await
            {
                tracing::debug!(target: "tracker", client = %remote, error = %e, "udp send failed");
            }
            log_packet(remote, &exchange, seen, started);
        });
    }
}

/// Hands a leecher's served announce to the peer edge, as the HTTP edge
/// does: the address it sent from and the port it announced.
fn offer_leecher(edge: &PeerEdge, exchange: &UdpExchange, remote: SocketAddr) {
    let Some(announce) = exchange.served_announce() else {
        return;
    };
    let leeching = if announce.left > 0 && announce.event != Event::Stopped {
        Leeching::Yes
    } else {
        Leeching::No
    };
    let peer_id = *announce.peer_id.as_bytes();
    edge.announced(announce.info_hash);
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
    let outcome = match (&exchange.error, &seen) {
        (Some(e), _) => format!("refused: {e}"),
        (None, _) => "served".to_owned(),
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
        outcome,
        ms = crate::listen::millis(started),
        "announce"
    );
}
