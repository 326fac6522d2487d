//! The s3torrent S3 endpoint as a library: what `s3torrent serve` runs.
//!
//! - **The store**: object data as files under a root folder
//!   (`ROOT/BUCKET/KEY`), metadata, multipart uploads and cached torrents in
//!   a redb database beside them (`ROOT/.s3torrent.redb`), so everything
//!   survives a restart. Files put in the folder by hand are adopted.
//! - **The S3 operations**, through the [`s3s`] framework (SigV4, routing,
//!   XML): buckets, objects with ranges, listings, canned ACLs, requester
//!   pays and multipart upload.
//! - **GetObjectTorrent** (`?torrent`), routed after the signature check
//!   through `s3torrent-http` and `s3torrent-s3`; torrents carry the
//!   endpoint itself as a BEP 19 web seed.
//! - **The tokio edge**: [`serve`] accepts connections until a shutdown
//!   future completes.
//!
//! A host or a test runs it in-process on a listener it bound itself:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use s3torrent_server::{ServerConfig, User, serve};
//!
//! let mut config = ServerConfig::default();
//! config.root = "data".into();
//! config.users.push("AKIA1:secret:111122223333".parse::<User>()?);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(serve(config, listener, async {
//!     let _ = stopped.await;
//! }));
//! // … talk S3 to the listener's address …
//! let _ = stop.send(());
//! server.await??;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod config;
mod error;
mod ops;
mod route;
mod serve;
mod store;

pub use config::{ServerConfig, User};
pub use error::Error;
pub use serve::serve;
