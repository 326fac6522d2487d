//! The server's one error type.

use std::fmt;
use std::path::PathBuf;

/// What stopped the server from starting or running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A user's credentials or account ID are not valid.
    #[error("user {access_key:?}: {reason}")]
    User {
        /// The access key as given.
        access_key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The configuration does not hold together.
    #[error("{0}")]
    Config(String),
    /// The configuration names no user.
    #[error(
        "no user is configured: at least one is needed (it owns the folders found in the root)"
    )]
    NoUsers,
    /// The root folder or its database could not be opened.
    #[error("root {}: {source}", path.display())]
    Root {
        /// The configured root.
        path: PathBuf,
        /// What failed (the store's error: which file, and why).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An address could not be bound.
    #[error("{addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A TLS certificate or key file cannot be used: which one, where, and
    /// what is wrong with it.
    #[error("TLS {what} {}: {reason}", path.display())]
    Tls {
        /// The certificate or the key.
        what: TlsFile,
        /// The file as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The gateway's upstream cluster cannot be used: its address
    /// (`--upstream`), or its cache bucket, which it could neither find nor
    /// create.
    #[error("{source}")]
    Upstream {
        /// What failed, and where.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The listener failed in a way the server cannot go on from.
    #[error("listener: {0}")]
    Listener(#[source] std::io::Error),
}

/// Which of the two files a TLS error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFile {
    /// The certificate chain (`--tls-cert`).
    Certificate,
    /// The private key (`--tls-key`).
    PrivateKey,
}

impl fmt::Display for TlsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsFile::Certificate => "certificate",
            TlsFile::PrivateKey => "private key",
        })
    }
}
