//! Uploads sent with `Transfer-Encoding: chunked` and no `Content-Length`
//! (curl's `-T -`, HTTP libraries streaming from a pipe, boto3 with the
//! header added as Ceph's s3-tests do).
//!
//! s3s needs a body's length before it reads it (to check a signed
//! payload's SHA-256, and for any upload): without one it answers
//! `MissingContentLength` 411, as MinIO does and as AWS does for a plain
//! (not `aws-chunked`) upload. We take such uploads, as Ceph RGW does and
//! s3-tests expects (`test_object_write_with_chunked_transfer_encoding`): the body is
//! first received into a temp file (held to the minimum body rate like any
//! upload, at most 5 GiB, else `EntityTooLarge`), then handed to s3s with
//! its length, read back from the file. That costs a second write and read
//! of the bytes, for these requests only; an upload with `Content-Length`
//! (every SDK's) or `aws-chunked` encoding (which names its decoded length)
//! is untouched.

use std::io::Write;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderValue, Method, Request};
use http_body_util::BodyExt;

use crate::edge::front::MAX_BODY;
use crate::store::Store;

/// The most of a body buffered before it is written to the file.
const BATCH: usize = 1 << 20;

/// The chunk a spooled body is read back in.
const READ_CHUNK: usize = 64 * 1024;

/// Whether `req` is an upload whose length is known only at its end.
pub(crate) fn needs_spooling<B>(req: &Request<B>) -> bool {
    let headers = req.headers();
    matches!(*req.method(), Method::PUT | Method::POST)
        && !headers.contains_key(CONTENT_LENGTH)
        && !headers.contains_key("x-amz-decoded-content-length")
        && headers
            .get(TRANSFER_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
}

/// Why a body could not be spooled.
#[derive(Debug)]
pub(crate) enum Unspooled {
    /// Over 5 GiB: S3's `EntityTooLarge`.
    TooLarge,
    /// The body failed: the client went away, or fell below the minimum
    /// rate.
    Body(String),
    /// The temp file failed (a full disk).
    Disk(String),
}

impl Unspooled {
    /// S3's answer (to a request whose body was not all read, so the
    /// connection closes after it).
    pub(crate) fn answer(&self, request_id: &str) -> http::Response<s3s::Body> {
        let mut answer = match self {
            Unspooled::TooLarge => crate::edge::front::error(
                http::StatusCode::BAD_REQUEST,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                &format!("<MaxSizeAllowed>{MAX_BODY}</MaxSizeAllowed>"),
                request_id,
            ),
            Unspooled::Body(_) => crate::edge::front::error(
                http::StatusCode::BAD_REQUEST,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header.",
                "",
                request_id,
            ),
            Unspooled::Disk(_) => crate::edge::front::internal_error(request_id),
        };
        answer
            .headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        answer
    }
}

/// Receives `req`'s body into a temp file and gives the request back with
/// that body, read from the file, and its `Content-Length`.
pub(crate) async fn spool<B>(
    store: &std::sync::Arc<Store>,
    req: Request<B>,
) -> Result<Request<s3s::Body>, Unspooled>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let (mut parts, mut body) = req.into_parts();
    let failed = |e: &dyn std::fmt::Display| Unspooled::Disk(e.to_string());
    let s = std::sync::Arc::clone(store);
    let (path, file) = tokio::task::spawn_blocking(move || s.temp_file())
        .await
        .map_err(|e| failed(&e))?
        .map_err(|e| failed(&e))?;
    // The file goes when this does: once read back (its handle open), or
    // on any failure.
    let _remove = Remove(path.clone());
    let mut file = Some(file);
    let mut pending: Vec<u8> = Vec::with_capacity(BATCH);
    let mut size = 0u64;
    loop {
        let frame = body
            .frame()
            .await
            .transpose()
            .map_err(|e| Unspooled::Body(e.to_string()))?;
        let done = frame.is_none();
        if let Some(data) = frame.and_then(|f| f.into_data().ok()) {
            size += data.len() as u64;
            if size > MAX_BODY {
                return Err(Unspooled::TooLarge);
            }
            pending.extend_from_slice(&data);
        }
        if pending.len() >= BATCH || (done && !pending.is_empty()) {
            let mut f = file
                .take()
                .ok_or_else(|| failed(&"the spool file is gone"))?;
            let buf = std::mem::take(&mut pending);
            let (f, mut buf) =
                tokio::task::spawn_blocking(move || f.write_all(&buf).map(|()| (f, buf)))
                    .await
                    .map_err(|e| failed(&e))?
                    .map_err(|e| failed(&e))?;
            buf.clear();
            pending = buf;
            file = Some(f);
        }
        if done {
            break;
        }
    }
    drop(file);
    let reader = std::fs::File::open(&path).map_err(|e| failed(&e))?;
    let reader = std::sync::Arc::new(reader);
    let stream = futures_util::stream::unfold(0u64, move |at| {
        let reader = std::sync::Arc::clone(&reader);
        async move {
            if at >= size {
                return None;
            }
            let want = usize::try_from(size - at)
                .unwrap_or(usize::MAX)
                .min(READ_CHUNK);
            let read = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0; want];
                std::os::unix::fs::FileExt::read_exact_at(&*reader, &mut buf, at)
                    .map(|()| Bytes::from(buf))
            })
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
            match read {
                Ok(bytes) => Some((Ok::<_, std::io::Error>(bytes), at + want as u64)),
                Err(e) => Some((Err(e), size)),
            }
        }
    });
    parts.headers.remove(TRANSFER_ENCODING);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(size));
    let body = s3s::Body::from(s3s::dto::StreamingBlob::wrap(stream));
    Ok(Request::from_parts(parts, body))
}

/// Removes a path when dropped.
struct Remove(std::path::PathBuf);

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
