//! The HTTP adapter: an [`http::Request`] in, an [`http::Response`] out.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use s3torrent_metainfo::InfoHash;

use crate::announce::{parse_announce, parse_scrape};
use crate::error::{Error, shown};
use crate::tracker::{AnnounceResponse, Decision, RequestContext, Tracker};

/// The `Content-Type` of every answer: `text/plain`, as trackers send.
pub const TRACKER_CONTENT_TYPE: &str = "text/plain";

/// Which tracker endpoint a path is, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// [`TrackerConfig::announce_path`](crate::TrackerConfig::announce_path).
    Announce,
    /// The scrape path derived from it ([`TrackerConfig::scrape_path`](crate::TrackerConfig::scrape_path)).
    Scrape,
}

impl Tracker {
    /// Which endpoint `path` is, so a host serving other things on the same
    /// listener can tell tracker requests apart.
    pub fn route(&self, path: &str) -> Option<Route> {
        if path == self.config().announce_path {
            Some(Route::Announce)
        } else if self.scrape_path() == Some(path) {
            Some(Route::Scrape)
        } else {
            None
        }
    }
}

fn respond(status: StatusCode, body: Bytes, head: bool) -> Response<Bytes> {
    let mut response = Response::new(if head { Bytes::new() } else { body.clone() });
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TRACKER_CONTENT_TYPE),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The HTTP answer to an announce [`Tracker::announce`] answered (or
/// refused), as [`handle`] gives it: for a host that parsed the announce
/// itself ([`parse_announce`] with the tracker's limits) and encodes the
/// answer after letting go of the tracker. `head`: a `HEAD` request, whose
/// answer has no body.
///
/// ```
/// use std::net::SocketAddr;
/// use std::time::Instant;
/// use s3torrent_tracker::{
///     Decision, RequestContext, Tracker, TrackerConfig, announce_answer, parse_announce,
/// };
///
/// let mut tracker = Tracker::new(TrackerConfig::default());
/// let query = "info_hash=%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14\
///              &peer_id=-XX0001-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=0";
/// let announce = parse_announce(query, &tracker.config().query).unwrap();
/// let ctx = RequestContext::new(SocketAddr::from(([192, 0, 2, 1], 40000)));
/// let answered = tracker.announce(&announce, &ctx, Instant::now(), |_| Decision::Allow);
/// let response = announce_answer(answered, false);
/// assert_eq!(response.status(), 200);
/// assert!(response.body().starts_with(b"d8:completei1e"));
/// ```
pub fn announce_answer(answered: crate::Result<AnnounceResponse>, head: bool) -> Response<Bytes> {
    let body = answered.map_or_else(|e| e.to_bencode(), |r| r.to_bencode());
    respond(StatusCode::OK, body, head)
}

/// Answers one tracker request.
///
/// - The announce path (`/announce` by default) and the scrape path
///   (`/scrape`) answer `200 OK` with the bencoded answer, or, when the
///   request is refused, `200 OK` with a bencoded `failure reason` (clients
///   read the body, not the status).
/// - `GET` and `HEAD` only (`HEAD` does what `GET` does and sends no body);
///   other methods answer `405 Method Not Allowed`, other paths `404 Not
///   Found`, both with a bencoded `failure reason`.
/// - The query is read raw from the URI and decoded strictly by
///   [`parse_announce`] or [`parse_scrape`].
/// - `authorize` is asked about each info-hash (once per announce), after
///   the request parsed and passed the rate limit.
///
/// `Content-Type` is `text/plain`, `Cache-Control` `no-store`.
pub fn handle<B>(
    tracker: &mut Tracker,
    request: &Request<B>,
    ctx: &RequestContext,
    now: Instant,
    mut authorize: impl FnMut(&InfoHash) -> Decision,
) -> Response<Bytes> {
    let head = request.method() == Method::HEAD;
    let path = request.uri().path();
    let Some(route) = tracker.route(path) else {
        let e = Error::NotFound {
            path: shown(path.as_bytes(), 64),
        };
        return respond(StatusCode::NOT_FOUND, e.to_bencode(), head);
    };
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let e = Error::Method {
            method: shown(request.method().as_str().as_bytes(), 16),
        };
        let mut response = respond(StatusCode::METHOD_NOT_ALLOWED, e.to_bencode(), head);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let query = request.uri().query().unwrap_or_default();
    let limits = &tracker.config().query.clone();
    let body = match route {
        Route::Announce => {
            let answered = parse_announce(query, limits)
                .and_then(|a| tracker.announce(&a, ctx, now, &mut authorize));
            return announce_answer(answered, head);
        }
        Route::Scrape => parse_scrape(query, limits)
            .and_then(|s| tracker.scrape(&s, ctx, now, &mut authorize))
            .map(|r| r.to_bencode()),
    };
    respond(
        StatusCode::OK,
        body.unwrap_or_else(|e| e.to_bencode()),
        head,
    )
}
