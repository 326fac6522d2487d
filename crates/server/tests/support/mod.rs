//! What the server's own tests share: a server started in-process on
//! `127.0.0.1:0` over a temp root, stopped through its shutdown future, and a
//! small S3 client that signs with a real SigV4 presigner (`rusty-s3`) and
//! sends with hyper's HTTP/1 client, one connection per request.
//!
//! Presigned URLs sign the path as it is sent. s3s checks them against the
//! percent-decoded path re-encoded with slashes kept, so a path signs alike
//! for both only when it is already in that form: [`key_path`] writes it so.
//! (A path holding a reserved character unencoded, such as `!`, is also
//! checked as sent: see [`Client::presign_raw`].)

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use s3torrent_server::{Error, Listeners, Seeding, ServerConfig, User, serve};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The first user (owns the buckets of the tests) and a second account,
/// with no rights on Alice's private things.
pub(crate) use s3torrent_testkit::{ALICE, BOB};

/// How long one request may take before the test fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A server running in this process.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), Error>>>,
}

impl Server {
    /// Starts a server over `root` with Alice and Bob as its users, on a
    /// port of its own.
    pub(crate) async fn start(root: &Path) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        Self::start_with(root, listener).await
    }

    /// Starts a server on `addr` (a restart on the port of a stopped one:
    /// torrents name the endpoint's address), binding a bounded number of
    /// times while the old socket goes.
    pub(crate) async fn start_on(root: &Path, addr: SocketAddr) -> Server {
        for _ in 0..100 {
            if let Ok(listener) = tokio::net::TcpListener::bind(addr).await {
                return Self::start_with(root, listener).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("cannot bind {addr} again");
    }

    async fn start_with(root: &Path, listener: tokio::net::TcpListener) -> Server {
        Self::start_configured(root, listener, |_| {}).await
    }

    /// Starts a server as [`Server::start`] does, with `configure` applied
    /// to its configuration last.
    pub(crate) async fn start_configured(
        root: &Path,
        listener: tokio::net::TcpListener,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Server {
        Self::start_on_listeners(root, Listeners::s3(listener), configure).await
    }

    /// Starts a server as [`Server::start_configured`] does, on `listeners`
    /// (the tracker's and the peer's too, for seeding as a peer).
    pub(crate) async fn start_on_listeners(
        root: &Path,
        listeners: Listeners,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Server {
        let mut config = ServerConfig::default();
        config.root = root.to_owned();
        // S3 and `?torrent` only: torrents name the endpoint as a web seed,
        // and no tracker or seeding peer runs.
        config.swarm.seeding = Seeding::Web;
        for (access, secret, account) in [ALICE, BOB] {
            config
                .users
                .push(User::new(access, secret, account).expect("valid user"));
        }
        configure(&mut config);
        let addr = listeners.s3.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(config, listeners, async {
            let _ = stopped.await;
        }));
        let server = Server {
            addr,
            stop: Some(stop),
            task: Some(task),
        };
        // The listener is bound already; wait until the root is open too
        // (requests are accepted only then), a bounded number of times.
        for _ in 0..200 {
            if server.task.as_ref().is_some_and(|t| t.is_finished()) {
                break;
            }
            if server.anonymous().get("/").await.status != 0 {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let mut server = server;
        let result = server.task.take().expect("task").await;
        panic!("the server did not start: {result:?}");
    }

    /// Completes the shutdown future and waits for `serve` to return.
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("running");
        let result = tokio::time::timeout(Duration::from_secs(15), task)
            .await
            .expect("serve returns within 15 s of its shutdown")
            .expect("serve did not panic");
        result.expect("serve returned Ok");
    }

    /// A client signing as `user` (access, secret, account).
    pub(crate) fn client(&self, user: (&str, &str, &str)) -> Client {
        Client {
            addr: self.addr,
            credentials: Some((user.0.to_owned(), user.1.to_owned())),
        }
    }

    pub(crate) fn alice(&self) -> Client {
        self.client(ALICE)
    }

    pub(crate) fn bob(&self) -> Client {
        self.client(BOB)
    }

    /// A client that signs nothing.
    pub(crate) fn anonymous(&self) -> Client {
        Client {
            addr: self.addr,
            credentials: None,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Runs `serve` over `root` the way [`Server::start`] does, for a start that
/// is to fail: its error, or `Ok` if it served (stopped after 2 s).
pub(crate) async fn try_start(root: &Path) -> Result<(), Error> {
    try_start_configured(root, |_| {}).await
}

/// [`try_start`] with `configure` applied to the configuration last.
pub(crate) async fn try_start_configured(
    root: &Path,
    configure: impl FnOnce(&mut ServerConfig),
) -> Result<(), Error> {
    let mut config = ServerConfig::default();
    config.root = root.to_owned();
    config.swarm.seeding = Seeding::Web;
    config
        .users
        .push(User::new(ALICE.0, ALICE.1, ALICE.2).expect("valid user"));
    configure(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let run = serve(
        config,
        Listeners::s3(listener),
        tokio::time::sleep(Duration::from_secs(2)),
    );
    tokio::time::timeout(Duration::from_secs(15), run)
        .await
        .expect("serve returns")
}

/// Whether anything accepts connections on `addr`.
pub(crate) async fn connects(addr: SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_ok()
}

/// An answer: status, headers and the whole body.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `<Code>` of an S3 error document, if the body is one.
    pub(crate) fn error_code(&self) -> Option<String> {
        let text = self.text();
        if !text.contains("<Error>") {
            return None;
        }
        tag(&text, "Code")
    }

    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The ETag header without its quotes.
    pub(crate) fn etag(&self) -> Option<String> {
        self.header("etag").map(|e| e.trim_matches('"').to_owned())
    }

    /// Asserts a 2xx answer that is not an error document, and returns self.
    #[track_caller]
    pub(crate) fn ok(self) -> Response {
        assert!(
            (200..300).contains(&self.status) && self.error_code().is_none(),
            "expected success, got {} {}",
            self.status,
            self.text()
        );
        self
    }

    /// Asserts an S3 error with this status and code.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.error_code().as_deref()),
            (status, Some(code)),
            "body: {}",
            self.text()
        );
    }
}

/// The text of the first `<name>…</name>` in `xml`, unescaped.
pub(crate) fn tag(xml: &str, name: &str) -> Option<String> {
    tags(xml, name).into_iter().next()
}

/// The texts of every `<name>…</name>` in `xml`, in order, unescaped.
pub(crate) fn tags(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else {
            break;
        };
        out.push(unescape(&after[..end]));
        rest = &after[end + close.len()..];
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Percent-encodes a key for a path: everything but RFC 3986's unreserved
/// characters and `/` (what SigV4's canonical URI for S3 keeps).
pub(crate) fn key_path(bucket: &str, key: &str) -> String {
    let mut out = format!("/{bucket}/");
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648), for `Content-MD5`.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Hex digits of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The MD5 of `data`.
pub(crate) fn md5(data: &[u8]) -> [u8; 16] {
    use md5::Digest;
    md5::Md5::digest(data).into()
}

/// Makes `bucket` (Alice's) with a public-read object `public.bin` of `len`
/// pseudo-random bytes, and returns them.
pub(crate) async fn public_object(server: &Server, bucket: &str, len: usize, seed: u64) -> Vec<u8> {
    let alice = server.alice();
    alice.create_bucket(bucket).await.ok();
    let body = pseudo_random(len, seed);
    alice
        .put_object(
            bucket,
            "public.bin",
            &[("x-amz-acl", "public-read")],
            body.clone(),
        )
        .await
        .ok();
    body
}

/// Bytes that do not repeat with a short period (an xorshift stream).
pub(crate) fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Every file and folder under `dir`, relative, sorted (folders end in `/`).
pub(crate) fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_owned(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type().expect("file type").is_dir() {
                out.push(format!("{name}/"));
                stack.push((entry.path(), format!("{name}/")));
            } else {
                out.push(name);
            }
        }
    }
    out.sort();
    out
}

/// A small S3 client: presigned requests, one connection each.
#[derive(Clone)]
pub(crate) struct Client {
    pub(crate) addr: SocketAddr,
    credentials: Option<(String, String)>,
}

impl Client {
    /// Signs `method raw_path?query` with these headers (which must be sent
    /// as given) and returns the path and query to send. The path is signed
    /// and sent exactly as written; it must survive URL parsing unchanged
    /// (no `.` or `..` segments), which is asserted.
    pub(crate) fn presign_raw(
        &self,
        method: &str,
        raw_path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> String {
        self.presign_expiring(method, raw_path, query, headers, 600)
    }

    /// [`Client::presign_raw`] with `X-Amz-Expires` set to `expires` seconds.
    pub(crate) fn presign_expiring(
        &self,
        method: &str,
        raw_path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        expires: u64,
    ) -> String {
        let Some((access, secret)) = &self.credentials else {
            let mut out = raw_path.to_owned();
            if !query.is_empty() {
                out.push('?');
                let parts: Vec<String> = query
                    .iter()
                    .map(|(k, v)| {
                        if v.is_empty() {
                            (*k).to_owned()
                        } else {
                            format!("{k}={v}")
                        }
                    })
                    .collect();
                out.push_str(&parts.join("&"));
            }
            return out;
        };
        let mut url = url::Url::parse(&format!("http://{}/", self.addr)).expect("url");
        url.set_path(raw_path);
        assert_eq!(url.path(), raw_path, "the URL parser changed the path");
        let method = match method {
            "GET" => rusty_s3::Method::Get,
            "HEAD" => rusty_s3::Method::Head,
            "PUT" => rusty_s3::Method::Put,
            "POST" => rusty_s3::Method::Post,
            "DELETE" => rusty_s3::Method::Delete,
            other => panic!("method {other}"),
        };
        let mut query: Vec<(&str, &str)> = query.to_vec();
        query.sort();
        let mut headers: Vec<(String, &str)> = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), *v))
            .collect();
        headers.sort();
        let signed = rusty_s3::signing::sign(
            &jiff::Timestamp::now(),
            method,
            url,
            access,
            secret,
            None,
            "us-east-1",
            expires,
            query.iter().copied(),
            headers.iter().map(|(k, v)| (k.as_str(), *v)),
        );
        signed[url::Position::BeforePath..].to_owned()
    }

    /// Signs and sends a request (the body is not signed: presigned URLs
    /// carry `UNSIGNED-PAYLOAD`).
    pub(crate) async fn request(
        &self,
        method: &str,
        raw_path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Response {
        let target = self.presign_raw(method, raw_path, query, headers);
        self.send(method, &target, headers, body.into()).await
    }

    /// Sends `method target` as it is, with a `Host` header and these
    /// headers, on a connection of its own.
    pub(crate) async fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Response {
        match tokio::time::timeout(
            REQUEST_TIMEOUT,
            self.send_inner(method, target, headers, body),
        )
        .await
        {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Response {
                status: 0,
                headers: http::HeaderMap::new(),
                body: format!("transport error: {e}").into_bytes(),
            },
            Err(_) => panic!("{method} {target}: no answer within {REQUEST_TIMEOUT:?}"),
        }
    }

    async fn send_inner(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Response, Box<dyn std::error::Error + Send + Sync>> {
        let stream = tokio::net::TcpStream::connect(self.addr).await?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        let conn = tokio::spawn(conn);
        let mut req = http::Request::builder()
            .method(method)
            .uri(target)
            .header(http::header::HOST, self.addr.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(body))?;
        let resp = sender.send_request(req).await?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await?.to_bytes().to_vec();
        drop(sender);
        let _ = conn.await;
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    /// Signs `method raw_path?query`, then sends only the request's head,
    /// declaring `Content-Length: declared` without sending a byte of the
    /// body, and reads the answer: what a server says before the body.
    pub(crate) async fn send_head_only(
        &self,
        method: &str,
        raw_path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        declared: u64,
    ) -> Response {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let target = self.presign_raw(method, raw_path, query, headers);
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("Content-Length: {declared}\r\n\r\n"));
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect(self.addr).await?;
            stream.write_all(head.as_bytes()).await?;
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                    let text = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                    let length = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if got.len() >= end + 4 + length {
                        return Ok::<_, std::io::Error>((got, end, length));
                    }
                }
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    return Err(std::io::Error::other("the server closed the connection"));
                }
                got.extend_from_slice(&buf[..n]);
            }
        };
        let (got, end, length) = tokio::time::timeout(Duration::from_secs(10), exchange)
            .await
            .expect("an answer before the body was sent")
            .expect("an HTTP answer");
        let head = String::from_utf8_lossy(&got[..end]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let mut headers = http::HeaderMap::new();
        for line in head.lines().skip(1) {
            if let Some((k, v)) = line.split_once(':')
                && let (Ok(k), Ok(v)) = (
                    http::HeaderName::from_bytes(k.trim().as_bytes()),
                    http::HeaderValue::from_str(v.trim()),
                )
            {
                headers.append(k, v);
            }
        }
        Response {
            status,
            headers,
            body: got[end + 4..end + 4 + length].to_vec(),
        }
    }

    // ---- S3 operations, path-style ----

    pub(crate) async fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], &[], Bytes::new()).await
    }

    pub(crate) async fn create_bucket(&self, bucket: &str) -> Response {
        self.request("PUT", &format!("/{bucket}"), &[], &[], Bytes::new())
            .await
    }

    pub(crate) async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Response {
        self.request("PUT", &key_path(bucket, key), &[], headers, body)
            .await
    }

    pub(crate) async fn get_object(&self, bucket: &str, key: &str) -> Response {
        self.request("GET", &key_path(bucket, key), &[], &[], Bytes::new())
            .await
    }

    pub(crate) async fn head_object(&self, bucket: &str, key: &str) -> Response {
        self.request("HEAD", &key_path(bucket, key), &[], &[], Bytes::new())
            .await
    }

    pub(crate) async fn delete_object(&self, bucket: &str, key: &str) -> Response {
        self.request("DELETE", &key_path(bucket, key), &[], &[], Bytes::new())
            .await
    }

    pub(crate) async fn torrent(&self, bucket: &str, key: &str) -> Response {
        self.request(
            "GET",
            &key_path(bucket, key),
            &[("torrent", "")],
            &[],
            Bytes::new(),
        )
        .await
    }

    pub(crate) async fn put_object_acl(&self, bucket: &str, key: &str, acl: &str) -> Response {
        self.request(
            "PUT",
            &key_path(bucket, key),
            &[("acl", "")],
            &[("x-amz-acl", acl)],
            Bytes::new(),
        )
        .await
    }

    pub(crate) async fn get_object_acl(&self, bucket: &str, key: &str) -> Response {
        self.request(
            "GET",
            &key_path(bucket, key),
            &[("acl", "")],
            &[],
            Bytes::new(),
        )
        .await
    }

    /// ListObjectsV2 with these extra query parameters.
    pub(crate) async fn list(&self, bucket: &str, params: &[(&str, &str)]) -> Response {
        let mut query = vec![("list-type", "2")];
        query.extend_from_slice(params);
        self.request("GET", &format!("/{bucket}"), &query, &[], Bytes::new())
            .await
    }

    /// CreateMultipartUpload; the upload ID.
    pub(crate) async fn create_upload(
        &self,
        bucket: &str,
        key: &str,
        headers: &[(&str, &str)],
    ) -> String {
        let r = self
            .request(
                "POST",
                &key_path(bucket, key),
                &[("uploads", "")],
                headers,
                Bytes::new(),
            )
            .await
            .ok();
        tag(&r.text(), "UploadId").expect("an UploadId")
    }

    pub(crate) async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: u32,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Response {
        let n = number.to_string();
        self.request(
            "PUT",
            &key_path(bucket, key),
            &[("partNumber", &n), ("uploadId", upload_id)],
            headers,
            body,
        )
        .await
    }

    /// CompleteMultipartUpload listing these (part number, ETag) pairs.
    pub(crate) async fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(u32, &str)],
    ) -> Response {
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (n, etag) in parts {
            xml.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>\"{etag}\"</ETag></Part>"
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        self.request(
            "POST",
            &key_path(bucket, key),
            &[("uploadId", upload_id)],
            &[("content-type", "application/xml")],
            xml,
        )
        .await
    }

    pub(crate) async fn abort_upload(&self, bucket: &str, key: &str, upload_id: &str) -> Response {
        self.request(
            "DELETE",
            &key_path(bucket, key),
            &[("uploadId", upload_id)],
            &[],
            Bytes::new(),
        )
        .await
    }

    pub(crate) async fn list_parts(&self, bucket: &str, key: &str, upload_id: &str) -> Response {
        self.request(
            "GET",
            &key_path(bucket, key),
            &[("uploadId", upload_id)],
            &[],
            Bytes::new(),
        )
        .await
    }

    pub(crate) async fn list_uploads(&self, bucket: &str) -> Response {
        self.request(
            "GET",
            &format!("/{bucket}"),
            &[("uploads", "")],
            &[],
            Bytes::new(),
        )
        .await
    }
}

/// A fresh temp root.
pub(crate) fn temp_root() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("s3torrent-server-test-")
        .tempdir()
        .expect("temp dir")
}
