//! Amazon S3's GetObjectTorrent as plain data: who may have which torrent,
//! the exact S3 error otherwise, and a cached torrent service.
//!
//! No HTTP, no runtime, no clock: a host (built on hyper, axum, s3s or a
//! gateway) authenticates the request, describes its buckets and objects
//! with the plain structs here, and gets back a torrent or an [`S3Error`]
//! with the code, HTTP status, message and resource to answer with.
//!
//! - [`decide`] is the decision over plain data, rule by rule as S3 made it
//!   (see its documentation for the order);
//! - [`TorrentService`] decides against an [`ObjectSource`] (metadata plus
//!   positional reads), then serves from a [`TorrentCache`] or hashes the
//!   object once however many requests ask, and refuses to cache a torrent
//!   of an object that changed while it was hashed;
//! - [`TorrentPolicy`] holds the choices: AWS-faithful or plain torrents,
//!   piece length, trackers, the 5 GiB limit, web seeds, and v1 (as S3
//!   made them), v2 or hybrid torrents (BEP 52).
//!
//! A host deciding and serving a torrent:
//!
//! ```
//! use s3torrent_s3::*;
//!
//! struct Store { bucket: BucketInfo, object: ObjectInfo, data: Vec<u8> }
//! impl ObjectSource for Store {
//!     fn bucket(&self, _: &BucketName) -> Result<Option<BucketInfo>> { Ok(Some(self.bucket.clone())) }
//!     fn object(&self, _: &BucketName, _: &ObjectKey, _: Option<&str>) -> Result<ObjectLookup> {
//!         Ok(ObjectLookup::Found(self.object.clone()))
//!     }
//!     fn open(&self, _: &BucketName, _: &ObjectInfo) -> Result<Box<dyn ReadAt + Send + Sync + '_>> {
//!         Ok(Box::new(self.data.as_slice()))
//!     }
//! }
//!
//! let owner = Principal::new(CanonicalId::new("alice")?, AccountId::new("111122223333")?);
//! let mut object = ObjectInfo::new(ObjectKey::new("Nelson")?, 11, "etag-1", &owner);
//! object.acl = Acl::canned(CannedAcl::PublicRead, &owner, &owner);
//! let store = Store { bucket: BucketInfo::new(BucketName::new("quotes")?, owner), object, data: b"Kiss me, H.".to_vec() };
//!
//! let service = TorrentService::new(TorrentPolicy::default());
//! let req = TorrentRequest::new("quotes", "Nelson", Requester::Anonymous);
//! let served = service.get_object_torrent(&store, &req)?;
//! assert_eq!(served.name, "Nelson");
//! assert!(!served.from_cache && service.get_object_torrent(&store, &req)?.from_cache);
//!
//! // The same decision over plain data: a private object is 403 to anonymous requesters.
//! let mut private = store.object.clone();
//! private.acl = Acl::canned(CannedAcl::Private, &store.bucket.owner, &store.bucket.owner);
//! let err = decide(&req, Some(&store.bucket), &ObjectLookup::Found(private), service.policy()).unwrap_err();
//! assert_eq!((err.code().as_str(), err.status()), ("AccessDenied", 403));
//! # Ok::<(), S3Error>(())
//! ```

#![deny(missing_docs)]

mod acl;
mod bucket_access;
mod bucket_policy;
mod cache;
mod decide;
mod error;
mod info;
mod model;
mod policy;
mod service;

pub use acl::{
    Acl, CannedAcl, Grant, Grantee, GranteeName, MAX_GRANT_HEADER, ObjectOwnership, Permission,
    parse_grant_header,
};
pub use bucket_access::AskedAcl;
pub use bucket_policy::{
    BucketPolicy, ConditionContext, MAX_CONTEXT_KEYS, MAX_POLICY_BYTES, PolicyVerdict,
};
pub use cache::{CacheKey, CachedTorrent, LruCache, ObjectVersion, TorrentCache};
pub use decide::{
    CheckedRequest, ReadAccess, TorrentPlan, TorrentRequest, authorize_read, check_request, decide,
};
pub use error::{ErrorCode, Result, S3Error};
pub use info::{
    BucketInfo, BucketKind, ETag, Encryption, ObjectInfo, ObjectLookup, PublicAccessBlock,
    RestoreState, StorageClass,
};
pub use model::{AccountId, BucketName, CanonicalId, ObjectKey, Principal, Requester};
pub use policy::{Addressing, PieceLengthPolicy, TorrentPolicy, WebSeed};
pub use s3torrent_metainfo::{
    HashOptions, InfoHash, PieceLength, Pieces, Profile, ReadAt, TorrentHashes, TorrentVersion,
    percent_encode_into, to_hex, torrent_name,
};
pub use service::{ObjectSource, ServedTorrent, TorrentService};

/// The README's examples, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
