//! The HTTP/1 front of `serve` and of the gateway: the accept loop, the
//! connection limit, the log line of every request, and the drain at the
//! end.

use std::collections::BTreeMap;
use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3torrent_tracker::{Scheme, TrustedProxies};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::front;
use super::listen::{Endpoint, accept, millis};
use super::tls::Tls;
use crate::config::FrontConfig;

/// How long a graceful shutdown waits for requests in flight.
const DRAIN: Duration = Duration::from_secs(10);

/// One line per answered request, under the endpoint's target (a
/// `tracing` target is a constant).
macro_rules! request_line {
    ($target:literal, $($field:tt)*) => {
        tracing::info!(target: $target, $($field)*, "request")
    };
}

/// How an endpoint's HTTP front serves its connections.
pub(crate) struct Front {
    /// Whose front: its log lines' target.
    pub(crate) endpoint: Endpoint,
    /// The socket's header, idle and send clocks.
    pub(crate) clocks: front::Clocks,
    /// How many connections are served at once.
    pub(crate) max_connections: NonZeroUsize,
    /// `--base-domain`, under which a host names the bucket (for the
    /// metrics' operations).
    pub(crate) base_domain: Option<Arc<str>>,
    /// The certificate, when the front speaks HTTPS.
    pub(crate) tls: Option<Tls>,
    /// `--trusted-proxy`: a request from one of them is logged under the
    /// client it forwards for, and is secure (`aws:SecureTransport`) as the
    /// proxy says the client's request was.
    pub(crate) trusted: Arc<TrustedProxies>,
}

impl Front {
    /// `endpoint`'s front with `config`'s clocks and connection limit.
    pub(crate) fn new(
        endpoint: Endpoint,
        config: &FrontConfig,
        base_domain: Option<Arc<str>>,
        tls: Option<Tls>,
    ) -> Front {
        Front {
            endpoint,
            clocks: front::Clocks {
                header: config.header_read_timeout,
                idle: config.idle_timeout,
                send: config.send_timeout,
            },
            max_connections: config.max_connections,
            base_domain,
            tls,
            trusted: Arc::new(config.trusted_proxies.clone()),
        }
    }
}

/// The HTTP/1 front of `serve` and of the gateway, until `shutdown`: at
/// most `front.max_connections` connections (at the limit the oldest quiet
/// one is closed for a newcomer; while none is quiet, the newcomer waits
/// for a slot and further ones wait in the listener's backlog), each on a
/// socket with `front.clocks`
/// (`front::Guarded`); each request gets its ID and goes to `handle`; each
/// answer gets its small body gathered (one write), its IDs
/// (`front::stamp`; an answer that has a request ID already, an
/// upstream's, keeps it) and a log line. Then it stops the edges (`stop`),
/// and [`drain`]s the connections and `edges`.
pub(crate) async fn serve_http<H, F>(
    listener: &TcpListener,
    front: Front,
    shutdown: impl Future<Output = ()>,
    stop: &watch::Sender<bool>,
    edges: Vec<tokio::task::JoinHandle<()>>,
    handle: H,
) where
    H: Fn(hyper::Request<hyper::body::Incoming>, String) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<hyper::Response<s3s::Body>, s3s::HttpError>> + Send + 'static,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let accepting = accept_loop(listener, &front, stop.subscribe(), &graceful, handle);
    let mut shutdown = std::pin::pin!(shutdown);
    tokio::select! {
        () = accepting => {},
        () = shutdown.as_mut() => {},
    }
    drain(front.endpoint.name(), stop, graceful, edges).await;
}

/// [`serve_http`]'s accept loop, until `stopping`.
async fn accept_loop<H, F>(
    listener: &TcpListener,
    front: &Front,
    mut stopping: watch::Receiver<bool>,
    graceful: &hyper_util::server::graceful::GracefulShutdown,
    handle: H,
) where
    H: Fn(hyper::Request<hyper::body::Incoming>, String) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<hyper::Response<s3s::Body>, s3s::HttpError>> + Send + 'static,
{
    let Front {
        endpoint,
        clocks,
        max_connections,
        ref base_domain,
        ref tls,
        ref trusted,
    } = *front;
    let host_id = front::host_id_header();
    // HTTP/1 only (the only protocol built in): the auto builder then skips
    // its version sniffing, which reads the first bytes with no timeout.
    // The header and idle clocks are the socket's (`front::Guarded`), from
    // the accept on; hyper's header timeout would also cut idle keep-alive
    // connections at the header timeout.
    let mut http = ConnBuilder::new(TokioExecutor::new()).http1_only();
    // hyper takes more of an answer's body while what it has queued is
    // below this (and reads a request head up to it): a client that stops
    // reading holds about this much plus a chunk (`ops::STREAM_CHUNK`).
    http.http1().max_buf_size(WRITE_BUFFER);
    // A TLS connection is served by its own task once its handshake is
    // done, which shares the builder.
    let http = Arc::new(http);
    // The TLS handshake, with the peek at its first byte, is bounded by the
    // header timeout (it runs from the accept in any case), or, when that
    // is off, by its default: a stalled handshake always ends.
    let handshake_limit = clocks
        .header
        .unwrap_or(crate::config::ServerConfig::DEFAULT_HEADER_READ_TIMEOUT);
    let slots = Arc::new(Semaphore::new(
        max_connections.get().min(Semaphore::MAX_PERMITS),
    ));
    // The connections being served, the oldest first: when every slot is
    // taken, the oldest quiet one is closed for a newcomer.
    let live: Arc<Mutex<BTreeMap<u64, Arc<front::ConnState>>>> = Arc::default();
    let mut next_id = 0u64;
    loop {
        let Some((socket, client)) = accept(listener, &mut stopping, endpoint.name()).await else {
            break;
        };
        // A slot: a free one, or the slot of the oldest quiet connection
        // (an idle keep-alive one, or one that has sent nothing since its
        // accept), closed for this one; or, when every connection is
        // active, the first to end (the header, send and body clocks end
        // the slow ones).
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(tokio::sync::TryAcquireError::Closed) => break,
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                close_quietest(&live);
                tokio::select! {
                    slot = Arc::clone(&slots).acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    _ = stopping.changed() => break,
                }
            }
        };
        let open = crate::metrics::METRICS.connection(crate::metrics::Listener::S3);
        let conn_state = Arc::new(front::ConnState::default());
        let id = next_id;
        next_id += 1;
        live.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, Arc::clone(&conn_state));
        let (watched, live) = (Arc::clone(&conn_state), Arc::clone(&live));
        let socket = front::Guarded::new(socket, Arc::clone(&conn_state), clocks);
        let (handle, host_id) = (handle.clone(), host_id.clone());
        let (base_domain, trusted) = (base_domain.clone(), Arc::clone(trusted));
        let tls_socket = tls.is_some();
        let logged =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                conn_state.start();
                // Behind a trusted proxy, the client it forwards for and the
                // scheme it says the client used; from anyone else, the
                // socket's.
                let origin = trusted.client(client, req.headers());
                let proxy = (origin != client).then_some(client);
                let secure = match trusted.scheme(client, req.headers()) {
                    Some(Scheme::Https) => true,
                    Some(Scheme::Http) => false,
                    None => tls_socket,
                };
                if secure {
                    req.extensions_mut().insert(front::SecureTransport);
                }
                let conn_state = Arc::clone(&conn_state);
                let host_id = host_id.clone();
                // For the log line: a clone of the URI shares its bytes.
                let (method, uri) = (req.method().clone(), req.uri().clone());
                // A refusal may come before the body is read (an access
                // check, a bad header): hyper then keeps the connection
                // only if it could drain the body at once, and a body
                // still on its way would be read as the next request.
                let has_body = front::declares_body(&req);
                let kind = crate::metrics::classify(
                    &method,
                    &uri,
                    req.headers(),
                    base_domain.as_deref(),
                    match endpoint {
                        Endpoint::Serve => crate::metrics::Console::Served,
                        // The gateway passes the console's paths through.
                        Endpoint::Gateway => crate::metrics::Console::None,
                    },
                );
                let started = Instant::now();
                let request_id = front::request_id();
                let answer = handle(req, request_id.clone());
                async move {
                    let mut resp = answer.await;
                    if let Ok(r) = &mut resp
                        && gather_small_body(r).await.is_err()
                    {
                        // Its file failed before a byte was sent: an
                        // answer can still say so.
                        *r = front::internal_error(&request_id);
                    }
                    let Ok(r) = &mut resp else {
                        return resp.map(|r| {
                            r.map(|body| {
                                front::Answer::new(body, conn_state, None, Box::new(|_| {}))
                            })
                        });
                    };
                    if !r.headers().contains_key(front::REQUEST_ID) {
                        front::stamp(r, &request_id, &host_id);
                    }
                    if has_body && r.status().as_u16() >= 400 {
                        r.headers_mut().insert(
                            http::header::CONNECTION,
                            http::HeaderValue::from_static("close"),
                        );
                    }
                    let request_id = r
                        .headers()
                        .get(front::REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .map_or(request_id, str::to_owned);
                    let status = r.status().as_u16();
                    let declared: Option<u64> = r
                        .headers()
                        .get(http::header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok())
                        .or_else(|| hyper::body::Body::size_hint(r.body()).exact());
                    // Logged once the answer is over: the body bytes it
                    // delivered (not its declared length) and whether it
                    // was complete; `ms` until then.
                    let report: front::Report = Box::new(move |delivery: front::Delivery| {
                        let path = uri.path_and_query().map_or("", |p| p.as_str());
                        let bytes = delivery.bytes;
                        let complete = delivery.end == front::End::Complete;
                        let ms = millis(started);
                        crate::metrics::METRICS.s3_answer(kind, status, bytes, uri.path());
                        match endpoint {
                            Endpoint::Serve => request_line!("serve",
                                %method, path, status, bytes, ms, complete, request_id,
                                proxy = proxy.map(tracing::field::display), client = %origin),
                            Endpoint::Gateway => request_line!("gateway",
                                %method, path, status, bytes, ms, complete, request_id,
                                proxy = proxy.map(tracing::field::display), client = %origin),
                        }
                    });
                    resp.map(|r| {
                        r.map(|body| front::Answer::new(body, conn_state, declared, report))
                    })
                }
            });
        let Some(tls) = tls else {
            let conn = http.serve_connection(TokioIo::new(socket), logged);
            let conn = graceful.watch(conn.into_owned());
            tokio::spawn(async move {
                tokio::select! {
                    _ = conn => {}
                    // Quiet, and its slot went to a newcomer: dropped (closed).
                    () = watched.evicted() => {}
                }
                live.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                drop(slot);
            });
            continue;
        };
        // Over TLS: the handshake in the connection's own task, so that a
        // slow one holds up no other, under the same eviction as a plain
        // connection (one that has sent nothing is quiet).
        let (tls, http, watcher) = (tls.clone(), Arc::clone(&http), graceful.watcher());
        let mut stop = stopping.clone();
        tokio::spawn(async move {
            let served = async {
                let stream = tokio::select! {
                    stream = tls.handshake(socket, handshake_limit, endpoint.name(), client) => stream,
                    () = crate::edge::listen::stopped(&mut stop) => None,
                };
                let Some(stream) = stream else {
                    return;
                };
                // The handshake is no request: a connection that sent
                // nothing more (no request in rustls's buffer either) is
                // quiet again, as one just accepted.
                if stream.get_ref().1.wants_read() {
                    watched.forget_heard();
                }
                let conn = http.serve_connection(TokioIo::new(stream), logged);
                let _ = watcher.watch(conn.into_owned()).await;
            };
            tokio::select! {
                () = served => {}
                // Quiet, and its slot went to a newcomer: dropped (closed).
                () = watched.evicted() => {}
            }
            live.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
            drop(slot);
            drop(open);
        });
    }
}

/// Tells the oldest quiet connection of `live` ([`front::Activity::Quiet`])
/// to close, if there is one.
fn close_quietest(live: &Mutex<BTreeMap<u64, Arc<front::ConnState>>>) {
    let mut live = live.lock().unwrap_or_else(|p| p.into_inner());
    let quietest = live
        .iter()
        .find(|(_, c)| c.activity() == front::Activity::Quiet)
        .map(|(id, _)| *id);
    if let Some(c) = quietest.and_then(|id| live.remove(&id)) {
        tracing::debug!(target: "serve", "a quiet connection closed for a newcomer");
        crate::metrics::METRICS.evicted(crate::metrics::Listener::S3, 1);
        c.evict();
    }
}

/// hyper's buffer per connection: the most of an answer it queues for the
/// socket (its default is 400 KiB), and the longest request head (request
/// line and headers) it reads; S3 takes heads of 8 KiB.
const WRITE_BUFFER: usize = 64 * 1024;

/// The largest answer body gathered before the head is sent (see
/// [`gather_small_body`]).
const ONE_WRITE: u64 = 16 * 1024;

/// Gathers a streamed body of at most [`ONE_WRITE`] bytes (a small
/// GetObject, read from its file) into one buffer before hyper sends the
/// head, so that head and body leave in one `writev`: otherwise hyper sends
/// the head alone while the first chunk is still being read.
async fn gather_small_body(resp: &mut hyper::Response<s3s::Body>) -> Result<(), s3s::StdError> {
    if resp.body().bytes().is_some() {
        return Ok(());
    }
    // s3s declares a streamed object's length in the header only.
    let declared = resp
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let body = resp.body_mut();
    match declared.or_else(|| hyper::body::Body::size_hint(body).exact()) {
        Some(n) if n > 0 && n <= ONE_WRITE => {
            body.store_all_limited(ONE_WRITE as usize).await?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Once the S3 accept loop has ended: stops the edges (`stop`), lets open
/// connections finish for up to [`DRAIN`], and waits as long for each edge
/// task. `serve`'s and the gateway's way to end.
async fn drain(
    name: &str,
    stop: &watch::Sender<bool>,
    graceful: hyper_util::server::graceful::GracefulShutdown,
    edges: Vec<tokio::task::JoinHandle<()>>,
) {
    let _ = stop.send(true);
    eprintln!("{name}: shutting down");
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(DRAIN) => {},
    }
    for edge in edges {
        let _ = tokio::time::timeout(DRAIN, edge).await;
    }
}
