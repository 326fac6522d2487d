//! The tokio edge: accept connections, hand them to hyper and s3s, log one
//! line per request, and shut down gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::host::{S3Host, VirtualHost};
use s3s::service::S3ServiceBuilder;
use s3torrent_http::AdapterConfig;
use s3torrent_s3::{Addressing, TorrentPolicy, TorrentService, WebSeed};
use tokio::net::TcpListener;

use crate::config::ServerConfig;
use crate::error::Error;
use crate::ops::{self, Server};
use crate::route;
use crate::store::{DbCache, Store};

/// How long a graceful shutdown waits for requests in flight.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves S3 and `?torrent` on `listener` until `shutdown` completes, then
/// lets requests in flight finish (at most 10 s).
///
/// Once the root is open it says so on stderr, ending with
/// `serve: listening on http://ADDR`; then one line per request.
///
/// The listener's local address is the web seed's address in every torrent
/// (`url-list`), so bind the address clients will reach. Opening the root
/// fails with [`Error::Root`] when another server holds its database;
/// a configuration without users fails with [`Error::NoUsers`].
///
/// ```no_run
/// # async fn run() -> Result<(), s3torrent_server::Error> {
/// use s3torrent_server::{ServerConfig, User, serve};
///
/// let mut config = ServerConfig::default();
/// config.users.push(User::development());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:9000")
///     .await
///     .map_err(s3torrent_server::Error::Listener)?;
/// serve(config, listener, async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await
/// # }
/// ```
pub async fn serve(
    config: ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let addr: SocketAddr = listener.local_addr().map_err(Error::Listener)?;
    if config.users.is_empty() {
        return Err(Error::NoUsers);
    }

    let mut auth = SimpleAuth::new();
    for u in &config.users {
        auth.register(u.access_key.clone(), u.secret_key.clone().into());
    }
    let store = Store::open(&config.root, config.users.clone()).map_err(|reason| Error::Root {
        path: config.root.clone(),
        reason,
    })?;
    let store = Arc::new(store);

    let mut policy = TorrentPolicy::default();
    policy.max_object_size = config.max_torrent_size;
    policy.version = config.torrent_version;
    policy.web_seed = Some(WebSeed {
        endpoint: format!("http://{addr}"),
        addressing: Addressing::Path,
    });
    let torrents = Arc::new(TorrentService::with_cache(
        policy,
        DbCache(Arc::clone(&store)),
    ));

    let mut builder = S3ServiceBuilder::new(Server {
        store: Arc::clone(&store),
        torrents: Arc::clone(&torrents),
    });
    builder.set_auth(auth);
    builder.set_access(ops::Access);
    if let Some(domain) = &config.base_domain {
        builder.set_host(BaseDomain(domain.to_ascii_lowercase()));
    }
    builder.set_route(route::TorrentRoute {
        store: Arc::clone(&store),
        torrents,
        config: AdapterConfig::new(config.base_domain.clone()),
    });
    let service = builder.build();

    eprintln!("serve: root {}", config.root.display());
    eprintln!(
        "serve: ?torrent answers {} torrents",
        config.torrent_version
    );
    eprintln!("serve: listening on http://{addr}");

    let http = ConnBuilder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(e) => {
                    eprintln!("serve: accept failed: {e}");
                    continue;
                }
            },
            () = shutdown.as_mut() => break,
        };
        let s3 = service.clone();
        let logged =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let s3 = s3.clone();
                let (method, path) = (
                    req.method().clone(),
                    req.uri()
                        .path_and_query()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                );
                let started = Instant::now();
                async move {
                    let resp = hyper::service::Service::call(&s3, req).await;
                    if let Ok(r) = &resp {
                        let bytes = r
                            .headers()
                            .get(http::header::CONTENT_LENGTH)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        eprintln!(
                            "{method} {path} {} {bytes} {:.1}ms",
                            r.status().as_u16(),
                            started.elapsed().as_secs_f64() * 1000.0
                        );
                    }
                    resp
                }
            });
        let conn = http.serve_connection(TokioIo::new(socket), logged);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    eprintln!("serve: shutting down");
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(DRAIN) => {},
    }
    Ok(())
}

/// Virtual-hosted-style addressing under a base domain: `BUCKET.DOMAIN[:port]`
/// names the bucket; any other host is path-style. (s3s's own hosts compare
/// the `Host` header with its port, so `bucket.domain:9000` never matched.)
struct BaseDomain(String);

impl S3Host for BaseDomain {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> s3s::S3Result<VirtualHost<'a>> {
        let name = host
            .rsplit_once(':')
            .map_or(host, |(name, _)| name)
            .to_ascii_lowercase();
        match name
            .strip_suffix(self.0.as_str())
            .and_then(|b| b.strip_suffix('.'))
        {
            Some(bucket) if !bucket.is_empty() => {
                Ok(VirtualHost::new(self.0.as_str()).with_bucket(bucket.to_owned()))
            }
            _ => Ok(VirtualHost::new(host)),
        }
    }
}
