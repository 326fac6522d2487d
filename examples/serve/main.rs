//! `serve`: an S3-compatible endpoint over a local folder that answers
//! GetObjectTorrent (`?torrent`) and seeds its own objects as a BEP 19 web
//! seed.
//!
//! ```text
//! cargo run --release --example serve -- [--root DIR] [--listen ADDR] [--base-domain NAME]
//!     [--user ACCESS:SECRET:ACCOUNT_ID]... [--max-torrent-size BYTES]
//!     [--torrent-version v1|v2|hybrid]
//! ```
//!
//! `?torrent` answers v1 torrents, as Amazon S3 did, unless
//! `--torrent-version` asks for BEP 52 v2 or hybrid ones.
//!
//! S3 operations (SigV4, routing, XML) are served by the `s3s` framework;
//! `?torrent` goes through `s3torrent-http` and `s3torrent-s3`.

#[path = "../common/mod.rs"]
mod common;
mod ops;
mod route;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::host::{S3Host, VirtualHost};
use s3s::service::S3ServiceBuilder;
use s3torrent::http::AdapterConfig;
use s3torrent::s3::{Addressing, TorrentPolicy, TorrentService, TorrentVersion, WebSeed};
use tokio::net::TcpListener;

use crate::ops::Server;
use crate::store::{DbCache, Store, User};

const USAGE: &str = "usage: serve [--root DIR] [--listen ADDR] [--base-domain NAME] \
[--user ACCESS:SECRET:ACCOUNT_ID]... [--max-torrent-size BYTES] \
[--torrent-version v1|v2|hybrid]";

/// The development user when no `--user` is given.
const DEV_USER: (&str, &str, &str) = ("s3torrent", "s3torrent-dev-secret", "000000000001");

struct Args {
    root: PathBuf,
    listen: String,
    base_domain: Option<String>,
    users: Vec<User>,
    max_torrent_size: u64,
    torrent_version: TorrentVersion,
}

fn parse_args() -> Result<Args, String> {
    use lexopt::prelude::*;
    let mut args = Args {
        root: PathBuf::from("data"),
        listen: "127.0.0.1:9000".into(),
        base_domain: None,
        users: Vec::new(),
        max_torrent_size: TorrentPolicy::AWS_MAX_OBJECT_SIZE,
        torrent_version: TorrentVersion::V1,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("root") => args.root = common::flag_value(&mut parser, "--root")?.into(),
            Long("listen") => args.listen = common::flag_value(&mut parser, "--listen")?,
            Long("base-domain") => {
                args.base_domain = Some(common::flag_value(&mut parser, "--base-domain")?)
            }
            Long("user") => {
                let v = common::flag_value(&mut parser, "--user")?;
                let parts: Vec<&str> = v.splitn(3, ':').collect();
                let [access, secret, account] = parts[..] else {
                    return Err(format!("--user {v:?}: expected ACCESS:SECRET:ACCOUNT_ID"));
                };
                args.users
                    .push(User::new(access, secret, account).map_err(|e| format!("--user: {e}"))?);
            }
            Long("max-torrent-size") => {
                let v = common::flag_value(&mut parser, "--max-torrent-size")?;
                args.max_torrent_size = v
                    .parse()
                    .map_err(|_| format!("--max-torrent-size {v:?}: not a number"))?;
            }
            Long("torrent-version") => {
                let v = common::flag_value(&mut parser, "--torrent-version")?;
                args.torrent_version = v.parse().map_err(|e| format!("--torrent-version: {e}"))?;
            }
            Short('h') | Long("help") => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected().to_string()),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let mut args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.users.is_empty() {
        let (a, s, acct) = DEV_USER;
        args.users
            .push(User::new(a, s, acct).expect("valid development user"));
        eprintln!("serve: development credentials: access key {a}, secret key {s}, account {acct}");
        eprintln!(
            "serve:   export AWS_ACCESS_KEY_ID={a} AWS_SECRET_ACCESS_KEY={s} AWS_DEFAULT_REGION=us-east-1"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Virtual-hosted-style addressing under `--base-domain`: `BUCKET.DOMAIN[:port]`
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

async fn run(args: Args) -> Result<(), String> {
    let listener = TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("{}: {e}", args.listen))?;
    let addr: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;

    let mut auth = SimpleAuth::new();
    for u in &args.users {
        auth.register(u.access_key.clone(), u.secret_key.clone().into());
    }
    let store = Arc::new(Store::open(&args.root, args.users).map_err(|e| format!("--root: {e}"))?);

    let mut policy = TorrentPolicy::default();
    policy.max_object_size = args.max_torrent_size;
    policy.version = args.torrent_version;
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
    if let Some(domain) = &args.base_domain {
        builder.set_host(BaseDomain(domain.to_ascii_lowercase()));
    }
    builder.set_route(route::TorrentRoute {
        store: Arc::clone(&store),
        torrents,
        config: AdapterConfig::new(args.base_domain.clone()),
    });
    let service = builder.build();

    eprintln!("serve: root {}", args.root.display());
    eprintln!("serve: ?torrent answers {} torrents", args.torrent_version);
    eprintln!("serve: listening on http://{addr}");

    let http = ConnBuilder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(e) => {
                    eprintln!("serve: accept failed: {e}");
                    continue;
                }
            },
            _ = ctrl_c.as_mut() => break,
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
        () = tokio::time::sleep(std::time::Duration::from_secs(10)) => {},
    }
    Ok(())
}
