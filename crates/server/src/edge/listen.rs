//! What `serve`, the gateway and the swarm's edges share about listening:
//! the swarm's listeners, which endpoint a loop serves, the accept step
//! that backs off instead of spinning, and the log lines' milliseconds. It
//! imports none of them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;

/// How long the accept loops pause after a failed accept (out of file
/// descriptors, say) before trying again.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The tracker's and the seeding peer's listeners.
#[derive(Debug)]
#[non_exhaustive]
pub struct SwarmListeners {
    /// The HTTP tracker (`http://ADDR/announce` in torrents).
    pub tracker: TcpListener,
    /// The BitTorrent peer that seeds every served object.
    pub peer: TcpListener,
    /// The UDP tracker (BEP 15, `udp://ADDR/announce` in torrents), when
    /// there is one: [`Listeners::bind_udp_tracker`](super::Listeners::bind_udp_tracker).
    pub udp_tracker: Option<UdpSocket>,
    /// WebTorrent's WebSocket tracker (`ws://ADDR/` in torrents, `wss://`
    /// with TLS), when there is one:
    /// [`Listeners::bind_ws_tracker`](crate::Listeners::bind_ws_tracker).
    pub ws_tracker: Option<TcpListener>,
}

/// Which endpoint an HTTP loop serves: its log lines' target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `serve`: S3 over the store.
    Serve,
    /// `gateway`: `?torrent` for a cluster, the rest passed through.
    #[cfg_attr(not(feature = "gateway"), allow(dead_code))]
    Gateway,
}

impl Endpoint {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Endpoint::Serve => "serve",
            Endpoint::Gateway => "gateway",
        }
    }
}

/// What the S3 listener and the HTTP tracker speak: the scheme of their
/// URLs in torrents and in the start-up lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS ([`Tls`](super::tls::Tls)).
    Https,
}

impl Scheme {
    /// `https` with a certificate, else `http`.
    pub(crate) fn of(tls: Option<&super::tls::Tls>) -> Scheme {
        match tls {
            Some(_) => Scheme::Https,
            None => Scheme::Http,
        }
    }

    /// `http` or `https`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// The milliseconds since `started`, to the microsecond, for a log field.
pub(crate) fn millis(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Accepts the next connection, or `None` once `shutdown` is true. A failed
/// accept (out of file descriptors, say) pauses the loop instead of spinning,
/// and is logged at most once a second.
pub(crate) async fn accept(
    listener: &TcpListener,
    shutdown: &mut watch::Receiver<bool>,
    what: &'static str,
) -> Option<(TcpStream, SocketAddr)> {
    let mut failures = AcceptFailures::new(what);
    loop {
        if *shutdown.borrow() {
            return None;
        }
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, remote)) => {
                    let _ = socket.set_nodelay(true);
                    return Some((socket, remote));
                }
                Err(e) => {
                    failures.failed(&e);
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            _ = shutdown.changed() => {}
        }
    }
}

/// Failed accepts of one listener, logged at most once a second with how
/// many there were since the last line.
pub(crate) struct AcceptFailures {
    what: &'static str,
    last_logged: Option<Instant>,
    failures: u64,
}

impl AcceptFailures {
    /// For the listener named `what` in the log.
    pub(crate) fn new(what: &'static str) -> Self {
        Self {
            what,
            last_logged: None,
            failures: 0,
        }
    }

    /// One more failure: logged when the last line is a second old.
    pub(crate) fn failed(&mut self, e: &std::io::Error) {
        self.failures += 1;
        if self
            .last_logged
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            tracing::warn!(target: "serve", listener = self.what, failures = self.failures, error = %e, "accept failed");
            self.last_logged = Some(Instant::now());
            self.failures = 0;
        }
    }
}

/// Completes once the shutdown flag turns true (or its sender is gone).
pub(crate) async fn stopped(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

/// Binds a UDP socket at `addr` that more sockets of this process can
/// bind too (`SO_REUSEPORT`, Linux): the kernel then spreads the packets
/// it receives across them by their sender, each socket with its own queue
/// (and its own reader), instead of every reader taking turns on one
/// queue. Only sockets of the same user can join. Elsewhere, a plain bind.
pub(crate) fn bind_udp_shared(addr: std::net::SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    #[cfg(target_os = "linux")]
    {
        use socket2::{Domain, Protocol, Socket, Type};
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::ReusePort, &true)
            .map_err(std::io::Error::from)?;
        socket.bind(&addr.into())?;
        Ok(socket.into())
    }
    #[cfg(not(target_os = "linux"))]
    {
        std::net::UdpSocket::bind(addr)
    }
}
