//! The S3 operations of issue 12 through unmodified boto3 and the AWS CLI:
//! DeleteObjects, CopyObject, ListObjects (v1), ListObjectVersions,
//! Put/GetBucketAcl with grants, GetBucketLocation, ListBuckets pages;
//! `aws s3 rm --recursive`, `aws s3 cp` between keys and `aws s3 rb`.
//! Each expectation is a fixed value written here, not one our code computed.

use crate::support;

use serde_json::{Value, json};
use support::serve::{DEV, OTHER, Serve, aws, aws_ok};
use support::{have_program, have_python_module, python};

/// One boto3 session that runs the whole scenario and prints what each step
/// answered, as JSON: `python3 -c SCRIPT ENDPOINT`.
const SCENARIO: &str = support::boto3_script!("clients/boto3_ops_scenario.py");

fn ready(test: &str) -> bool {
    have_python_module(test, "boto3")
}

#[test]
fn boto3_drives_the_bucket_listing_copy_acl_and_delete_operations() {
    let test = "boto3_drives_the_bucket_listing_copy_acl_and_delete_operations";
    if !ready(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start_two_users(dir.path(), &[]);
    let out: Value = serde_json::from_str(python(SCENARIO, &[&serve.endpoint()]).trim()).unwrap();
    let get = |k: &str| out[k].clone();
    assert_eq!(get("location"), json!([null, "eu-west-1"]));
    assert_eq!(
        get("v1"),
        json!([
            [[], ["a/", "b/"], "b/"],
            [["c", "d e"], [], "d e"],
            [["plus+key"], [], null]
        ])
    );
    assert_eq!(
        get("versions"),
        json!([
            ["a/1", "null", true],
            ["a/2", "null", true],
            ["b/1", "null", true],
            ["c", "null", true]
        ])
    );
    assert_eq!(get("versions_next"), json!([true, "c", "null"]));
    assert_eq!(get("versions_rest"), json!(["d e", "plus+key"]));
    assert_eq!(get("start_after"), json!(["c", "d e", "plus+key"]));
    assert_eq!(get("max0"), json!([0, false, 0]));
    assert_eq!(get("empty_delimiter"), json!([6, 0]));
    assert_eq!(get("owner"), json!(DEV.2));
    // MD5("c") is 4a8a08f09d37b73795649038408b5f33.
    assert_eq!(
        get("copy"),
        json!(["text/x-c", "\"4a8a08f09d37b73795649038408b5f33\"", "c"])
    );
    assert_eq!(get("replace"), json!("text/plain"));
    assert_eq!(get("self_copy"), json!([400, "InvalidRequest"]));
    assert_eq!(get("self_replace"), json!("text/y"));
    assert_eq!(
        get("if_match"),
        json!([[412, "PreconditionFailed"], [412, "PreconditionFailed"]])
    );
    assert_eq!(
        get("copy_acl"),
        json!([
            ["http://acs.amazonaws.com/groups/global/AllUsers", "READ"],
            ["user", "FULL_CONTROL"]
        ])
    );
    assert_eq!(get("copy_missing"), json!([404, "NoSuchKey"]));
    assert_eq!(get("copy_denied"), json!([403, "AccessDenied"]));
    assert_eq!(get("other_list_before"), json!([403, "AccessDenied"]));
    assert_eq!(
        get("bucket_acl"),
        json!([[false, DEV.2, "FULL_CONTROL"], [true, OTHER.2, "READ"]])
    );
    assert_eq!(get("other_list_after"), json!(8));
    assert_eq!(get("other_put"), json!([403, "AccessDenied"]));
    assert_eq!(get("other_list_revoked"), json!([403, "AccessDenied"]));
    assert_eq!(
        get("bad_grantee"),
        json!([
            [400, "InvalidArgument"],
            [400, "UnresolvableGrantByEmailAddress"]
        ])
    );
    assert_eq!(
        get("object_acl"),
        json!([["http://acs.amazonaws.com/groups/global/AllUsers", "READ"]])
    );
    assert_eq!(
        get("bucket_pages"),
        json!([["ops", "ops-b1"], ["ops-b2", "ops-b3"], ["ops-eu"]])
    );
    assert_eq!(get("deleted"), json!(["a/1", "missing"]));
    assert_eq!(get("quiet"), json!([0, 0]));
    assert_eq!(get("foreign"), json!([["c", "AccessDenied"]]));
    assert_eq!(get("not_empty"), json!([409, "BucketNotEmpty"]));
    assert_eq!(
        get("names"),
        json!([[400, "InvalidBucketName"], [400, "InvalidBucketName"]])
    );
    assert_eq!(get("nuked"), json!([]));
}

#[test]
fn aws_cli_copies_between_keys_removes_recursively_and_removes_the_bucket() {
    let test = "aws_cli_copies_between_keys_removes_recursively_and_removes_the_bucket";
    if !have_program(test, "aws") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let file = dir.path().join("upload.txt");
    std::fs::write(&file, b"twelve bytes").unwrap();
    aws_ok(&serve, &["s3", "mb", "s3://cli"]);
    for key in ["x/1", "x/2", "y", "with space"] {
        aws_ok(
            &serve,
            &[
                "s3",
                "cp",
                file.to_str().unwrap(),
                &format!("s3://cli/{key}"),
            ],
        );
    }
    aws_ok(&serve, &["s3", "cp", "s3://cli/y", "s3://cli/z/y-copy"]);
    let listed = aws_ok(&serve, &["s3", "ls", "--recursive", "s3://cli"]);
    // DATE TIME SIZE KEY (the keys here have single spaces).
    let keys: Vec<String> = listed
        .lines()
        .map(|l| l.split_whitespace().skip(3).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        keys,
        ["with space", "x/1", "x/2", "y", "z/y-copy"],
        "{listed}"
    );
    let copied = dir.path().join("copied.txt");
    aws_ok(
        &serve,
        &["s3", "cp", "s3://cli/z/y-copy", copied.to_str().unwrap()],
    );
    assert_eq!(std::fs::read(&copied).unwrap(), b"twelve bytes");
    // rb refuses a bucket that is not empty.
    let refused = aws(&serve, &["s3", "rb", "s3://cli"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("BucketNotEmpty"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let removed = aws_ok(&serve, &["s3", "rm", "--recursive", "s3://cli"]);
    assert_eq!(removed.lines().count(), 5, "{removed}");
    aws_ok(&serve, &["s3", "rb", "s3://cli"]);
    let buckets = aws_ok(
        &serve,
        &["s3api", "list-buckets", "--query", "Buckets[].Name"],
    );
    assert_eq!(buckets.trim(), "[]");
    // Gone: its folder is gone, and its name is free again.
    assert!(!dir.path().join("cli").exists());
    aws_ok(&serve, &["s3", "mb", "s3://cli"]);
    let empty = aws_ok(&serve, &["s3api", "list-objects", "--bucket", "cli"]);
    assert!(!empty.contains("Key"), "{empty}");
}
