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

/// Why one announce to the Mainline DHT failed (logged, then retried).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum DhtAnnounceError {
    /// The info-hash is no DHT id (the `mainline` crate's error: its type
    /// is not public).
    #[error("{source}")]
    Id {
        /// The crate's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The DHT's put query failed.
    #[error("{source}: {source:?}")]
    Put {
        /// The crate's error.
        #[source]
        source: mainline::errors::PutQueryError,
    },
    /// The announce did not end in time.
    #[error("no end within {} s", after.as_secs())]
    Timeout {
        /// How long it was given.
        after: std::time::Duration,
    },
    /// The DHT node's task failed (the crate panics when its thread is gone).
    #[error("the DHT node failed: {source}")]
    Node {
        /// The task's error.
        #[source]
        source: tokio::task::JoinError,
    },
}

/// Why a piece could not be loaded for the seeding peer. Cloned to every
/// connection that waited for the same load, so its sources are shared.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum PieceError {
    /// The piece's bytes could not be fetched from the store behind (the
    /// gateway's ranged GET).
    #[cfg(feature = "gateway")]
    #[error("piece {index}: {source}")]
    Fetch {
        /// The piece.
        index: u32,
        /// The request's error.
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },
    /// The seed refused the piece: it could not be read, or its hash does
    /// not match the torrent's.
    #[error("{source}")]
    Seed {
        /// The seed's error.
        #[source]
        source: std::sync::Arc<s3torrent_peer::Error>,
    },
    /// The blocking task that read or checked the piece failed.
    #[error("{source}")]
    Task {
        /// The task's error.
        #[source]
        source: std::sync::Arc<tokio::task::JoinError>,
    },
}

impl PieceError {
    /// The seed's error.
    pub(crate) fn seed(source: s3torrent_peer::Error) -> Self {
        PieceError::Seed {
            source: std::sync::Arc::new(source),
        }
    }

    /// The blocking task's error.
    pub(crate) fn task(source: tokio::task::JoinError) -> Self {
        PieceError::Task {
            source: std::sync::Arc::new(source),
        }
    }
}

/// Why the seeding peer closed a connection (or gave up a dial): the
/// connection's log line says `closed: ` and this.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum PeerClosed {
    /// The info-hash the peer asked for is not served.
    #[error(transparent)]
    NotServed(#[from] NotServed),
    /// The object changed since the connection's seed was made.
    #[error("not served: the object changed")]
    Changed,
    /// The seed cannot be made from the cached torrent.
    #[error("internal: {source}")]
    Torrent {
        /// The peer crate's error.
        #[source]
        source: s3torrent_peer::Error,
    },
    /// The same peer is connected for the same torrent already.
    #[error("duplicate: this peer is connected for this torrent already")]
    Duplicate,
    /// The BitTorrent handshake names another info-hash than the
    /// encryption handshake did.
    #[error("handshake for another info-hash than its encryption handshake's")]
    OtherInfoHash,
    /// The peer broke the protocol (or the encryption handshake), or timed out.
    #[error(transparent)]
    Protocol(#[from] s3torrent_peer::Error),
    /// A piece could not be loaded.
    #[error(transparent)]
    Piece(#[from] PieceError),
    /// A blocking task (a lookup) failed.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
    /// Reading from the peer failed.
    #[error("read: {0}")]
    Read(#[source] std::io::Error),
    /// Writing to the peer failed.
    #[error("write: {0}")]
    Write(#[source] std::io::Error),
    /// The peer closed during the encryption handshake.
    #[error("the peer closed during the encryption handshake")]
    ClosedInHandshake,
    /// The encryption handshake did not end in time.
    #[error("no encryption handshake within {0:?}")]
    HandshakeTimeout(std::time::Duration),
    /// The server is shutting down.
    #[error("shutting down")]
    ShuttingDown,
}
