//! The request side: which requests are GetObjectTorrent, and the
//! [`TorrentRequest`] each one asks for.

use http::header::HOST;
use http::{HeaderMap, Method, Request, Uri};
use s3torrent_s3::{Addressing, ErrorCode, Requester, S3Error, TorrentRequest};

/// How the adapter reads requests: the base domain for virtual-hosted-style
/// addressing.
///
/// ```
/// use s3torrent_http::AdapterConfig;
///
/// let path_style_only = AdapterConfig::default();
/// assert_eq!(path_style_only.base_domain, None);
/// let both = AdapterConfig::new(Some("s3.example.com".into()));
/// assert_eq!(both.base_domain.as_deref(), Some("s3.example.com"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdapterConfig {
    /// The endpoint's domain, such as `s3.example.com`. With it, a request
    /// whose `Host` is `BUCKET.s3.example.com` (any port, any case, a
    /// trailing dot or not; see [`virtual_host_bucket`]) is
    /// virtual-hosted-style: the bucket comes from the host and the whole
    /// path is the key. Any other host, and every host when this is `None`,
    /// means path-style: `/BUCKET/KEY`.
    pub base_domain: Option<String>,
}

impl AdapterConfig {
    /// A configuration with this base domain (`None`: path-style only).
    pub fn new(base_domain: Option<String>) -> Self {
        AdapterConfig { base_domain }
    }
}

/// What the host knows about one request beyond its bytes: who sent it (as
/// the host authenticated them) and the IDs the answer carries.
///
/// ```
/// use s3torrent_http::RequestContext;
/// use s3torrent_s3::Requester;
///
/// let cx = RequestContext::new(Requester::Anonymous, "4442587FB7D0A2F9").with_host_id("node-1");
/// assert_eq!((cx.request_id.as_str(), cx.host_id.as_str()), ("4442587FB7D0A2F9", "node-1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestContext {
    /// Who is asking; authentication is the host's job.
    pub requester: Requester,
    /// The request's ID: `x-amz-request-id`, and `<RequestId>` in errors.
    pub request_id: String,
    /// The serving host's ID: `x-amz-id-2`, and `<HostId>` in errors
    /// (empty: none).
    pub host_id: String,
}

impl RequestContext {
    /// A request from `requester` with this ID and no host ID.
    pub fn new(requester: Requester, request_id: impl Into<String>) -> Self {
        RequestContext {
            requester,
            request_id: request_id.into(),
            host_id: String::new(),
        }
    }

    /// Sets the host ID.
    pub fn with_host_id(mut self, host_id: impl Into<String>) -> Self {
        self.host_id = host_id.into();
        self
    }
}

/// Whether a request is GetObjectTorrent: `GET` or `HEAD` with a `torrent`
/// query parameter (`?torrent`, `?torrent=`, or with any value, anywhere
/// among the parameters; the name percent-decoded, so `?%74orrent` is one
/// too). A host routes these to [`handle`](crate::handle); it needs only
/// the method and the URI, which every framework has before the body.
///
/// ```
/// use http::{Method, Uri};
/// use s3torrent_http::is_torrent_request;
///
/// let get = |uri: &str| is_torrent_request(&Method::GET, &uri.parse::<Uri>().unwrap());
/// assert!(get("/bucket/key?torrent"));
/// assert!(get("/bucket/key?versionId=v1&torrent="));
/// assert!(get("/bucket/key?%74orrent"));
/// assert!(!get("/bucket/key?torrents"));
/// assert!(!is_torrent_request(&Method::PUT, &"/b/k?torrent".parse().unwrap()));
/// ```
pub fn is_torrent_request(method: &Method, uri: &Uri) -> bool {
    (method == Method::GET || method == Method::HEAD) && has_torrent_param(uri)
}

/// The bucket and key a request names, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Address {
    /// The bucket, percent-decoded (path-style) or from the host.
    pub bucket: String,
    /// The key, percent-decoded; `None` for `/BUCKET`, `/BUCKET/`, or `/`
    /// virtual-hosted.
    pub key: Option<String>,
    /// Path-style or virtual-hosted-style.
    pub addressing: Addressing,
}

/// The addressing rule, path-style and virtual-hosted-style in one: the
/// bucket from the `Host` header (or, in HTTP/2, the URI's authority) when
/// [`virtual_host_bucket`] finds one under the configured base domain, and
/// the whole path is the key; otherwise `/BUCKET/KEY`. Keys are
/// percent-decoded into UTF-8 (`%2F` is `/`, a literal `+` stays `+`) and
/// kept exactly, empty segments and a trailing `/` included.
///
/// Errors: `InvalidURI` 400 for a `%` not followed by two hex digits, or a
/// bucket or key that decodes to bytes that are not UTF-8 (the resource is
/// the raw path); `InvalidRequest` 400 when no bucket is named.
///
/// ```
/// use s3torrent_http::{AdapterConfig, parse_address};
/// use s3torrent_s3::Addressing;
///
/// let config = AdapterConfig::new(Some("s3.example.com".into()));
/// let mut headers = http::HeaderMap::new();
/// headers.insert("host", "Photos.S3.Example.com.:9000".parse().unwrap());
/// let a = parse_address(&"/a%20b".parse().unwrap(), &headers, &config)?;
/// assert_eq!((a.bucket.as_str(), a.key.as_deref()), ("photos", Some("a b")));
/// assert_eq!(a.addressing, Addressing::VirtualHosted);
///
/// headers.insert("host", "127.0.0.1:9000".parse().unwrap());
/// let a = parse_address(&"/photos/dir/".parse().unwrap(), &headers, &config)?;
/// assert_eq!((a.bucket.as_str(), a.key.as_deref()), ("photos", Some("dir/")));
/// assert_eq!(a.addressing, Addressing::Path);
/// # Ok::<(), s3torrent_s3::S3Error>(())
/// ```
pub fn parse_address(
    uri: &Uri,
    headers: &HeaderMap,
    config: &AdapterConfig,
) -> Result<Address, S3Error> {
    let raw_path = uri.path();
    let bad_uri = || S3Error::new(ErrorCode::InvalidUri, raw_path);
    let path = raw_path.strip_prefix('/').unwrap_or(raw_path);
    let host = match headers.get(HOST) {
        Some(h) => h.to_str().ok(),
        None => uri.authority().map(|a| a.as_str()),
    };
    let from_host = config
        .base_domain
        .as_deref()
        .zip(host)
        .and_then(|(base, host)| virtual_host_bucket(host, base));
    let (bucket, key, addressing) = match from_host {
        Some(bucket) => (bucket, path, Addressing::VirtualHosted),
        None => {
            let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
            (
                percent_decode(bucket).ok_or_else(bad_uri)?,
                key,
                Addressing::Path,
            )
        }
    };
    if bucket.is_empty() {
        return Err(S3Error::with_message(
            ErrorCode::InvalidRequest,
            "GetObjectTorrent needs a bucket and a key: /BUCKET/KEY?torrent.",
            raw_path,
        ));
    }
    let key = match key {
        "" => None,
        k => Some(percent_decode(k).ok_or_else(bad_uri)?),
    };
    Ok(Address {
        bucket,
        key,
        addressing,
    })
}

/// The one host rule: the bucket a `Host` names under `base_domain`
/// (`BUCKET.` then the domain), compared without case, userinfo, port or a
/// trailing dot on either side; `None` for any other host (then the request
/// is path-style). IPv6 literals never match.
///
/// ```
/// use s3torrent_http::virtual_host_bucket;
///
/// let base = "s3.example.com";
/// assert_eq!(virtual_host_bucket("Photos.S3.example.com:9000", base).as_deref(), Some("photos"));
/// assert_eq!(virtual_host_bucket("photos.s3.example.com.", base).as_deref(), Some("photos"));
/// assert_eq!(virtual_host_bucket("photos.s3.example.com", "s3.example.com.").as_deref(), Some("photos"));
/// assert_eq!(virtual_host_bucket("s3.example.com", base), None);
/// assert_eq!(virtual_host_bucket("evils3.example.com", base), None);
/// assert_eq!(virtual_host_bucket("[::1]:9000", base), None);
/// ```
pub fn virtual_host_bucket(host: &str, base_domain: &str) -> Option<String> {
    let base = normalize_host(base_domain);
    if base.is_empty() {
        return None;
    }
    let host = normalize_host(host);
    let bucket = host.strip_suffix(base.as_str())?.strip_suffix('.')?;
    (!bucket.is_empty()).then(|| bucket.to_owned())
}

fn has_torrent_param(uri: &Uri) -> bool {
    query_params(uri).any(|(name, _)| param_name_is(name, "torrent"))
}

/// Reads GetObjectTorrent's input from a request, with the requester the
/// host authenticated (authentication is the host's job).
///
/// - **Addressing** and **keys**: [`parse_address`]. No key (`/BUCKET`,
///   `/BUCKET/`, or `/` virtual-hosted) gives `key: None`, which the torrent
///   service answers with `RequestTorrentOfBucketError`.
/// - **Query**: the `torrent` subresource (with or without `=`, any value)
///   and `versionId`, percent-decoded like keys. Other parameters are ignored.
/// - **Headers**: `x-amz-request-payer: requester` (any case) and
///   `x-amz-expected-bucket-owner`, passed on unchecked: the torrent service
///   refuses a malformed owner with `InvalidBucketOwnerAWSAccountID` 400,
///   naming `/BUCKET/KEY`. Repeated, the owner header is joined with `,` and
///   so is refused too.
///
/// # Errors
///
/// Each an [`S3Error`] to answer with (see [`error_response`](crate::error_response)):
///
/// - `MethodNotAllowed` 405: a method other than `GET` or `HEAD`;
/// - `InvalidRequest` 400: no `torrent` parameter, or no bucket in the request;
/// - `InvalidURI` 400: a `%` not followed by two hex digits, or a key, bucket
///   or version ID that decodes to bytes that are not UTF-8. The error's
///   resource is the raw request path;
/// - `InvalidArgument` 400: an empty `versionId=` (as S3: "Version id cannot
///   be the empty string"), or more than one `versionId`.
///
/// ```
/// use s3torrent_http::{AdapterConfig, parse_request};
/// use s3torrent_s3::Requester;
///
/// let config = AdapterConfig::new(Some("s3.example.com".into()));
/// let req = http::Request::get("/dir/a%20b+c%2Fd%C3%A9?torrent&versionId=v%2B1")
///     .header("host", "photos.s3.example.com:9000")
///     .header("x-amz-request-payer", "Requester")
///     .body(())
///     .unwrap();
/// let parsed = parse_request(&req, &config, Requester::Anonymous)?;
/// assert_eq!(parsed.bucket, "photos");
/// assert_eq!(parsed.key.as_deref(), Some("dir/a b+c/dé"));
/// assert_eq!(parsed.version_id.as_deref(), Some("v+1"));
/// assert!(parsed.request_payer);
/// # Ok::<(), s3torrent_s3::S3Error>(())
/// ```
pub fn parse_request<B>(
    req: &Request<B>,
    config: &AdapterConfig,
    requester: Requester,
) -> Result<TorrentRequest, S3Error> {
    parse_head(req.method(), req.uri(), req.headers(), config, requester)
}

fn parse_head(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    config: &AdapterConfig,
    requester: Requester,
) -> Result<TorrentRequest, S3Error> {
    let raw_path = uri.path();
    if method != Method::GET && method != Method::HEAD {
        return Err(S3Error::new(ErrorCode::MethodNotAllowed, raw_path));
    }
    if !has_torrent_param(uri) {
        return Err(S3Error::with_message(
            ErrorCode::InvalidRequest,
            "Not a GetObjectTorrent request: the torrent subresource is missing.",
            raw_path,
        ));
    }
    let bad_uri = || S3Error::new(ErrorCode::InvalidUri, raw_path);
    let Address { bucket, key, .. } = parse_address(uri, headers, config)?;

    let mut version_id = None;
    for (name, value) in query_params(uri) {
        if !param_name_is(name, "versionId") {
            continue;
        }
        let value = percent_decode(value.unwrap_or("")).ok_or_else(bad_uri)?;
        let resource = resource_of(&bucket, key.as_deref());
        if value.is_empty() {
            return Err(S3Error::with_message(
                ErrorCode::InvalidArgument,
                "Version id cannot be the empty string",
                resource,
            ));
        }
        if version_id.replace(value).is_some() {
            return Err(S3Error::with_message(
                ErrorCode::InvalidArgument,
                "versionId is given more than once.",
                resource,
            ));
        }
    }

    let request_payer = headers
        .get("x-amz-request-payer")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"requester"));
    let mut owners = headers.get_all("x-amz-expected-bucket-owner").iter();
    let expected_bucket_owner = owners.next().map(|first| {
        let mut joined = String::from_utf8_lossy(first.as_bytes()).into_owned();
        for more in owners {
            joined.push(',');
            joined.push_str(&String::from_utf8_lossy(more.as_bytes()));
        }
        joined
    });

    Ok(TorrentRequest {
        bucket,
        key,
        version_id,
        request_payer,
        expected_bucket_owner,
        requester,
        context: crate::condition::condition_context(headers),
    })
}

fn resource_of(bucket: &str, key: Option<&str>) -> String {
    match key {
        Some(k) => format!("/{bucket}/{k}"),
        None => format!("/{bucket}"),
    }
}

/// Lowercase, without userinfo, port or trailing dot. IPv6 literals stay
/// bracketed (and so never match a base domain).
fn normalize_host(host: &str) -> String {
    let host = host.trim();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// The query's parameters, raw: `(name, value)`, the value `None` without `=`.
fn query_params(uri: &Uri) -> impl Iterator<Item = (&str, Option<&str>)> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (p, None),
        })
}

/// Whether a raw parameter name decodes to `expected` (an invalid encoding
/// names no parameter we know).
fn param_name_is(raw: &str, expected: &str) -> bool {
    raw == expected || (raw.contains('%') && percent_decode(raw).as_deref() == Some(expected))
}

/// Percent-decodes (RFC 3986: `+` is itself) into UTF-8; `None` for a `%`
/// not followed by two hex digits, or bytes that are not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_owned());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex(*bytes.get(i + 1)?)?;
            let lo = hex(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a+b%20c%2f%2F").as_deref(), Some("a+b c//"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        for bad in ["%", "%2", "%zz", "%C3", "%FF", "a%2"] {
            assert_eq!(percent_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(normalize_host("A.Example.COM.:9000"), "a.example.com");
        assert_eq!(normalize_host("[::1]:9000"), "[::1]:9000");
        assert_eq!(normalize_host("user@b.example:1"), "b.example");
    }
}
