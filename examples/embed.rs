//! `embed`: GetObjectTorrent in a bare hyper 1 server, through `s3torrent-http`.
//!
//! ```text
//! cargo run --example embed -- [ADDR]          (default 127.0.0.1:9100)
//! curl -s -D- 'http://127.0.0.1:9100/demo/hello.txt?torrent' -o hello.torrent
//! ```
//!
//! One public object in memory (bucket `demo`, key `hello.txt`); `?torrent` goes to the
//! adapter on a blocking thread (the first request hashes the object), anything else is
//! 404. A real host puts its store behind `ObjectSource`, its authentication in `Requester`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use s3torrent::http::{AdapterConfig, RequestContext, handle, is_torrent_request};
use s3torrent::s3::{
    AccountId, Acl, BucketInfo, BucketName, CannedAcl, CanonicalId, ObjectInfo, ObjectKey,
    ObjectLookup, ObjectSource, Principal, ReadAt, Requester, Result, TorrentPolicy,
    TorrentService,
};
use tokio::net::TcpListener;

const DATA: &[u8] = b"Hello, BitTorrent!\n";
static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// The host's store: here, one object in memory.
struct Memory {
    bucket: BucketInfo,
    object: ObjectInfo,
}

impl ObjectSource for Memory {
    fn bucket(&self, name: &BucketName) -> Result<Option<BucketInfo>> {
        Ok((*name == self.bucket.name).then(|| self.bucket.clone()))
    }
    fn object(&self, _: &BucketName, key: &ObjectKey, _: Option<&str>) -> Result<ObjectLookup> {
        let found = (*key == self.object.key).then(|| self.object.clone());
        Ok(found.map_or(ObjectLookup::NoSuchKey, ObjectLookup::Found))
    }
    fn open(&self, _: &BucketName, _: &ObjectInfo) -> Result<Box<dyn ReadAt + Send + Sync + '_>> {
        Ok(Box::new(DATA))
    }
}

struct Host {
    store: Memory,
    torrents: TorrentService,
    config: AdapterConfig,
}

/// Answers one request: `?torrent` through the adapter, anything else 404.
/// It may hash (the first request for the object), so it runs on a blocking thread.
fn respond(host: &Host, req: &Request<()>) -> Response<Bytes> {
    if !is_torrent_request(req.method(), req.uri()) {
        let mut not_found = Response::new(Bytes::from("only ?torrent is served here\n"));
        *not_found.status_mut() = StatusCode::NOT_FOUND;
        return not_found;
    }
    let id = format!("{:016X}", REQUESTS.fetch_add(1, Ordering::Relaxed));
    let (config, torrents, store) = (&host.config, &host.torrents, &host.store);
    handle(
        req,
        config,
        RequestContext::new(Requester::Anonymous, id),
        torrents,
        store,
    )
}

async fn answer(host: Arc<Host>, req: Request<Incoming>) -> hyper::Result<Response<Full<Bytes>>> {
    let req = req.map(|_| ()); // GetObjectTorrent has no body
    let response = tokio::task::spawn_blocking(move || respond(&host, &req))
        .await
        .expect("handle does not panic");
    Ok(response.map(Full::new))
}

/// The demo host: `hello.txt` in bucket `demo`, both public.
fn demo() -> Result<Host> {
    let owner = Principal::new(CanonicalId::new("owner")?, AccountId::new("111122223333")?);
    let public = Acl::canned(CannedAcl::PublicRead, &owner, &owner);
    let size = DATA.len() as u64;
    let mut object = ObjectInfo::new(ObjectKey::new("hello.txt")?, size, "etag-1", &owner);
    object.acl = public.clone();
    let mut bucket = BucketInfo::new(BucketName::new("demo")?, owner);
    bucket.acl = public; // anyone may list, so a missing key is 404, not 403
    Ok(Host {
        store: Memory { bucket, object },
        torrents: TorrentService::new(TorrentPolicy::default()),
        config: AdapterConfig::default(),
    })
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args().nth(1);
    let host = Arc::new(demo()?);
    let listener = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:9100")).await?;
    eprintln!("embed: listening on http://{}", listener.local_addr()?);
    loop {
        let (socket, _) = listener.accept().await?;
        let host = Arc::clone(&host);
        let service = service_fn(move |req| answer(Arc::clone(&host), req));
        tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(socket), service));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(host: &Host, method: &str, uri: &str) -> Response<Bytes> {
        let req = Request::builder().method(method).uri(uri).body(()).unwrap();
        respond(host, &req)
    }

    #[test]
    fn answers_torrent_requests_and_nothing_else() {
        let host = demo().unwrap();
        let got = get(&host, "GET", "/demo/hello.txt?torrent");
        assert_eq!(got.status(), 200);
        assert_eq!(got.headers()["content-type"], "application/x-bittorrent");
        assert_eq!(
            got.headers()["content-disposition"],
            "attachment; filename=\"hello.txt.torrent\""
        );
        let torrent = s3torrent::metainfo::Torrent::from_bytes(got.body().clone()).unwrap();
        assert_eq!(torrent.info().name(), "hello.txt");
        assert_eq!(torrent.info().length(), 19);
        assert_eq!(torrent.info().aws_bucket(), Some("demo"));
        let head = get(&host, "HEAD", "/demo/hello.txt?torrent=");
        assert_eq!(head.status(), 200);
        assert!(head.body().is_empty());
        assert_eq!(head.headers()["etag"], got.headers()["etag"]);
        let missing = get(&host, "GET", "/demo/nope.txt?torrent");
        assert_eq!(missing.status(), 404);
        assert!(
            std::str::from_utf8(missing.body())
                .unwrap()
                .contains("<Code>NoSuchKey</Code>")
        );
        assert_eq!(get(&host, "GET", "/demo/hello.txt").status(), 404);
    }
}
