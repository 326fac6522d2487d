//! Reading GetObjectTorrent requests: addressing, keys, the query and the
//! headers, each in a table.

use http::Request;
use s3torrent_http::{AdapterConfig, is_torrent_request, parse_request};
use s3torrent_s3::{Requester, TorrentPolicy, TorrentRequest, TorrentService, check_request};

use crate::support;

fn get(uri: &str, host: Option<&str>) -> Request<()> {
    let mut b = Request::get(uri);
    if let Some(h) = host {
        b = b.header("host", h);
    }
    b.body(()).expect("a valid request")
}

fn vhost() -> AdapterConfig {
    AdapterConfig::new(Some("s3.example.com".into()))
}

/// (config, uri, host, expected bucket, expected key)
type AddressingCase<'a> = (
    &'a AdapterConfig,
    &'a str,
    Option<&'a str>,
    &'a str,
    Option<&'a str>,
);

#[test]
fn addressing_and_keys() {
    let path = AdapterConfig::default();
    let cases: &[AddressingCase<'_>] = &[
        // Path-style.
        (
            &path,
            "/demo/hello.txt?torrent",
            None,
            "demo",
            Some("hello.txt"),
        ),
        (
            &path,
            "/demo/hello.txt?torrent",
            Some("photos.s3.example.com"),
            "demo",
            Some("hello.txt"),
        ),
        (
            &path,
            "/demo/dir/sub/file?torrent",
            None,
            "demo",
            Some("dir/sub/file"),
        ),
        (&path, "/demo/a%20b?torrent", None, "demo", Some("a b")),
        (&path, "/demo/a+b?torrent", None, "demo", Some("a+b")),
        (&path, "/demo/a%2Bb?torrent", None, "demo", Some("a+b")),
        (
            &path,
            "/demo/a%2Fb%2fc?torrent",
            None,
            "demo",
            Some("a/b/c"),
        ),
        (&path, "/demo/a%23b?torrent", None, "demo", Some("a#b")),
        (&path, "/demo/a%3Fb?torrent", None, "demo", Some("a?b")),
        (&path, "/demo/100%25?torrent", None, "demo", Some("100%")),
        (
            &path,
            "/demo/%22q%22%3B%5C?torrent",
            None,
            "demo",
            Some("\"q\";\\"),
        ),
        (
            &path,
            "/demo/caf%C3%A9/%E6%97%A5%E6%9C%AC%F0%9F%A6%80?torrent",
            None,
            "demo",
            Some("café/日本🦀"),
        ),
        (
            &path,
            "/demo/line%0D%0Abreak?torrent",
            None,
            "demo",
            Some("line\r\nbreak"),
        ),
        (&path, "/demo/nul%00?torrent", None, "demo", Some("nul\0")),
        (
            &path,
            "/demo//double//slash/?torrent",
            None,
            "demo",
            Some("/double//slash/"),
        ),
        (&path, "/demo/.?torrent", None, "demo", Some(".")),
        (
            &path,
            "/demo/~user/a-b_c.d?torrent",
            None,
            "demo",
            Some("~user/a-b_c.d"),
        ),
        // No key: the service answers RequestTorrentOfBucketError.
        (&path, "/demo?torrent", None, "demo", None),
        (&path, "/demo/?torrent", None, "demo", None),
        // Virtual-hosted-style.
        (
            &vhost(),
            "/hello.txt?torrent",
            Some("photos.s3.example.com"),
            "photos",
            Some("hello.txt"),
        ),
        (
            &vhost(),
            "/hello.txt?torrent",
            Some("photos.s3.example.com:9000"),
            "photos",
            Some("hello.txt"),
        ),
        (
            &vhost(),
            "/hello.txt?torrent",
            Some("Photos.S3.Example.COM."),
            "photos",
            Some("hello.txt"),
        ),
        (
            &vhost(),
            "/hello.txt?torrent",
            Some("my.dotted.bucket.s3.example.com"),
            "my.dotted.bucket",
            Some("hello.txt"),
        ),
        (
            &vhost(),
            "/a%2Fb+c?torrent",
            Some("photos.s3.example.com"),
            "photos",
            Some("a/b+c"),
        ),
        (
            &vhost(),
            "/demo/x?torrent",
            Some("photos.s3.example.com"),
            "photos",
            Some("demo/x"),
        ),
        (
            &vhost(),
            "/?torrent",
            Some("photos.s3.example.com"),
            "photos",
            None,
        ),
        // The base domain itself, other hosts and no host: path-style.
        (
            &vhost(),
            "/demo/x?torrent",
            Some("s3.example.com"),
            "demo",
            Some("x"),
        ),
        (
            &vhost(),
            "/demo/x?torrent",
            Some("s3.example.com:443"),
            "demo",
            Some("x"),
        ),
        (
            &vhost(),
            "/demo/x?torrent",
            Some("127.0.0.1:9000"),
            "demo",
            Some("x"),
        ),
        (
            &vhost(),
            "/demo/x?torrent",
            Some("[::1]:9000"),
            "demo",
            Some("x"),
        ),
        (
            &vhost(),
            "/demo/x?torrent",
            Some("evil-s3.example.com"),
            "demo",
            Some("x"),
        ),
        (&vhost(), "/demo/x?torrent", None, "demo", Some("x")),
        // HTTP/2 style: the authority in the URI, no Host header.
        (
            &vhost(),
            "http://photos.s3.example.com/k?torrent",
            None,
            "photos",
            Some("k"),
        ),
    ];
    for (config, uri, host, bucket, key) in cases {
        let req = get(uri, *host);
        assert!(is_torrent_request(req.method(), req.uri()), "{uri}");
        let parsed = parse_request(&req, config, Requester::Anonymous)
            .unwrap_or_else(|e| panic!("{uri} (host {host:?}): {e}"));
        assert_eq!(
            (parsed.bucket.as_str(), parsed.key.as_deref()),
            (*bucket, *key),
            "{uri} (host {host:?})"
        );
    }
}

#[test]
fn bad_encodings_are_invalid_uri() {
    for uri in [
        "/demo/a%?torrent",
        "/demo/a%2?torrent",
        "/demo/a%zz?torrent",
        "/demo/a%G0?torrent",
        "/demo/%FF?torrent",
        "/demo/%C3?torrent",
        "/demo/%C3%28?torrent",
        "/demo/%ED%A0%80?torrent", // an encoded UTF-16 surrogate
        "/de%ZZmo/key?torrent",
        "/demo/key?torrent&versionId=%",
        "/demo/key?torrent&versionId=%FE",
    ] {
        let err = parse_request(
            &get(uri, None),
            &AdapterConfig::default(),
            Requester::Anonymous,
        )
        .expect_err(uri);
        assert_eq!(
            (err.code().as_str(), err.status(), err.message()),
            ("InvalidURI", 400, "Couldn't parse the specified URI."),
            "{uri}"
        );
        assert_eq!(
            err.resource(),
            uri.parse::<http::Uri>().unwrap().path(),
            "{uri}"
        );
    }
}

#[test]
fn the_query() {
    let config = AdapterConfig::default();
    let ok: &[(&str, Option<&str>)] = &[
        ("/demo/k?torrent", None),
        ("/demo/k?torrent=", None),
        ("/demo/k?torrent=anything", None),
        ("/demo/k?x-id=GetObjectTorrent&torrent", None),
        ("/demo/k?%74orrent", None),
        (
            "/demo/k?torrent&versionId=3HL4kqtJlcpXroDTDmJ%2Brmsp",
            Some("3HL4kqtJlcpXroDTDmJ+rmsp"),
        ),
        ("/demo/k?versionId=v%2F1&torrent=", Some("v/1")),
        ("/demo/k?versionId=a+b&torrent", Some("a+b")),
        ("/demo/k?torrent&versionId=null", Some("null")),
        ("/demo/k?torrent&&versionId=%C3%A9&", Some("é")),
        ("/demo/k?torrent&versionid=ignored", None),
    ];
    for (uri, version) in ok {
        let req = get(uri, None);
        assert!(is_torrent_request(req.method(), req.uri()), "{uri}");
        let parsed = parse_request(&req, &config, Requester::Anonymous)
            .unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert_eq!(parsed.version_id.as_deref(), *version, "{uri}");
    }

    for (uri, code, message) in [
        (
            "/demo/k?torrent&versionId=",
            "InvalidArgument",
            "Version id cannot be the empty string",
        ),
        (
            "/demo/k?torrent&versionId",
            "InvalidArgument",
            "Version id cannot be the empty string",
        ),
        (
            "/demo/k?torrent&versionId=a&versionId=b",
            "InvalidArgument",
            "versionId is given more than once.",
        ),
    ] {
        let err = parse_request(&get(uri, None), &config, Requester::Anonymous).expect_err(uri);
        assert_eq!(
            (err.code().as_str(), err.status(), err.message()),
            (code, 400, message),
            "{uri}"
        );
        assert_eq!(err.resource(), "/demo/k", "{uri}");
    }
}

#[test]
fn not_torrent_requests() {
    let config = AdapterConfig::default();
    for uri in [
        "/demo/k",
        "/demo/k?torrents",
        "/demo/k?xtorrent",
        "/demo/k?versionId=torrent",
        "/demo/torrent",
    ] {
        let req = get(uri, None);
        assert!(!is_torrent_request(req.method(), req.uri()), "{uri}");
        let err = parse_request(&req, &config, Requester::Anonymous).expect_err(uri);
        assert_eq!(err.code().as_str(), "InvalidRequest", "{uri}");
    }
    for method in ["PUT", "POST", "DELETE", "OPTIONS", "PATCH"] {
        let req = Request::builder()
            .method(method)
            .uri("/demo/k?torrent")
            .body(())
            .unwrap();
        assert!(!is_torrent_request(req.method(), req.uri()), "{method}");
        let err = parse_request(&req, &config, Requester::Anonymous).expect_err(method);
        assert_eq!(
            (err.code().as_str(), err.status()),
            ("MethodNotAllowed", 405),
            "{method}"
        );
    }
    let head = Request::head("/demo/k?torrent").body(()).unwrap();
    assert!(is_torrent_request(head.method(), head.uri()));
    assert!(parse_request(&head, &config, Requester::Anonymous).is_ok());
    // No bucket at all.
    let err = parse_request(&get("/?torrent", None), &config, Requester::Anonymous).unwrap_err();
    assert_eq!((err.code().as_str(), err.status()), ("InvalidRequest", 400));
}

#[test]
fn headers() {
    let config = AdapterConfig::default();
    let with = |headers: &[(&str, &[u8])]| -> TorrentRequest {
        let mut b = Request::get("/demo/k?torrent");
        for (name, value) in headers {
            b = b.header(*name, http::HeaderValue::from_bytes(value).unwrap());
        }
        parse_request(&b.body(()).unwrap(), &config, Requester::Anonymous).unwrap()
    };
    for (value, payer) in [
        (&b"requester"[..], true),
        (b"Requester", true),
        (b"REQUESTER", true),
        (b"owner", false),
        (b"", false),
        (b"requester\xff", false),
    ] {
        let parsed = with(&[("x-amz-request-payer", value)]);
        assert_eq!(parsed.request_payer, payer, "{value:?}");
    }
    assert!(!with(&[]).request_payer);
    assert_eq!(with(&[]).expected_bucket_owner, None);
    assert_eq!(
        with(&[("x-amz-expected-bucket-owner", b"111122223333")])
            .expected_bucket_owner
            .as_deref(),
        Some("111122223333")
    );
    assert_eq!(
        with(&[
            ("x-amz-expected-bucket-owner", b"1"),
            ("x-amz-expected-bucket-owner", b"2")
        ])
        .expected_bucket_owner
        .as_deref(),
        Some("1,2")
    );
    let requester = Requester::Authenticated(support::owner());
    let parsed = parse_request(&get("/demo/k?torrent", None), &config, requester.clone()).unwrap();
    assert_eq!(parsed.requester, requester);
}

/// A malformed expected owner: InvalidBucketOwnerAWSAccountID, naming the
/// object, from the service (and from `check_request` directly).
#[test]
fn malformed_expected_owner() {
    let config = AdapterConfig::default();
    let service = TorrentService::new(TorrentPolicy::default());
    let store = support::Memory::demo(&["a b"]);
    for owner in [
        &b"12345"[..],
        b"11112222333x",
        b"1111222233334",
        b"",
        b"\xff\xfe",
        b"111122223333,111122223333",
    ] {
        let req = Request::get("/demo/a%20b?torrent")
            .header(
                "x-amz-expected-bucket-owner",
                http::HeaderValue::from_bytes(owner).unwrap(),
            )
            .body(())
            .unwrap();
        let parsed = parse_request(&req, &config, Requester::Anonymous).unwrap();
        for err in [
            check_request(&parsed).unwrap_err(),
            service.get_object_torrent(&store, &parsed).unwrap_err(),
        ] {
            assert_eq!(
                (err.code().as_str(), err.status(), err.resource()),
                ("InvalidBucketOwnerAWSAccountID", 400, "/demo/a b"),
                "{owner:?}"
            );
        }
    }
}
