//! `?torrent` on the gateway: s3s checks the client's SigV4 signature
//! against the `--user` keys, then this route asks the cluster (see
//! [`ClusterSource`]) and answers through `s3torrent-http`.

use std::sync::Arc;

use hyper::http::Extensions;
use hyper::{HeaderMap, Method, Uri};
use s3s::route::S3Route;
use s3s::{Body, S3Request, S3Response, S3Result, s3_error};
use s3torrent_http::{AdapterConfig, RequestContext};
use s3torrent_s3::{Requester, TorrentService};

use super::cache::ClusterCache;
use super::source::{ClusterSource, Shared};
use super::upstream::Signer;
use crate::config::User;
use crate::edge::front::{self, RequestId};

/// No S3 operation of s3s's own: everything but `?torrent` passed through
/// before s3s, so these are never reached (s3s answers `NotImplemented`).
pub(crate) struct NoOperations;

#[async_trait::async_trait]
impl s3s::S3 for NoOperations {}

pub(crate) struct GatewayTorrentRoute {
    pub(crate) shared: Arc<Shared>,
    pub(crate) torrents: Arc<TorrentService<ClusterCache>>,
    pub(crate) users: Vec<User>,
    pub(crate) config: AdapterConfig,
}

#[async_trait::async_trait]
impl S3Route for GatewayTorrentRoute {
    fn is_match(&self, method: &Method, uri: &Uri, _: &HeaderMap, _: &mut Extensions) -> bool {
        (method == Method::GET || method == Method::HEAD)
            && uri.query().is_some_and(|q| {
                q.split('&')
                    .any(|p| p == "torrent" || p.starts_with("torrent="))
            })
    }

    /// Anonymous requests are welcome: the cluster decides.
    async fn check_access(&self, _: &mut S3Request<Body>) -> S3Result<()> {
        Ok(())
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let user = match &req.credentials {
            Some(c) => Some(
                self.users
                    .iter()
                    .find(|u| u.access_key == c.access_key)
                    .ok_or_else(|| s3_error!(InvalidAccessKeyId))?,
            ),
            None => None,
        };
        let requester = match user {
            Some(u) => Requester::Authenticated(u.principal.clone()),
            None => Requester::Anonymous,
        };
        let signer = user.map(|u| Signer {
            access_key: u.access_key.clone(),
            secret_key: u.secret_key.clone(),
        });
        let mut http_req = http::Request::new(());
        *http_req.method_mut() = req.method.clone();
        *http_req.uri_mut() = req.uri.clone();
        *http_req.headers_mut() = req.headers.clone();
        let request_id = req
            .extensions
            .get::<RequestId>()
            .map_or_else(front::request_id, |id| id.0.clone());
        let (shared, torrents, config) = (
            Arc::clone(&self.shared),
            Arc::clone(&self.torrents),
            self.config.clone(),
        );
        let response = tokio::task::spawn_blocking(move || {
            // What the request names; a request that does not parse is
            // answered by `handle` below, before the source is asked.
            let parsed = s3torrent_http::parse_request(&http_req, &config, requester.clone()).ok();
            let (key, version_id, payer, expected) = match &parsed {
                Some(p) => (
                    p.key.clone().unwrap_or_default(),
                    p.version_id.clone(),
                    p.request_payer,
                    p.expected_bucket_owner.clone(),
                ),
                None => (String::new(), None, false, None),
            };
            let source = ClusterSource::new(shared, signer, key, version_id, payer, expected);
            let cx = RequestContext::new(requester, request_id).with_host_id(front::host_id());
            let response = s3torrent_http::handle(&http_req, &config, cx, &torrents, &source);
            // A torrent that could not be made leaves its cluster lock
            // taken: give it back, so other replicas need not wait for it.
            torrents.cache().release_held();
            response
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
