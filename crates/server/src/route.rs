//! `?torrent`: routed past s3s's operations (after its SigV4 check) to the
//! project's HTTP adapter and torrent service.

use std::sync::Arc;

use hyper::http::Extensions;
use hyper::{HeaderMap, Method, Uri};
use s3s::route::S3Route;
use s3s::{Body, S3Request, S3Response, S3Result, s3_error};
use s3torrent_http::{
    AdapterConfig, RequestContext, error_response, is_torrent_request, parse_request,
    torrent_response,
};

use crate::metrics::METRICS;

use crate::edge::front::{self, IgnoredRange, RequestId, SecureTransport, VerifiedAccessKey};
use crate::ops::Service;
use crate::store::Store;

pub(crate) struct TorrentRoute {
    pub(crate) store: Arc<Store>,
    pub(crate) torrents: Arc<Service>,
    pub(crate) config: AdapterConfig,
    /// The operations without a signature check, for a GET or HEAD whose
    /// signed `Range` header is to be ignored: called, after s3s checked
    /// the signature, without the header and the signature, as the user
    /// that signed.
    pub(crate) verified: s3s::service::S3Service,
}

impl TorrentRoute {
    /// A GET or HEAD whose signed `Range` is to be ignored: the operations
    /// again, without `Range`, the signature's query parameters and
    /// `Authorization`, as the access key s3s verified.
    async fn without_range(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let Some(credentials) = req.credentials.as_ref() else {
            return Err(s3_error!(AccessDenied, "Signature is required"));
        };
        let mut uri = http::uri::Parts::from(req.uri.clone());
        if let Some(pq) = &uri.path_and_query {
            let kept: Vec<&str> = pq
                .query()
                .unwrap_or_default()
                .split('&')
                .filter(|p| !p.is_empty() && !p.starts_with("X-Amz-"))
                .collect();
            let rebuilt = if kept.is_empty() {
                pq.path().to_owned()
            } else {
                format!("{}?{}", pq.path(), kept.join("&"))
            };
            uri.path_and_query = Some(
                rebuilt
                    .parse()
                    .map_err(|e| s3_error!(InternalError, "rebuilding {rebuilt:?}: {e}"))?,
            );
        }
        let uri = Uri::from_parts(uri)
            .map_err(|e| s3_error!(InternalError, "rebuilding the request URI: {e}"))?;
        let mut inner = http::Request::new(Body::empty());
        *inner.method_mut() = req.method.clone();
        *inner.uri_mut() = uri;
        *inner.headers_mut() = req.headers.clone();
        inner.headers_mut().remove(http::header::RANGE);
        inner.headers_mut().remove(http::header::AUTHORIZATION);
        inner
            .extensions_mut()
            .insert(VerifiedAccessKey(credentials.access_key.clone()));
        if let Some(id) = req.extensions.get::<RequestId>() {
            inner.extensions_mut().insert(id.clone());
        }
        if let Some(secure) = req.extensions.get::<SecureTransport>() {
            inner.extensions_mut().insert(*secure);
        }
        let response = self
            .verified
            .call(inner)
            .await
            .map_err(|e| s3_error!(InternalError, "GetObject without its Range: {e:?}"))?;
        let (parts, body) = response.into_parts();
        let mut out = S3Response::new(body);
        out.status = Some(parts.status);
        out.headers = parts.headers;
        // A `front::NotModified` mark, for the front.
        out.extensions = parts.extensions;
        Ok(out)
    }
}

#[async_trait::async_trait]
impl S3Route for TorrentRoute {
    fn is_match(&self, method: &Method, uri: &Uri, _: &HeaderMap, ext: &mut Extensions) -> bool {
        is_torrent_request(method, uri)
            || ((method == Method::GET || method == Method::HEAD)
                && ext.get::<IgnoredRange>().is_some())
    }

    /// Anonymous requests are welcome: the torrent service applies the ACLs.
    async fn check_access(&self, _: &mut S3Request<Body>) -> S3Result<()> {
        Ok(())
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        if !is_torrent_request(&req.method, &req.uri) {
            return self.without_range(req).await;
        }
        let requester = crate::ops::requester_of(&self.store, &req);
        // The front gave every request its ID; a request that did not come
        // through it (none does today) gets a new one.
        let request_id = req
            .extensions
            .get::<RequestId>()
            .map_or_else(front::request_id, |id| id.0.clone());
        let secure = req.extensions.get::<SecureTransport>().is_some();
        let mut http_req = http::Request::new(());
        *http_req.method_mut() = req.method;
        *http_req.uri_mut() = req.uri;
        *http_req.headers_mut() = req.headers;
        let cx = RequestContext::new(requester, request_id).with_host_id(front::host_id());
        // A torrent in the cache, or a refusal, is answered here when the
        // records the decision reads are in memory: it neither hashes nor
        // waits nor reads the database. Otherwise (a record to read, a
        // version asked for by its ID, a torrent to generate, an adopted
        // file's MD5 to compute) the request goes to a blocking thread.
        let parsed =
            parse_request(&http_req, &self.config, cx.requester.clone()).map(|mut treq| {
                treq.context
                    .set("aws:SecureTransport", if secure { "true" } else { "false" });
                treq
            });
        let at_once = match &parsed {
            Ok(treq) => s3torrent_s3::check_request(treq).map_or(true, |c| {
                c.version_id.is_none() && self.store.memoized(&c.bucket, &c.key)
            }),
            Err(_) => true,
        };
        let cached = match &parsed {
            Ok(treq) if at_once => self.torrents.cached(&*self.store, treq),
            Ok(_) => Ok(None),
            Err(_) => Ok(None),
        };
        let response = match (parsed, cached) {
            (Err(err), _) | (Ok(_), Err(err)) => error_response(&err, http_req.method(), &cx),
            (Ok(_), Ok(Some(served))) => {
                METRICS.torrent_answer(crate::metrics::Cache::Hit);
                torrent_response(http_req.method(), http_req.headers(), &served, &cx)
            }
            (Ok(treq), Ok(None)) => {
                let (store, torrents) = (Arc::clone(&self.store), Arc::clone(&self.torrents));
                // `s3torrent_http::handle`, step by step, so that the
                // metrics learn whether the torrent was in the cache.
                let waiting = METRICS.hashing();
                let answered = tokio::task::spawn_blocking(move || {
                    match torrents.get_object_torrent(&*store, &treq) {
                        Ok(served) => {
                            METRICS.torrent_answer(crate::metrics::Cache::of(served.from_cache));
                            torrent_response(http_req.method(), http_req.headers(), &served, &cx)
                        }
                        Err(err) => error_response(&err, http_req.method(), &cx),
                    }
                })
                .await;
                drop(waiting);
                answered.map_err(|e| s3_error!(InternalError, "{e}"))?
            }
        };
        let (parts, body) = response.into_parts();
        let mut out = S3Response::new(Body::from(body));
        out.status = Some(parts.status);
        out.headers = parts.headers;
        Ok(out)
    }
}
