//! The s3torrent S3 endpoint as a library: what `s3torrent serve` runs.
//!
//! - **The store**: object data in immutable files named by internal IDs
//!   (`ROOT/.s3torrent/data/ID`, so any S3 key is storable and none becomes
//!   a path), every piece of metadata, multipart uploads and cached torrents
//!   in a redb database (`ROOT/.s3torrent.redb`), each write one commit, so
//!   everything survives a restart and a crash. Files put under
//!   `ROOT/BUCKET/` by hand are adopted where their path is a key.
//! - **The S3 operations**, through the [`s3s`] framework (SigV4, routing,
//!   XML): buckets, objects with ranges, listings, canned ACLs, requester
//!   pays and multipart upload.
//! - **GetObjectTorrent** (`?torrent`), routed after the signature check
//!   through `s3torrent-http` and `s3torrent-s3`; torrents carry the
//!   endpoint itself as a BEP 19 web seed.
//! - **The swarm** ([`Seeding::Peer`], the default): torrents list the
//!   endpoint's own HTTP tracker (`s3torrent-tracker`), and the endpoint
//!   seeds every served object as a BitTorrent peer (`s3torrent-peer`),
//!   both under `?torrent`'s rules: only while the torrent could be
//!   fetched anonymously.
//! - **The tokio edges**: [`serve`] accepts S3, tracker and peer
//!   connections until a shutdown future completes; `--seed-rate` is one
//!   budget for everything uploaded.
//!
//! - **The gateway**
#![cfg_attr(feature = "gateway", doc = "  ([`gateway`]):")]
#![cfg_attr(not(feature = "gateway"), doc = "  (`gateway`, feature `gateway`):")]
//!   the same `?torrent`, web seed, tracker
//!   and peer in front of an existing S3 cluster (Ceph RGW), which keeps the
//!   bytes and decides who may read them; everything else passes through.
//!
//! - **Logs** are [`tracing`](https://docs.rs/tracing) events, one per
//!   request (target `serve`), announce (`tracker`) and peer connection
//!   (`peer`), with fields; install a subscriber to see them (the
//!   `s3torrent` binary writes them to stderr, as text or JSON). The
//!   start-up lines, `serve: listening on http://ADDR` last, go to stderr
//!   directly.
//! - **TLS**: with [`Listeners::tls`] set ([`Tls::load`]), the S3
//!   listener and the HTTP tracker speak HTTPS with one certificate, which
//!   [`Tls::reload`] replaces for new handshakes; torrents then name
//!   `https://` web seeds and trackers.
//! - **Metrics**: with [`Listeners::bind_metrics`], a listener of its own
//!   answers `GET /metrics` (OpenMetrics or Prometheus text, by
//!   `prometheus-client`: requests by operation and status, bytes by
//!   channel, torrents made and cached, connections, the tracker's swarms,
//!   and the bandwidth the swarm saved, in all and per torrent),
//!   `/health` and `/ready`.
//! - **The console**: read-only HTML pages under `/_s3torrent/` on the S3
//!   listener (public buckets, public objects with their `.torrent` and
//!   magnet links, a QR code and the live swarm), showing an anonymous
//!   caller what S3 shows one.
//!
//! A host or a test runs it in-process on listeners it bound itself:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use s3torrent_server::{Listeners, ServerConfig, User, serve};
//! use tokio::net::TcpListener;
//!
//! let mut config = ServerConfig::default();
//! config.root = "data".into();
//! config.users.push("AKIA1:secret:111122223333".parse::<User>()?);
//! let listeners = Listeners::with_swarm(
//!     TcpListener::bind("127.0.0.1:0").await?,
//!     TcpListener::bind("127.0.0.1:0").await?,
//!     TcpListener::bind("127.0.0.1:0").await?,
//! );
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(serve(config, listeners, async {
//!     let _ = stopped.await;
//! }));
//! // … talk S3 to the listener's address …
//! let _ = stop.send(());
//! server.await??;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod checksum;
mod chunked;
mod config;
mod console;
mod cors;
mod cross_origin;
mod edge;
mod error;
#[cfg(feature = "gateway")]
mod gateway;
mod metrics;
mod ops;
mod route;
mod serve;
mod sse;
mod store;
mod swarm;
mod throttle;

pub use config::{
    AnnounceRate, DhtConfig, FrontConfig, MinBodyRate, PeerEncryption, Seeding, ServerConfig,
    SseCOverHttp, SwarmConfig, SwarmLimits, User,
};
pub use edge::Listeners;
pub use edge::listen::SwarmListeners;
pub use edge::tls::Tls;
pub use error::{Error, TlsFile};
#[cfg(feature = "gateway")]
pub use gateway::{GatewayConfig, UpstreamCredentials, gateway};
pub use s3torrent_tracker::{Cidr, TrustedProxies};
pub use serve::serve;
