//! What the HTTP front does to a request before s3s sees it, and to every
//! answer after: HTTP's and S3's rules that s3s does not apply itself, and
//! request IDs.
//!
//! - A `Range` header that is not one satisfiable-syntax `bytes=` range is
//!   ignored (RFC 9110 §14.2, as S3 does): it is dropped, so the whole
//!   object is answered. s3s would answer 400 for what it cannot parse. A
//!   `Range` header the signature covers is left to s3s (dropping it would
//!   break the signature), so that case is still a 400.
//! - A presigned URL whose `X-Amz-Expires` is not a number of seconds up to
//!   604800 (a week) is refused with `AuthorizationQueryParametersError`;
//!   s3s takes any `u32`.
//! - A PUT or POST declaring a `Content-Length` above 5 GiB (the largest
//!   object and part S3 takes) is refused with `EntityTooLarge` before its
//!   body is read, so a client waiting on `Expect: 100-continue` never gets
//!   `100 Continue`.
//! - Every answer carries `x-amz-request-id` (unique per request, and not
//!   repeated by a restart) and `x-amz-id-2`; an error document from s3s
//!   gets the same ID in `<RequestId>`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RANGE};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};

/// The largest body S3 takes in one request: 5 GiB (PutObject, UploadPart).
pub(crate) const MAX_BODY: u64 = 5 * 1024 * 1024 * 1024;

/// The longest a presigned URL may be valid: 7 days, in seconds.
pub(crate) const MAX_PRESIGNED_EXPIRES: u64 = 604_800;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-amz-request-id");
const HOST_ID: HeaderName = HeaderName::from_static("x-amz-id-2");

/// In a request's extensions: its `Range` header is to be ignored, but the
/// signature covers it, so it is dropped only once the signature is checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IgnoredRange;

/// In a request's extensions, set only by the server after s3s checked the
/// signature: the access key that signed it.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedAccessKey(pub(crate) String);

/// A request's ID, in its extensions for the handlers that write it.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);

/// Where this process's request IDs start: the start time in nanoseconds,
/// so a restart does not repeat the IDs of the last run.
fn start() -> u64 {
    static START: OnceLock<u64> = OnceLock::new();
    *START.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    })
}

/// A bijection of `u64` (splitmix64's finalizer): distinct inputs give
/// distinct IDs that do not look sequential.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A new request ID: 16 upper-case hex digits, unique in this process
/// (a counter added to the start time, mixed) and across restarts unless
/// a run makes more requests than nanoseconds pass before the next one.
pub(crate) fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:016X}", mix(start().wrapping_add(n)))
}

/// This process's `x-amz-id-2` (S3's host ID): stable for the run.
pub(crate) fn host_id() -> String {
    format!("s3torrent-{:016x}", mix(!start()))
}

/// Applies the rules above to a request: `Some` is the answer to send
/// instead of calling s3s. A `Range` header to ignore is removed.
pub(crate) fn screen<B>(req: &mut Request<B>, request_id: &str) -> Option<Response<s3s::Body>> {
    if let Some(range) = req.headers().get(RANGE)
        && !range.to_str().is_ok_and(is_single_byte_range)
    {
        if signs_range(req) {
            // The signature needs the header: it is dropped after the
            // signature check (`route::TorrentRoute`).
            req.extensions_mut().insert(IgnoredRange);
        } else {
            req.headers_mut().remove(RANGE);
        }
    }
    if let Some(query) = req.uri().query()
        && let Some(expires) = query
            .split('&')
            .find_map(|p| p.strip_prefix("X-Amz-Expires="))
    {
        match expires.parse::<u64>() {
            Ok(secs) if secs <= MAX_PRESIGNED_EXPIRES => {}
            Ok(_) => {
                return Some(error(
                    StatusCode::BAD_REQUEST,
                    "AuthorizationQueryParametersError",
                    "X-Amz-Expires must be less than a week (in seconds) that is; the maximum \
                     expires is 604800 seconds",
                    "",
                    request_id,
                ));
            }
            Err(_) => {
                return Some(error(
                    StatusCode::BAD_REQUEST,
                    "AuthorizationQueryParametersError",
                    "X-Amz-Expires should be a number",
                    "",
                    request_id,
                ));
            }
        }
    }
    if matches!(*req.method(), Method::PUT | Method::POST)
        && let Some(declared) = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
        && declared > MAX_BODY
    {
        let mut refused = error(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            &format!(
                "<ProposedSize>{declared}</ProposedSize><MaxSizeAllowed>{MAX_BODY}</MaxSizeAllowed>"
            ),
            request_id,
        );
        // Refused before its body, which is never read: the connection
        // cannot carry another request.
        refused
            .headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        return Some(refused);
    }
    None
}

/// Whether the request's SigV4 signature covers its `Range` header (in the
/// presigned URL's `X-Amz-SignedHeaders` or the `Authorization` header's
/// `SignedHeaders`): such a header cannot be dropped without breaking the
/// signature, so s3s sees it.
fn signs_range<B>(req: &Request<B>) -> bool {
    let lists_range = |list: &str| {
        list.replace("%3B", ";")
            .replace("%3b", ";")
            .split(';')
            .any(|h| h.eq_ignore_ascii_case("range"))
    };
    let in_query = req.uri().query().is_some_and(|q| {
        q.split('&')
            .filter_map(|p| p.strip_prefix("X-Amz-SignedHeaders="))
            .any(lists_range)
    });
    let in_header = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once("SignedHeaders="))
        .is_some_and(|(_, rest)| lists_range(rest.split(',').next().unwrap_or_default()));
    in_query || in_header
}

/// Whether `value` is one `bytes=` range whose syntax can be satisfied:
/// `bytes=FIRST-`, `bytes=FIRST-LAST` with `LAST >= FIRST`, or
/// `bytes=-SUFFIX`. Whether it fits the object is for s3s to say (416).
pub(crate) fn is_single_byte_range(value: &str) -> bool {
    let Some(spec) = value.strip_prefix("bytes=") else {
        return false;
    };
    let number = |s: &str| {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            s.parse::<u64>().ok()
        }
    };
    match spec.split_once('-') {
        Some(("", suffix)) => number(suffix).is_some(),
        Some((first, "")) => number(first).is_some(),
        Some((first, last)) => match (number(first), number(last)) {
            (Some(first), Some(last)) => last >= first,
            _ => false,
        },
        None => false,
    }
}

/// Gives an answer its request ID and host ID headers, and an s3s error
/// document without a `<RequestId>` the ID.
pub(crate) fn stamp(resp: &mut Response<s3s::Body>, request_id: &str, host_id: &str) {
    let is_xml_error = resp.status().as_u16() >= 400
        && resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.contains("xml"));
    if is_xml_error && let Some(body) = resp.body_mut().take_bytes() {
        let text = String::from_utf8_lossy(&body);
        let patched = match text.rfind("</Error>") {
            Some(at) if !text.contains("<RequestId>") => Some(format!(
                "{}<RequestId>{request_id}</RequestId>{}",
                &text[..at],
                &text[at..]
            )),
            _ => None,
        };
        match patched {
            Some(p) => {
                if resp.headers().contains_key(CONTENT_LENGTH) {
                    resp.headers_mut()
                        .insert(CONTENT_LENGTH, HeaderValue::from(p.len()));
                }
                *resp.body_mut() = s3s::Body::from(p);
            }
            None => *resp.body_mut() = s3s::Body::from(body),
        }
    }
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, v);
    }
    if !headers.contains_key(HOST_ID)
        && let Ok(v) = HeaderValue::from_str(host_id)
    {
        headers.insert(HOST_ID, v);
    }
}

/// An S3 error document, with `extra` elements after the message.
fn error(
    status: StatusCode,
    code: &str,
    message: &str,
    extra: &str,
    request_id: &str,
) -> Response<s3s::Body> {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>\
         <Message>{message}</Message>{extra}<RequestId>{request_id}</RequestId></Error>"
    );
    let mut resp = Response::new(s3s::Body::from(xml));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_byte_ranges() {
        for ok in [
            "bytes=0-1",
            "bytes=5-",
            "bytes=-3",
            "bytes=2-2",
            "bytes=99999-",
        ] {
            assert!(is_single_byte_range(ok), "{ok}");
        }
        for bad in [
            "bytes=abc",
            "bytes=5-2",
            "items=0-1",
            "bytes=0-1,3-4",
            "bytes=-",
            "bytes=",
            "bytes=+1-2",
            "bytes= 0-1",
        ] {
            assert!(!is_single_byte_range(bad), "{bad}");
        }
    }

    #[test]
    fn request_ids_differ() {
        let a = request_id();
        let b = request_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
    }
}
