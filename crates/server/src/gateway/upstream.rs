//! The upstream cluster: a hyper client for the pass-through (bodies
//! streamed both ways), and the requests the gateway makes there itself
//! (HEAD as the requester, ranged GETs, the cache bucket), signed with
//! rusty-s3's SigV4 presigner.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Request, Response, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use url::Url;

use super::error::UpstreamError;
use crate::edge::front::RequestBody;

/// How long a presigned request of the gateway's stays valid: it is sent at
/// once, so this only covers clock skew and a slow connection.
const PRESIGN_EXPIRES: u64 = 300;

/// How long the gateway's own requests to the upstream may take to answer
/// (headers; a body is read within the caller's own bounds).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// SigV4 credentials of one cluster user.
#[derive(Clone)]
pub(crate) struct Signer {
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// A request of the gateway's own to the upstream.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    /// Empty for a request to the service itself (ListBuckets).
    pub(crate) bucket: &'a str,
    /// `None` for a bucket-level request.
    pub(crate) key: Option<&'a str>,
    /// Query parameters (signed).
    pub(crate) query: Vec<(&'a str, &'a str)>,
    /// Headers that are signed (lower-case names).
    pub(crate) signed: Vec<(&'a str, String)>,
    /// Headers sent unsigned (`Range`, `If-Match`).
    pub(crate) unsigned: Vec<(HeaderName, String)>,
    pub(crate) body: Bytes,
    /// Whose key signs it; `None` sends it unsigned (anonymous).
    pub(crate) signer: Option<&'a Signer>,
}

impl<'a> Call<'a> {
    pub(crate) fn new(
        method: Method,
        bucket: &'a str,
        key: Option<&'a str>,
        signer: Option<&'a Signer>,
    ) -> Self {
        Call {
            method,
            bucket,
            key,
            query: Vec::new(),
            signed: Vec::new(),
            unsigned: Vec::new(),
            body: Bytes::new(),
            signer,
        }
    }
}

/// The upstream's address and the clients that talk to it.
pub(crate) struct Upstream {
    endpoint: Url,
    authority: http::uri::Authority,
    scheme: http::uri::Scheme,
    region: String,
    /// The gateway's own requests.
    own: Client<HttpConnector, Full<Bytes>>,
    /// The pass-through: the client's body streamed on as it arrives.
    pass: Client<HttpConnector, RequestBody>,
}

impl Upstream {
    /// A client for `endpoint` (`http://HOST:PORT`; no path).
    pub(crate) fn new(endpoint: &str, region: &str) -> Result<Upstream, UpstreamError> {
        let shape = |why| UpstreamError::EndpointShape {
            endpoint: endpoint.to_owned(),
            why,
        };
        let url = Url::parse(endpoint).map_err(|source| UpstreamError::EndpointUrl {
            endpoint: endpoint.to_owned(),
            source,
        })?;
        if url.scheme() != "http" {
            return Err(shape("only http:// upstreams are supported"));
        }
        if url.path() != "/" || url.query().is_some() {
            return Err(shape("give the scheme, host and port only"));
        }
        let uri: Uri = endpoint
            .parse()
            .map_err(|source| UpstreamError::EndpointUri {
                endpoint: endpoint.to_owned(),
                source,
            })?;
        let (Some(authority), Some(scheme)) = (uri.authority().cloned(), uri.scheme().cloned())
        else {
            return Err(shape("no host"));
        };
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(10)));
        let own = Client::builder(TokioExecutor::new()).build(connector.clone());
        let pass = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Upstream {
            endpoint: url,
            authority,
            scheme,
            region: region.to_owned(),
            own,
            pass,
        })
    }

    /// The upstream's `http://HOST:PORT`.
    pub(crate) fn endpoint(&self) -> &str {
        self.endpoint.as_str().trim_end_matches('/')
    }

    /// Forwards a client's request as it stands (method, path and query,
    /// headers with the client's `Host`, body streamed), and gives back the
    /// upstream's answer, body streamed. Hop-by-hop headers are dropped.
    pub(crate) async fn forward(
        &self,
        req: Request<RequestBody>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let (mut parts, body) = req.into_parts();
        let mut uri = http::uri::Parts::default();
        uri.scheme = Some(self.scheme.clone());
        uri.authority = Some(self.authority.clone());
        uri.path_and_query = parts
            .uri
            .path_and_query()
            .cloned()
            .or_else(|| Some(http::uri::PathAndQuery::from_static("/")));
        parts.uri = Uri::from_parts(uri).map_err(|source| UpstreamError::ForwardUri { source })?;
        if !parts.headers.contains_key(http::header::HOST) {
            // HTTP/1.1 requires Host; a client without one signed none.
            if let Ok(v) = HeaderValue::from_str(self.authority.as_str()) {
                parts.headers.insert(http::header::HOST, v);
            }
        }
        strip_hop_by_hop(&mut parts.headers);
        // hyper answers `Expect: 100-continue` itself when the body is
        // first read; passing it on would make the upstream wait for a
        // `100` hyper's client does not wait for. SDKs do not sign it.
        parts.headers.remove(http::header::EXPECT);
        let mut resp = self
            .pass
            .request(Request::from_parts(parts, body))
            .await
            .map_err(|source| UpstreamError::Forward {
                endpoint: self.endpoint().to_owned(),
                source: Box::new(source),
            })?;
        strip_hop_by_hop(resp.headers_mut());
        Ok(resp)
    }

    /// Sends one of the gateway's own requests.
    pub(crate) async fn call(
        &self,
        mut call: Call<'_>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        // rusty-s3 signs the headers in the order given; SigV4's canonical
        // request lists them sorted by name.
        call.signed.sort_by(|a, b| a.0.cmp(b.0));
        call.query.sort();
        let url = self.url(&call)?;
        let uri: Uri = url
            .as_str()
            .parse()
            .map_err(|source| UpstreamError::CallUri {
                url: url.to_string(),
                source,
            })?;
        let mut req = Request::new(Full::new(call.body.clone()));
        *req.method_mut() = call.method.clone();
        *req.uri_mut() = uri;
        for (name, value) in &call.signed {
            let header = |source: http::Error| UpstreamError::Header {
                name: (*name).to_owned(),
                source,
            };
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| header(e.into()))?;
            let value = HeaderValue::from_str(value).map_err(|e| header(e.into()))?;
            req.headers_mut().insert(name, value);
        }
        for (name, value) in &call.unsigned {
            let value = HeaderValue::from_str(value).map_err(|e| UpstreamError::Header {
                name: name.to_string(),
                source: e.into(),
            })?;
            req.headers_mut().insert(name.clone(), value);
        }
        if !call.body.is_empty() || call.method == Method::PUT {
            req.headers_mut().insert(
                http::header::CONTENT_LENGTH,
                HeaderValue::from(call.body.len()),
            );
        }
        match tokio::time::timeout(REQUEST_TIMEOUT, self.own.request(req)).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(source)) => Err(UpstreamError::Call {
                request: format!("{} {} on {}", call.method, url.path(), self.endpoint()),
                source: Box::new(source),
            }),
            Err(_) => Err(UpstreamError::Timeout {
                request: format!("{} {} on {}", call.method, url.path(), self.endpoint()),
                after: REQUEST_TIMEOUT,
            }),
        }
    }

    /// The URL of a call: path-style, presigned when it has a signer.
    fn url(&self, call: &Call<'_>) -> Result<Url, UpstreamError> {
        let url = if call.bucket.is_empty() {
            // The service itself: ListBuckets.
            self.endpoint.clone()
        } else {
            let bucket = rusty_s3::Bucket::new(
                self.endpoint.clone(),
                rusty_s3::UrlStyle::Path,
                call.bucket.to_owned(),
                self.region.clone(),
            )
            .map_err(|source| UpstreamError::Bucket {
                bucket: call.bucket.to_owned(),
                source,
            })?;
            match call.key {
                Some(key) => bucket.object_url(key),
                None => bucket.base_url().clone(),
            }
        };
        let method = match call.method {
            Method::GET => rusty_s3::Method::Get,
            Method::HEAD => rusty_s3::Method::Head,
            Method::PUT => rusty_s3::Method::Put,
            Method::POST => rusty_s3::Method::Post,
            Method::DELETE => rusty_s3::Method::Delete,
            ref other => {
                return Err(UpstreamError::Unsigned {
                    method: other.clone(),
                });
            }
        };
        Ok(match call.signer {
            Some(signer) => rusty_s3::signing::sign(
                &jiff::Timestamp::now(),
                method,
                url,
                &signer.access_key,
                &signer.secret_key,
                None,
                &self.region,
                PRESIGN_EXPIRES,
                call.query.iter().copied(),
                call.signed.iter().map(|(n, v)| (*n, v.as_str())),
            ),
            None => {
                let mut url = url;
                if !call.query.is_empty() {
                    let mut pairs = url.query_pairs_mut();
                    for (n, v) in &call.query {
                        pairs.append_pair(n, v);
                    }
                }
                url
            }
        })
    }
}

/// Reads a whole small body (an error document, a cached torrent), at most
/// `limit` bytes.
pub(crate) async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, UpstreamError> {
    Limited::new(body, limit)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|source| UpstreamError::Body { limit, source })
}

/// The `<Code>` of an S3 error document.
pub(crate) fn error_code(body: &[u8]) -> Option<String> {
    xml_field(body, "Code")
}

/// The text of the first `<NAME>` element of a small XML document, as it
/// stands (not unescaped).
pub(crate) fn xml_field(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{name}>"))? + start;
    Some(text[start..end].trim().to_owned())
}

/// A header's value as text.
pub(crate) fn header<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn strip_hop_by_hop(headers: &mut http::HeaderMap) {
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_of_s3_documents() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><BucketName>x</BucketName></Error>"#;
        assert_eq!(error_code(doc).as_deref(), Some("NoSuchBucket"));
        assert_eq!(error_code(b"<Code>NoSuchKey").as_deref(), None);
        assert_eq!(error_code(b"").as_deref(), None);
    }

    #[test]
    fn upstreams_are_http_urls_without_a_path() {
        assert!(Upstream::new("http://127.0.0.1:7480", "us-east-1").is_ok());
        assert!(Upstream::new("http://127.0.0.1:7480/", "us-east-1").is_ok());
        for bad in [
            "https://s3.example.com",
            "http://h:1/prefix",
            "127.0.0.1:7480",
            "http://h:1/?x=1",
        ] {
            assert!(Upstream::new(bad, "us-east-1").is_err(), "{bad}");
        }
    }

    #[test]
    fn presigned_calls_sign_the_sorted_headers() {
        let up = Upstream::new("http://127.0.0.1:7480", "us-east-1").unwrap();
        let signer = Signer {
            access_key: "AK".into(),
            secret_key: "SK".into(),
        };
        let mut call = Call::new(Method::HEAD, "b", Some("dir/a b"), Some(&signer));
        call.signed
            .push(("x-amz-request-payer", "requester".into()));
        call.signed
            .push(("x-amz-expected-bucket-owner", "111111111111".into()));
        call.signed.sort_by(|a, b| a.0.cmp(b.0));
        let url = up.url(&call).unwrap();
        assert!(
            url.as_str()
                .starts_with("http://127.0.0.1:7480/b/dir/a%20b?"),
            "{url}"
        );
        let signed: String = url
            .query_pairs()
            .find(|(k, _)| k == "X-Amz-SignedHeaders")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        assert_eq!(
            signed,
            "host;x-amz-expected-bucket-owner;x-amz-request-payer"
        );
        let anonymous = Call::new(Method::GET, "", None, None);
        assert_eq!(
            up.url(&anonymous).unwrap().as_str(),
            "http://127.0.0.1:7480/"
        );
    }
}
