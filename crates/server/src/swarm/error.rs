//! Why the swarm does not serve an info-hash: the tracker's `failure
//! reason` and the peer's log line, in words, with what caused it.

use s3torrent_s3::S3Error;

/// Why an info-hash is not served now.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum NotServed {
    /// No torrent this endpoint made has the info-hash.
    #[error("unknown info_hash: no torrent of this {endpoint} has it")]
    Unknown {
        /// `endpoint` (serve) or `gateway`.
        endpoint: &'static str,
    },
    /// `?torrent`'s decision for an anonymous requester refuses the object
    /// (it is private now, or gone).
    #[error("not served: {} ({})", source.message(), source.code().as_str())]
    Refused {
        /// The decision's S3 error.
        #[source]
        source: S3Error,
    },
    /// The object changed since the torrent with this info-hash was made.
    #[error("not served: the object changed since this torrent was made")]
    Stale,
    /// The cached torrent cannot be read.
    #[error("internal: {source}")]
    Torrent {
        /// The parser's error.
        #[source]
        source: s3torrent_metainfo::Error,
    },
    /// The object's bytes could not be opened as the version the torrent
    /// describes.
    #[error("not served: {source}")]
    Open {
        /// Why (the store's error).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
