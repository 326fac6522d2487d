//! `serve`: S3 over the store, `?torrent`, the console, the metrics and the
//! swarm, on the edge's listeners and HTTP front ([`crate::edge`]).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use s3s::auth::SimpleAuth;
use s3s::host::{S3Host, VirtualHost};
use s3s::service::S3ServiceBuilder;
use s3torrent_http::AdapterConfig;
use s3torrent_s3::TorrentService;
use tokio::sync::watch;

use crate::config::{MinBodyRate, ServerConfig};
use crate::edge::front;
use crate::edge::listen::{Endpoint, Scheme};
use crate::edge::{Front, Listeners, Start, serve_http};
use crate::error::Error;
use crate::ops::{self, Server};
use crate::route;
use crate::store::{DbCache, Store};
use crate::swarm::{self, Swarm, SwarmSource};
use crate::throttle::Throttle;

/// Serves S3 and `?torrent`, and with [`Seeding::Peer`](crate::Seeding::Peer) or
/// [`Seeding::Both`](crate::Seeding::Both) the tracker and the seeding peer, until `shutdown`
/// completes; then lets requests in flight finish (at most 10 s).
///
/// Once the root is open it says so on stderr, ending with
/// `serve: listening on http://ADDR` (`https://` with
/// [`Listeners::tls`]); then one line per request, announce
/// and peer connection. Bind the addresses clients will reach: they are
/// written into the torrents. Opening the root fails with [`Error::Root`]
/// when another server holds its database; a configuration without users
/// fails with [`Error::NoUsers`], and one that seeds as a peer without its
/// listeners, or asks for a DHT node without seeding as a peer, with
/// [`Error::Config`]. A DHT node's address that is not IPv4, or cannot be
/// bound, is an [`Error::Listener`].
///
/// ```no_run
/// # async fn run() -> Result<(), s3torrent_server::Error> {
/// use s3torrent_server::{Listeners, ServerConfig, User, serve};
///
/// let mut config = ServerConfig::default();
/// config.users.push(User::development());
/// let listeners =
///     Listeners::bind("127.0.0.1:9000", config.swarm.seeding, "127.0.0.1:6969", "127.0.0.1:6881")
///         .await?;
/// serve(config, listeners, async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await
/// # }
/// ```
pub async fn serve(
    config: ServerConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    if config.users.is_empty() {
        return Err(Error::NoUsers);
    }
    let Start {
        s3: listener,
        addr,
        swarm: swarm_listeners,
        metrics,
        tls,
        own_trackers,
        policy,
    } = Start::new(Endpoint::Serve, listeners, &config.front, &config.swarm)?;

    let mut auth = SimpleAuth::new();
    for u in &config.users {
        auth.register(u.access_key.clone(), u.secret_key.clone().into());
    }
    let store = Store::open(&config.root, config.users.clone()).map_err(|e| Error::Root {
        path: config.root.clone(),
        source: Box::new(e),
    })?;
    let store = Arc::new(store);

    let torrents = Arc::new(TorrentService::with_cache(
        policy,
        DbCache::new(Arc::clone(&store)),
    ));
    let throttle = config
        .swarm
        .seed_rate
        .map(|rate| Arc::new(Throttle::new(rate)));

    // Per request: one over TLS (the listener's own, or a trusted
    // proxy's) always brings SSE-C keys; one over plain HTTP only when
    // allowed.
    let customer_keys = match config.sse_c_over_http {
        crate::config::SseCOverHttp::Allow => ops::encryption::CustomerKeys::AnyTransport,
        _ => ops::encryption::CustomerKeys::SecureOnly,
    };
    let server = || Server {
        store: Arc::clone(&store),
        torrents: Arc::clone(&torrents),
        throttle: throttle.clone(),
        customer_keys,
    };
    // The same operations without a signature check, for a request whose
    // signature the outer service has checked already and whose signed
    // `Range` header is to be ignored (see `route::TorrentRoute`).
    let mut verified = S3ServiceBuilder::new(server());
    if let Some(domain) = &config.base_domain {
        verified.set_host(BaseDomain(domain.to_ascii_lowercase()));
    }
    let verified = verified.build();
    let mut builder = S3ServiceBuilder::new(server());
    builder.set_auth(auth);
    builder.set_access(ops::Access {
        store: Arc::clone(&store),
    });
    if let Some(domain) = &config.base_domain {
        builder.set_host(BaseDomain(domain.to_ascii_lowercase()));
    }
    builder.set_route(route::TorrentRoute {
        store: Arc::clone(&store),
        torrents: Arc::clone(&torrents),
        config: AdapterConfig::new(config.base_domain.clone()),
        verified,
    });
    let service = builder.build();
    // The console's pages, on the S3 listener; its links name the
    // endpoint as clients reach it.
    let console = Arc::new(crate::console::Console::new(
        Arc::clone(&store),
        Arc::clone(&torrents),
        service.clone(),
        config
            .front
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}")),
        config.webtorrent_js.clone(),
    ));

    let (stop, stopping) = watch::channel(false);
    let mut edges = Vec::new();
    if let Some(listeners) = swarm_listeners {
        let source: Arc<dyn SwarmSource> = Arc::new(Swarm::new(Arc::clone(&store), torrents));
        edges = swarm::spawn_edges(
            Endpoint::Serve,
            listeners,
            source,
            throttle.clone(),
            crate::swarm::SwarmSettings::new(
                &config.swarm,
                &config.front,
                own_trackers,
                tls.clone(),
            ),
            &stopping,
        )
        .map_err(Error::Listener)?;
    }

    // The start-up lines stay plain `eprintln!`, whatever the log format:
    // they are few, not on any hot path, and scripts and the end-to-end
    // tests wait for `serve: listening on http://ADDR` as a line of its own.
    // Everything logged per request, announce or peer connection, and every
    // warning, is a `tracing` event.
    eprintln!("serve: root {}", config.root.display());
    eprintln!(
        "serve: ?torrent answers {} torrents, seeding {}",
        config.front.torrent_version, config.swarm.seeding
    );
    if let Some(listener) = metrics {
        let store = Arc::clone(&store);
        let health: crate::edge::Health =
            Arc::new(move || store.buckets().map(drop).map_err(Into::into));
        edges.push(crate::edge::spawn_metrics(
            "serve", listener, health, &stopping,
        )?);
    }
    eprintln!(
        "serve: listening on {}://{addr}",
        Scheme::of(tls.as_ref()).as_str()
    );

    let front = Front::new(
        Endpoint::Serve,
        &config.front,
        config.base_domain.as_deref().map(Arc::from),
        tls,
    );
    let min_body_rate = config.front.min_body_rate;
    let cors = Arc::new(crate::cross_origin::Cors {
        store: Arc::clone(&store),
        addressing: Arc::new(AdapterConfig::new(config.base_domain.clone())),
    });
    let base_domain = config.base_domain.clone();
    let v2_store = Arc::clone(&store);
    let handle = move |mut req: hyper::Request<hyper::body::Incoming>, request_id: String| {
        // A console page (`/_s3torrent/`), unless the host names a bucket.
        let page = crate::metrics::console_wants(
            req.uri().path(),
            crate::metrics::host_names_bucket(req.headers(), base_domain.as_deref()),
        )
        .then(|| Arc::clone(&console));
        let early = match page {
            Some(_) => None,
            None => front::screen(&mut req, &request_id),
        };
        // A SigV2 request to a bucket alone, signed over `/bucket/` as
        // botocore signs it: that path, for s3s to check the signature over.
        if early.is_none()
            && let Some(path) = crate::edge::sigv2::bucket_path_as_signed(
                &req,
                crate::metrics::host_names_bucket(req.headers(), base_domain.as_deref()),
                |key| {
                    v2_store
                        .user_by_access_key(key)
                        .map(|u| u.secret_key.clone())
                },
            )
            && let Ok(uri) = path.parse()
        {
            *req.uri_mut() = uri;
        }
        req.extensions_mut()
            .insert(front::RequestId(request_id.clone()));
        let s3 = service.clone();
        let cors = Arc::clone(&cors);
        // Only a request with `Origin` is looked at for CORS.
        let cross_origin = cors.cross_origin(&req);
        async move {
            if let Some(console) = page {
                let uri = req.uri();
                return Ok(console.answer(req.method(), uri.path(), uri.query()).await);
            }
            if req.method() == hyper::Method::OPTIONS {
                return Ok(cors.preflight(&req, &request_id).await);
            }
            let form = is_form(&req);
            let mut answer = match early {
                Some(answer) => Ok(answer),
                None => call(&s3, req, min_body_rate, &request_id, &cors.store).await,
            };
            if form && let Ok(refused) = answer {
                answer = Ok(policy_refusal(refused, &request_id).await);
            }
            if let (Some(cross_origin), Ok(answer)) = (cross_origin, &mut answer) {
                cors.decorate(cross_origin, answer).await;
            }
            answer
        }
    };
    serve_http(&listener, front, shutdown, &stop, edges, handle).await;
    Ok(())
}

/// Whether `req` is a browser form's upload (PostObject): a POST of
/// `multipart/form-data`.
fn is_form<B>(req: &hyper::Request<B>) -> bool {
    req.method() == hyper::Method::POST
        && req
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            })
}

/// A form's answer as S3 gives it: a policy condition the form failed is
/// `AccessDenied` (403), where s3s answers `InvalidPolicyDocument` (400)
/// ([`crate::ops::failed_condition`]); any other answer is passed on as
/// it is (a 400's body, at most a few KiB, is read to tell).
async fn policy_refusal(
    answer: hyper::Response<s3s::Body>,
    request_id: &str,
) -> hyper::Response<s3s::Body> {
    use http_body_util::BodyExt;
    if answer.status() != hyper::StatusCode::BAD_REQUEST {
        return answer;
    }
    let (mut parts, body) = answer.into_parts();
    let limited = http_body_util::Limited::new(body, crate::ops::MAX_REFUSAL_BYTES);
    let bytes = match limited.collect().await {
        Ok(collected) => collected.to_bytes(),
        // Larger or broken: no refusal of s3s's is; answer a plain 400.
        Err(_) => {
            parts.headers.remove(hyper::header::CONTENT_LENGTH);
            return hyper::Response::from_parts(parts, s3s::Body::empty());
        }
    };
    match crate::ops::failed_condition(parts.status.as_u16(), &bytes) {
        Some(message) => front::error(
            hyper::StatusCode::FORBIDDEN,
            "AccessDenied",
            &s3torrent_http::xml_escape(&message),
            "",
            request_id,
        ),
        None => hyper::Response::from_parts(parts, s3s::Body::from(bytes)),
    }
}

/// Hands a request to s3s, its body held to `min_body_rate` when it has
/// one: a body that falls below it is answered `RequestTimeout`, whatever
/// the operation made of the failed body.
async fn call(
    s3: &s3s::service::S3Service,
    req: hyper::Request<hyper::body::Incoming>,
    min_body_rate: Option<MinBodyRate>,
    request_id: &str,
    store: &Arc<Store>,
) -> Result<hyper::Response<s3s::Body>, s3s::HttpError> {
    let (req, too_slow) = front::meter(req, min_body_rate);
    if crate::chunked::needs_spooling(&req) {
        // A chunked upload: received whole first (`crate::chunked`).
        let resp = match crate::chunked::spool(store, req).await {
            Ok(req) => s3.call(req).await,
            Err(_) if too_slow.load(Ordering::Acquire) => {
                return Ok(front::request_timeout(request_id));
            }
            Err(refused) => {
                match &refused {
                    crate::chunked::Unspooled::Disk(why) => {
                        tracing::warn!(target: "serve", error = %why, "spooling a chunked upload failed");
                    }
                    crate::chunked::Unspooled::Body(why) => {
                        tracing::debug!(target: "serve", error = %why, "a chunked upload's body failed");
                    }
                    crate::chunked::Unspooled::TooLarge => {}
                }
                return Ok(refused.answer(request_id));
            }
        };
        return resp;
    }
    let (parts, body) = req.into_parts();
    let resp = match body {
        // No body to hold to a rate: s3s reads hyper's as it is.
        http_body_util::Either::Left(body) => {
            let req = hyper::Request::from_parts(parts, body);
            hyper::service::Service::call(s3, req).await
        }
        metered => {
            let req = hyper::Request::from_parts(parts, s3s::Body::http_body(metered));
            s3.call(req).await
        }
    };
    if too_slow.load(Ordering::Acquire) {
        return Ok(front::request_timeout(request_id));
    }
    resp
}

/// Virtual-hosted-style addressing under a base domain: `BUCKET.DOMAIN[:port]`
/// names the bucket; any other host is path-style. (s3s's own hosts compare
/// the `Host` header with its port, so `bucket.domain:9000` never matched.)
struct BaseDomain(String);

impl S3Host for BaseDomain {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> s3s::S3Result<VirtualHost<'a>> {
        // The adapter's rule, so that `?torrent` and the operations agree
        // (a trailing dot, a port, case, IPv6 literals).
        match s3torrent_http::virtual_host_bucket(host, &self.0) {
            Some(bucket) => Ok(VirtualHost::new(self.0.as_str()).with_bucket(bucket)),
            None => Ok(VirtualHost::new(host)),
        }
    }
}
