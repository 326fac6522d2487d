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
//!   gets the same IDs in `<RequestId>` and `<HostId>`.
//!
//! And the clocks of a connection ([`Guarded`], [`Answer`], [`Metered`]):
//! the header read timeout, the idle keep-alive timeout, the send timeout,
//! and the minimum rate of a request body, whose breach is S3's
//! `RequestTimeout`.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::config::MinBodyRate;

use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RANGE};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};

/// The largest body S3 takes in one request: 5 GiB (PutObject, UploadPart).
pub(crate) const MAX_BODY: u64 = 5 * 1024 * 1024 * 1024;

/// The longest a presigned URL may be valid: 7 days, in seconds.
pub(crate) const MAX_PRESIGNED_EXPIRES: u64 = 604_800;

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-amz-request-id");
const HOST_ID: HeaderName = HeaderName::from_static("x-amz-id-2");

/// In a request's extensions: its `Range` header is to be ignored, but the
/// signature covers it, so it is dropped only once the signature is checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IgnoredRange;

/// In a request's extensions, set only by the server after s3s checked the
/// signature: the access key that signed it.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedAccessKey(pub(crate) String);

/// In a request's extensions: it came over TLS (the S3 listener's own,
/// or, from a `--trusted-proxy`, the proxy's as its `X-Forwarded-Proto` or
/// `Forwarded: proto=` says), which a bucket policy's
/// `aws:SecureTransport` asks about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SecureTransport;

/// In an answer's extensions: the answer is `304 Not Modified`. s3s gives
/// an operation's answer the status its output implies (200), so a handler
/// that finds the client's copy current marks its answer (which holds the
/// validators), and [`stamp`] sets the status and drops the body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NotModified;

/// In an answer's extensions: the answer is `206 Partial Content`, though
/// s3s gives its operation 200 (a HEAD of one part of an object).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PartialContent;

/// In an answer's extensions: its XML document's `<ETag>` is to lose its
/// quotes (S3's GetObjectAttributes gives it bare; s3s quotes every ETag).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BareETag;

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

/// This process's `x-amz-id-2` (S3's host ID): stable for the run, made
/// once.
pub(crate) fn host_id() -> &'static str {
    static HOST_ID: OnceLock<String> = OnceLock::new();
    HOST_ID.get_or_init(|| format!("s3torrent-{:016x}", mix(!start())))
}

/// [`host_id`] as a header value, made once: each answer clones it (a
/// reference count, no copy).
pub(crate) fn host_id_header() -> HeaderValue {
    HeaderValue::from_str(host_id()).unwrap_or_else(|_| HeaderValue::from_static("s3torrent"))
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

/// Whether the request says a body follows (`Content-Length` above 0, or
/// any `Transfer-Encoding`): a refusal of it closes the connection, since
/// what is left of the body cannot be told from the next request.
pub(crate) fn declares_body<B>(req: &Request<B>) -> bool {
    req.headers().contains_key(http::header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
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

/// Gives an answer its request ID and host ID headers (and a
/// [`NotModified`] answer its status), and an error document without a `<RequestId>` or `<HostId>` the same IDs.
pub(crate) fn stamp(resp: &mut Response<s3s::Body>, request_id: &str, host_id: &HeaderValue) {
    if resp.extensions().get::<NotModified>().is_some() {
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        resp.headers_mut().remove(CONTENT_LENGTH);
        *resp.body_mut() = s3s::Body::empty();
    } else if resp.status() == StatusCode::OK && resp.extensions().get::<PartialContent>().is_some()
    {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    if resp.status() == StatusCode::OK && resp.extensions().get::<BareETag>().is_some() {
        unquote_etag(resp);
    }
    let is_xml_error = resp.status().as_u16() >= 400
        && resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.contains("xml"));
    if is_xml_error && let Some(body) = resp.body_mut().take_bytes() {
        let text = String::from_utf8_lossy(&body);
        let mut missing = String::new();
        if !text.contains("<RequestId>") {
            missing.push_str(&format!("<RequestId>{request_id}</RequestId>"));
        }
        // The same host ID as the header (which a handler may have set).
        let header = resp.headers().get(HOST_ID).unwrap_or(host_id);
        if !text.contains("<HostId>")
            && let Ok(host) = header.to_str()
        {
            missing.push_str(&format!("<HostId>{host}</HostId>"));
        }
        let patched = match text.rfind("</Error>") {
            Some(at) if !missing.is_empty() => {
                Some(format!("{}{missing}{}", &text[..at], &text[at..]))
            }
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
    if !headers.contains_key(HOST_ID) {
        headers.insert(HOST_ID, host_id.clone());
    }
}

/// Takes the quotes off the `<ETag>` of an answer's XML document (see
/// [`BareETag`]).
fn unquote_etag(resp: &mut Response<s3s::Body>) {
    let Some(body) = resp.body_mut().take_bytes() else {
        return;
    };
    let text = String::from_utf8_lossy(&body);
    let bare = text
        .replacen("<ETag>\"", "<ETag>", 1)
        .replacen("\"</ETag>", "</ETag>", 1);
    if resp.headers().contains_key(CONTENT_LENGTH) {
        resp.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(bare.len()));
    }
    *resp.body_mut() = s3s::Body::from(bare);
}

/// An S3 error document, with `extra` elements after the message.
pub(crate) fn error(
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

/// S3's `InternalError` (500, which SDKs retry).
pub(crate) fn internal_error(request_id: &str) -> Response<s3s::Body> {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "We encountered an internal error. Please try again.",
        "",
        request_id,
    )
}

/// S3's answer to a request body that arrived too slowly, on a connection
/// that is then closed.
pub(crate) fn request_timeout(request_id: &str) -> Response<s3s::Body> {
    let mut resp = error(
        StatusCode::BAD_REQUEST,
        "RequestTimeout",
        "Your socket connection to the server was not read from or written to within the \
         timeout period. Idle connections will be closed.",
        "",
        request_id,
    );
    resp.headers_mut()
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// What a connection's socket and its requests share: how many requests
/// have started (their head is read) and how many answers are over (their
/// body handed to hyper in full, or dropped). While they differ, the
/// connection is busy, and neither the header nor the idle clock runs.
#[derive(Debug, Default)]
pub(crate) struct ConnState {
    started: AtomicU64,
    finished: AtomicU64,
    /// The socket's reader, waiting while the connection is busy: an answer
    /// that ends wakes it, to start the idle clock.
    reader: AtomicWaker,
    /// Whether the client has sent anything since the connection became
    /// idle (or was accepted), or a request is in progress: a connection
    /// that has not is [`Activity::Quiet`], and may be closed for a
    /// newcomer when every slot is taken.
    heard: AtomicBool,
    /// Tells the connection to close for a newcomer.
    evict: tokio::sync::Notify,
}

/// Whether a connection is doing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activity {
    /// Idle, or accepted, and nothing of a request received since.
    Quiet,
    /// Reading a request's head, or answering it.
    Active,
}

impl ConnState {
    /// A request's head was read.
    pub(crate) fn start(&self) {
        self.started.fetch_add(1, Ordering::AcqRel);
        self.heard.store(true, Ordering::Release);
    }

    /// What the connection is doing.
    pub(crate) fn activity(&self) -> Activity {
        if self.heard.load(Ordering::Acquire)
            || self.started.load(Ordering::Acquire) != self.finished.load(Ordering::Acquire)
        {
            Activity::Active
        } else {
            Activity::Quiet
        }
    }

    /// Forgets what was heard: a TLS handshake's bytes are no request, so a
    /// connection that has sent nothing else since is as quiet as one just
    /// accepted.
    pub(crate) fn forget_heard(&self) {
        self.heard.store(false, Ordering::Release);
    }

    /// Tells the connection to close (its task drops it).
    pub(crate) fn evict(&self) {
        self.evict.notify_one();
    }

    /// Completes once the connection is told to close.
    pub(crate) async fn evicted(&self) {
        self.evict.notified().await;
    }
}

/// Where a connection is, for its clocks.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for the first byte of the next request, since then.
    Idle(Instant),
    /// Reading a request's head, since then.
    Head(Instant),
    /// Between a request's head and the end of its answer.
    Busy,
}

/// A connection's timeouts (`None`: none).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clocks {
    /// For a request's head: from the accept, or from its first byte.
    pub(crate) header: Option<Duration>,
    /// For the first byte of a keep-alive connection's next request.
    pub(crate) idle: Option<Duration>,
    /// For the socket to take more of an answer, while it takes none.
    pub(crate) send: Option<Duration>,
}

/// A connection's socket with its clocks: a read that waits past the
/// header or idle deadline, or a write that waits longer than the send
/// timeout, fails with `TimedOut`, which makes hyper close the connection.
/// (hyper's own header timeout starts when it begins to wait for a head,
/// right after the previous answer, so it cannot tell an idle keep-alive
/// connection from a slow head; it has no send timeout.)
#[derive(Debug)]
pub(crate) struct Guarded<T> {
    inner: T,
    state: Arc<ConnState>,
    clocks: Clocks,
    phase: Phase,
    /// `state.finished` when last looked at.
    finished: u64,
    timer: Pin<Box<Sleep>>,
    armed: Option<Instant>,
    /// Since when writes have waited for the client to read, if they do.
    stalled: Option<Instant>,
    write_timer: Pin<Box<Sleep>>,
    write_armed: Option<Instant>,
}

impl<T> Guarded<T> {
    /// `inner`, just accepted: the header clock runs from now (the idle
    /// clock, without a header timeout).
    pub(crate) fn new(inner: T, state: Arc<ConnState>, clocks: Clocks) -> Guarded<T> {
        let now = Instant::now();
        Guarded {
            inner,
            state,
            clocks,
            phase: if clocks.header.is_some() {
                Phase::Head(now)
            } else {
                Phase::Idle(now)
            },
            finished: 0,
            timer: Box::pin(tokio::time::sleep_until(now)),
            armed: None,
            stalled: None,
            write_timer: Box::pin(tokio::time::sleep_until(now)),
            write_armed: None,
        }
    }

    /// The socket under the clocks.
    pub(crate) fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Catches up with the requests: busy while one is in progress, idle
    /// from the moment the last answer is seen to be over.
    fn refresh(&mut self) {
        let finished = self.state.finished.load(Ordering::Acquire);
        let started = self.state.started.load(Ordering::Acquire);
        if started != finished {
            self.phase = Phase::Busy;
        } else if finished != self.finished || matches!(self.phase, Phase::Busy) {
            self.finished = finished;
            self.phase = Phase::Idle(Instant::now());
            self.state.heard.store(false, Ordering::Release);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Idle(since) => self.clocks.idle.map(|d| since + d),
            Phase::Head(since) => self.clocks.header.map(|d| since + d),
            Phase::Busy => None,
        }
    }

    /// A write's outcome, held to the send timeout: progress resets it; a
    /// write that has waited for the client longer fails.
    fn sent<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let Some(limit) = self.clocks.send else {
            return Poll::Pending;
        };
        let deadline = *self.stalled.get_or_insert_with(Instant::now) + limit;
        if self.write_armed != Some(deadline) {
            self.write_timer.as_mut().reset(deadline);
            self.write_armed = Some(deadline);
        }
        ready!(self.write_timer.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "send timeout")))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.refresh();
        match polled {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.state.heard.store(true, Ordering::Release);
                    if matches!(this.phase, Phase::Idle(_)) {
                        this.phase = Phase::Head(Instant::now());
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                let Some(deadline) = this.deadline() else {
                    if matches!(this.phase, Phase::Busy) {
                        this.state.reader.register(cx.waker());
                        // The answer may have ended in between.
                        if this.state.finished.load(Ordering::Acquire)
                            == this.state.started.load(Ordering::Acquire)
                        {
                            cx.waker().wake_by_ref();
                        }
                    }
                    return Poll::Pending;
                };
                if this.armed != Some(deadline) {
                    this.timer.as_mut().reset(deadline);
                    this.armed = Some(deadline);
                }
                ready!(this.timer.as_mut().poll(cx));
                let what = match this.phase {
                    Phase::Idle(_) => "idle keep-alive timeout",
                    _ => "header read timeout",
                };
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)))
            }
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.sent(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.sent(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.sent(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// How an answer's body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// All of it was handed to the connection.
    Complete,
    /// The connection ended first (the client went away, a write failed or
    /// timed out, the body failed).
    Cut,
}

/// What an answer's body delivered: the body bytes handed to the
/// connection (hyper writes them on at once, holding at most its write
/// buffer), and how it ended.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Delivery {
    pub(crate) bytes: u64,
    pub(crate) end: End,
}

/// What is told of an answer's [`Delivery`] when it is over.
pub(crate) type Report = Box<dyn FnOnce(Delivery) + Send + Sync>;

/// An answer's body that tells its connection when it is over (sent in
/// full, or dropped): the idle clock starts then; and tells its
/// [`Report`] what it delivered (for the request's log line).
pub(crate) struct Answer<B: Body> {
    inner: B,
    state: Arc<ConnState>,
    sent: u64,
    /// The body's length as the answer declares it, if it does.
    declared: Option<u64>,
    end: End,
    report: Option<Report>,
}

impl<B: Body> Answer<B> {
    /// `inner`, whose declared length (`Content-Length`) is `declared`.
    pub(crate) fn new(
        inner: B,
        state: Arc<ConnState>,
        declared: Option<u64>,
        report: Report,
    ) -> Answer<B> {
        Answer {
            inner,
            state,
            sent: 0,
            declared,
            end: End::Cut,
            report: Some(report),
        }
    }
}

impl<B: Body> Drop for Answer<B> {
    fn drop(&mut self) {
        self.state.finished.fetch_add(1, Ordering::AcqRel);
        self.state.reader.wake();
        // A body with nothing left to send (an empty one, or one whose last
        // frame was taken, or all its declared bytes) is complete even if
        // hyper never asked for its end.
        if self.inner.is_end_stream() || self.declared == Some(self.sent) {
            self.end = End::Complete;
        }
        if let Some(report) = self.report.take() {
            report(Delivery {
                bytes: self.sent,
                end: self.end,
            });
        }
    }
}

impl<B: Body + Unpin> Body for Answer<B>
where
    B::Data: bytes::Buf,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.sent += bytes::Buf::remaining(data) as u64;
                }
            }
            Poll::Ready(None) => this.end = End::Complete,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The error of a body cut off by [`Metered`].
#[derive(Debug)]
pub(crate) struct TooSlow;

impl std::fmt::Display for TooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body arrived below the minimum rate")
    }
}

impl std::error::Error for TooSlow {}

/// A request body as an endpoint reads it: as it came, or held to the
/// minimum body rate ([`meter`]).
pub(crate) type RequestBody =
    http_body_util::Either<hyper::body::Incoming, Metered<hyper::body::Incoming>>;

/// Holds `req`'s body to `rate` ([`Metered`]) when it has a body and there
/// is a rate, and gives the flag that body sets if it falls below the rate:
/// the request is then answered `RequestTimeout` ([`request_timeout`]),
/// whatever became of it.
pub(crate) fn meter(
    req: Request<hyper::body::Incoming>,
    rate: Option<MinBodyRate>,
) -> (Request<RequestBody>, Arc<AtomicBool>) {
    let too_slow = Arc::new(AtomicBool::new(false));
    let req = match rate {
        Some(rate) if !req.body().is_end_stream() => {
            let flag = Arc::clone(&too_slow);
            req.map(|body| http_body_util::Either::Right(Metered::new(body, rate, flag)))
        }
        _ => req.map(http_body_util::Either::Left),
    };
    (req, too_slow)
}

/// A request body held to a [`MinBodyRate`]. Time counts only while the
/// body is polled and has nothing (the server waits for the client):
/// windows of that waiting time, the first as long as the grace and free,
/// the others as long as the rate's window and owing its bytes. A window
/// that ends short of them fails the body with [`TooSlow`] and sets the
/// shared flag, which the server turns into `RequestTimeout`.
#[derive(Debug)]
pub(crate) struct Metered<B> {
    inner: B,
    rate: MinBodyRate,
    /// The current window: its length, the bytes it owes, the waiting time
    /// it has had and the bytes it has brought.
    length: Duration,
    owed: u64,
    waited: Duration,
    got: u64,
    /// Since when the body has been waited for, if it is now.
    waiting: Option<Instant>,
    timer: Pin<Box<Sleep>>,
    armed: Option<Instant>,
    too_slow: Arc<AtomicBool>,
}

impl<B> Metered<B> {
    pub(crate) fn new(inner: B, rate: MinBodyRate, too_slow: Arc<AtomicBool>) -> Metered<B> {
        Metered {
            inner,
            rate,
            length: rate.grace(),
            owed: 0,
            waited: Duration::ZERO,
            got: 0,
            waiting: None,
            timer: Box::pin(tokio::time::sleep_until(Instant::now())),
            armed: None,
            too_slow,
        }
    }

    /// Closes the current window if its time is up: whether it brought
    /// what it owed. The next window starts empty.
    fn close_window(&mut self) -> bool {
        if self.waited < self.length {
            return true;
        }
        let paid = self.got >= self.owed;
        self.length = self.rate.window();
        self.owed = self.rate.per_window();
        self.waited = Duration::ZERO;
        self.got = 0;
        paid
    }

    fn fail(&mut self) -> Poll<Option<Result<Frame<Bytes>, s3s::StdError>>> {
        self.too_slow.store(true, Ordering::Release);
        Poll::Ready(Some(Err(Box::new(TooSlow))))
    }
}

impl<B> Body for Metered<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<s3s::StdError>,
{
    type Data = Bytes;
    type Error = s3s::StdError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, s3s::StdError>>> {
        let this = self.get_mut();
        loop {
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(since) = this.waiting.take() {
                        this.waited += since.elapsed();
                    }
                    if let Some(data) = frame.data_ref() {
                        this.got += data.len() as u64;
                    }
                    if !this.close_window() {
                        return this.fail();
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => {
                    let since = *this.waiting.get_or_insert_with(Instant::now);
                    let deadline = since + window_left(this.length, this.waited);
                    if this.armed != Some(deadline) {
                        this.timer.as_mut().reset(deadline);
                        this.armed = Some(deadline);
                    }
                    ready!(this.timer.as_mut().poll(cx));
                    // The window's waiting time is up with nothing more.
                    this.waited += deadline.saturating_duration_since(since);
                    this.waiting = Some(deadline);
                    if !this.close_window() {
                        return this.fail();
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// What is left of a window of `length` that has had `waited`.
fn window_left(length: Duration, waited: Duration) -> Duration {
    length.saturating_sub(waited)
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

    /// A body fed through a channel, as a client would send it.
    struct Channel(tokio::sync::mpsc::Receiver<Bytes>);

    impl Body for Channel {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            self.get_mut()
                .0
                .poll_recv(cx)
                .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
        }
    }

    fn rate() -> MinBodyRate {
        MinBodyRate::new(
            std::num::NonZeroU64::new(1000).expect("not zero"),
            Duration::from_millis(200),
            Duration::from_millis(200),
        )
        .expect("a valid rate")
    }

    #[tokio::test]
    async fn a_slow_client_is_cut_after_grace_and_a_window() {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let flag = Arc::new(AtomicBool::new(false));
        let mut body = Metered::new(Channel(rx), rate(), Arc::clone(&flag));
        // 10 bytes every 50 ms: 200 B/s against 1000 B/s.
        let sender = tokio::spawn(async move {
            for _ in 0..100 {
                if tx.send(Bytes::from_static(&[7; 10])).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let started = std::time::Instant::now();
        let mut got = 0;
        let outcome = loop {
            match http_body_util::BodyExt::frame(&mut body).await {
                Some(Ok(frame)) => got += frame.into_data().map_or(0, |d| d.len()),
                Some(Err(e)) => break e.to_string(),
                None => break "the end".to_owned(),
            }
        };
        let elapsed = started.elapsed();
        sender.abort();
        assert_eq!(outcome, TooSlow.to_string());
        assert!(flag.load(Ordering::Acquire));
        assert!(got < 200, "{got} bytes before the cut");
        assert!(
            elapsed >= Duration::from_millis(350) && elapsed < Duration::from_secs(2),
            "cut after {elapsed:?}"
        );
    }

    #[tokio::test]
    async fn a_busy_server_is_not_blamed_on_the_client() {
        // Everything is there at once; the server takes 300 ms per chunk
        // (longer than grace and window together): only waiting counts.
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        for _ in 0..5 {
            tx.send(Bytes::from_static(&[7; 100])).await.expect("room");
        }
        drop(tx);
        let flag = Arc::new(AtomicBool::new(false));
        let mut body = Metered::new(Channel(rx), rate(), Arc::clone(&flag));
        let mut got = 0;
        while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
            got += frame.expect("not cut").into_data().map_or(0, |d| d.len());
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        assert_eq!(got, 500);
        assert!(!flag.load(Ordering::Acquire));
    }

    #[test]
    fn request_ids_differ() {
        let a = request_id();
        let b = request_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
    }
}
