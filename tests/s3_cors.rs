//! CORS (issue 23): Put/Get/DeleteBucketCors through boto3 and the AWS
//! CLI, preflight `OPTIONS` answered by S3's matching rules, and the
//! matched rule's headers on requests with `Origin`: GET, HEAD, `?torrent`
//! and the web seed's anonymous ranged GETs, which a browser makes.
//! The expected answers are S3's, as its documentation and recorded AWS
//! answers give them, written out here.

use crate::support;

use s3torrent_metainfo::Torrent;
use serde_json::{Value, json};
use support::serve::{Reply, Serve, aws_ok, request};
use support::{have_program, have_python_module, python};

/// boto3 drives the configuration's life: `python3 -c SCRIPT ENDPOINT`
/// prints what each step answered as JSON.
const ROUND_TRIP: &str = support::boto3_script!("clients/boto3_cors_round_trip.py");

#[test]
fn boto3_puts_gets_and_deletes_a_bucket_cors_configuration() {
    let test = "boto3_puts_gets_and_deletes_a_bucket_cors_configuration";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start_two_users(dir.path(), &[]);
    let out: Value = serde_json::from_str(python(ROUND_TRIP, &[&serve.endpoint()]).trim()).unwrap();
    assert_eq!(
        out["before"],
        json!([
            404,
            "NoSuchCORSConfiguration",
            "The CORS configuration does not exist"
        ])
    );
    assert_eq!(out["put"], json!(["ok", 200]));
    // Given back as given: order, the header's case, the optional fields.
    assert_eq!(
        out["got"],
        json!([
            {"ID": "uploads", "AllowedOrigins": ["https://*.example.com"],
             "AllowedMethods": ["PUT", "POST"], "AllowedHeaders": ["x-AMZ-*", "Content-Type"],
             "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3000},
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]}
        ])
    );
    assert_eq!(out["other_get"], json!([403, "AccessDenied"]));
    assert_eq!(out["other_put"], json!([403, "AccessDenied"]));
    assert_eq!(out["other_delete"], json!([403, "AccessDenied"]));
    assert_eq!(
        out["bad_method"],
        json!([
            400,
            "InvalidRequest",
            "Found unsupported HTTP method in CORS config. Unsupported method is MYMETHOD"
        ])
    );
    assert_eq!(out["two_wildcards"], json!([400, "InvalidRequest"]));
    assert_eq!(out["header_wildcards"], json!([400, "InvalidRequest"]));
    assert_eq!(out["too_many"], json!([400, "MalformedXML"]));
    assert_eq!(out["hundred"], json!(["ok", 200]));
    assert_eq!(out["too_big"], json!([400, "MaxMessageLengthExceeded"]));
    assert_eq!(out["still"], json!(100));
    // DeleteBucketCors is 204 No Content, with or without a configuration.
    assert_eq!(out["delete"], json!(["ok", 204]));
    assert_eq!(out["after"], json!([404, "NoSuchCORSConfiguration"]));
    assert_eq!(out["delete_again"], json!(["ok", 204]));
    assert_eq!(out["missing_bucket"], json!([404, "NoSuchBucket"]));
    assert_eq!(out["recreated"], json!([404, "NoSuchCORSConfiguration"]));
}

/// The rules of the preflight table, as the AWS CLI sends them.
const RULES: &str = r#"{"CORSRules": [
  {"AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["GET", "HEAD", "PUT"],
   "AllowedHeaders": ["Range", "x-amz-*"], "ExposeHeaders": ["ETag", "Content-Range"],
   "MaxAgeSeconds": 600},
  {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}
]}"#;

const VARY: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/// Request headers, by name.
type Headers<'a> = Vec<(&'a str, &'a str)>;

/// A preflight refused: path, headers, status, code, the message's start.
type Refusal<'a> = (&'a str, Headers<'a>, u16, &'a str, &'a str);

/// A preflight allowed: path, headers, the CORS headers of the answer.
type Allowance<'a> = (&'a str, Headers<'a>, [String; 7]);

fn options(serve: &Serve, path: &str, headers: &[(&str, &str)]) -> Reply {
    request(&serve.addr, "OPTIONS", path, headers)
}

/// The CORS headers of an answer, in a fixed order (absent ones empty).
fn cors_headers(reply: &Reply) -> [String; 7] {
    [
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-expose-headers",
        "access-control-max-age",
        "vary",
    ]
    .map(|h| reply.header(h).unwrap_or_default().to_owned())
}

#[test]
fn preflight_requests_are_answered_by_the_first_matching_rule() {
    let test = "preflight_requests_are_answered_by_the_first_matching_rule";
    if !have_program(test, "aws") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    aws_ok(&serve, &["s3", "mb", "s3://cors-pre"]);
    aws_ok(&serve, &["s3", "mb", "s3://cors-none"]);
    aws_ok(
        &serve,
        &[
            "s3api",
            "put-bucket-cors",
            "--bucket",
            "cors-pre",
            "--cors-configuration",
            RULES,
        ],
    );
    let got = aws_ok(
        &serve,
        &["s3api", "get-bucket-cors", "--bucket", "cors-pre"],
    );
    let got: Value = serde_json::from_str(&got).unwrap();
    let sent: Value = serde_json::from_str(RULES).unwrap();
    assert_eq!(got, sent);

    let app = ("Origin", "https://app.example.com");
    let get = ("Access-Control-Request-Method", "GET");
    let put = ("Access-Control-Request-Method", "PUT");
    // Refusals: (path, headers) → (status, code, message start).
    let refused: &[Refusal<'_>] = &[
        (
            "/cors-pre/k",
            vec![get],
            400,
            "BadRequest",
            "Insufficient information. Origin request header needed.",
        ),
        (
            "/cors-missing/k",
            vec![app, get],
            403,
            "AccessForbidden",
            "CORSResponse: Bucket not found",
        ),
        (
            "/cors-none/k",
            vec![app, get],
            403,
            "AccessForbidden",
            "CORSResponse: CORS is not enabled for this bucket.",
        ),
        // Content-Type is in no rule's AllowedHeaders.
        (
            "/cors-pre/k",
            vec![app, put, ("Access-Control-Request-Headers", "content-type")],
            403,
            "AccessForbidden",
            "CORSResponse: This CORS request is not allowed.",
        ),
        // Any origin may GET, but without asking for headers.
        (
            "/cors-pre/k",
            vec![
                ("Origin", "https://other.test"),
                get,
                ("Access-Control-Request-Headers", "range"),
            ],
            403,
            "AccessForbidden",
            "CORSResponse: This CORS request is not allowed.",
        ),
        (
            "/cors-pre/k",
            vec![
                ("Origin", "https://other.test"),
                ("Access-Control-Request-Method", "DELETE"),
            ],
            403,
            "AccessForbidden",
            "CORSResponse: This CORS request is not allowed.",
        ),
        // The wildcard keeps the scheme.
        (
            "/cors-pre/k",
            vec![("Origin", "http://app.example.com"), put],
            403,
            "AccessForbidden",
            "CORSResponse: This CORS request is not allowed.",
        ),
        // Methods are matched exactly, and a preflight names one.
        (
            "/cors-pre/k",
            vec![app, ("Access-Control-Request-Method", "put")],
            403,
            "AccessForbidden",
            "CORSResponse: This CORS request is not allowed.",
        ),
        // A preflight names the method it asks for.
        (
            "/cors-pre/k",
            vec![app],
            400,
            "BadRequest",
            "Insufficient information. Access-Control-Request-Method request header needed.",
        ),
    ];
    for (path, headers, status, code, message) in refused {
        let r = options(&serve, path, headers);
        assert_eq!(
            (r.status, r.code()),
            (*status, (*code).to_owned()),
            "{path} {headers:?}: {}",
            r.text()
        );
        assert!(
            r.text().contains(message),
            "{path} {headers:?}: {}",
            r.text()
        );
        assert_eq!(r.header("access-control-allow-origin"), None);
    }
    // The refusal names the method asked for and the resource.
    let r = options(
        &serve,
        "/cors-pre/k",
        &[app, ("Access-Control-Request-Method", "DELETE")],
    );
    assert!(
        r.text()
            .contains("<Method>DELETE</Method><ResourceType>OBJECT</ResourceType>"),
        "{}",
        r.text()
    );

    // Allowed: (path, headers) → the CORS headers.
    let s = |v: &str| v.to_owned();
    let allowed: &[Allowance<'_>] = &[
        (
            "/cors-pre/k",
            vec![
                app,
                get,
                ("Access-Control-Request-Headers", "Range, X-Amz-Date"),
            ],
            [
                s("https://app.example.com"),
                s("true"),
                s("GET, HEAD, PUT"),
                s("range, x-amz-date"),
                s("ETag, Content-Range"),
                s("600"),
                s(VARY),
            ],
        ),
        (
            "/cors-pre/dir/k%20with%20space",
            vec![("Origin", "https://deep.app.example.com"), put],
            [
                s("https://deep.app.example.com"),
                s("true"),
                s("GET, HEAD, PUT"),
                s(""),
                s("ETag, Content-Range"),
                s("600"),
                s(VARY),
            ],
        ),
        // The second rule allows any origin: `*`, without credentials.
        (
            "/cors-pre/k",
            vec![("Origin", "https://other.test"), get],
            [s("*"), s(""), s("GET"), s(""), s(""), s(""), s(VARY)],
        ),
        // On the bucket itself too.
        (
            "/cors-pre",
            vec![("Origin", "https://other.test"), get],
            [s("*"), s(""), s("GET"), s(""), s(""), s(""), s(VARY)],
        ),
    ];
    for (path, headers, expected) in allowed {
        let r = options(&serve, path, headers);
        assert_eq!(r.status, 200, "{path} {headers:?}: {}", r.text());
        assert!(r.body.is_empty());
        assert_eq!(&cors_headers(&r), expected, "{path} {headers:?}");
        assert!(r.header("x-amz-request-id").is_some());
    }
}

#[test]
fn requests_with_origin_get_the_rule_on_get_head_torrent_and_the_web_seed() {
    let test = "requests_with_origin_get_the_rule_on_get_head_torrent_and_the_web_seed";
    if !have_program(test, "aws") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &["--seeding", "web"]);
    let file = dir.path().join("piece.bin");
    let data = support::random_bytes(100_000, 23);
    std::fs::write(&file, &data).unwrap();
    aws_ok(&serve, &["s3", "mb", "s3://cors-seed"]);
    aws_ok(
        &serve,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "cors-seed",
            "--key",
            "piece.bin",
            "--body",
            file.to_str().unwrap(),
            "--acl",
            "public-read",
        ],
    );
    aws_ok(
        &serve,
        &[
            "s3api",
            "put-bucket-cors",
            "--bucket",
            "cors-seed",
            "--cors-configuration",
            RULES,
        ],
    );
    let app = ("Origin", "https://app.example.com");
    let app_headers = [
        "https://app.example.com".to_owned(),
        "true".to_owned(),
        "GET, HEAD, PUT".to_owned(),
        String::new(),
        "ETag, Content-Range".to_owned(),
        "600".to_owned(),
        VARY.to_owned(),
    ];

    // The torrent, fetched by a page at another origin.
    let torrent = request(&serve.addr, "GET", "/cors-seed/piece.bin?torrent", &[app]);
    assert_eq!(torrent.status, 200);
    assert_eq!(cors_headers(&torrent), app_headers);
    let parsed = Torrent::from_bytes(torrent.body.clone()).expect("a torrent");
    let seed = parsed.web_seeds().first().expect("a web seed").clone();
    let seed_path = seed
        .strip_prefix(&serve.endpoint())
        .expect("the web seed is the endpoint")
        .to_owned();
    assert_eq!(seed_path, "/cors-seed/piece.bin");

    // The web seed's ranged, anonymous GET, as a browser client makes it.
    let piece = request(
        &serve.addr,
        "GET",
        &seed_path,
        &[app, ("Range", "bytes=16384-32767")],
    );
    assert_eq!(piece.status, 206);
    assert_eq!(piece.body, &data[16384..32768]);
    assert_eq!(cors_headers(&piece), app_headers);
    // Larger than one write: the streamed body gets the headers too.
    let whole = request(
        &serve.addr,
        "GET",
        &seed_path,
        &[("Origin", "https://any.test")],
    );
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, data);
    assert_eq!(
        cors_headers(&whole)[..3],
        ["*".to_owned(), String::new(), "GET".to_owned()]
    );
    let head = request(&serve.addr, "HEAD", &seed_path, &[app]);
    assert_eq!(head.status, 200);
    assert_eq!(cors_headers(&head), app_headers);

    // No Origin, an origin no rule allows, or a method no rule allows for
    // it: the answer is as it would be, with no CORS header at all.
    let empty: [String; 7] = Default::default();
    let plain = request(&serve.addr, "GET", &seed_path, &[("Range", "bytes=0-9")]);
    assert_eq!(plain.status, 206);
    assert_eq!(cors_headers(&plain), empty);
    let head_other = request(
        &serve.addr,
        "HEAD",
        &seed_path,
        &[("Origin", "https://other.test")],
    );
    assert_eq!(head_other.status, 200);
    assert_eq!(cors_headers(&head_other), empty);

    // A refused request gets the headers too (an anonymous PUT, 403, from
    // an origin the first rule lets PUT), and the method matched is the
    // one `Access-Control-Request-Method` names when there is one (as Ceph
    // RGW matches): any origin may GET, not PUT.
    let refused_put = request(
        &serve.addr,
        "PUT",
        "/cors-seed/new.bin",
        &[app, ("Content-Length", "0")],
    );
    assert_eq!(refused_put.status, 403);
    assert_eq!(cors_headers(&refused_put), app_headers);
    let any = ("Origin", "https://any.test");
    let put_from_any = request(
        &serve.addr,
        "PUT",
        "/cors-seed/new.bin",
        &[any, ("Content-Length", "0")],
    );
    assert_eq!(put_from_any.status, 403);
    assert_eq!(cors_headers(&put_from_any), empty);
    let put_asking_get = request(
        &serve.addr,
        "PUT",
        "/cors-seed/new.bin",
        &[
            any,
            ("Access-Control-Request-Method", "GET"),
            ("Content-Length", "0"),
        ],
    );
    assert_eq!(put_asking_get.status, 403);
    assert_eq!(
        cors_headers(&put_asking_get)[..3],
        ["*".to_owned(), String::new(), "GET".to_owned()]
    );

    // The headers go after DeleteBucketCors.
    aws_ok(
        &serve,
        &["s3api", "delete-bucket-cors", "--bucket", "cors-seed"],
    );
    let after = request(
        &serve.addr,
        "GET",
        &seed_path,
        &[app, ("Range", "bytes=0-9")],
    );
    assert_eq!(after.status, 206);
    assert_eq!(cors_headers(&after), empty);
}
