//! `?torrent`: routed past s3s's operations (after its SigV4 check) to the
//! project's HTTP adapter and torrent service.

use std::sync::Arc;

use hyper::http::Extensions;
use hyper::{HeaderMap, Method, Uri};
use s3s::route::S3Route;
use s3s::{Body, S3Request, S3Response, S3Result, s3_error};
use s3torrent_http::AdapterConfig;
use s3torrent_s3::Requester;

use crate::front::{self, RequestId};
use crate::ops::Service;
use crate::store::Store;

pub(crate) struct TorrentRoute {
    pub(crate) store: Arc<Store>,
    pub(crate) torrents: Arc<Service>,
    pub(crate) config: AdapterConfig,
}

impl TorrentRoute {
    fn requester(&self, req: &S3Request<Body>) -> Requester {
        match req
            .credentials
            .as_ref()
            .and_then(|c| self.store.user_by_access_key(&c.access_key))
        {
            Some(u) => Requester::Authenticated(u.principal.clone()),
            None => Requester::Anonymous,
        }
    }
}

#[async_trait::async_trait]
impl S3Route for TorrentRoute {
    fn is_match(&self, method: &Method, uri: &Uri, _: &HeaderMap, _: &mut Extensions) -> bool {
        (method == Method::GET || method == Method::HEAD)
            && uri.query().is_some_and(|q| {
                q.split('&')
                    .any(|p| p == "torrent" || p.starts_with("torrent="))
            })
    }

    /// Anonymous requests are welcome: the torrent service applies the ACLs.
    async fn check_access(&self, _: &mut S3Request<Body>) -> S3Result<()> {
        Ok(())
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let requester = self.requester(&req);
        let mut http_req = http::Request::new(());
        *http_req.method_mut() = req.method.clone();
        *http_req.uri_mut() = req.uri.clone();
        *http_req.headers_mut() = req.headers.clone();
        let (store, torrents, config) = (
            Arc::clone(&self.store),
            Arc::clone(&self.torrents),
            self.config.clone(),
        );
        // The front gave every request its ID; a request that did not come
        // through it (none does today) gets a new one.
        let request_id = req
            .extensions
            .get::<RequestId>()
            .map_or_else(front::request_id, |id| id.0.clone());
        let response = tokio::task::spawn_blocking(move || {
            s3torrent_http::handle(
                &http_req,
                &config,
                requester,
                &torrents,
                &*store,
                &request_id,
            )
        })
        .await
        .map_err(|e| s3_error!(InternalError, "{e}"))?;
        let (parts, body) = response.into_parts();
        let mut out = S3Response::new(Body::from(body));
        out.status = Some(parts.status);
        out.headers = parts.headers;
        Ok(out)
    }
}
