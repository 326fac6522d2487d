//! The bucket-policy condition keys that a request's headers give.

use http::HeaderMap;
use s3torrent_s3::ConditionContext;

use crate::request::percent_decode;

/// The request headers a bucket policy may test, each as the condition key
/// `s3:<header>` with the header's value (as S3 names them). A key the
/// evaluator should know of is one line here.
const HEADER_KEYS: &[&str] = &[
    "x-amz-acl",
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
    "x-amz-copy-source",
    "x-amz-metadata-directive",
    "x-amz-storage-class",
    "x-amz-content-sha256",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-customer-algorithm",
];

/// The global keys read from standard headers: (condition key, header).
const GLOBAL_KEYS: &[(&str, &str)] = &[("aws:Referer", "referer"), ("aws:UserAgent", "user-agent")];

/// The condition keys `headers` give, for a bucket policy's conditions:
/// `s3:x-amz-acl`, `s3:x-amz-grant-read`, `…-write`, `…-read-acp`,
/// `…-write-acp`, `…-full-control`, `s3:x-amz-copy-source`,
/// `s3:x-amz-metadata-directive`, `s3:x-amz-storage-class`,
/// `s3:x-amz-content-sha256`, `s3:x-amz-server-side-encryption`,
/// `…-aws-kms-key-id`, `…-customer-algorithm` (the header's value; `x-amz-copy-source` as
/// `bucket/key`, percent-decoded, without a leading `/`), `aws:Referer`
/// and `aws:UserAgent`. A header sent more than once gives its values
/// joined by `,`; bytes that are not UTF-8 are replaced, so a header that
/// was sent is never absent to a condition. What a host knows besides
/// (the tags a request sets, the object's tags, `aws:SecureTransport`) it
/// adds itself.
///
/// ```
/// use s3torrent_http::condition_context;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-amz-acl", "public-read".parse().unwrap());
/// headers.insert("x-amz-copy-source", "/src/public/a%20b.txt?versionId=3".parse().unwrap());
/// headers.insert("referer", "http://www.example.com/".parse().unwrap());
/// let context = condition_context(&headers);
/// assert_eq!(context.values("s3:x-amz-acl"), Some(&["public-read".to_owned()][..]));
/// assert_eq!(
///     context.values("s3:x-amz-copy-source"),
///     Some(&["src/public/a b.txt?versionId=3".to_owned()][..])
/// );
/// assert_eq!(context.values("aws:Referer"), Some(&["http://www.example.com/".to_owned()][..]));
/// assert_eq!(context.values("s3:x-amz-metadata-directive"), None);
/// ```
pub fn condition_context(headers: &HeaderMap) -> ConditionContext {
    let mut context = ConditionContext::new();
    let value = |name: &str| {
        let mut all = headers.get_all(name).iter().peekable();
        all.peek()?;
        let joined: Vec<String> = all
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        Some(joined.join(","))
    };
    for &header in HEADER_KEYS {
        if let Some(v) = value(header) {
            let v = if header == "x-amz-copy-source" {
                copy_source(&v)
            } else {
                v
            };
            context.set(&format!("s3:{header}"), v);
        }
    }
    for &(key, header) in GLOBAL_KEYS {
        if let Some(v) = value(header) {
            context.set(key, v);
        }
    }
    context
}

/// `x-amz-copy-source` as a policy compares it: `bucket/key`, without the
/// leading `/` a client may send, the path percent-decoded (a value that
/// does not decode is kept as sent); a `?versionId=…` stays.
fn copy_source(raw: &str) -> String {
    let raw = raw.strip_prefix('/').unwrap_or(raw);
    let (path, query) = match raw.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (raw, None),
    };
    let mut out = percent_decode(path).unwrap_or_else(|| path.to_owned());
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hostile header values: repeated, not UTF-8, badly encoded; each
    /// stays present, and nothing panics.
    #[test]
    fn hostile_headers() {
        let mut headers = HeaderMap::new();
        headers.append("x-amz-grant-read", "id=a".parse().unwrap());
        headers.append("x-amz-grant-read", "id=b".parse().unwrap());
        headers.insert(
            "x-amz-acl",
            http::HeaderValue::from_bytes(b"public\xff").unwrap(),
        );
        headers.insert("x-amz-copy-source", "b/%zz%".parse().unwrap());
        headers.insert("user-agent", "".parse().unwrap());
        let c = condition_context(&headers);
        let one = |k: &str| c.values(k).map(|v| v.join("|"));
        assert_eq!(one("s3:x-amz-grant-read").as_deref(), Some("id=a,id=b"));
        assert_eq!(one("s3:x-amz-acl").as_deref(), Some("public\u{fffd}"));
        assert_eq!(one("s3:x-amz-copy-source").as_deref(), Some("b/%zz%"));
        assert_eq!(one("aws:UserAgent").as_deref(), Some(""));
        assert_eq!(one("aws:Referer"), None);
    }
}
