//! What an S3 request is, for the metrics: its operation (told from the
//! method, the path, the query's keys and one header, as S3 routes it) and
//! the channel its body bytes count under. Classifying reads the request
//! and allocates nothing.

use http::{HeaderMap, Method, Uri};

/// The S3 operations the endpoint serves, and a few more names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    ListBuckets,
    CreateBucket,
    HeadBucket,
    DeleteBucket,
    GetBucketLocation,
    GetBucketAcl,
    PutBucketAcl,
    GetBucketPolicy,
    PutBucketPolicy,
    DeleteBucketPolicy,
    GetBucketPolicyStatus,
    GetBucketRequestPayment,
    PutBucketRequestPayment,
    ListObjects,
    ListObjectsV2,
    ListObjectVersions,
    ListMultipartUploads,
    DeleteObjects,
    GetObject,
    GetObjectTorrent,
    HeadObject,
    PutObject,
    CopyObject,
    DeleteObject,
    GetObjectAcl,
    PutObjectAcl,
    CreateMultipartUpload,
    UploadPart,
    UploadPartCopy,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
    /// A page of the console (`/_s3torrent/`), not S3.
    Console,
    /// Anything else (an operation the endpoint does not implement, or a
    /// malformed request).
    Other,
}

/// How many [`Operation`]s there are.
pub(crate) const OPERATIONS: usize = Operation::Other as usize + 1;

impl Operation {
    /// Every operation, in the order of their numbers.
    pub(crate) const ALL: [Operation; OPERATIONS] = [
        Operation::ListBuckets,
        Operation::CreateBucket,
        Operation::HeadBucket,
        Operation::DeleteBucket,
        Operation::GetBucketLocation,
        Operation::GetBucketAcl,
        Operation::PutBucketAcl,
        Operation::GetBucketPolicy,
        Operation::PutBucketPolicy,
        Operation::DeleteBucketPolicy,
        Operation::GetBucketPolicyStatus,
        Operation::GetBucketRequestPayment,
        Operation::PutBucketRequestPayment,
        Operation::ListObjects,
        Operation::ListObjectsV2,
        Operation::ListObjectVersions,
        Operation::ListMultipartUploads,
        Operation::DeleteObjects,
        Operation::GetObject,
        Operation::GetObjectTorrent,
        Operation::HeadObject,
        Operation::PutObject,
        Operation::CopyObject,
        Operation::DeleteObject,
        Operation::GetObjectAcl,
        Operation::PutObjectAcl,
        Operation::CreateMultipartUpload,
        Operation::UploadPart,
        Operation::UploadPartCopy,
        Operation::CompleteMultipartUpload,
        Operation::AbortMultipartUpload,
        Operation::ListParts,
        Operation::Console,
        Operation::Other,
    ];

    /// Its name, as AWS's API reference spells it (the label value).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Operation::ListBuckets => "ListBuckets",
            Operation::CreateBucket => "CreateBucket",
            Operation::HeadBucket => "HeadBucket",
            Operation::DeleteBucket => "DeleteBucket",
            Operation::GetBucketLocation => "GetBucketLocation",
            Operation::GetBucketAcl => "GetBucketAcl",
            Operation::PutBucketAcl => "PutBucketAcl",
            Operation::GetBucketPolicy => "GetBucketPolicy",
            Operation::PutBucketPolicy => "PutBucketPolicy",
            Operation::DeleteBucketPolicy => "DeleteBucketPolicy",
            Operation::GetBucketPolicyStatus => "GetBucketPolicyStatus",
            Operation::GetBucketRequestPayment => "GetBucketRequestPayment",
            Operation::PutBucketRequestPayment => "PutBucketRequestPayment",
            Operation::ListObjects => "ListObjects",
            Operation::ListObjectsV2 => "ListObjectsV2",
            Operation::ListObjectVersions => "ListObjectVersions",
            Operation::ListMultipartUploads => "ListMultipartUploads",
            Operation::DeleteObjects => "DeleteObjects",
            Operation::GetObject => "GetObject",
            Operation::GetObjectTorrent => "GetObjectTorrent",
            Operation::HeadObject => "HeadObject",
            Operation::PutObject => "PutObject",
            Operation::CopyObject => "CopyObject",
            Operation::DeleteObject => "DeleteObject",
            Operation::GetObjectAcl => "GetObjectAcl",
            Operation::PutObjectAcl => "PutObjectAcl",
            Operation::CreateMultipartUpload => "CreateMultipartUpload",
            Operation::UploadPart => "UploadPart",
            Operation::UploadPartCopy => "UploadPartCopy",
            Operation::CompleteMultipartUpload => "CompleteMultipartUpload",
            Operation::AbortMultipartUpload => "AbortMultipartUpload",
            Operation::ListParts => "ListParts",
            Operation::Console => "Console",
            Operation::Other => "Other",
        }
    }
}

/// Where the body bytes of a successful answer count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    /// A GetObject that is not a web seed's.
    GetObject = 0,
    /// A BEP 19 web seed's GET: anonymous (no signature) and ranged, as
    /// libtorrent and aria2 ask for pieces.
    WebSeed = 1,
    /// The seeding peer's payload.
    Peer = 2,
    /// Not the object's bytes (listings, `?torrent`, errors, ...): not the
    /// origin's upload.
    None = 3,
}

impl Channel {
    /// The channels the origin sends objects' bytes on, with their label values.
    pub(crate) const SENDING: [(Channel, &'static str); 3] = [
        (Channel::GetObject, "get_object"),
        (Channel::WebSeed, "web_seed"),
        (Channel::Peer, "peer"),
    ];
}

/// What the metrics know of a request before it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestKind {
    pub(crate) operation: Operation,
    pub(crate) channel: Channel,
}

/// The statuses counted one by one; any other is counted as `other`.
pub(crate) const STATUSES: [u16; 16] = [
    200, 204, 206, 304, 400, 403, 404, 405, 409, 411, 412, 416, 500, 501, 503, 0,
];

/// The label values of [`STATUSES`].
pub(crate) const STATUS_NAMES: [&str; 16] = [
    "200", "204", "206", "304", "400", "403", "404", "405", "409", "411", "412", "416", "500",
    "501", "503", "other",
];

/// The index of `status` in [`STATUSES`] (the last one for any other).
pub(crate) fn status_index(status: u16) -> usize {
    STATUSES[..STATUSES.len() - 1]
        .iter()
        .position(|s| *s == status)
        .unwrap_or(STATUSES.len() - 1)
}

/// Whether `host` (its port and a trailing dot aside) is a subdomain of
/// `domain`: a virtual-hosted-style request, whose bucket is in the host.
pub(crate) fn names_bucket(host: &str, domain: &str) -> bool {
    let host = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') {
            h
        } else {
            host
        }
    });
    let host = host.strip_suffix('.').unwrap_or(host);
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    host.len() > domain.len() + 1
        && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
        && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain)
}

/// Where the console's pages are (`/_s3torrent/`).
pub(crate) const CONSOLE_PREFIX: &str = "/_s3torrent";

/// Whether a request's path is the console's (`/_s3torrent`, or below it).
/// A virtual-hosted-style request (its host names a bucket) is not: its
/// path is a key. The console's own, decided here, where every request is
/// classified, so that the console (which reads the metrics) is imported by
/// nothing it imports.
pub(crate) fn console_wants(path: &str, host_names_bucket: bool) -> bool {
    !host_names_bucket
        && (path == CONSOLE_PREFIX
            || path
                .strip_prefix(CONSOLE_PREFIX)
                .is_some_and(|rest| rest.starts_with('/')))
}

/// Whether a request's `Host` names a bucket under `base_domain`
/// (`--base-domain`): virtual-hosted style.
pub(crate) fn host_names_bucket(headers: &HeaderMap, base_domain: Option<&str>) -> bool {
    base_domain.is_some_and(|domain| {
        headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| names_bucket(h, domain))
    })
}

/// Whether the endpoint answers the console's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Console {
    /// `serve`: `/_s3torrent/` is the console.
    Served,
    /// The gateway: those paths are its cluster's.
    None,
}

/// Classifies a request; `base_domain` is `--base-domain`, under which a
/// host names the bucket.
pub(crate) fn classify(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    base_domain: Option<&str>,
    console: Console,
) -> RequestKind {
    let path = uri.path();
    let query = uri.query().unwrap_or_default();
    let has = |key: &str| {
        query
            .split('&')
            .any(|p| p.split_once('=').map_or(p, |(k, _)| k) == key)
    };
    let virtual_bucket = host_names_bucket(headers, base_domain);
    if console == Console::Served && console_wants(path, virtual_bucket) {
        return RequestKind {
            operation: Operation::Console,
            channel: Channel::None,
        };
    }
    let rest = path.strip_prefix('/').unwrap_or(path);
    // (a bucket is named, an object is named)
    let (bucket, object) = if virtual_bucket {
        (true, !rest.is_empty())
    } else {
        match rest.split_once('/') {
            None => (!rest.is_empty(), false),
            Some((b, k)) => (!b.is_empty(), !k.is_empty()),
        }
    };
    let copy = headers.contains_key("x-amz-copy-source");
    use Operation as O;
    let operation = match (bucket, object) {
        (false, _) if *method == Method::GET => O::ListBuckets,
        (false, _) => O::Other,
        (true, false) => match *method {
            Method::GET if has("acl") => O::GetBucketAcl,
            Method::GET if has("location") => O::GetBucketLocation,
            Method::GET if has("policyStatus") => O::GetBucketPolicyStatus,
            Method::GET if has("policy") => O::GetBucketPolicy,
            Method::GET if has("requestPayment") => O::GetBucketRequestPayment,
            Method::GET if has("uploads") => O::ListMultipartUploads,
            Method::GET if has("versions") => O::ListObjectVersions,
            Method::GET if has("list-type") => O::ListObjectsV2,
            Method::GET if query_is_listing(query) => O::ListObjects,
            Method::PUT if has("acl") => O::PutBucketAcl,
            Method::PUT if has("policy") => O::PutBucketPolicy,
            Method::PUT if has("requestPayment") => O::PutBucketRequestPayment,
            Method::PUT if query.is_empty() => O::CreateBucket,
            Method::DELETE if has("policy") => O::DeleteBucketPolicy,
            Method::DELETE if query.is_empty() => O::DeleteBucket,
            Method::HEAD => O::HeadBucket,
            Method::POST if has("delete") => O::DeleteObjects,
            _ => O::Other,
        },
        (true, true) => match *method {
            Method::GET if has("torrent") => O::GetObjectTorrent,
            Method::GET if has("acl") => O::GetObjectAcl,
            Method::GET if has("uploadId") => O::ListParts,
            Method::GET => O::GetObject,
            Method::HEAD => O::HeadObject,
            Method::PUT if has("uploadId") && copy => O::UploadPartCopy,
            Method::PUT if has("uploadId") => O::UploadPart,
            Method::PUT if has("acl") => O::PutObjectAcl,
            Method::PUT if copy => O::CopyObject,
            Method::PUT => O::PutObject,
            Method::DELETE if has("uploadId") => O::AbortMultipartUpload,
            Method::DELETE => O::DeleteObject,
            Method::POST if has("uploads") => O::CreateMultipartUpload,
            Method::POST if has("uploadId") => O::CompleteMultipartUpload,
            _ => O::Other,
        },
    };
    let channel = match operation {
        O::GetObject => {
            let signed = headers.contains_key(http::header::AUTHORIZATION)
                || has("X-Amz-Signature")
                || has("Signature");
            if !signed && headers.contains_key(http::header::RANGE) {
                Channel::WebSeed
            } else {
                Channel::GetObject
            }
        }
        _ => Channel::None,
    };
    RequestKind { operation, channel }
}

/// Whether a bucket GET's query is a ListObjects (v1) one: no query, or
/// only its parameters and signature ones. A GET of another subresource
/// (`?cors`, `?tagging`, ...) is none of ours.
fn query_is_listing(query: &str) -> bool {
    query.split('&').all(|p| {
        let key = p.split_once('=').map_or(p, |(k, _)| k);
        key.is_empty()
            || key.starts_with("X-Amz-")
            || matches!(
                key,
                "prefix" | "delimiter" | "marker" | "max-keys" | "encoding-type"
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(method: &str, uri: &str, headers: &[(&str, &str)]) -> RequestKind {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        classify(
            &method.parse().unwrap(),
            &uri.parse().unwrap(),
            &map,
            Some("s3.example.net"),
            Console::Served,
        )
    }

    fn op(method: &str, uri: &str) -> Operation {
        kind(method, uri, &[]).operation
    }

    #[test]
    fn operations_as_s3_routes_them() {
        use Operation as O;
        for (method, uri, want) in [
            ("GET", "/", O::ListBuckets),
            ("PUT", "/b", O::CreateBucket),
            ("HEAD", "/b", O::HeadBucket),
            ("DELETE", "/b/", O::DeleteBucket),
            ("GET", "/b?location", O::GetBucketLocation),
            ("GET", "/b?policyStatus", O::GetBucketPolicyStatus),
            ("GET", "/b?policy", O::GetBucketPolicy),
            ("GET", "/b?list-type=2&prefix=a", O::ListObjectsV2),
            ("GET", "/b?prefix=a&marker=x", O::ListObjects),
            ("GET", "/b", O::ListObjects),
            ("GET", "/b?cors", O::Other),
            ("GET", "/b?versions", O::ListObjectVersions),
            ("POST", "/b?delete", O::DeleteObjects),
            ("GET", "/b/k?torrent", O::GetObjectTorrent),
            ("GET", "/b/k/deeper", O::GetObject),
            ("HEAD", "/b/k", O::HeadObject),
            ("PUT", "/b/k", O::PutObject),
            ("PUT", "/b/k?partNumber=1&uploadId=u", O::UploadPart),
            ("POST", "/b/k?uploads", O::CreateMultipartUpload),
            ("POST", "/b/k?uploadId=u", O::CompleteMultipartUpload),
            ("DELETE", "/b/k?uploadId=u", O::AbortMultipartUpload),
            ("GET", "/b/k?uploadId=u", O::ListParts),
            ("GET", "/b/k?acl", O::GetObjectAcl),
            ("GET", "/_s3torrent/b/x", O::Console),
        ] {
            assert_eq!(op(method, uri), want, "{method} {uri}");
        }
        assert_eq!(
            kind("PUT", "/b/k", &[("x-amz-copy-source", "/a/b")]).operation,
            O::CopyObject
        );
        assert_eq!(
            kind(
                "PUT",
                "/b/k?partNumber=2&uploadId=u",
                &[("x-amz-copy-source", "/a/b")]
            )
            .operation,
            O::UploadPartCopy
        );
        // Virtual-hosted style: the host names the bucket.
        let v = |uri: &str, host: &str| kind("GET", uri, &[("host", host)]).operation;
        assert_eq!(v("/", "b.s3.example.net:9000"), O::ListObjects);
        assert_eq!(v("/k", "b.S3.Example.NET."), O::GetObject);
        assert_eq!(v("/k", "s3.example.net"), O::ListObjects);
        assert_eq!(v("/k", "bs3.example.net"), O::ListObjects);
        for (i, o) in Operation::ALL.iter().enumerate() {
            assert_eq!(*o as usize, i);
        }
    }

    #[test]
    fn a_web_seed_is_an_anonymous_ranged_get() {
        let web = kind("GET", "/b/k", &[("range", "bytes=0-9")]);
        assert_eq!(web.channel, Channel::WebSeed);
        let signed = kind(
            "GET",
            "/b/k",
            &[
                ("range", "bytes=0-9"),
                ("authorization", "AWS4-HMAC-SHA256 x"),
            ],
        );
        assert_eq!(signed.channel, Channel::GetObject);
        let presigned = kind("GET", "/b/k?X-Amz-Signature=ab", &[("range", "bytes=0-9")]);
        assert_eq!(presigned.channel, Channel::GetObject);
        assert_eq!(kind("GET", "/b/k", &[]).channel, Channel::GetObject);
        assert_eq!(kind("GET", "/b/k?torrent", &[]).channel, Channel::None);
    }

    #[test]
    fn console_paths() {
        assert!(console_wants("/_s3torrent", false));
        assert!(console_wants("/_s3torrent/b/x/y", false));
        assert!(!console_wants("/_s3torrentx", false));
        assert!(!console_wants("/_s3torrent/b/x", true));
    }

    #[test]
    fn statuses() {
        assert_eq!(STATUS_NAMES[status_index(206)], "206");
        assert_eq!(STATUS_NAMES[status_index(418)], "other");
        assert_eq!(STATUS_NAMES[status_index(0)], "other");
    }
}
