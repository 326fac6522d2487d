//! The store's one error type: what went wrong, and where, in the store's
//! own words (the operations turn it into an S3 error at their boundary).

use std::path::PathBuf;

use s3torrent_s3::{ErrorCode, S3Error};

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum StoreError {
    /// The bucket has neither a record nor a folder.
    #[error("no bucket {bucket}")]
    NoSuchBucket {
        /// The bucket's name.
        bucket: String,
    },
    /// The object has no current version.
    #[error("no object /{bucket}/{key}")]
    NoSuchKey {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
    },
    /// The version named is not there.
    #[error("no such version of /{bucket}/{key}")]
    NoSuchVersion {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
    },
    /// The version named is a delete marker, which has nothing to change.
    #[error("/{bucket}/{key}: the version is a delete marker")]
    DeleteMarker {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
    },
    /// A conditional delete's condition (`If-Match`, last-modified time,
    /// size) does not hold for the version it would remove.
    #[error("{key}: the delete's condition does not hold")]
    ConditionFailed {
        /// The key (as the answer's resource).
        key: String,
    },
    /// The object changed between the lookup of its record and the
    /// opening of its bytes (its torrent is not made from another version).
    #[error("the object changed")]
    Changed,
    /// A read found the object changed under it: retryable.
    #[error("/{bucket}/{key} changed while it was read ({why})")]
    ChangedUnder {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// What changed.
        why: String,
    },
    /// The S3 model refused the change (an ownership setting the bucket's
    /// ACL does not allow, a stored ACL it cannot read).
    #[error("refused: {source}")]
    Refused {
        /// The model's answer.
        #[source]
        source: S3Error,
    },
    /// The database file could not be opened (or made).
    #[error("the database {}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// redb's error.
        #[source]
        source: redb::DatabaseError,
    },
    /// The database failed (an I/O error, a full disk, a corrupt file).
    #[error("the database: {source}")]
    Database {
        /// redb's error.
        #[source]
        source: redb::Error,
    },
    /// A file or folder of the store could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file of the store could not be read or written (where the path
    /// is not at hand: a handle already open).
    #[error("a file: {source}")]
    Io {
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A record in the database cannot be read or written as bencode.
    #[error("a record: {source}")]
    Record {
        /// The codec's error.
        #[source]
        source: s3torrent_bencode::Error,
    },
    /// The blocking task that ran a store call panicked or was cancelled.
    #[error("a store task: {source}")]
    Task {
        /// Tokio's error.
        #[source]
        source: tokio::task::JoinError,
    },
    /// The database holds what the store never writes (a row without its
    /// parts, a record naming no valid file), or a step found the store in
    /// a state it cannot go on from: what, in words.
    #[error("{0}")]
    Inconsistent(String),
}

impl StoreError {
    /// Whether the error is the store's own failure (S3's `InternalError`)
    /// rather than an answer about the request: such an error may mean the
    /// database needs reopening.
    pub(crate) fn is_internal(&self) -> bool {
        match self {
            StoreError::NoSuchBucket { .. }
            | StoreError::NoSuchKey { .. }
            | StoreError::NoSuchVersion { .. }
            | StoreError::DeleteMarker { .. }
            | StoreError::ConditionFailed { .. }
            | StoreError::Changed => false,
            StoreError::Refused { source } => source.code() == ErrorCode::InternalError,
            StoreError::ChangedUnder { .. }
            | StoreError::Open { .. }
            | StoreError::Database { .. }
            | StoreError::File { .. }
            | StoreError::Io { .. }
            | StoreError::Record { .. }
            | StoreError::Task { .. }
            | StoreError::Inconsistent(_) => true,
        }
    }

    /// A failure on the file or folder at `path`.
    pub(crate) fn at(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::File { path, source }
    }
}

/// What [`internal`] takes: the errors of what the store is built on, and
/// words for the states it never makes.
pub(crate) trait Cause {
    /// The store's error for this cause.
    fn into_store_error(self) -> StoreError;
}

macro_rules! database_causes {
    ($($t:ty),*) => {$(
        impl Cause for $t {
            fn into_store_error(self) -> StoreError {
                StoreError::Database { source: self.into() }
            }
        }
    )*};
}

database_causes!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

impl Cause for std::io::Error {
    fn into_store_error(self) -> StoreError {
        StoreError::Io { source: self }
    }
}

impl Cause for s3torrent_bencode::Error {
    fn into_store_error(self) -> StoreError {
        StoreError::Record { source: self }
    }
}

impl Cause for String {
    fn into_store_error(self) -> StoreError {
        StoreError::Inconsistent(self)
    }
}

impl Cause for &str {
    fn into_store_error(self) -> StoreError {
        StoreError::Inconsistent(self.to_owned())
    }
}

impl From<S3Error> for StoreError {
    fn from(source: S3Error) -> Self {
        StoreError::Refused { source }
    }
}

/// The store's own failure, from its cause.
pub(crate) fn internal(cause: impl Cause) -> StoreError {
    cause.into_store_error()
}
