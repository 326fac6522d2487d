//! What Ceph's s3-tests (`scripts/s3-tests`) found, each fixed behaviour
//! checked here on its own with unmodified boto3 or raw HTTP, so CI keeps it
//! without running the suite. The expected answers are the ones s3-tests
//! asserts (RGW's, where S3 leaves a choice), written out here.

mod support;

use serde_json::{Value, json};
use support::serve::{DEV, OTHER, Serve};
use support::{have_python_module, python};

/// boto3 clients for the development user and the other one, and `err`,
/// which answers `[status, code]` for an S3 error and `None` for success.
const PRELUDE: &str = r#"
import json, sys, warnings
warnings.simplefilter("ignore")
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
ep = sys.argv[1]
def client(ak, sk):
    cfg = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})
    return boto3.client("s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id=ak,
                        aws_secret_access_key=sk, config=cfg)
dev = client("s3torrent", "s3torrent-dev-secret")
other = client("other", "other-secret")
def err(f):
    try:
        f()
        return None
    except ClientError as e:
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]]
def grants(r):
    return [[g["Grantee"]["Type"], g["Grantee"].get("URI") or g["Grantee"].get("DisplayName"),
             g["Permission"]] for g in r["Grants"]]
out = {}
"#;

/// Runs `PRELUDE` then `scenario` against `serve`: the JSON it prints.
fn run(serve: &Serve, scenario: &str) -> Value {
    let script = format!("{PRELUDE}{scenario}\nprint(json.dumps(out))\n");
    serde_json::from_str(python(&script, &[&serve.endpoint()]).trim()).unwrap()
}

/// A serve with the development user and the other one.
fn serve_two_users(root: &std::path::Path) -> Serve {
    let dev = format!("{}:{}:{}", DEV.0, DEV.1, DEV.2);
    let other = format!("{}:{}:{}", OTHER.0, OTHER.1, OTHER.2);
    Serve::start(root, &["--user", &dev, "--user", &other])
}

/// s3-tests' `test_object_acl_canned*` and `test_bucket_acl_canned*` take
/// the grants in RGW's order: groups' grants first, then users', each as
/// given (they sort by display name only when the first grant has one, and
/// read the bucket owner as the third grant of a `public-read-write`
/// bucket).
#[test]
fn acl_answers_list_group_grants_before_users() {
    let test = "acl_answers_list_group_grants_before_users";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = serve_two_users(dir.path());
    let out = run(
        &serve,
        r#"
dev.create_bucket(Bucket="acl-order", ACL="public-read-write")
out["bucket"] = grants(dev.get_bucket_acl(Bucket="acl-order"))
dev.put_object(Bucket="acl-order", Key="pub", Body=b"x", ACL="public-read")
out["public_read"] = grants(dev.get_object_acl(Bucket="acl-order", Key="pub"))
dev.put_object(Bucket="acl-order", Key="auth", Body=b"x", ACL="authenticated-read")
out["authenticated_read"] = grants(dev.get_object_acl(Bucket="acl-order", Key="auth"))
other.put_object(Bucket="acl-order", Key="bor", Body=b"x", ACL="bucket-owner-read")
out["bucket_owner_read"] = grants(other.get_object_acl(Bucket="acl-order", Key="bor"))
dev.put_object(Bucket="acl-order", Key="private", Body=b"x")
out["private"] = grants(dev.get_object_acl(Bucket="acl-order", Key="private"))
"#,
    );
    let all = "http://acs.amazonaws.com/groups/global/AllUsers";
    let auth = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
    assert_eq!(
        out["bucket"],
        json!([
            ["Group", all, "READ"],
            ["Group", all, "WRITE"],
            ["CanonicalUser", DEV.2, "FULL_CONTROL"]
        ])
    );
    assert_eq!(
        out["public_read"],
        json!([
            ["Group", all, "READ"],
            ["CanonicalUser", DEV.2, "FULL_CONTROL"]
        ])
    );
    assert_eq!(
        out["authenticated_read"],
        json!([
            ["Group", auth, "READ"],
            ["CanonicalUser", DEV.2, "FULL_CONTROL"]
        ])
    );
    assert_eq!(
        out["bucket_owner_read"],
        json!([
            ["CanonicalUser", OTHER.2, "FULL_CONTROL"],
            ["CanonicalUser", DEV.2, "READ"]
        ])
    );
    assert_eq!(
        out["private"],
        json!([["CanonicalUser", DEV.2, "FULL_CONTROL"]])
    );
}
