//! `s3torrent gateway`: GetObjectTorrent (and a web seed) in front of an
//! existing S3 cluster (tested against Ceph RGW 16.2).
//!
//! - **Everything but `?torrent` passes through** to the upstream, streamed
//!   both ways, with the client's headers, `Host` included, so its SigV4
//!   signature stays valid: the upstream checks it against the `Host` the
//!   client signed, which is the gateway's address. So the upstream must
//!   accept requests for the gateway's host name: path-style requests work
//!   with any host (RGW's default); for virtual-hosted-style ones, give
//!   the upstream the gateway's domain (RGW: `rgw dns name`).
//! - **`?torrent`** is answered here, with `serve`'s decision order, errors
//!   and headers (through `s3torrent-http` and the torrent service). The
//!   client's signature is checked (s3s's SigV4, against the `--user`
//!   keys, which are the cluster's users); whether it may read the object
//!   is the cluster's answer to a `HEAD` signed as that user (or unsigned,
//!   for an anonymous requester), with its `versionId`,
//!   `x-amz-request-payer` and `x-amz-expected-bucket-owner`.
//! - **Hashing** reads ranged GETs as the requester, pinned to the ETag
//!   (`If-Match`), several in parallel (one per hashing thread).
//! - **The cache** is in the cluster ([`GatewayConfig::cache_bucket`]),
//!   with an LRU in front: replicas share it, restarts keep it.

mod cache;
mod error;
mod route;
mod source;
mod swarm;
mod upstream;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use s3torrent_http::AdapterConfig;
use s3torrent_s3::{HashOptions, TorrentService};
use tokio::sync::watch;

use crate::config::{FrontConfig, Seeding, SwarmConfig, User, principal_of_account};
use crate::edge::Listeners;
use crate::edge::front;
use crate::edge::listen::Endpoint;
use crate::error::Error;
use crate::swarm::SwarmSource;
use crate::throttle::Throttle;

use self::cache::ClusterCache;
use self::error::UpstreamError;
use self::source::Shared;
use self::upstream::{Signer, Upstream};

/// The hashing threads, each with one ranged GET in flight: the reads wait
/// on the network more than on SHA-1, so more than the cores.
const HASH_THREADS: usize = 4;

/// Each hashing thread's read: one ranged GET.
const HASH_READ_BYTES: usize = 4 << 20;

/// The gateway's own credentials on the upstream: they own the cache
/// bucket.
#[derive(Clone)]
#[non_exhaustive]
pub struct UpstreamCredentials {
    /// The access key.
    pub access_key: String,
    /// The secret key.
    pub secret_key: String,
}

impl UpstreamCredentials {
    /// Credentials from an access key and a secret key.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        UpstreamCredentials {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
        }
    }
}

impl std::fmt::Debug for UpstreamCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamCredentials")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// The configuration of [`gateway`], as plain data.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// The cluster: `http://HOST:PORT`.
    pub upstream: String,
    /// The cluster's users whose keys the gateway holds, to check a
    /// `?torrent`'s signature and sign its `HEAD` as that user. Requests
    /// that pass through are checked by the cluster, whoever signed them.
    pub users: Vec<User>,
    /// The gateway's own user on the cluster, which owns the cache bucket.
    /// Without it torrents are cached in memory only.
    pub upstream_credentials: Option<UpstreamCredentials>,
    /// The region the gateway signs its own requests for.
    pub region: String,
    /// How the gateway faces its clients, as `serve`'s
    /// [`ServerConfig::front`](crate::ServerConfig::front). Its
    /// [`public_url`](FrontConfig::public_url) is the web seed in torrents:
    /// replicas behind one name share it, and so share their cached
    /// torrents (the address is part of the cache key).
    pub front: FrontConfig,
    /// How objects are seeded ([`Seeding::Web`] by default) and how the
    /// swarm holds, as `serve`'s
    /// [`ServerConfig::swarm`](crate::ServerConfig::swarm).
    pub swarm: SwarmConfig,
    /// The bucket that holds the torrents, created when missing.
    pub cache_bucket: String,
}

impl GatewayConfig {
    /// The default cache bucket: `s3torrent-cache`.
    pub const DEFAULT_CACHE_BUCKET: &'static str = "s3torrent-cache";

    /// A configuration for `upstream` with the defaults: no users, memory
    /// cache only until credentials are set, region `us-east-1`, the AWS
    /// size limit, v1 torrents, web seeding.
    pub fn new(upstream: impl Into<String>) -> Self {
        GatewayConfig {
            upstream: upstream.into(),
            users: Vec::new(),
            upstream_credentials: None,
            region: "us-east-1".into(),
            front: FrontConfig::default(),
            swarm: SwarmConfig {
                seeding: Seeding::Web,
                ..SwarmConfig::default()
            },
            cache_bucket: Self::DEFAULT_CACHE_BUCKET.into(),
        }
    }
}

/// The server's error for an upstream the gateway cannot use.
fn upstream_error(e: UpstreamError) -> Error {
    Error::Upstream {
        source: Box::new(e),
    }
}

/// Serves the gateway on `listeners.s3` until `shutdown` completes.
///
/// With [`Seeding::Peer`] or [`Seeding::Both`] it also runs the tracker and
/// the seeding peer on `listeners.swarm`, as `serve` does.
///
/// Prints `gateway: listening on http://ADDR` on stderr once ready. Fails
/// with [`Error::Upstream`] for an unusable upstream URL or a cache bucket
/// it can neither find nor create, and with [`Error::Config`] for seeding
/// as a peer without the swarm's listeners or a DHT node without seeding
/// as a peer.
pub async fn gateway(
    config: GatewayConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let crate::edge::Start {
        s3: listener,
        addr,
        swarm: swarm_listeners,
        metrics,
        tls,
        own_trackers,
        policy,
    } = crate::edge::Start::new(Endpoint::Gateway, listeners, &config.front, &config.swarm)?;
    let upstream =
        Arc::new(Upstream::new(&config.upstream, &config.region).map_err(upstream_error)?);
    let runtime = tokio::runtime::Handle::current();
    let own = config.upstream_credentials.as_ref().map(|c| Signer {
        access_key: c.access_key.clone(),
        secret_key: c.secret_key.clone(),
    });
    let cache = ClusterCache::new(
        Arc::clone(&upstream),
        runtime.clone(),
        own.clone(),
        config.cache_bucket.clone(),
    );
    cache.ensure_bucket().await.map_err(upstream_error)?;

    let torrents = Arc::new(
        TorrentService::with_cache(policy, cache).with_hash_options(
            HashOptions::new()
                .threads(HASH_THREADS)
                .buffer_size(HASH_READ_BYTES),
        ),
    );

    let mut auth = SimpleAuth::new();
    for u in &config.users {
        auth.register(u.access_key.clone(), u.secret_key.clone().into());
    }
    let fallback_owner = principal_of_account("000000000000")
        .map_err(|e| Error::Config(format!("gateway: {}", e.message())))?;
    let mut builder = S3ServiceBuilder::new(route::NoOperations);
    builder.set_auth(auth);
    let shared = Arc::new(Shared {
        upstream: Arc::clone(&upstream),
        runtime: runtime.clone(),
        accounts: config
            .users
            .iter()
            .map(|u| {
                (
                    Signer {
                        access_key: u.access_key.clone(),
                        secret_key: u.secret_key.clone(),
                    },
                    u.principal.clone(),
                )
            })
            .collect(),
        fallback_owner,
    });
    builder.set_route(route::GatewayTorrentRoute {
        shared: Arc::clone(&shared),
        torrents: Arc::clone(&torrents),
        users: config.users.clone(),
        config: AdapterConfig::new(None),
    });
    let torrent_service = builder.build();

    eprintln!("gateway: upstream {}", upstream.endpoint());
    match &own {
        Some(_) => eprintln!("gateway: torrents cached in bucket {}", config.cache_bucket),
        None => eprintln!("gateway: no --upstream-access-key: torrents are cached in memory only"),
    }
    eprintln!(
        "gateway: ?torrent answers {} torrents, seeding {}",
        config.front.torrent_version, config.swarm.seeding
    );
    let (stop, stopping) = watch::channel(false);
    let mut edges = Vec::new();
    if let Some(listener) = metrics {
        // Up while it answers: the upstream's health is its own.
        let health: crate::edge::Health = Arc::new(|| Ok(()));
        edges.push(crate::edge::spawn_metrics(
            "gateway", listener, health, &stopping,
        )?);
    }
    eprintln!(
        "gateway: listening on {}://{addr}",
        crate::edge::listen::Scheme::of(tls.as_ref()).as_str()
    );

    if let Some(listeners) = swarm_listeners {
        let source: Arc<dyn SwarmSource> = Arc::new(swarm::ClusterSwarm {
            shared: Arc::clone(&shared),
            torrents: Arc::clone(&torrents),
        });
        let throttle = config
            .swarm
            .seed_rate
            .map(|rate| Arc::new(Throttle::new(rate)));
        edges.extend(
            crate::swarm::spawn_edges(
                Endpoint::Gateway,
                listeners,
                source,
                throttle,
                crate::swarm::SwarmSettings::new(
                    &config.swarm,
                    &config.front,
                    own_trackers,
                    tls.clone(),
                ),
                &stopping,
            )
            .map_err(Error::Listener)?,
        );
    }
    // Path-style (the gateway's `?torrent` is): no base domain.
    let front = crate::edge::Front::new(Endpoint::Gateway, &config.front, None, tls);
    let min_body_rate = config.front.min_body_rate;
    let handle = move |mut req: hyper::Request<hyper::body::Incoming>, request_id: String| {
        let (torrent_service, upstream) = (torrent_service.clone(), Arc::clone(&upstream));
        async move {
            if s3torrent_http::is_torrent_request(req.method(), req.uri()) {
                req.extensions_mut().insert(front::RequestId(request_id));
                return hyper::service::Service::call(&torrent_service, req).await;
            }
            // Passed through: the cluster's answer, with its own IDs. A
            // body is held to the minimum rate on its way.
            let method = req.method().clone();
            let (req, too_slow) = front::meter(req, min_body_rate);
            let forwarded = upstream.forward(req).await;
            if too_slow.load(Ordering::Acquire) {
                return Ok(front::request_timeout(&request_id));
            }
            Ok(match forwarded {
                Ok(resp) => resp.map(s3s::Body::from),
                Err(e) => {
                    tracing::warn!(target: "gateway", error = %e, "upstream failed");
                    upstream_failed(&method, &request_id)
                }
            })
        }
    };
    crate::edge::serve_http(&listener, front, shutdown, &stop, edges, handle).await;
    Ok(())
}

/// The answer when the upstream cannot be reached: S3's `InternalError`
/// (retryable), as XML (the front gives it its IDs).
fn upstream_failed(method: &http::Method, request_id: &str) -> http::Response<s3s::Body> {
    let err = s3torrent_s3::S3Error::with_message(
        s3torrent_s3::ErrorCode::InternalError,
        "We encountered an internal error. Please try again. (the upstream did not answer)",
        "",
    );
    let cx = s3torrent_http::RequestContext::new(s3torrent_s3::Requester::Anonymous, request_id)
        .with_host_id(front::host_id());
    s3torrent_http::error_response(&err, method, &cx).map(s3s::Body::from)
}
