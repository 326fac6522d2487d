//! The response side: a served torrent or an S3 error, as an `http::Response`.

use bytes::Bytes;
use http::header::{
    CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderName, IF_NONE_MATCH,
};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use s3torrent_s3::{S3Error, ServedTorrent, percent_encode_into};

use crate::request::RequestContext;

/// The media type of `.torrent` files.
pub const TORRENT_CONTENT_TYPE: &str = "application/x-bittorrent";

const REQUEST_ID: HeaderName = HeaderName::from_static("x-amz-request-id");
const HOST_ID: HeaderName = HeaderName::from_static("x-amz-id-2");
const REQUEST_CHARGED: HeaderName = HeaderName::from_static("x-amz-request-charged");

/// The answer to a GetObjectTorrent request that was served.
///
/// - `200 OK` with the torrent, `Content-Type: application/x-bittorrent`,
///   `Content-Length`, `ETag: "…"` (a strong validator of the torrent's
///   bytes), `Content-Disposition` (see [`content_disposition`]),
///   `x-amz-request-id` and `x-amz-id-2` (from `cx`; a host ID left empty
///   is left out) and, when the requester pays,
///   `x-amz-request-charged: requester`;
/// - `304 Not Modified` instead, with the `ETag` and no body, when the
///   request's `If-None-Match` names the ETag (`"…"` or `W/"…"`, alone or in
///   a list) or is `*`;
/// - for `HEAD`, the same headers (`Content-Length` still the torrent's
///   length) and no body.
///
/// An ID that cannot be a header value (control characters, say) is left
/// out rather than failing.
pub fn torrent_response(
    method: &Method,
    request_headers: &HeaderMap,
    served: &ServedTorrent,
    cx: &RequestContext,
) -> Response<Bytes> {
    let torrent = &served.torrent;
    let etag = format!("\"{}\"", torrent.etag);
    let mut response = Response::new(Bytes::new());
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, v);
    }
    insert_ids(headers, cx);
    if served.request_charged {
        headers.insert(REQUEST_CHARGED, HeaderValue::from_static("requester"));
    }
    if if_none_match(request_headers, &torrent.etag) {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return response;
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(TORRENT_CONTENT_TYPE));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(torrent.bytes.len()));
    headers.insert(CONTENT_DISPOSITION, content_disposition(&served.name));
    if method != Method::HEAD {
        *response.body_mut() = torrent.bytes.clone();
    }
    response
}

/// `attachment; filename="NAME.torrent"`, for any torrent name.
///
/// The quoted `filename` holds printable ASCII only: a control character,
/// `"`, `\`, `;`, `%` or a non-ASCII character becomes `_` there. When one
/// did, `filename*=UTF-8''…` (RFC 6266, RFC 8187) follows with the exact
/// name, percent-encoded, which user agents prefer. The result is always a
/// valid header value.
///
/// ```
/// use s3torrent_http::content_disposition;
///
/// assert_eq!(content_disposition("report.pdf"), "attachment; filename=\"report.pdf.torrent\"");
/// assert_eq!(
///     content_disposition("naïve \"q\".txt"),
///     "attachment; filename=\"na_ve _q_.txt.torrent\"; filename*=UTF-8''na%C3%AFve%20%22q%22.txt.torrent",
/// );
/// ```
pub fn content_disposition(name: &str) -> HeaderValue {
    let file = format!("{name}.torrent");
    let mut plain = String::with_capacity(file.len());
    let mut exact = true;
    for c in file.chars() {
        if c.is_ascii() && !c.is_ascii_control() && !matches!(c, '"' | '\\' | ';' | '%') {
            plain.push(c);
        } else {
            plain.push('_');
            exact = false;
        }
    }
    let mut value = format!("attachment; filename=\"{plain}\"");
    if !exact {
        value.push_str("; filename*=UTF-8''");
        percent_encode_into(&mut value, file.as_bytes());
    }
    // Printable ASCII only, so always a valid header value.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// Whether any `If-None-Match` header matches `etag` (weak comparison, as
/// RFC 9110 prescribes for `If-None-Match`).
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .any(|v| etag_list_matches(v.as_bytes(), etag.as_bytes()))
}

/// `*`, or a comma-separated list of `"tag"` / `W/"tag"`. A malformed list
/// matches nothing from the point it goes wrong.
fn etag_list_matches(mut list: &[u8], etag: &[u8]) -> bool {
    if list.trim_ascii() == b"*" {
        return true;
    }
    loop {
        list = list.trim_ascii_start();
        while let Some(rest) = list.strip_prefix(b",") {
            list = rest.trim_ascii_start();
        }
        if list.is_empty() {
            return false;
        }
        if let Some(rest) = list.strip_prefix(b"W/") {
            list = rest;
        }
        let Some(rest) = list.strip_prefix(b"\"") else {
            return false;
        };
        let Some(end) = rest.iter().position(|&b| b == b'"') else {
            return false;
        };
        if &rest[..end] == etag {
            return true;
        }
        list = &rest[end + 1..];
    }
}

/// The S3 error answer: the error's status, `Content-Type: application/xml`
/// and the XML document S3 sends,
///
/// ```xml
/// <?xml version="1.0" encoding="UTF-8"?>
/// <Error><Code>…</Code><Message>…</Message><Resource>…</Resource><RequestId>…</RequestId><HostId>…</HostId></Error>
/// ```
///
/// every text escaped (see [`xml_escape`]), so that the document is
/// well-formed whatever the key or message holds. `x-amz-request-id` and
/// (when the host ID is not empty) `x-amz-id-2` carry the IDs as headers
/// too. A `HEAD` error has no body, as in S3.
///
/// ```
/// use s3torrent_http::{RequestContext, error_response};
/// use s3torrent_s3::{ErrorCode, Requester, S3Error};
///
/// let err = S3Error::new(ErrorCode::NoSuchKey, "/b/<k>");
/// let cx = RequestContext::new(Requester::Anonymous, "REQ1");
/// let response = error_response(&err, &http::Method::GET, &cx);
/// assert_eq!(response.status(), 404);
/// assert_eq!(response.headers()["content-type"], "application/xml");
/// let body = std::str::from_utf8(response.body()).unwrap();
/// assert!(body.contains("<Code>NoSuchKey</Code>"));
/// assert!(body.contains("<Resource>/b/&lt;k&gt;</Resource>"));
/// ```
pub fn error_response(err: &S3Error, method: &Method, cx: &RequestContext) -> Response<Bytes> {
    let mut xml = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    xml.push_str("\n<Error>");
    for (tag, text) in [
        ("Code", err.code().as_str()),
        ("Message", err.message()),
        ("Resource", err.resource()),
        ("RequestId", cx.request_id.as_str()),
        ("HostId", cx.host_id.as_str()),
    ] {
        xml.push('<');
        xml.push_str(tag);
        xml.push('>');
        xml.push_str(&xml_escape(text));
        xml.push_str("</");
        xml.push_str(tag);
        xml.push('>');
    }
    xml.push_str("</Error>");

    let mut response = Response::new(Bytes::new());
    *response.status_mut() =
        StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    insert_ids(headers, cx);
    if method != Method::HEAD {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(xml.len()));
        *response.body_mut() = Bytes::from(xml);
    }
    response
}

/// Escapes text for XML 1.0 content or attribute values: `&`, `<`, `>`,
/// `"` and `'` become entities, a carriage return becomes `&#xD;` (so that
/// it survives line-end normalisation), and the characters XML 1.0 cannot
/// carry at all (C0 controls other than tab, line feed and carriage return;
/// U+FFFE; U+FFFF) become U+FFFD.
///
/// ```
/// use s3torrent_http::xml_escape;
///
/// assert_eq!(xml_escape("a<b>&\"c'\u{0}\r\n"), "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}&#xD;\n");
/// ```
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn insert_ids(headers: &mut HeaderMap, cx: &RequestContext) {
    insert_text(headers, REQUEST_ID, &cx.request_id);
    if !cx.host_id.is_empty() {
        insert_text(headers, HOST_ID, &cx.host_id);
    }
}

fn insert_text(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_lists() {
        let m = |list: &str| etag_list_matches(list.as_bytes(), b"abc");
        assert!(m("\"abc\""));
        assert!(m("W/\"abc\""));
        assert!(m(" * "));
        assert!(m("\"x\", W/\"y\" ,\"abc\""));
        assert!(m("\"a,b\", \"abc\""));
        assert!(!m("\"abcd\""));
        assert!(!m("abc"));
        assert!(!m(""));
        assert!(!m("\"x\" junk \"abc\""));
        assert!(!m("\"abc"));
    }
}
