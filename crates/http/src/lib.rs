//! GetObjectTorrent over `http` types: an [`http::Request`] in, an
//! [`http::Response`] out.
//!
//! A thin adapter over `s3torrent-s3`, with no server and no runtime, so
//! any host embeds it (hyper, axum, an S3 framework's custom route, a
//! gateway):
//!
//! - [`is_torrent_request`] says which requests are GetObjectTorrent
//!   (`GET`/`HEAD` with `?torrent`);
//! - [`parse_request`] reads the [`TorrentRequest`](s3torrent_s3::TorrentRequest): path-style or
//!   virtual-hosted-style addressing ([`AdapterConfig`]), percent-decoded
//!   keys, `versionId`, `x-amz-request-payer`, `x-amz-expected-bucket-owner`,
//!   and the bucket-policy condition keys its headers give
//!   ([`condition_context`]: `s3:x-amz-acl`, `aws:Referer`, …);
//! - [`torrent_response`] answers a served torrent (`Content-Disposition`,
//!   `ETag`, `304 Not Modified`, `HEAD`), [`error_response`] an
//!   [`S3Error`](s3torrent_s3::S3Error)
//!   as S3's XML;
//! - [`handle`] does all of it with a [`TorrentService`].
//!
//! Authentication stays with the host: it passes a [`RequestContext`] with
//! the [`Requester`](s3torrent_s3::Requester) it authenticated (or `Requester::Anonymous`) and the
//! request and host IDs of its own. A host that routes requests itself has
//! the pieces too: [`is_torrent_request`] over the method and URI,
//! [`parse_address`] and [`virtual_host_bucket`] (the addressing rule), and
//! `s3torrent_s3`'s [`CheckedRequest`](s3torrent_s3::CheckedRequest)
//! accessors.
//!
//! ```
//! use s3torrent_http::{AdapterConfig, RequestContext, handle};
//! use s3torrent_s3::*;
//!
//! /// One public object in memory.
//! struct Store { bucket: BucketInfo, object: ObjectInfo, data: Vec<u8> }
//! impl ObjectSource for Store {
//!     fn bucket(&self, name: &BucketName) -> Result<Option<BucketInfo>> {
//!         Ok((*name == self.bucket.name).then(|| self.bucket.clone()))
//!     }
//!     fn object(&self, _: &BucketName, key: &ObjectKey, _: Option<&str>) -> Result<ObjectLookup> {
//!         Ok(if *key == self.object.key { ObjectLookup::Found(self.object.clone()) } else { ObjectLookup::NoSuchKey })
//!     }
//!     fn open(&self, _: &BucketName, _: &ObjectInfo) -> Result<Box<dyn ReadAt + Send + Sync + '_>> {
//!         Ok(Box::new(self.data.as_slice()))
//!     }
//! }
//!
//! let owner = Principal::new(CanonicalId::new("alice")?, AccountId::new("111122223333")?);
//! let mut object = ObjectInfo::new(ObjectKey::new("hello world.txt")?, 11, "etag-1", &owner);
//! object.acl = Acl::canned(CannedAcl::PublicRead, &owner, &owner);
//! let mut bucket = BucketInfo::new(BucketName::new("demo")?, owner.clone());
//! bucket.acl = Acl::canned(CannedAcl::PublicRead, &owner, &owner);
//! let store = Store { bucket, object, data: b"hello world".to_vec() };
//! let service = TorrentService::new(TorrentPolicy::default());
//! let config = AdapterConfig::default();
//!
//! let req = http::Request::get("/demo/hello%20world.txt?torrent").body(()).unwrap();
//! assert!(s3torrent_http::is_torrent_request(req.method(), req.uri()));
//! let cx = RequestContext::new(Requester::Anonymous, "req-1");
//! let response = handle(&req, &config, cx, &service, &store);
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers()["content-type"], "application/x-bittorrent");
//! assert_eq!(
//!     response.headers()["content-disposition"],
//!     "attachment; filename=\"hello world.txt.torrent\""
//! );
//! assert!(response.body().windows(6).any(|w| w == b"4:info"));
//!
//! let missing = http::Request::get("/demo/nope?torrent").body(()).unwrap();
//! let cx = RequestContext::new(Requester::Anonymous, "req-2").with_host_id("node-1");
//! let response = handle(&missing, &config, cx, &service, &store);
//! assert_eq!(response.headers()["x-amz-id-2"], "node-1");
//! assert_eq!(response.status(), 404);
//! assert!(std::str::from_utf8(response.body()).unwrap().contains("<Code>NoSuchKey</Code>"));
//! # Ok::<(), S3Error>(())
//! ```

#![deny(missing_docs)]

mod condition;
mod request;
mod response;

pub use condition::condition_context;
pub use request::{
    AdapterConfig, Address, RequestContext, is_torrent_request, parse_address, parse_request,
    virtual_host_bucket,
};
pub use response::{
    TORRENT_CONTENT_TYPE, content_disposition, error_response, torrent_response, xml_escape,
};

use bytes::Bytes;
use http::{Request, Response};
use s3torrent_s3::{ObjectSource, TorrentCache, TorrentService};

/// GetObjectTorrent end to end: [`parse_request`], then
/// [`TorrentService::get_object_torrent`], then [`torrent_response`] or
/// [`error_response`]. Every failure is an S3 error response; this never
/// panics on a request's contents.
///
/// # Blocking
///
/// The first request for an object's torrent hashes the object (CPU-bound,
/// as long as the object takes), and requests for the same torrent meanwhile
/// wait for it. An async host calls this on a blocking thread (tokio:
/// `spawn_blocking`), or answers from [`TorrentService::cached`] first.
pub fn handle<B, C: TorrentCache>(
    req: &Request<B>,
    config: &AdapterConfig,
    cx: RequestContext,
    service: &TorrentService<C>,
    source: &dyn ObjectSource,
) -> Response<Bytes> {
    let served = parse_request(req, config, cx.requester.clone())
        .and_then(|torrent_req| service.get_object_torrent(source, &torrent_req));
    match served {
        Ok(served) => torrent_response(req.method(), req.headers(), &served, &cx),
        Err(err) => error_response(&err, req.method(), &cx),
    }
}
