//! The sockets an endpoint listens on, as the host binds them, and as the
//! endpoint checks them against its seeding.

use std::net::SocketAddr;

use tokio::net::{TcpListener, UdpSocket};

use super::listen::SwarmListeners;
use super::tls::Tls;
use crate::config::Seeding;
use crate::error::Error;

/// The sockets `serve` (and the gateway) listen on, bound by the host.
#[derive(Debug)]
#[non_exhaustive]
pub struct Listeners {
    /// S3 and `?torrent`. Its local address is the web seed's address in
    /// torrents (`url-list`).
    pub s3: TcpListener,
    /// The tracker and the seeding peer, which `--seeding peer` and `both`
    /// need.
    pub swarm: Option<SwarmListeners>,
    /// Prometheus metrics and health checks (`/metrics`, `/health`,
    /// `/ready`), when there is a listener for them:
    /// [`Listeners::bind_metrics`]. It speaks plain HTTP, with or without
    /// [`tls`](Self::tls).
    pub metrics: Option<TcpListener>,
    /// The certificate the S3 listener and the HTTP tracker present, when
    /// they speak HTTPS ([`Tls::load`]); torrents then name `https://` web
    /// seeds and trackers by default. `None`: plain HTTP.
    pub tls: Option<Tls>,
}

impl Listeners {
    /// S3 only: enough for [`Seeding::Web`].
    pub fn s3(s3: TcpListener) -> Listeners {
        Listeners {
            s3,
            swarm: None,
            metrics: None,
            tls: None,
        }
    }

    /// S3, the tracker and the seeding peer.
    pub fn with_swarm(s3: TcpListener, tracker: TcpListener, peer: TcpListener) -> Listeners {
        Listeners {
            s3,
            swarm: Some(SwarmListeners {
                tracker,
                peer,
                udp_tracker: None,
                ws_tracker: None,
            }),
            metrics: None,
            tls: None,
        }
    }

    /// Binds the metrics listener (`GET /metrics`, `/health`, `/ready`) at
    /// `addr`.
    pub async fn bind_metrics(&mut self, addr: &str) -> Result<(), Error> {
        self.metrics = Some(bind_tcp(addr).await?);
        Ok(())
    }

    /// Binds the UDP tracker's socket at `addr`, or, when `None`, at the
    /// HTTP tracker listener's own address (the same port, over UDP, as
    /// opentracker does). Nothing without the swarm's listeners.
    pub async fn bind_udp_tracker(&mut self, addr: Option<&str>) -> Result<(), Error> {
        let Some(swarm) = &mut self.swarm else {
            return Ok(());
        };
        let addr = match addr {
            Some(a) => a.to_owned(),
            None => swarm
                .tracker
                .local_addr()
                .map_err(Error::Listener)?
                .to_string(),
        };
        let socket = bind_udp(&addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        swarm.udp_tracker = Some(socket);
        Ok(())
    }

    /// Binds the WebSocket tracker's listener at `addr`. Nothing without
    /// the swarm's listeners.
    pub async fn bind_ws_tracker(&mut self, addr: &str) -> Result<(), Error> {
        let Some(swarm) = &mut self.swarm else {
            return Ok(());
        };
        swarm.ws_tracker = Some(bind_tcp(addr).await?);
        Ok(())
    }

    /// Binds the three addresses (the tracker and the peer only when
    /// `seeding` needs them).
    pub async fn bind(
        s3: &str,
        seeding: Seeding,
        tracker: &str,
        peer: &str,
    ) -> Result<Listeners, Error> {
        let s3 = bind_tcp(s3).await?;
        Ok(if seeding.has_peer() {
            Listeners::with_swarm(s3, bind_tcp(tracker).await?, bind_tcp(peer).await?)
        } else {
            Listeners::s3(s3)
        })
    }
}

/// A TCP listener bound at `addr`, or [`Error::Bind`] naming it.
/// Binds the UDP tracker's socket at the first of `addr`'s addresses that
/// binds, so that the tracker's threads can bind more sockets beside it
/// ([`bind_udp_shared`](super::listen::bind_udp_shared)).
async fn bind_udp(addr: &str) -> std::io::Result<UdpSocket> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        match super::listen::bind_udp_shared(a).and_then(|s| {
            s.set_nonblocking(true)?;
            UdpSocket::from_std(s)
        }) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to bind")
    }))
}

async fn bind_tcp(addr: &str) -> Result<TcpListener, Error> {
    TcpListener::bind(addr).await.map_err(|source| Error::Bind {
        addr: addr.to_owned(),
        source,
    })
}

/// The DHT announces the seeding peer's port: it needs the peer.
pub(crate) fn check_dht(
    seeding: Seeding,
    dht: Option<&crate::config::DhtConfig>,
) -> Result<(), Error> {
    match dht {
        Some(_) if !seeding.has_peer() => Err(Error::Config(format!(
            "the DHT announces the seeding peer, which seeding {seeding} does not run: use --seeding peer or both with --dht"
        ))),
        _ => Ok(()),
    }
}

/// An endpoint's listeners, checked against its seeding, with their
/// addresses.
pub(crate) struct Checked {
    pub(crate) s3: TcpListener,
    pub(crate) addr: SocketAddr,
    /// The tracker's and the peer's, when seeding as a peer.
    pub(crate) swarm: Option<SwarmListeners>,
    /// The tracker's address, when seeding as a peer.
    pub(crate) tracker: Option<SocketAddr>,
    /// The UDP tracker's address, when there is one.
    pub(crate) udp_tracker: Option<SocketAddr>,
    /// The WebSocket tracker's address, when there is one.
    pub(crate) ws_tracker: Option<SocketAddr>,
    /// The metrics listener, when there is one.
    pub(crate) metrics: Option<TcpListener>,
    /// The certificate of the S3 listener and the HTTP tracker, when they
    /// speak HTTPS.
    pub(crate) tls: Option<Tls>,
}

impl Checked {
    pub(crate) fn new(listeners: Listeners, seeding: Seeding) -> Result<Checked, Error> {
        let Listeners {
            s3,
            swarm,
            metrics,
            tls,
        } = listeners;
        let addr = s3.local_addr().map_err(Error::Listener)?;
        let swarm = match (seeding.has_peer(), swarm) {
            (true, Some(l)) => Some(l),
            (true, None) => {
                return Err(Error::Config(format!(
                    "seeding {seeding} needs the tracker's and the peer's listeners"
                )));
            }
            (false, _) => None,
        };
        let tracker = match &swarm {
            Some(l) => Some(l.tracker.local_addr().map_err(Error::Listener)?),
            None => None,
        };
        let udp_tracker = match swarm.as_ref().and_then(|l| l.udp_tracker.as_ref()) {
            Some(u) => Some(u.local_addr().map_err(Error::Listener)?),
            None => None,
        };
        let ws_tracker = match swarm.as_ref().and_then(|l| l.ws_tracker.as_ref()) {
            Some(w) => Some(w.local_addr().map_err(Error::Listener)?),
            None => None,
        };
        Ok(Checked {
            s3,
            addr,
            swarm,
            tracker,
            udp_tracker,
            ws_tracker,
            metrics,
            tls,
        })
    }
}
