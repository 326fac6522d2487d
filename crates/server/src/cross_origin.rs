//! The CORS side of the S3 listener (the rules are [`crate::cors`]'s):
//! the preflight `OPTIONS` request, and the headers of a request that
//! carries `Origin`.
//!
//! Only a request with `Origin` costs anything here: the rules are looked up
//! (from the store's memo, usually) after the answer is made, and the
//! answer gains the matched rule's headers.

use std::sync::Arc;

use http::header::{
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, CONTENT_LENGTH, ORIGIN,
};
use http::{HeaderValue, Method, Response, StatusCode};
use s3torrent_http::{AdapterConfig, parse_address, xml_escape};
use s3torrent_s3::BucketName;

use crate::cors::CorsLookup;
use crate::store::{Store, StoreError};

/// The CORS side of the S3 listener: the store (for the rules) and the
/// addressing (for the bucket a request names).
pub(crate) struct Cors {
    pub(crate) store: Arc<Store>,
    pub(crate) addressing: Arc<AdapterConfig>,
}

/// What a request with `Origin` leaves for its answer: the origin, the
/// method and the bucket it names.
pub(crate) struct CrossOrigin {
    origin: HeaderValue,
    method: Method,
    bucket: BucketName,
}

impl Cors {
    /// A request's cross-origin part, if it has `Origin` and names a bucket;
    /// `None` (nothing to do, at no cost) otherwise.
    /// The method matched is the request's, or the one its
    /// `Access-Control-Request-Method` names (as Ceph RGW matches, and
    /// s3-tests' `test_cors_origin_response` expects).
    pub(crate) fn cross_origin<B>(&self, req: &http::Request<B>) -> Option<CrossOrigin> {
        let origin = req.headers().get(ORIGIN)?;
        let address = parse_address(req.uri(), req.headers(), &self.addressing).ok()?;
        let method = match req.headers().get(ACCESS_CONTROL_REQUEST_METHOD) {
            Some(asked) => Method::from_bytes(asked.as_bytes()).ok()?,
            None => req.method().clone(),
        };
        Some(CrossOrigin {
            origin: origin.clone(),
            method,
            bucket: BucketName::new(address.bucket).ok()?,
        })
    }

    /// The bucket's CORS state: from the store's memo on this thread, else
    /// from the database on a blocking one.
    async fn lookup(&self, bucket: &BucketName) -> CorsLookup {
        let found = if self.store.cors_memoized(bucket) {
            self.store.bucket_cors(bucket)
        } else {
            let (store, b) = (Arc::clone(&self.store), bucket.clone());
            tokio::task::spawn_blocking(move || store.bucket_cors(&b))
                .await
                .unwrap_or_else(|source| Err(StoreError::Task { source }))
        };
        match found {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(target: "serve", bucket = %bucket, error = %e, "reading a bucket's CORS rules failed");
                CorsLookup::NotConfigured
            }
        }
    }

    /// Gives the answer to a request with `Origin` the headers of the first
    /// rule its origin and method match; nothing when none does.
    pub(crate) async fn decorate(&self, request: CrossOrigin, answer: &mut Response<s3s::Body>) {
        let CorsLookup::Rules(config) = self.lookup(&request.bucket).await else {
            return;
        };
        let Ok(origin) = request.origin.to_str() else {
            return;
        };
        if let Some(rule) = config.matching(origin, request.method.as_str(), None) {
            rule.answer(answer.headers_mut(), &request.origin, None);
        }
    }

    /// The answer to a preflight `OPTIONS` request.
    pub(crate) async fn preflight<B>(
        &self,
        req: &http::Request<B>,
        request_id: &str,
    ) -> Response<s3s::Body> {
        let headers = req.headers();
        let asked_method = headers
            .get(ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|v| v.to_str().ok());
        let shown_method = asked_method.unwrap_or("OPTIONS");
        let Some(origin) = headers.get(ORIGIN) else {
            return crate::edge::front::error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Insufficient information. Origin request header needed.",
                "",
                request_id,
            );
        };
        if asked_method.is_none() {
            return crate::edge::front::error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Insufficient information. Access-Control-Request-Method request header needed.",
                "",
                request_id,
            );
        }
        let address = parse_address(req.uri(), headers, &self.addressing).ok();
        let resource = match address.as_ref().and_then(|a| a.key.as_ref()) {
            Some(_) => "OBJECT",
            None => "BUCKET",
        };
        let forbidden = |message: &str, resource: &str| {
            crate::edge::front::error(
                StatusCode::FORBIDDEN,
                "AccessForbidden",
                message,
                &format!(
                    "<Method>{}</Method><ResourceType>{resource}</ResourceType>",
                    xml_escape(shown_method)
                ),
                request_id,
            )
        };
        let bucket = address.and_then(|a| BucketName::new(a.bucket).ok());
        let lookup = match &bucket {
            Some(b) => self.lookup(b).await,
            None => CorsLookup::NoSuchBucket,
        };
        let config = match lookup {
            CorsLookup::NoSuchBucket => {
                return forbidden("CORSResponse: Bucket not found", "BUCKET");
            }
            CorsLookup::NotConfigured => {
                return forbidden(
                    "CORSResponse: CORS is not enabled for this bucket.",
                    "BUCKET",
                );
            }
            CorsLookup::Rules(config) => config,
        };
        let asked_headers = headers
            .get(ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|v| v.to_str().ok());
        let rule = match (origin.to_str(), asked_method) {
            (Ok(o), Some(m)) => config.matching(o, m, asked_headers),
            _ => None,
        };
        let Some(rule) = rule else {
            return forbidden(
                "CORSResponse: This CORS request is not allowed. This is usually because the \
                 evalution of Origin, request method / Access-Control-Request-Method or \
                 Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
                resource,
            );
        };
        let mut answer = Response::new(s3s::Body::empty());
        answer
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        rule.answer(answer.headers_mut(), origin, asked_headers);
        answer
    }
}
