//! The tracker's tokio edge: its own listener (so that no bucket name is
//! taken from S3's namespace), HTTP/1.1 by hyper, and the sans-IO tracker
//! behind a mutex.

use std::net::SocketAddr;
use std::os::fd::AsRawFd as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, recv, send};
use s3torrent_metainfo::InfoHash;
use s3torrent_tracker::{
    Announce, Decision, Error, Event, QueryLimits, RequestContext, Tracker, TrustedProxies,
    announce_answer, handle, parse_announce,
};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::admission::{Admission, Newcomer, Slot};
use super::peer::{AnnouncedCrypto, Leeching, Offered};
use super::{Allowed, PeerEdge, SkeyMark, SwarmSource, Tracked};
use crate::edge::arrivals::{Arrival, Arrivals, NotHeld};
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

/// What every tracker connection shares.
struct Shared {
    swarm: Arc<dyn SwarmSource>,
    tracker: Arc<Mutex<Tracker>>,
    edge: Arc<PeerEdge>,
    /// The tracker's query limits and announce path (they do not change):
    /// the dialer, and the decision made before the lock, read them here.
    limits: QueryLimits,
    announce_path: Box<str>,
    trusted: Arc<TrustedProxies>,
    slots: Arc<Admission>,
    /// The seeding peer's listener.
    peer: SocketAddr,
}

impl Shared {
    /// The exchange that answers `req` from `ctx`'s client.
    fn exchange<'a>(&'a self, asked: Asked<'a>, ctx: &'a RequestContext) -> Exchange<'a> {
        Exchange {
            swarm: &*self.swarm,
            tracker: &self.tracker,
            edge: &self.edge,
            asked,
            ctx,
        }
    }

    /// A connection slot for `remote`, or `None` when it is refused
    /// (closed at once; `Admission` logs a summary). A trusted proxy
    /// carries many clients from one address: it is not held to the
    /// per-address cap.
    fn admit(&self, remote: SocketAddr) -> Option<Slot> {
        let newcomer = if self.trusted.trusts(remote.ip()) {
            Newcomer::Proxied
        } else {
            Newcomer::Accepted
        };
        self.slots.admit(remote.ip(), newcomer).ok()
    }

    /// The endpoint's own peer as answers list it: the seeding peer's
    /// address, or (when that is unspecified) the local address the
    /// connection arrived on, with the peer's port.
    fn seed(&self, local: impl FnOnce() -> Option<SocketAddr>) -> SocketAddr {
        let ip = if self.peer.ip().is_unspecified() {
            local().map_or(self.peer.ip(), |l| l.ip())
        } else {
            self.peer.ip()
        };
        SocketAddr::new(ip, self.peer.port())
    }
}

/// Answers announces and scrapes on `listener` until `shutdown` turns true.
/// Each answer lists the endpoint's own peer first: the local address the
/// announce arrived on (or `peer`'s address, when that is not unspecified)
/// and `peer`'s port. An announce from a `trusted` proxy is taken to come
/// from the client its forwarding headers name.
///
/// Over plain HTTP, threads of its own accept the connections and answer
/// a one-shot announce (the whole request at hand, `Connection: close`,
/// its info-hash's answer in memory) on the spot, in one write; every
/// other connection is served by hyper on the runtime, as over TLS.
pub(crate) async fn serve_tracker(
    listener: TcpListener,
    swarm: Arc<dyn SwarmSource>,
    tracker: Arc<Mutex<Tracker>>,
    peer: SocketAddr,
    edge: Arc<PeerEdge>,
    front: TrackerFront,
    shutdown: watch::Receiver<bool>,
) {
    let TrackerFront {
        trusted,
        slots,
        tls,
    } = front;
    let (limits, announce_path) = {
        let t = tracker.lock().unwrap_or_else(|p| p.into_inner());
        (
            t.config().query.clone(),
            t.config().announce_path.clone().into(),
        )
    };
    let shared = Arc::new(Shared {
        swarm,
        tracker,
        edge,
        limits,
        announce_path,
        trusted,
        slots,
        peer,
    });
    match tls {
        Some(tls) => serve_tls(listener, shared, tls, shutdown).await,
        None => serve_plain(listener, shared, shutdown).await,
    }
}

/// The tracker over TLS: every connection's handshake, then hyper.
async fn serve_tls(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: crate::edge::tls::Tls,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let Some((socket, remote)) = accept(&listener, &mut shutdown, "tracker").await else {
            return;
        };
        let Some(slot) = shared.admit(remote) else {
            continue;
        };
        let seed = shared.seed(|| socket.local_addr().ok());
        let (tls, shared, mut stop) = (tls.clone(), Arc::clone(&shared), shutdown.clone());
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
                serve_socket(stream, shared, remote, seed, slot, stop).await;
            }
        });
    }
}

/// The most threads accepting plain tracker connections. There are half
/// as many as cores, at least one: one answers tens of thousands of
/// announces a second, and the other cores are S3's and the seeding
/// peer's (on two cores, a second thread only takes turns with the first
/// and with the clients, at a context switch each).
const MAX_ACCEPTORS: usize = 4;

/// How often an accepting thread looks whether to stop.
const STOP_POLL: Duration = Duration::from_millis(200);

/// The tracker over plain HTTP: accepted on threads of its own, a one-shot
/// announce answered there, every other connection handed to hyper.
async fn serve_plain(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let listener = match listener.into_std() {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(target: "tracker", error = %e, "tracker not served");
            return;
        }
    };
    let runtime = tokio::runtime::Handle::current();
    let threads =
        std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).clamp(1, MAX_ACCEPTORS));
    let mut handles = Vec::with_capacity(threads);
    for _ in 0..threads {
        let arrivals = listener
            .try_clone()
            .and_then(|l| Arrivals::new(l, EARLY_WAIT, EARLY_HELD, "tracker"));
        let arrivals = match arrivals {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(target: "tracker", error = %e, "tracker thread not started");
                continue;
            }
        };
        let (shared, runtime, shutdown) = (Arc::clone(&shared), runtime.clone(), shutdown.clone());
        handles.push(tokio::task::spawn_blocking(move || {
            accept_plain(arrivals, &shared, &runtime, &shutdown);
        }));
    }
    if handles.is_empty() {
        return;
    }
    for handle in handles {
        let _ = handle.await;
    }
}

/// How long an accepting thread holds a connection whose request has not
/// arrived yet before hyper takes it (which waits for its head as long as
/// for any other's). A client usually sends its request right after its
/// handshake: past this wait it is a slow one.
const EARLY_WAIT: Duration = Duration::from_millis(500);

/// The most connections one accepting thread holds so; past it, hyper
/// takes a connection whose request has not arrived at once.
const EARLY_HELD: usize = 1024;

/// A connection admitted, and who it is.
struct Admitted {
    remote: SocketAddr,
    /// The endpoint's own peer, as its answer lists it.
    seed: SocketAddr,
    slot: Slot,
}

/// Which read of a connection is being tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// Right after it was accepted.
    First,
    /// After it was held until it became readable.
    Held,
}

/// One accepting thread, until `shutdown`: a one-shot announce whose
/// request is at hand is answered at once, and closed, without taking a
/// connection slot; a connection whose request has not arrived takes a
/// slot and is held until it is readable (or for [`EARLY_WAIT`]); the
/// rest takes a slot and goes to hyper on the runtime.
fn accept_plain(
    mut arrivals: Arrivals<Admitted>,
    shared: &Arc<Shared>,
    runtime: &tokio::runtime::Handle,
    shutdown: &watch::Receiver<bool>,
) {
    let mut date = DateCache::default();
    let mut ready = Vec::new();
    while arrivals.next(shutdown, STOP_POLL, &mut ready) {
        for arrival in ready.drain(..) {
            let (stream, conn) = match arrival {
                Arrival::Accepted(stream, remote) => {
                    let seed = shared.seed(|| stream.local_addr().ok());
                    (stream, Conn::Fresh { remote, seed })
                }
                Arrival::Readable(stream, admitted) => (stream, Conn::Held(admitted)),
                Arrival::Waited(stream, admitted) => {
                    to_hyper(shared, runtime, shutdown, stream, admitted, Vec::new());
                    continue;
                }
            };
            let outcome = answer_at_once(shared, &stream, &conn, &mut date);
            if matches!(outcome, AtOnce::Done) {
                continue;
            }
            // It stays open: it needs a slot (refused, it is closed).
            let attempt = match conn {
                Conn::Fresh { .. } => Attempt::First,
                Conn::Held(_) => Attempt::Held,
            };
            let Some(admitted) = conn.admit(shared) else {
                continue;
            };
            match outcome {
                AtOnce::Done => {}
                AtOnce::NotYet if attempt == Attempt::First => {
                    if let Err(NotHeld(stream, admitted)) = arrivals.hold(stream, admitted) {
                        to_hyper(shared, runtime, shutdown, stream, admitted, Vec::new());
                    }
                }
                AtOnce::NotYet => to_hyper(shared, runtime, shutdown, stream, admitted, Vec::new()),
                AtOnce::Unsent(rest) => {
                    runtime.spawn(async move {
                        let Ok(mut socket) = nonblocking(stream) else {
                            return;
                        };
                        let _ = tokio::time::timeout(HEADER_TIMEOUT, socket.write_all(&rest)).await;
                        drop(admitted);
                    });
                }
                AtOnce::Hyper(prefix) => {
                    to_hyper(shared, runtime, shutdown, stream, admitted, prefix)
                }
            }
        }
    }
}

/// A connection an accepting thread reads.
enum Conn {
    /// Just accepted, without a slot yet: one answered at once never takes
    /// one (it is closed as soon as it is answered).
    Fresh {
        remote: SocketAddr,
        seed: SocketAddr,
    },
    /// Held until readable, with its slot.
    Held(Admitted),
}

impl Conn {
    fn remote(&self) -> SocketAddr {
        match self {
            Conn::Fresh { remote, .. } => *remote,
            Conn::Held(a) => a.remote,
        }
    }

    fn seed(&self) -> SocketAddr {
        match self {
            Conn::Fresh { seed, .. } => *seed,
            Conn::Held(a) => a.seed,
        }
    }

    /// The connection with its slot: taken now if it has none, `None` when
    /// it is refused.
    fn admit(self, shared: &Shared) -> Option<Admitted> {
        match self {
            Conn::Fresh { remote, seed } => {
                let slot = shared.admit(remote)?;
                Some(Admitted { remote, seed, slot })
            }
            Conn::Held(admitted) => Some(admitted),
        }
    }
}

/// Hands `stream` to hyper on the runtime, `prefix` (what was read from it
/// already) first.
fn to_hyper(
    shared: &Arc<Shared>,
    runtime: &tokio::runtime::Handle,
    shutdown: &watch::Receiver<bool>,
    stream: std::net::TcpStream,
    admitted: Admitted,
    prefix: Vec<u8>,
) {
    let (shared, stop) = (Arc::clone(shared), shutdown.clone());
    runtime.spawn(async move {
        let Ok(socket) = nonblocking(stream) else {
            return;
        };
        let _ = socket.set_nodelay(true);
        let io = Prefixed {
            prefix,
            at: 0,
            io: socket,
        };
        let Admitted { remote, seed, slot } = admitted;
        serve_socket(io, shared, remote, seed, slot, stop).await;
    });
}

/// `stream` (accepted blocking) for the runtime.
fn nonblocking(stream: std::net::TcpStream) -> std::io::Result<tokio::net::TcpStream> {
    stream.set_nonblocking(true)?;
    tokio::net::TcpStream::from_std(stream)
}

/// What became of a connection's read.
enum AtOnce {
    /// Answered (or closed by the client): the connection closes.
    Done,
    /// Nothing has arrived yet.
    NotYet,
    /// Answered, but the kernel took only part of the answer: the rest.
    Unsent(Vec<u8>),
    /// For hyper, with the bytes read so far.
    Hyper(Vec<u8>),
}

/// The longest request head answered at once (a longer one goes to hyper).
const ONE_SHOT_MAX: usize = 4096;

/// Reads what the client has sent and, when it is a one-shot announce
/// whose info-hash's answer is in memory, answers it as hyper would
/// (the same status line and headers, `connection: close`, the date).
fn answer_at_once(
    shared: &Shared,
    stream: &std::net::TcpStream,
    conn: &Conn,
    date: &mut DateCache,
) -> AtOnce {
    let started = Instant::now();
    let mut buf = [0; ONE_SHOT_MAX];
    // The socket is a blocking one: this read and the write below do not
    // wait (which spares a system call a connection to make it
    // non-blocking; a connection handed to the runtime is made so then).
    let n = match recv(stream.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
        Ok(0) => return AtOnce::Done,
        Ok(n) => n,
        Err(Errno::EAGAIN) => return AtOnce::NotYet,
        Err(Errno::EINTR) => return AtOnce::NotYet,
        Err(_) => return AtOnce::Done,
    };
    let data = buf.get(..n).unwrap_or_default();
    let hyper = || AtOnce::Hyper(data.to_vec());
    if n == buf.len() {
        return hyper();
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let Some(head) = one_shot_head(data, &mut headers) else {
        return hyper();
    };
    if head.path != &*shared.announce_path {
        return hyper();
    }
    let Ok(announce) = parse_announce(head.query, &shared.limits) else {
        return hyper();
    };
    let Some(tracked) = shared.swarm.tracked_in_memory(&announce.info_hash) else {
        return hyper();
    };
    // Behind a trusted proxy, the client it forwards for (its headers
    // made a map only then).
    let remote = if shared.trusted.trusts(conn.remote().ip()) {
        let Some(map) = header_map(head.headers) else {
            return hyper();
        };
        shared.trusted.client(conn.remote(), &map)
    } else {
        conn.remote()
    };
    let ctx = RequestContext::new(remote).with_endpoint_seed(conn.seed());
    if let Conn::Held(admitted) = conn {
        // Useful after all: it keeps its slot until answered.
        admitted.slot.ticket().establish();
    }
    let info_hash = announce.info_hash;
    let asked = Asked::OneShot {
        path: head.path,
        query: head.query,
    };
    let exchange = shared.exchange(asked, &ctx);
    let response = exchange.answer(Some(announce), Some((info_hash, tracked)), started);
    let out = encode_closing(&response, date.now());
    match send(
        stream.as_raw_fd(),
        &out,
        MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL,
    ) {
        Ok(sent) if sent == out.len() => AtOnce::Done,
        Ok(sent) => AtOnce::Unsent(out.get(sent..).unwrap_or_default().to_vec()),
        Err(Errno::EAGAIN | Errno::EINTR) => AtOnce::Unsent(out),
        Err(_) => AtOnce::Done,
    }
}

/// A one-shot request's head: its path and query, and its headers.
struct OneShotHead<'a> {
    path: &'a str,
    query: &'a str,
    headers: &'a [httparse::Header<'a>],
}

/// `data` as a request hyper would take and answer, then close: exactly
/// one complete HTTP/1.1 `GET` head, no body, `Connection: close`, and a
/// target of RFC 3986's characters alone (which `http::Uri` takes as they
/// are); `None` for anything else (hyper then reads it).
fn one_shot_head<'a>(
    data: &'a [u8],
    headers: &'a mut [httparse::Header<'a>],
) -> Option<OneShotHead<'a>> {
    let mut head = httparse::Request::new(headers);
    let Ok(httparse::Status::Complete(len)) = head.parse(data) else {
        return None;
    };
    if len != data.len() || head.method != Some("GET") || head.version != Some(1) {
        return None;
    }
    let target = head.path?;
    if !target.starts_with('/') || !target.bytes().all(uri_byte) {
        return None;
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut close = false;
    for h in head.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length")
            || name.eq_ignore_ascii_case(b"transfer-encoding")
        {
            return None;
        }
        if name.eq_ignore_ascii_case(b"connection") {
            for token in std::str::from_utf8(h.value).ok()?.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    close = true;
                } else if !token.is_empty() {
                    return None;
                }
            }
        }
    }
    if !close {
        return None;
    }
    Some(OneShotHead {
        path,
        query,
        headers: head.headers,
    })
}

/// Whether `b` may stand in a request target as it is (RFC 3986's
/// unreserved and reserved characters and `%`, but for the fragment's `#`
/// and the IP literal's brackets).
fn uri_byte(b: u8) -> bool {
    URI_BYTES[usize::from(b)]
}

/// [`uri_byte`]'s answers, one a byte value: a look each, where a search
/// of the punctuation for every `%`, `&` and `=` cost a tenth of an
/// announce.
static URI_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let punctuation = b"-._~:/?@!$&'()*+,;=%";
    let mut i = 0;
    while i < punctuation.len() {
        table[punctuation[i] as usize] = true;
        i += 1;
    }
    let mut b = 0;
    while b < 128 {
        if (b as u8).is_ascii_alphanumeric() {
            table[b] = true;
        }
        b += 1;
    }
    table
};

/// `headers` as a map, as hyper would make it; `None` for a header it
/// would refuse.
fn header_map(headers: &[httparse::Header<'_>]) -> Option<http::HeaderMap> {
    let mut map = http::HeaderMap::with_capacity(headers.len());
    for h in headers {
        let name = http::HeaderName::from_bytes(h.name.as_bytes()).ok()?;
        let value = http::HeaderValue::from_bytes(h.value).ok()?;
        map.append(name, value);
    }
    Some(map)
}

/// `response` as hyper writes it to a request that asked to close: the
/// status line, its headers, `connection: close`, `date`, the body.
fn encode_closing(response: &http::Response<Bytes>, date: &str) -> Vec<u8> {
    let body = response.body();
    let mut out = Vec::with_capacity(192 + body.len());
    let status = response.status();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or_default().as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in response.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"connection: close\r\ndate: ");
    out.extend_from_slice(date.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
    out
}

/// The `Date` header's text, made once a second.
#[derive(Default)]
struct DateCache {
    second: u64,
    text: String,
}

impl DateCache {
    fn now(&mut self) -> &str {
        let now = SystemTime::now();
        let second = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if second != self.second || self.text.is_empty() {
            self.text = httpdate::fmt_http_date(now);
            self.second = second;
        }
        &self.text
    }
}

/// A socket whose first bytes were read already: they are read again
/// first, so that hyper sees the whole request.
struct Prefixed {
    prefix: Vec<u8>,
    at: usize,
    io: tokio::net::TcpStream,
}

impl tokio::io::AsyncRead for Prefixed {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if let Some(rest) = this.prefix.get(this.at..)
            && !rest.is_empty()
        {
            let n = rest.len().min(buf.remaining());
            buf.put_slice(rest.get(..n).unwrap_or_default());
            this.at += n;
            if this.at == this.prefix.len() {
                this.prefix = Vec::new();
                this.at = 0;
            }
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Prefixed {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Serves one connection with hyper: each request answered by the
/// tracker (an announce whose answer is in memory on this thread, any
/// other on a blocking one, as a lookup may read the store), until it
/// ends, its slot goes to a newcomer or the tracker stops.
async fn serve_socket<I>(
    io: I,
    shared: Arc<Shared>,
    remote: SocketAddr,
    seed: SocketAddr,
    slot: Slot,
    mut stop: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let ticket = Arc::clone(slot.ticket());
    let service = {
        let ticket = Arc::clone(&ticket);
        hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let shared = Arc::clone(&shared);
            let req = req.map(|_| ());
            // Behind a trusted proxy, the client it forwards for.
            let remote = shared.trusted.client(remote, req.headers());
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
                let announce = (req.uri().path() == &*shared.announce_path)
                    .then(|| parse_announce(req.uri().query().unwrap_or_default(), &shared.limits))
                    .and_then(Result::ok);
                let known = announce.as_ref().and_then(|a| {
                    shared
                        .swarm
                        .tracked_in_memory(&a.info_hash)
                        .map(|t| (a.info_hash, t))
                });
                let response = if let Some(known) = known {
                    let exchange = shared.exchange(Asked::Request(&req), &ctx);
                    exchange.answer(announce, Some(known), started)
                } else {
                    tokio::task::spawn_blocking(move || {
                        let early = announce
                            .as_ref()
                            .map(|a| (a.info_hash, shared.swarm.tracked(&a.info_hash)));
                        let exchange = shared.exchange(Asked::Request(&req), &ctx);
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
        })
    };
    serve_connection(io, service, &ticket, &mut stop).await;
    drop(slot);
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
    asked: Asked<'a>,
    ctx: &'a RequestContext,
}

/// The request an [`Exchange`] answers.
#[derive(Clone, Copy)]
enum Asked<'a> {
    /// Read by hyper.
    Request(&'a http::Request<()>),
    /// A one-shot `GET` read on an accepting thread (see `one_shot_head`).
    OneShot { path: &'a str, query: &'a str },
}

impl Asked<'_> {
    fn path(&self) -> &str {
        match self {
            Asked::Request(req) => req.uri().path(),
            Asked::OneShot { path, .. } => path,
        }
    }

    fn query(&self) -> &str {
        match self {
            Asked::Request(req) => req.uri().query().unwrap_or_default(),
            Asked::OneShot { query, .. } => query,
        }
    }
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
        let allowed;
        let method = match self.asked {
            Asked::Request(req) => req.method(),
            Asked::OneShot { .. } => &http::Method::GET,
        };
        let response = {
            // Kept decisions hold what the peer edge was told already.
            allowed = early.as_ref().and_then(|(_, t)| t.served()).map(Arc::clone);
            let authorize = super::authorize_with(self.swarm, early, &mut seen);
            let mut tracker = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
            match &announce {
                // Parsed already (on the announce path): not again, and
                // its answer encoded once the tracker is let go.
                Some(a) if method == http::Method::GET || method == http::Method::HEAD => {
                    // Its time is when it arrived (one clock read fewer).
                    let answered = tracker.announce(a, self.ctx, started, authorize);
                    drop(tracker);
                    announce_answer(answered, method == http::Method::HEAD)
                }
                _ => match self.asked {
                    Asked::Request(req) => {
                        handle(&mut tracker, req, self.ctx, Instant::now(), authorize)
                    }
                    // Made with its announce parsed: never here.
                    Asked::OneShot { .. } => {
                        drop(tracker);
                        announce_answer(Err(Error::Missing { param: "info_hash" }), false)
                    }
                },
            }
        };
        let remote = self.ctx.remote;
        if let Some((info_hash, Decision::Allow)) = &seen
            && let Some(announce) = &announce
        {
            let mark = allowed.as_deref().map(Allowed::skey);
            offer_leecher(
                self.edge,
                self.asked.query(),
                remote,
                (*info_hash, mark),
                announce,
            );
        }
        log_announce(self.asked.path(), remote, seen, &response, started);
        response
    }
}

/// Hands a leecher's announce (one that wants data) to the peer edge,
/// which connects to it: the address it announced from and the port it
/// announced.
fn offer_leecher(
    edge: &PeerEdge,
    query: &str,
    remote: SocketAddr,
    (info_hash, mark): (InfoHash, Option<&SkeyMark>),
    announce: &Announce,
) {
    let leeching = if announce.left > 0 && announce.event != Event::Stopped {
        Leeching::Yes
    } else {
        Leeching::No
    };
    edge.announced(info_hash, mark);
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
        let crypto = if has_param(query, "requirecrypto=1") {
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
    path: &str,
    remote: SocketAddr,
    seen: Option<(InfoHash, Decision)>,
    response: &http::Response<Bytes>,
    started: Instant,
) {
    crate::metrics::METRICS.http_announce(path, seen.as_ref().map(|(_, d)| d));
    // The hex digits on the stack, and "served" without a copy: this line
    // is written for every announce.
    let mut hex = [0; 40];
    let refused;
    let (info_hash, outcome) = match &seen {
        Some((h, Decision::Allow)) => (Some(hex_digits(h, &mut hex)), "served"),
        Some((h, Decision::Refuse(reason))) => {
            refused = format!("refused: {reason}");
            (Some(hex_digits(h, &mut hex)), refused.as_str())
        }
        None => (None, "not asked"),
    };
    tracing::info!(
        target: "tracker",
        client = %Shown(remote),
        path,
        info_hash,
        status = response.status().as_u16(),
        bytes = response.body().len(),
        outcome,
        ms = crate::edge::listen::millis(started),
        "announce"
    );
}

/// Whether `query` holds the parameter `kv` (`name=value`) as it is: one
/// search of the query, not a split of it.
fn has_param(query: &str, kv: &str) -> bool {
    let bytes = query.as_bytes();
    query.match_indices(kv).any(|(at, _)| {
        let before = at.checked_sub(1).and_then(|i| bytes.get(i));
        let after = bytes.get(at + kv.len());
        matches!(before, None | Some(b'&')) && matches!(after, None | Some(b'&'))
    })
}

/// An address as `Display` writes it, an IPv4 one without the formatter's
/// machinery (it is written on every announce's log line).
struct Shown(SocketAddr);

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let SocketAddr::V4(v4) = self.0 else {
            return self.0.fmt(f);
        };
        // "255.255.255.255:65535" is 21 bytes.
        let mut out = [0u8; 21];
        let mut len = 0;
        for (i, octet) in v4.ip().octets().into_iter().enumerate() {
            if i > 0 {
                out[len] = b'.';
                len += 1;
            }
            push_decimal(&mut out, &mut len, u16::from(octet));
        }
        out[len] = b':';
        len += 1;
        push_decimal(&mut out, &mut len, v4.port());
        f.write_str(std::str::from_utf8(&out[..len]).unwrap_or_default())
    }
}

/// Appends `n`'s decimal digits to `out` at `len` (which there is room for).
fn push_decimal(out: &mut [u8; 21], len: &mut usize, n: u16) {
    let mut digits = [0u8; 5];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        if let Some(slot) = out.get_mut(*len) {
            *slot = d;
            *len += 1;
        }
    }
}

/// `info_hash` in lowercase hex, written into `out`.
fn hex_digits<'a>(info_hash: &InfoHash, out: &'a mut [u8; 40]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(info_hash.as_bytes()) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
    std::str::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(request: &str) -> Option<(String, String)> {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        one_shot_head(request.as_bytes(), &mut headers).map(|h| (h.path.into(), h.query.into()))
    }

    /// Only a lone, complete, closing `GET` head with a plain target is
    /// answered on the accepting thread; anything else is hyper's.
    #[test]
    fn one_shot_heads_and_what_goes_to_hyper() {
        let close = "Host: t\r\nConnection: close\r\n\r\n";
        let ok = |target: &str| format!("GET {target} HTTP/1.1\r\n{close}");
        assert_eq!(
            head(&ok("/announce?info_hash=%AB&port=1")),
            Some(("/announce".into(), "info_hash=%AB&port=1".into()))
        );
        assert_eq!(
            head(&ok("/announce")),
            Some(("/announce".into(), String::new()))
        );
        assert_eq!(
            head(&ok("/announce?")),
            Some(("/announce".into(), String::new()))
        );
        assert_eq!(
            head("GET /a HTTP/1.1\r\nconnection: Keep-Alive, close\r\n\r\n"),
            None,
            "another connection token"
        );
        assert!(head("GET /a HTTP/1.1\r\nConnection: CLOSE\r\n\r\n").is_some());
        let hyper = [
            "GET /a HTTP/1.1\r\nHost: t\r\n\r\n".to_owned(),
            "GET /a HTTP/1.1\r\nConnection: keep-alive\r\n\r\n".to_owned(),
            "GET /a HTTP/1.0\r\nConnection: close\r\n\r\n".to_owned(),
            format!("POST /a HTTP/1.1\r\n{close}"),
            format!("HEAD /a HTTP/1.1\r\n{close}"),
            "GET /a HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".to_owned(),
            "GET /a HTTP/1.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned(),
            "GET /a HTTP/1.1\r\nConnection: close\r\n".to_owned(),
            format!("{}{}", ok("/a"), ok("/b")),
            ok("/announce?a=1#fragment"),
            ok("/announce?a=\"1\""),
            ok("/announce?a={1}"),
            ok("/[::1]"),
            ok("*"),
            ok("http://host/announce"),
            ok("/announce?a=\u{e9}"),
        ];
        for request in hyper {
            assert_eq!(head(&request), None, "{request:?}");
        }
    }

    proptest::proptest! {
        /// A target the accepting thread takes is split into path and
        /// query as `http::Uri` (hyper's) splits it.
        #[test]
        fn one_shot_targets_split_as_http_uri_does(
            target in "/[a-zA-Z0-9._~:/?@!$&'()*+,;=%-]{0,40}",
        ) {
            let request = format!("GET {target} HTTP/1.1\r\nConnection: close\r\n\r\n");
            let (path, query) = head(&request).expect("a plain target");
            let uri: http::Uri = target.parse().expect("http::Uri takes it");
            proptest::prop_assert_eq!(path.as_str(), uri.path());
            proptest::prop_assert_eq!(query.as_str(), uri.query().unwrap_or_default());
        }
    }

    proptest::proptest! {
        /// `has_param` says what splitting the query at `&` says.
        #[test]
        fn has_param_is_a_split_and_compare(
            params in proptest::collection::vec("(requirecrypto|xrequirecrypto|a)=(1|0|11|)", 0..5),
        ) {
            let query = params.join("&");
            let split = query.split('&').any(|kv| kv == "requirecrypto=1");
            proptest::prop_assert_eq!(has_param(&query, "requirecrypto=1"), split, "{}", query);
        }
    }

    /// The table says what RFC 3986's character classes say (bar `#`,
    /// `[` and `]`), for every byte.
    #[test]
    fn uri_bytes_are_rfc_3986s_plain_characters() {
        let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
        let reserved = |b: u8| b":/?#[]@!$&'()*+,;=".contains(&b);
        for b in 0..=255u8 {
            let plain = (unreserved(b) || reserved(b) || b == b'%') && !b"#[]".contains(&b);
            assert_eq!(uri_byte(b), plain, "byte {b:#04x}");
        }
    }

    proptest::proptest! {
        /// An address is shown as `Display` shows it.
        #[test]
        fn shown_addresses_are_displays(ip in proptest::prelude::any::<[u8; 4]>(), port in proptest::prelude::any::<u16>(), v6 in proptest::prelude::any::<[u8; 16]>()) {
            let v4 = SocketAddr::from((ip, port));
            proptest::prop_assert_eq!(Shown(v4).to_string(), v4.to_string());
            let v6 = SocketAddr::from((std::net::Ipv6Addr::from(v6), port));
            proptest::prop_assert_eq!(Shown(v6).to_string(), v6.to_string());
        }
    }

    #[test]
    fn hex_digits_are_lowercase_and_in_order() {
        let mut bytes = [0u8; 20];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::try_from(i * 13 + 7).unwrap_or(0);
        }
        bytes[19] = 0xff;
        let mut out = [0; 40];
        assert_eq!(
            hex_digits(&InfoHash::from_bytes(bytes), &mut out),
            "0714212e3b4855626f7c8996a3b0bdcad7e4f1ff"
        );
    }
}
