//! The console: read-only HTML pages under `/_s3torrent/` on the S3
//! listener (no bucket name can hold `_`, so the prefix takes nothing from
//! S3's namespace), server-rendered, with no script.
//!
//! - `/_s3torrent/`: the buckets whose objects an anonymous requester may
//!   list;
//! - `/_s3torrent/b/BUCKET/`: what an anonymous ListObjectsV2 of the
//!   bucket lists (a page of 1000 keys; `?after=KEY` for the next), and of
//!   those only the public ones: those `?torrent` would answer an
//!   anonymous requester;
//! - `/_s3torrent/b/BUCKET/KEY` (or `/_s3torrent/b/BUCKET/?key=KEY`): a
//!   public object's size, ETag, `.torrent` link, magnet link (with `xs=`,
//!   and `tr=`/`ws=` as its torrent has them), the magnet link's QR code,
//!   and its swarm now and over the last hour.
//!
//! **S3's permissions, exactly.** Listings are S3's own: an anonymous
//! ListObjectsV2 sent through the endpoint's S3 service, so a bucket that
//! ACLs or the policy keep from anonymous listing shows no key, not even of
//! its public objects. Whether an object is public is `?torrent`'s decision
//! for an anonymous requester (`TorrentService::plan`, the rules the
//! tracker and the peer follow). Whatever is refused (a private, deleted,
//! requester-pays or unknown object; a bucket that is not listable or does
//! not exist) is the same 404 page, which says no more than that.
//! Everything from a bucket, a key or a torrent is HTML-escaped.

mod html;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use s3torrent_metainfo::Torrent;
use s3torrent_s3::{BucketName, ErrorCode, Requester, S3Error, TorrentRequest};

use self::html::{Plus, bytes, decode, encode, escape};
use crate::metrics::{METRICS, SwarmView};
use crate::ops::Service;
use crate::store::Store;

/// The object page's "Download in your browser" script, as the page
/// holds it (no `</` that could end the element).
static BROWSER_SCRIPT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| include_str!("browser.js").replace("</", "<\\/"));

/// The script's SHA-256 in base64, for the page's content security policy.
static BROWSER_JS_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use sha2::Digest;
    base64_simd::STANDARD.encode_to_string(sha2::Sha256::digest(BROWSER_SCRIPT.as_bytes()))
});

/// A URL as a CSP source: its scheme, host and port (`https://h:8443`),
/// without path, query or anything a header cannot hold.
fn csp_source(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let clean = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-._:[]".contains(*c))
            .collect::<String>()
    };
    format!("{}://{}", clean(scheme), clean(authority))
}

/// The console's paths start with this.
use crate::metrics::CONSOLE_PREFIX as PREFIX;

/// The most keys a bucket page lists (one ListObjectsV2 page).
const PAGE: usize = 1000;

/// The most buckets the index asks about.
const MAX_BUCKETS: usize = 1000;

/// The largest listing answer read.
const MAX_LISTING: usize = 8 << 20;

/// What the console reads: the store, the torrent service and the S3
/// service (for anonymous listings), and where clients reach the endpoint.
pub(crate) struct Console {
    store: Arc<Store>,
    torrents: Arc<Service>,
    s3: s3s::service::S3Service,
    /// `http(s)://HOST[:PORT]`, no trailing `/`: the S3 endpoint as
    /// clients reach it (`--public-url`, or the listener's address).
    base: String,
    /// The `Host` the console's own S3 requests carry.
    host: HeaderValue,
    /// Where the object page loads WebTorrent from (`--webtorrent-js`).
    webtorrent_js: String,
}

/// A page of an anonymous listing.
struct Listing {
    /// Keys with their size and ETag, in order.
    objects: Vec<(String, u64, String)>,
    truncated: bool,
}

/// What a bucket page shows: its public objects, and where the next page
/// starts.
struct BucketPage {
    public: Vec<(String, u64, String)>,
    next: Option<String>,
}

/// Why a page is not shown.
enum Refused {
    /// Refused or missing, to an anonymous requester: the 404 page.
    NotFound,
    /// The endpoint failed (what failed, and where): a 500 page, and a
    /// warning in the log.
    Internal(String),
}

impl Refused {
    /// An S3 error as a page: a server-side failure is one, anything else
    /// is a refusal.
    fn of(e: &S3Error) -> Refused {
        match e.code() {
            ErrorCode::InternalError | ErrorCode::SlowDown => {
                Refused::Internal(format!("{} ({})", e.message(), e.resource()))
            }
            _ => Refused::NotFound,
        }
    }

    /// The answer, logging a failure with `page` (the console path).
    fn answer(self, page: &str) -> http::Response<s3s::Body> {
        match self {
            Refused::NotFound => not_found(),
            Refused::Internal(why) => {
                tracing::warn!(target: "serve", page, error = why, "a console page failed");
                respond(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    html::page(
                        "Internal error",
                        "<h1>Internal error</h1><p>The endpoint could not make this page; \
                         try again.</p>",
                    ),
                )
            }
        }
    }
}

/// What an object page shows.
struct ObjectPage {
    size: u64,
    etag: String,
    torrent: Torrent,
}

impl Console {
    /// The console over the endpoint's store, services and public address.
    pub(crate) fn new(
        store: Arc<Store>,
        torrents: Arc<Service>,
        s3: s3s::service::S3Service,
        base: String,
        webtorrent_js: String,
    ) -> Console {
        let host = base
            .split_once("://")
            .map_or(base.as_str(), |(_, rest)| rest)
            .split('/')
            .next()
            .and_then(|h| HeaderValue::from_str(h).ok())
            .unwrap_or_else(|| HeaderValue::from_static("localhost"));
        Console {
            store,
            torrents,
            s3,
            base: base.trim_end_matches('/').to_owned(),
            host,
            webtorrent_js,
        }
    }

    /// Answers a console request (`method`, `path` and `query` of the URI).
    pub(crate) async fn answer(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
    ) -> http::Response<s3s::Body> {
        if method != Method::GET && method != Method::HEAD {
            let mut r = respond(
                StatusCode::METHOD_NOT_ALLOWED,
                html::page("Method not allowed", "<h1>Method not allowed</h1>"),
            );
            r.headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
        let rest = path.strip_prefix(PREFIX).unwrap_or(path);
        let param = |name: &str| {
            query?
                .split('&')
                .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
                .and_then(|v| decode(v, Plus::Space))
        };
        match rest {
            "" | "/" => self.index().await,
            // Health on the S3 listener, for a load balancer that knows
            // only that port: no bucket name has a `_`, so no key is hidden.
            "/health" => self.health().await,
            "/ready" => plain(StatusCode::OK, "ready\n".to_owned()),
            _ => {
                let Some(under) = rest.strip_prefix("/b/") else {
                    return not_found();
                };
                let (bucket, key) = under.split_once('/').unwrap_or((under, ""));
                let Some(bucket) = decode(bucket, Plus::Literal) else {
                    return not_found();
                };
                let Ok(bucket) = BucketName::new(bucket) else {
                    return not_found();
                };
                let key = match (key, param("key")) {
                    ("", Some(key)) => key,
                    (key, _) => match decode(key, Plus::Literal) {
                        Some(key) => key,
                        None => return not_found(),
                    },
                };
                if key.is_empty() {
                    self.bucket(&bucket, param("after").unwrap_or_default())
                        .await
                } else {
                    self.object(bucket, key).await
                }
            }
        }
    }

    /// `/_s3torrent/`: the buckets an anonymous requester may list.
    async fn index(&self) -> http::Response<s3s::Body> {
        let store = Arc::clone(&self.store);
        let names = match tokio::task::spawn_blocking(move || store.buckets()).await {
            Ok(Ok(names)) => names,
            Ok(Err(e)) => return Refused::of(&S3Error::from(e)).answer(PREFIX),
            Err(e) => return Refused::Internal(format!("listing the buckets: {e}")).answer(PREFIX),
        };
        let mut listable = Vec::new();
        for (name, _, _) in names.into_iter().take(MAX_BUCKETS) {
            match self.list(&name, "", 0).await {
                Ok(_) => listable.push(name),
                Err(Refused::NotFound) => {}
                Err(failed) => return failed.answer(PREFIX),
            }
        }
        let mut body = String::from("<h1>Public buckets</h1>");
        if listable.is_empty() {
            body.push_str("<p class=\"muted\">No bucket lists its objects to anyone.</p>");
        } else {
            body.push_str("<ul id=\"buckets\">");
            for name in &listable {
                body.push_str(&format!(
                    "<li><a href=\"{PREFIX}/b/{}/\">{}</a></li>",
                    escape(&encode(name.as_str())),
                    escape(name.as_str())
                ));
            }
            body.push_str("</ul>");
        }
        respond(StatusCode::OK, html::page("Public buckets", &body))
    }

    /// `/_s3torrent/b/BUCKET/`: a page of its anonymous listing, the
    /// public objects only.
    async fn bucket(&self, bucket: &BucketName, after: String) -> http::Response<s3s::Body> {
        let listing = match self.list(bucket, &after, PAGE).await {
            Ok(listing) => listing,
            Err(refused) => return refused.answer(&format!("{PREFIX}/b/{bucket}/")),
        };
        let last = listing.objects.last().map(|(k, _, _)| k.clone());
        let (store, torrents, name) = (
            Arc::clone(&self.store),
            Arc::clone(&self.torrents),
            bucket.to_string(),
        );
        let public = tokio::task::spawn_blocking(move || {
            listing
                .objects
                .into_iter()
                .filter(|(key, _, _)| {
                    let req =
                        TorrentRequest::new(name.as_str(), key.as_str(), Requester::Anonymous);
                    torrents.plan(&*store, &req).is_ok()
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        let page = BucketPage {
            public,
            next: last.filter(|_| listing.truncated),
        };
        let title = bucket.to_string();
        let mut body = format!("<h1>{}</h1>", escape(&title));
        if page.public.is_empty() {
            body.push_str("<p class=\"muted\">No public object on this page.</p>");
        } else {
            body.push_str(
                "<table id=\"objects\"><thead><tr><th>Key</th><th>Size</th></tr></thead><tbody>",
            );
            for (key, size, _) in &page.public {
                body.push_str(&format!(
                    "<tr><td class=\"k\"><a href=\"{}\">{}</a></td><td class=\"n\">{}</td></tr>",
                    escape(&object_href(bucket, key)),
                    escape(key),
                    escape(&bytes(*size))
                ));
            }
            body.push_str("</tbody></table>");
        }
        if let Some(next) = page.next {
            body.push_str(&format!(
                "<p><a id=\"next\" href=\"{PREFIX}/b/{}/?after={}\">Next page</a></p>",
                escape(&encode(bucket.as_str())),
                escape(&encode(&next))
            ));
        }
        respond(StatusCode::OK, html::page(&title, &body))
    }

    /// `/_s3torrent/b/BUCKET/KEY`: a public object.
    async fn object(&self, bucket: BucketName, key: String) -> http::Response<s3s::Body> {
        let (store, torrents) = (Arc::clone(&self.store), Arc::clone(&self.torrents));
        let (b, k) = (bucket.to_string(), key.clone());
        let found = tokio::task::spawn_blocking(move || -> Result<ObjectPage, Refused> {
            let req = TorrentRequest::new(b, k, Requester::Anonymous);
            // `?torrent`'s decision for anyone; then its torrent (made now
            // if it is not yet, as an anonymous `?torrent` would).
            let plan = torrents.plan(&*store, &req).map_err(|e| Refused::of(&e))?;
            let served = torrents
                .get_object_torrent(&*store, &req)
                .map_err(|e| Refused::of(&e))?;
            let torrent = Torrent::from_bytes(served.torrent.bytes.clone()).map_err(|e| {
                Refused::Internal(format!("the cached torrent of {}: {e}", req.resource()))
            })?;
            Ok(ObjectPage {
                size: plan.object.size,
                etag: plan.object.etag.as_known().unwrap_or_default().to_owned(),
                torrent,
            })
        })
        .await
        .unwrap_or_else(|e| Err(Refused::Internal(format!("an object page's task: {e}"))));
        let page = match found {
            Ok(page) => page,
            Err(refused) => return refused.answer(&format!("{PREFIX}/b/{bucket}/{key}")),
        };
        let info_hash = page.torrent.info_hash();
        let torrent_path = format!("/{}/{}?torrent", encode(bucket.as_str()), encode(&key));
        let torrent_url = format!("{}{torrent_path}", self.base);
        let magnet = format!("{}&xs={}", page.torrent.magnet(), encode(&torrent_url));
        let swarm = METRICS.swarm_view(&info_hash);
        let mut body = format!(
            "<h1 class=\"k\" id=\"key\">{}</h1><p class=\"muted\">in bucket \
             <a href=\"{PREFIX}/b/{}/\">{}</a></p>",
            escape(&key),
            escape(&encode(bucket.as_str())),
            escape(bucket.as_str())
        );
        body.push_str(&format!(
            "<table><tr><th>Size</th><td id=\"size\">{}</td></tr>\
             <tr><th>ETag</th><td><code id=\"etag\">{}</code></td></tr>\
             <tr><th>Info-hash</th><td><code id=\"info-hash\">{}</code></td></tr></table>",
            escape(&bytes(page.size)),
            escape(&page.etag),
            escape(&info_hash.to_hex()),
        ));
        body.push_str(&format!(
            "<p class=\"links\"><a id=\"torrent\" href=\"{}\">Download the .torrent</a>\
             <a id=\"magnet\" href=\"{}\">Magnet link</a></p>",
            escape(&torrent_path),
            escape(&magnet)
        ));
        match html::qr_svg(&magnet) {
            Some(svg) => body.push_str(&format!("<figure>{svg}</figure>")),
            None => {
                body.push_str("<p class=\"muted\">The magnet link is too long for a QR code.</p>")
            }
        }
        let browser = self.browser_section(&page.torrent, &torrent_path);
        body.push_str(browser.as_ref().map_or("", |(html, _)| html.as_str()));
        body.push_str(&swarm_section(&swarm));
        let mut r = respond(StatusCode::OK, html::page(&key, &body));
        if let Some(csp) = browser.and_then(|(_, csp)| HeaderValue::from_str(&csp).ok()) {
            r.headers_mut()
                .insert(http::header::CONTENT_SECURITY_POLICY, csp);
        }
        r
    }

    /// "Download in your browser": a button that loads WebTorrent and
    /// downloads the object in the page (`browser.js`), when WebTorrent can
    /// read the torrent (it has a v1 info-hash) and has somewhere to get
    /// the bytes from: a web seed (`url-list`), or other browsers through a
    /// WebSocket tracker. Nothing otherwise. With it, the page's content
    /// security policy: the console's, and this script (by its hash), the
    /// WebTorrent module, and connections to the endpoint, its web seed and
    /// its WebSocket trackers.
    fn browser_section(&self, torrent: &Torrent, torrent_path: &str) -> Option<(String, String)> {
        let web_seed = torrent.web_seeds().first();
        let ws_trackers: Vec<&str> = torrent
            .trackers()
            .into_iter()
            .filter(|t| t.starts_with("ws://") || t.starts_with("wss://"))
            .collect();
        if torrent.info_hash_v1().is_none() || (web_seed.is_none() && ws_trackers.is_empty()) {
            return None;
        }
        let mut connect = vec!["'self'".to_owned()];
        connect.extend(web_seed.map(|u| csp_source(u)));
        connect.extend(ws_trackers.iter().map(|u| csp_source(u)));
        let csp = format!(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
             script-src 'sha256-{}' {}; connect-src {}",
            BROWSER_JS_HASH.as_str(),
            csp_source(&self.webtorrent_js),
            connect.join(" ")
        );
        let html = format!(
            "<section id=\"browser\"><h2>In your browser</h2>\
             <p><button id=\"browser-download\" type=\"button\" data-torrent=\"{}\" \
             data-webseed=\"{}\" data-webtorrent=\"{}\" data-ws-tracker=\"{}\">\
             Download in your browser</button> \
             <progress id=\"browser-progress\" max=\"1\" value=\"0\">0%</progress> \
             <span id=\"browser-peers\"></span></p>\
             <p id=\"browser-status\" class=\"muted\">WebTorrent downloads the object here, \
             from other browsers that have this page open and from this endpoint.</p>\
             <p><a id=\"browser-save\" hidden>Save the file</a></p>\
             <p>SHA-256: <code id=\"sha256\"></code></p></section>\
             <script>{}</script>",
            escape(torrent_path),
            escape(web_seed.map_or("", String::as_str)),
            escape(&self.webtorrent_js),
            if ws_trackers.is_empty() { "no" } else { "yes" },
            BROWSER_SCRIPT.as_str(),
        );
        Some((html, csp))
    }

    /// One page of an anonymous ListObjectsV2 of `bucket` after `after`,
    /// at most `max` keys, through the endpoint's own S3 service; not
    /// found when S3 refuses it (or the bucket does not exist).
    async fn list(&self, bucket: &BucketName, after: &str, max: usize) -> Result<Listing, Refused> {
        let failed = |what: String| Refused::Internal(format!("listing {bucket}: {what}"));
        let mut uri = format!(
            "/{}?list-type=2&encoding-type=url&max-keys={max}",
            bucket.as_str()
        );
        if !after.is_empty() {
            uri.push_str("&start-after=");
            uri.push_str(&encode(after));
        }
        let mut req = http::Request::new(s3s::Body::empty());
        *req.uri_mut() = uri
            .parse()
            .map_err(|e| failed(format!("the URI {uri:?}: {e}")))?;
        req.headers_mut()
            .insert(http::header::HOST, self.host.clone());
        let resp = self
            .s3
            .call(req)
            .await
            .map_err(|e| failed(format!("{e:?}")))?;
        if resp.status().is_server_error() {
            return Err(failed(format!("S3 answered {}", resp.status())));
        }
        if resp.status() != StatusCode::OK {
            return Err(Refused::NotFound);
        }
        let mut body = resp.into_body();
        let xml = body
            .store_all_limited(MAX_LISTING)
            .await
            .map_err(|e| failed(format!("reading the answer: {e}")))?;
        parse_listing(&xml).ok_or_else(|| failed("an answer that does not parse".into()))
    }
}

/// The swarm's part of an object page.
fn swarm_section(swarm: &SwarmView) -> String {
    let saved = swarm.downloaded.saturating_sub(swarm.origin);
    let mut out = String::from("<h2>Swarm</h2>");
    out.push_str(&format!(
        "<table id=\"swarm\"><tr><th>Seeders</th><td class=\"n\" id=\"seeders\">{}</td></tr>\
         <tr><th>Leechers</th><td class=\"n\" id=\"leechers\">{}</td></tr>\
         <tr><th>Completed</th><td class=\"n\" id=\"completed\">{}</td></tr>\
         <tr><th>Downloaded by the swarm</th><td class=\"n\" id=\"downloaded\">{}</td></tr>\
         <tr><th>Sent by the origin</th><td class=\"n\" id=\"origin\">{}</td></tr>\
         <tr><th>Saved</th><td class=\"n\" id=\"saved\">{}</td></tr></table>",
        swarm.seeders,
        swarm.leechers,
        swarm.completed,
        escape(&bytes(swarm.downloaded)),
        escape(&bytes(swarm.origin)),
        escape(&bytes(saved)),
    ));
    out.push_str(
        "<p class=\"muted\">Seeders and leechers are the clients the tracker holds (this \
         endpoint's own peer aside); downloaded is what they report, so saved is an estimate.</p>",
    );
    if swarm.tracked {
        out.push_str(&html::chart(
            &swarm.history,
            crate::metrics::torrents::minute_now(),
        ));
    } else {
        out.push_str("<p class=\"muted\">No swarm activity lately.</p>");
    }
    out
}

/// The console page of `bucket`/`key`: the key as one path segment, or as
/// `?key=` when it is `.` or `..` (which browsers resolve away).
fn object_href(bucket: &BucketName, key: &str) -> String {
    let bucket = encode(bucket.as_str());
    if key == "." || key == ".." {
        format!("{PREFIX}/b/{bucket}/?key={}", encode(key))
    } else {
        format!("{PREFIX}/b/{bucket}/{}", encode(key))
    }
}

/// The keys, sizes and ETags of a ListObjectsV2 answer with
/// `encoding-type=url`, and whether it is truncated.
fn parse_listing(xml: &[u8]) -> Option<Listing> {
    let xml = std::str::from_utf8(xml).ok()?;
    let element = |within: &str, name: &str| -> Option<String> {
        let open = format!("<{name}>");
        let start = within.find(&open)? + open.len();
        let end = within[start..].find(&format!("</{name}>"))? + start;
        Some(within[start..end].to_owned())
    };
    let mut objects = Vec::new();
    let mut rest = xml;
    while let Some(at) = rest.find("<Contents>") {
        let after = &rest[at..];
        let end = after.find("</Contents>")?;
        let entry = &after[..end];
        let key = decode(&element(entry, "Key")?, Plus::Space)?;
        let size = element(entry, "Size")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let etag = element(entry, "ETag")
            .map(|e| unescape_xml(&e))
            .unwrap_or_default();
        objects.push((key, size, etag.trim_matches('"').to_owned()));
        rest = &after[end..];
    }
    Some(Listing {
        objects,
        truncated: element(xml, "IsTruncated").as_deref() == Some("true"),
    })
}

/// XML's five predefined entities, decoded.
fn unescape_xml(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// An HTML answer.
fn respond(status: StatusCode, page: String) -> http::Response<s3s::Body> {
    let mut r = http::Response::new(s3s::Body::from(Bytes::from(page)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    // No script, no outside resource: inline style and SVG only.
    h.insert(
        http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
    );
    h.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        http::header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// The one page for everything refused or missing.
impl Console {
    /// `200 ok` while the store can be read (its bucket list), else `503`
    /// and why: the metrics listener's `/health`, on the S3 listener.
    async fn health(&self) -> http::Response<s3s::Body> {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || store.buckets().map(drop)).await {
            Ok(Ok(())) => plain(StatusCode::OK, "ok\n".to_owned()),
            Ok(Err(e)) => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the store cannot be read: {e}\n"),
            ),
            Err(e) => plain(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
        }
    }
}

/// A plain-text answer (health and readiness), never cached.
fn plain(status: StatusCode, text: String) -> http::Response<s3s::Body> {
    let mut r = http::Response::new(s3s::Body::from(Bytes::from(text)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    r
}

fn not_found() -> http::Response<s3s::Body> {
    respond(
        StatusCode::NOT_FOUND,
        html::page(
            "Not found",
            "<h1>Not found</h1><p>There is no public object or listable bucket here.</p>",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_parse() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><IsTruncated>true</IsTruncated><Contents><Key>a%3C%22%26+b/c</Key><ETag>&quot;abc&quot;</ETag><Size>12</Size></Contents><Contents><Key>d</Key><Size>0</Size></Contents></ListBucketResult>"#;
        let l = parse_listing(xml).unwrap();
        assert!(l.truncated);
        assert_eq!(
            l.objects,
            vec![
                ("a<\"& b/c".to_owned(), 12, "abc".to_owned()),
                ("d".to_owned(), 0, String::new())
            ]
        );
    }

    #[test]
    fn console_paths() {
        let b = BucketName::new("pub").unwrap();
        assert_eq!(object_href(&b, "a/b c"), "/_s3torrent/b/pub/a%2Fb%20c");
        assert_eq!(object_href(&b, ".."), "/_s3torrent/b/pub/?key=..");
    }
}
