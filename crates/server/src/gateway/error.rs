//! The gateway's one error type: what went wrong between the gateway and
//! its upstream cluster, and where.

use std::time::Duration;

use http::{Method, StatusCode};

/// Why a request of the gateway's to the cluster (or the cluster's address
/// itself) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum UpstreamError {
    /// `--upstream` is no URL.
    #[error("--upstream {endpoint:?}: {source}")]
    EndpointUrl {
        /// As given.
        endpoint: String,
        /// The URL parser's error.
        #[source]
        source: url::ParseError,
    },
    /// `--upstream` is no URI hyper takes.
    #[error("--upstream {endpoint:?}: {source}")]
    EndpointUri {
        /// As given.
        endpoint: String,
        /// http's error.
        #[source]
        source: http::uri::InvalidUri,
    },
    /// `--upstream` is a URL, but not `http://HOST:PORT`.
    #[error("--upstream {endpoint:?}: {why}")]
    EndpointShape {
        /// As given.
        endpoint: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A passed-through request's URI could not be pointed at the cluster.
    #[error("upstream URI: {source}")]
    ForwardUri {
        /// http's error.
        #[source]
        source: http::uri::InvalidUriParts,
    },
    /// The URL of one of the gateway's own requests is no URI.
    #[error("upstream URI {url}: {source}")]
    CallUri {
        /// The URL.
        url: String,
        /// http's error.
        #[source]
        source: http::uri::InvalidUri,
    },
    /// A header of one of the gateway's own requests cannot be sent.
    #[error("header {name:?}: {source}")]
    Header {
        /// The header's name.
        name: String,
        /// http's error.
        #[source]
        source: http::Error,
    },
    /// A bucket name rusty-s3 refuses to sign for.
    #[error("bucket {bucket:?}: {source}")]
    Bucket {
        /// The bucket.
        bucket: String,
        /// rusty-s3's error.
        #[source]
        source: rusty_s3::BucketError,
    },
    /// A method rusty-s3 cannot presign.
    #[error("no signing for {method}")]
    Unsigned {
        /// The method.
        method: Method,
    },
    /// A passed-through request found no answer.
    #[error("upstream {endpoint}: {source}")]
    Forward {
        /// The cluster.
        endpoint: String,
        /// The client's error.
        #[source]
        source: Box<hyper_util::client::legacy::Error>,
    },
    /// One of the gateway's own requests found no answer.
    #[error("{request}: {source}")]
    Call {
        /// The request: `METHOD PATH on http://HOST:PORT`.
        request: String,
        /// The client's error.
        #[source]
        source: Box<hyper_util::client::legacy::Error>,
    },
    /// One of the gateway's own requests was not answered in time.
    #[error("{request}: no answer in {}s", after.as_secs())]
    Timeout {
        /// The request: `METHOD PATH on http://HOST:PORT`.
        request: String,
        /// How long it waited.
        after: Duration,
    },
    /// An answer's body could not be read whole (or was over the limit).
    #[error("reading an upstream body (at most {limit} bytes): {source}")]
    Body {
        /// The most that was to be read.
        limit: usize,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The cluster answered, but not as asked: what was asked, its status,
    /// and the S3 error code of its answer when it gave one.
    #[error("{what}: {status}{}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Refused {
        /// What the gateway asked for.
        what: String,
        /// The cluster's status.
        status: StatusCode,
        /// The `<Code>` of its error document.
        code: Option<String>,
    },
}
