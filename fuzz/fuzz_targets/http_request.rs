//! Fuzzes the HTTP adapter with arbitrary requests.
//!
//! The input is one flags byte, then newline-separated fields: the path, the
//! query, the `Host` header, and `name: value` header lines (the seeds in
//! `fuzz/seeds/http_request.py` show the shape). Inputs that `http`'s
//! builders reject are skipped, as a server would never produce them.
//!
//! Nothing may panic, and what comes back must hold together:
//!
//! - `parse_request` fails exactly when `is_torrent_request` says no, or
//!   with one of the documented 400s;
//! - `handle` answers a status the S3 crate knows; every error body (not
//!   `HEAD`) is an XML document with the request ID; a `200` carries the
//!   torrent (parsing back to the object, whose key is the parsed key) or,
//!   for `HEAD`, nothing, and always its full `Content-Length`;
//! - `Content-Disposition` is a valid header value for the parsed key.

#![no_main]

use bytes::Bytes;
use http::{Method, Request, Response};
use libfuzzer_sys::fuzz_target;
use s3torrent_http::{
    AdapterConfig, RequestContext, content_disposition, handle, is_torrent_request, parse_request,
};
use s3torrent_s3::{
    AccountId, Acl, BucketInfo, BucketName, CannedAcl, CanonicalId, ObjectInfo, ObjectKey,
    ObjectLookup, ObjectSource, Principal, ReadAt, Requester, Result, TorrentPolicy,
    TorrentService, torrent_name,
};

const DATA: &[u8] = b"fuzzed object";

fn owner() -> Principal {
    Principal::new(
        CanonicalId::new("owner").expect("valid"),
        AccountId::new("111122223333").expect("valid"),
    )
}

/// Every valid bucket exists and holds every key, public and 13 bytes long,
/// except keys starting with `private` (403) and `missing` (404).
struct Anything {
    requester_pays: bool,
}

impl ObjectSource for Anything {
    fn bucket(&self, bucket: &BucketName) -> Result<Option<BucketInfo>> {
        let owner = owner();
        let mut info = BucketInfo::new(bucket.clone(), owner.clone());
        info.acl = Acl::canned(CannedAcl::PublicRead, &owner, &owner);
        info.requester_pays = self.requester_pays;
        Ok(Some(info))
    }

    fn object(
        &self,
        _: &BucketName,
        key: &ObjectKey,
        version_id: Option<&str>,
    ) -> Result<ObjectLookup> {
        if key.as_str().starts_with("missing") {
            return Ok(ObjectLookup::NoSuchKey);
        }
        let owner = owner();
        let mut info = ObjectInfo::new(key.clone(), DATA.len() as u64, "etag", &owner);
        info.version_id = version_id.map(str::to_owned);
        let canned = if key.as_str().starts_with("private") {
            CannedAcl::Private
        } else {
            CannedAcl::PublicRead
        };
        info.acl = Acl::canned(canned, &owner, &owner);
        Ok(ObjectLookup::Found(info))
    }

    fn open(&self, _: &BucketName, _: &ObjectInfo) -> Result<Box<dyn ReadAt + Send + Sync + '_>> {
        Ok(Box::new(DATA))
    }
}

fn build(data: &[u8]) -> Option<(Request<()>, u8)> {
    let (&flags, rest) = data.split_first()?;
    let mut fields = rest.split(|&b| b == b'\n');
    let path = fields.next().unwrap_or_default();
    let query = fields.next().unwrap_or_default();
    let host = fields.next().unwrap_or_default();

    let method = match flags & 3 {
        0 | 2 => Method::GET,
        1 => Method::HEAD,
        _ => Method::PUT,
    };
    let mut uri = Vec::new();
    if flags & 0x20 != 0 {
        uri.extend_from_slice(b"http://");
        uri.extend_from_slice(host);
    }
    if !path.starts_with(b"/") {
        uri.push(b'/');
    }
    uri.extend_from_slice(path);
    if !query.is_empty() || flags & 0x40 != 0 {
        uri.push(b'?');
        uri.extend_from_slice(query);
    }
    let uri = http::Uri::try_from(uri).ok()?;
    let mut builder = Request::builder().method(method).uri(uri);
    if !host.is_empty() && flags & 0x80 == 0 {
        builder = builder.header(
            http::header::HOST,
            http::HeaderValue::from_bytes(host).ok()?,
        );
    }
    for line in fields {
        let colon = line.iter().position(|&b| b == b':')?;
        let name = http::HeaderName::from_bytes(&line[..colon]).ok()?;
        let value = http::HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).ok()?;
        builder = builder.header(name, value);
    }
    Some((builder.body(()).ok()?, flags))
}

fuzz_target!(|data: &[u8]| {
    let Some((req, flags)) = build(data) else {
        return;
    };
    let config = if flags & 4 != 0 {
        AdapterConfig::new(Some("s3.example.com".into()))
    } else {
        AdapterConfig::default()
    };
    let requester = if flags & 8 != 0 {
        Requester::Authenticated(owner())
    } else {
        Requester::Anonymous
    };

    let torrent = is_torrent_request(req.method(), req.uri());
    let parsed = parse_request(&req, &config, requester.clone());
    match &parsed {
        Ok(p) => {
            assert!(torrent, "parsed a request that is not GetObjectTorrent");
            assert!(!p.bucket.is_empty());
            if let Some(key) = &p.key {
                assert!(!key.is_empty());
                let v = content_disposition(&torrent_name(key));
                assert!(v.to_str().is_ok());
            }
        }
        Err(e) => {
            let code = e.code().as_str();
            if torrent {
                assert!(
                    matches!(code, "InvalidURI" | "InvalidArgument" | "InvalidRequest"),
                    "{e}"
                );
                assert_eq!(e.status(), 400);
            } else {
                assert!(matches!(code, "MethodNotAllowed" | "InvalidRequest"), "{e}");
            }
        }
    }

    let service = TorrentService::new(TorrentPolicy::default());
    let source = Anything {
        requester_pays: flags & 0x10 != 0,
    };
    let mut cx = RequestContext::new(requester, "fuzz-request");
    if flags & 4 != 0 {
        cx = cx.with_host_id("fuzz-host");
    }
    let response = handle(&req, &config, cx, &service, &source);
    check(&req, &parsed, &response);
});

fn check(
    req: &Request<()>,
    parsed: &Result<s3torrent_s3::TorrentRequest>,
    response: &Response<Bytes>,
) {
    let head = req.method() == Method::HEAD;
    let status = response.status().as_u16();
    assert_eq!(response.headers()["x-amz-request-id"], "fuzz-request");
    if status == 200 {
        let parsed = parsed.as_ref().expect("a 200 for a request that parsed");
        let length: usize = response.headers()["content-length"]
            .to_str()
            .expect("ASCII")
            .parse()
            .expect("a number");
        if head {
            assert!(response.body().is_empty());
        } else {
            assert_eq!(length, response.body().len());
            let torrent = s3torrent_metainfo::Torrent::from_bytes(response.body().clone())
                .expect("a 200 carries a torrent");
            assert_eq!(torrent.info().aws_key(), parsed.key.as_deref());
            assert_eq!(torrent.info().aws_bucket(), Some(parsed.bucket.as_str()));
            assert_eq!(torrent.info().length(), DATA.len() as u64);
        }
        return;
    }
    if status == 304 {
        assert!(req.headers().contains_key(http::header::IF_NONE_MATCH));
        assert!(response.body().is_empty());
        return;
    }
    assert!(
        matches!(status, 400 | 403 | 404 | 405 | 500 | 501 | 503),
        "status {status}"
    );
    if head {
        assert!(response.body().is_empty());
        return;
    }
    assert_eq!(response.headers()["content-type"], "application/xml");
    let body = std::str::from_utf8(response.body()).expect("UTF-8");
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"));
    assert!(
        body.ends_with("<RequestId>fuzz-request</RequestId><HostId>fuzz-host</HostId></Error>")
            || body.ends_with("<RequestId>fuzz-request</RequestId><HostId></HostId></Error>")
    );
    // Well-formed enough: exactly the five elements' tags, and no character
    // XML 1.0 cannot carry.
    assert_eq!(body.matches('<').count(), 2 + 5 * 2 + 1);
    assert!(!body.contains("]]>"));
    assert!(body.chars().all(|c| matches!(c, '\t' | '\n' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)));
}
