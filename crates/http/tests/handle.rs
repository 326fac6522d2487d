//! `handle` end to end against an in-memory object source.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use s3torrent_http::{AdapterConfig, RequestContext, handle};
use s3torrent_metainfo::Torrent;
use s3torrent_s3::{CannedAcl, Requester, TorrentPolicy, TorrentService};

use crate::support;
use support::{Memory, owner, parse_error_xml};

const AWKWARD: &[(&str, &str)] = &[
    ("a b+c", "/demo/a%20b+c"),
    ("dir/sub/file.bin", "/demo/dir/sub/file.bin"),
    ("slash/encoded", "/demo/slash%2Fencoded"),
    ("hash#and?query", "/demo/hash%23and%3Fquery"),
    ("say \"hi\"; \\ ok", "/demo/say%20%22hi%22%3B%20%5C%20ok"),
    ("crlf\r\nkey", "/demo/crlf%0D%0Akey"),
    (
        "café/日本🦀",
        "/demo/caf%C3%A9/%E6%97%A5%E6%9C%AC%F0%9F%A6%80",
    ),
    ("100%", "/demo/100%25"),
];

fn run(
    store: &Memory,
    service: &TorrentService,
    req: &Request<()>,
    requester: Requester,
) -> Response<Bytes> {
    let config = AdapterConfig::new(Some("s3.example.com".into()));
    let cx = RequestContext::new(requester, "REQ").with_host_id("host-1");
    handle(req, &config, cx, service, store)
}

fn get(uri: &str) -> Request<()> {
    Request::get(uri).body(()).unwrap()
}

/// (code, message, resource) of an error response, checking its shape.
fn error_of(r: &Response<Bytes>, status: u16) -> (String, String, String) {
    assert_eq!(r.status().as_u16(), status, "{:?}", r.body());
    assert_eq!(r.headers()["content-type"], "application/xml");
    assert_eq!(r.headers()["x-amz-request-id"], "REQ");
    assert_eq!(r.headers()["x-amz-id-2"], "host-1");
    let [code, message, resource, request_id, host_id] = parse_error_xml(r.body());
    assert_eq!((request_id.as_str(), host_id.as_str()), ("REQ", "host-1"));
    (code, message, resource)
}

#[test]
fn serves_awkward_keys() {
    let keys: Vec<&str> = AWKWARD.iter().map(|(k, _)| *k).collect();
    let store = Memory::demo(&keys);
    let service = TorrentService::new(TorrentPolicy::default());
    for (key, path) in AWKWARD {
        let r = run(
            &store,
            &service,
            &get(&format!("{path}?torrent")),
            Requester::Anonymous,
        );
        assert_eq!(r.status(), StatusCode::OK, "{key:?}: {:?}", r.body());
        assert_eq!(r.headers()["content-type"], "application/x-bittorrent");
        assert_eq!(
            r.headers()["content-length"],
            r.body().len().to_string().as_str()
        );
        let t = Torrent::from_bytes(r.body().clone()).expect("a torrent");
        assert_eq!(t.info().aws_bucket(), Some("demo"));
        assert_eq!(t.info().aws_key(), Some(*key));
        assert_eq!(t.info().length(), format!("data of {key}").len() as u64);
        assert_eq!(t.info().name(), key.replace('/', "_"));
        // Virtual-hosted-style reaches the same torrent.
        let vpath = path.strip_prefix("/demo").unwrap();
        let v = Request::get(format!("{vpath}?torrent"))
            .header("host", "demo.s3.example.com:9000")
            .body(())
            .unwrap();
        assert_eq!(
            run(&store, &service, &v, Requester::Anonymous).body(),
            r.body(),
            "{key:?}"
        );
    }
}

#[test]
fn conditional_and_head() {
    let store = Memory::demo(&[]);
    let service = TorrentService::new(TorrentPolicy::default());
    let first = run(
        &store,
        &service,
        &get("/demo/hello.txt?torrent"),
        Requester::Anonymous,
    );
    let etag = first.headers()["etag"].clone();
    let again = Request::get("/demo/hello.txt?torrent=")
        .header("if-none-match", etag.clone())
        .body(())
        .unwrap();
    let r = run(&store, &service, &again, Requester::Anonymous);
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert!(r.body().is_empty());
    assert_eq!(r.headers()["etag"], etag);

    let head = Request::head("/demo/hello.txt?torrent").body(()).unwrap();
    let r = run(&store, &service, &head, Requester::Anonymous);
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.body().is_empty());
    assert_eq!(
        r.headers()["content-length"],
        first.body().len().to_string().as_str()
    );

    let head = Request::head("/demo/missing?torrent").body(()).unwrap();
    let r = run(&store, &service, &head, Requester::Anonymous);
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.body().is_empty());
}

#[test]
fn errors() {
    let mut store = Memory::demo(&[]);
    store
        .put("demo", "huge.iso", b"x", CannedAcl::PublicRead)
        .size = TorrentPolicy::AWS_MAX_OBJECT_SIZE + 1;
    store.put("demo", "empty", b"", CannedAcl::PublicRead);
    let service = TorrentService::new(TorrentPolicy::default());
    let anon = Requester::Anonymous;
    let cases: &[(&str, u16, &str, Option<&str>, &str)] = &[
        (
            "/demo/secret.txt?torrent",
            403,
            "AccessDenied",
            Some("Access Denied"),
            "/demo/secret.txt",
        ),
        (
            "/demo/nope?torrent",
            404,
            "NoSuchKey",
            Some("The specified key does not exist."),
            "/demo/nope",
        ),
        (
            "/nobucket/k?torrent",
            404,
            "NoSuchBucket",
            Some("The specified bucket does not exist"),
            "/nobucket/k",
        ),
        (
            "/demo?torrent",
            400,
            "RequestTorrentOfBucketError",
            None,
            "/demo",
        ),
        (
            "/demo/huge.iso?torrent",
            400,
            "InvalidRequest",
            Some("Torrent creation is not supported for objects larger than 5368709120"),
            "/demo/huge.iso",
        ),
        (
            "/demo/empty?torrent",
            400,
            "InvalidRequest",
            None,
            "/demo/empty",
        ),
        (
            "/demo/bad%zz?torrent",
            400,
            "InvalidURI",
            Some("Couldn't parse the specified URI."),
            "/demo/bad%zz",
        ),
        (
            "/demo/bad%FF%3Cx%3E?torrent",
            400,
            "InvalidURI",
            None,
            "/demo/bad%FF%3Cx%3E",
        ),
        (
            "/demo/hello.txt?torrent&versionId=",
            400,
            "InvalidArgument",
            None,
            "/demo/hello.txt",
        ),
        (
            "/demo/hello.txt?torrent&versionId=v9",
            404,
            "NoSuchVersion",
            None,
            "/demo/hello.txt",
        ),
        (
            "/Bad_Bucket/k?torrent",
            400,
            "InvalidBucketName",
            None,
            "/Bad_Bucket/k",
        ),
        ("/demo/k?nottorrent", 400, "InvalidRequest", None, "/demo/k"),
    ];
    for (uri, status, code, message, resource) in cases {
        let r = run(&store, &service, &get(uri), anon.clone());
        let (c, m, res) = error_of(&r, *status);
        assert_eq!((c.as_str(), res.as_str()), (*code, *resource), "{uri}");
        if let Some(message) = message {
            assert_eq!(m, *message, "{uri}");
        }
    }
    // The owner reads the private object; a wrong expected owner is 403.
    let me = Requester::Authenticated(owner());
    assert_eq!(
        run(
            &store,
            &service,
            &get("/demo/secret.txt?torrent"),
            me.clone()
        )
        .status(),
        200
    );
    let wrong = Request::get("/demo/hello.txt?torrent")
        .header("x-amz-expected-bucket-owner", "999999999999")
        .body(())
        .unwrap();
    assert_eq!(
        error_of(&run(&store, &service, &wrong, me.clone()), 403).0,
        "AccessDenied"
    );
    let bad = Request::get("/demo/hello.txt?torrent")
        .header("x-amz-expected-bucket-owner", "nope")
        .body(())
        .unwrap();
    let (code, _, resource) = error_of(&run(&store, &service, &bad, me.clone()), 400);
    assert_eq!(
        (code.as_str(), resource.as_str()),
        ("InvalidBucketOwnerAWSAccountID", "/demo/hello.txt")
    );
    let put = Request::put("/demo/hello.txt?torrent").body(()).unwrap();
    assert_eq!(
        error_of(&run(&store, &service, &put, me), 405).0,
        "MethodNotAllowed"
    );
}

#[test]
fn requester_pays() {
    let mut store = Memory::demo(&[]);
    store.buckets.get_mut("demo").unwrap().requester_pays = true;
    let service = TorrentService::new(TorrentPolicy::default());
    let other = Requester::Authenticated(s3torrent_s3::Principal::new(
        s3torrent_s3::CanonicalId::new("bob").unwrap(),
        s3torrent_s3::AccountId::new("444455556666").unwrap(),
    ));
    let plain = get("/demo/hello.txt?torrent");
    assert_eq!(
        error_of(&run(&store, &service, &plain, other.clone()), 403).0,
        "AccessDenied"
    );
    let paying = Request::get("/demo/hello.txt?torrent")
        .header("x-amz-request-payer", "requester")
        .body(())
        .unwrap();
    let r = run(&store, &service, &paying, other);
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-amz-request-charged"], "requester");
    // The bucket owner is never charged.
    let r = run(&store, &service, &paying, Requester::Authenticated(owner()));
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!r.headers().contains_key("x-amz-request-charged"));
}
