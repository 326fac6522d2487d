//! The S3 operations of issue 12 through unmodified boto3 and the AWS CLI:
//! DeleteObjects, CopyObject, ListObjects (v1), ListObjectVersions,
//! Put/GetBucketAcl with grants, GetBucketLocation, ListBuckets pages;
//! `aws s3 rm --recursive`, `aws s3 cp` between keys and `aws s3 rb`.
//! Each expectation is a fixed value written here, not one our code computed.

mod support;

use serde_json::{Value, json};
use support::serve::{DEV, OTHER, Serve, aws, aws_ok};
use support::{have_program, have_python_module, python};

/// One boto3 session that runs the whole scenario and prints what each step
/// answered, as JSON: `python3 -c SCRIPT ENDPOINT`.
const SCENARIO: &str = r#"
import json, sys, warnings
warnings.simplefilter("ignore")
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
ep = sys.argv[1]
def client(ak, sk):
    return boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk,
                        region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
dev = client("s3torrent", "s3torrent-dev-secret")
other = client("other", "other-secret")
def err(f):
    try:
        f()
        return None
    except ClientError as e:
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]]
out = {}
dev.create_bucket(Bucket="ops")
dev.create_bucket(Bucket="ops-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
out["location"] = [dev.get_bucket_location(Bucket="ops")["LocationConstraint"],
                   dev.get_bucket_location(Bucket="ops-eu")["LocationConstraint"]]
for k in ["a/1", "a/2", "b/1", "c", "d e", "plus+key"]:
    dev.put_object(Bucket="ops", Key=k, Body=k.encode(), ContentType="text/x-" + k[0])

# ListObjects v1 with a delimiter, page by page through NextMarker.
pages, marker = [], ""
while len(pages) < 10:
    r = dev.list_objects(Bucket="ops", Delimiter="/", MaxKeys=2, Marker=marker)
    pages.append([[o["Key"] for o in r.get("Contents", [])],
                  [p["Prefix"] for p in r.get("CommonPrefixes", [])], r.get("NextMarker")])
    if not r["IsTruncated"]:
        break
    marker = r["NextMarker"]
out["v1"] = pages

# ListObjectVersions: every object once, version "null", latest.
r = dev.list_object_versions(Bucket="ops", MaxKeys=4)
out["versions"] = [[v["Key"], v["VersionId"], v["IsLatest"]] for v in r["Versions"]]
out["versions_next"] = [r["IsTruncated"], r.get("NextKeyMarker"), r.get("NextVersionIdMarker")]
r = dev.list_object_versions(Bucket="ops", KeyMarker=r["NextKeyMarker"], VersionIdMarker=r["NextVersionIdMarker"])
out["versions_rest"] = [v["Key"] for v in r["Versions"]]

# ListObjectsV2: start-after, max-keys 0, an empty delimiter, fetch-owner.
r = dev.list_objects_v2(Bucket="ops", StartAfter="b/1")
out["start_after"] = [o["Key"] for o in r["Contents"]]
r = dev.list_objects_v2(Bucket="ops", MaxKeys=0)
out["max0"] = [r["KeyCount"], r["IsTruncated"], len(r.get("Contents", []))]
r = dev.list_objects_v2(Bucket="ops", Delimiter="")
out["empty_delimiter"] = [len(r["Contents"]), len(r.get("CommonPrefixes", []))]
r = dev.list_objects_v2(Bucket="ops", Prefix="c", FetchOwner=True)
out["owner"] = r["Contents"][0]["Owner"]["DisplayName"]

# CopyObject: COPY keeps the content type, REPLACE sets it; onto itself
# needs REPLACE; a failed condition is 412; the copy gets its own ACL.
dev.copy_object(Bucket="ops", Key="c2", CopySource={"Bucket": "ops", "Key": "c"}, ACL="public-read")
h = dev.head_object(Bucket="ops", Key="c2")
out["copy"] = [h["ContentType"], h["ETag"], dev.get_object(Bucket="ops", Key="c2")["Body"].read().decode()]
dev.copy_object(Bucket="ops", Key="c3", CopySource="ops/c", MetadataDirective="REPLACE", ContentType="text/plain")
out["replace"] = dev.head_object(Bucket="ops", Key="c3")["ContentType"]
out["self_copy"] = err(lambda: dev.copy_object(Bucket="ops", Key="c", CopySource="ops/c"))
dev.copy_object(Bucket="ops", Key="c", CopySource="ops/c", MetadataDirective="REPLACE", ContentType="text/y")
out["self_replace"] = dev.head_object(Bucket="ops", Key="c")["ContentType"]
out["if_match"] = [err(lambda: dev.copy_object(Bucket="ops", Key="c4", CopySource="ops/c", CopySourceIfMatch='"nope"')),
                   err(lambda: dev.copy_object(Bucket="ops", Key="c4", CopySource="ops/c", CopySourceIfNoneMatch=h["ETag"]))]
out["copy_acl"] = sorted([g["Grantee"].get("URI", "user"), g["Permission"]] for g in dev.get_object_acl(Bucket="ops", Key="c2")["Grants"])
out["copy_missing"] = err(lambda: dev.copy_object(Bucket="ops", Key="x", CopySource="ops/missing"))
out["copy_denied"] = err(lambda: other.copy_object(Bucket="ops", Key="x", CopySource="ops/c"))

# Bucket ACLs with grants: another account may list once granted READ by ID.
other_id = other.list_buckets()["Owner"]["ID"]
dev_id = dev.list_buckets()["Owner"]["ID"]
out["other_list_before"] = err(lambda: other.list_objects_v2(Bucket="ops"))
dev.put_bucket_acl(Bucket="ops", AccessControlPolicy={
    "Owner": {"ID": dev_id},
    "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": dev_id}, "Permission": "FULL_CONTROL"},
               {"Grantee": {"Type": "CanonicalUser", "ID": other_id}, "Permission": "READ"}]})
acl = dev.get_bucket_acl(Bucket="ops")
out["bucket_acl"] = sorted([g["Grantee"]["ID"] == other_id, g["Grantee"].get("DisplayName"), g["Permission"]] for g in acl["Grants"])
out["other_list_after"] = len(other.list_objects_v2(Bucket="ops")["Contents"])
out["other_put"] = err(lambda: other.put_object(Bucket="ops", Key="o", Body=b"x"))
dev.put_bucket_acl(Bucket="ops", GrantWrite="id=" + other_id, GrantFullControl='id="' + dev_id + '"')
other.put_object(Bucket="ops", Key="o", Body=b"x")
out["other_list_revoked"] = err(lambda: other.list_objects_v2(Bucket="ops"))
out["bad_grantee"] = [err(lambda: dev.put_bucket_acl(Bucket="ops", GrantRead="id=nobody")),
                      err(lambda: dev.put_bucket_acl(Bucket="ops", GrantRead='emailAddress="a@b.c"'))]
dev.put_object_acl(Bucket="ops", Key="c", GrantRead="uri=http://acs.amazonaws.com/groups/global/AllUsers")
out["object_acl"] = sorted([g["Grantee"].get("URI", ""), g["Permission"]] for g in dev.get_object_acl(Bucket="ops", Key="c")["Grants"])

# ListBuckets pages.
for b in ["ops-b1", "ops-b2", "ops-b3"]:
    dev.create_bucket(Bucket=b)
names, token = [], None
while len(names) < 20:
    r = dev.list_buckets(MaxBuckets=2, **({"ContinuationToken": token} if token else {}))
    names.append([b["Name"] for b in r["Buckets"]])
    token = r.get("ContinuationToken")
    if not token:
        break
out["bucket_pages"] = names

# DeleteObjects: quiet and not, a missing key counts as deleted.
r = dev.delete_objects(Bucket="ops", Delete={"Objects": [{"Key": "a/1"}, {"Key": "missing"}]})
out["deleted"] = sorted(d["Key"] for d in r["Deleted"])
r = dev.delete_objects(Bucket="ops", Delete={"Objects": [{"Key": "a/2"}, {"Key": "b/1"}], "Quiet": True})
out["quiet"] = [len(r.get("Deleted", [])), len(r.get("Errors", []))]
dev.put_bucket_acl(Bucket="ops", ACL="private")
r = other.delete_objects(Bucket="ops", Delete={"Objects": [{"Key": "c"}]})
out["foreign"] = [[e["Key"], e["Code"]] for e in r.get("Errors", [])]
out["not_empty"] = err(lambda: dev.delete_bucket(Bucket="ops"))
out["names"] = err(lambda: dev.create_bucket(Bucket="a.-b")), err(lambda: dev.create_bucket(Bucket="a-.b"))

# The cleanup of Ceph's s3-tests (nuke_bucket): every version by
# ListObjectVersions pages, DeleteObjects with their VersionIds, DeleteBucket.
for b in [b["Name"] for b in dev.list_buckets()["Buckets"]]:
    token = {}
    for _ in range(50):
        r = dev.list_object_versions(Bucket=b, MaxKeys=2, **token)
        objects = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in r.get("Versions", [])]
        if objects:
            dev.delete_objects(Bucket=b, Delete={"Objects": objects, "Quiet": True})
        if not r["IsTruncated"]:
            break
        token = {"KeyMarker": r["NextKeyMarker"], "VersionIdMarker": r["NextVersionIdMarker"]}
    dev.delete_bucket(Bucket=b)
out["nuked"] = [b["Name"] for b in dev.list_buckets()["Buckets"]]
print(json.dumps(out))
"#;

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
    let dev = format!("{}:{}:{}", DEV.0, DEV.1, DEV.2);
    let other = format!("{}:{}:{}", OTHER.0, OTHER.1, OTHER.2);
    let serve = Serve::start(dir.path(), &["--user", &dev, "--user", &other]);
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
