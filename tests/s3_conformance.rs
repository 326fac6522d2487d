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

/// PostObject, as a browser form sends it: boto3's `generate_presigned_post`
/// signs the policy (SigV4), urllib3 posts the form. An unsigned form writes
/// into a `public-read-write` bucket (and is refused elsewhere); a signed
/// one answers as `success_action_status` and `success_action_redirect`
/// ask, with the ETag quoted as S3 gives it; a policy that expired, a
/// broken signature or a condition not met are refused.
#[test]
fn browser_forms_upload_with_post_object() {
    let test = "browser_forms_upload_with_post_object";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = serve_two_users(dir.path());
    let out = run(
        &serve,
        r#"
import hashlib, urllib3
http = urllib3.PoolManager(retries=False)
def post(bucket, fields, body=b"form body"):
    fields = dict(fields)
    fields["file"] = ("f.txt", body)
    r = http.request("POST", f"{ep}/{bucket}", fields=fields, redirect=False)
    return [r.status, r.headers.get("ETag"), r.headers.get("Location"), r.data.decode()]
md5 = '"%s"' % hashlib.md5(b"form body").hexdigest()
v4 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id="s3torrent",
                  aws_secret_access_key="s3torrent-dev-secret",
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
dev.create_bucket(Bucket="forms-open", ACL="public-read-write")
dev.create_bucket(Bucket="forms")
out["anonymous"] = post("forms-open", {"key": "anon.txt"})[:2]
out["anonymous_got"] = dev.get_object(Bucket="forms-open", Key="anon.txt")["Body"].read().decode()
out["anonymous_private"] = post("forms", {"key": "anon.txt"})[0]
p = v4.generate_presigned_post("forms", "signed.txt",
    Fields={"success_action_status": "201"},
    Conditions=[{"success_action_status": "201"}, ["content-length-range", 0, 100]])
out["created"] = post("forms", p["fields"])
out["signed_got"] = dev.get_object(Bucket="forms", Key="signed.txt")["Body"].read().decode()
redirect = "http://example.test/done"
p = v4.generate_presigned_post("forms", "redirected.txt",
    Fields={"success_action_redirect": redirect},
    Conditions=[{"success_action_redirect": redirect}])
out["redirected"] = post("forms", p["fields"])
p = v4.generate_presigned_post("forms", "small.txt", Conditions=[["content-length-range", 0, 4]])
out["too_large"] = post("forms", p["fields"])[0]
p = v4.generate_presigned_post("forms", "expired.txt", ExpiresIn=-10)
out["expired"] = post("forms", p["fields"])[0]
p = v4.generate_presigned_post("forms", "forged.txt")
p["fields"]["x-amz-signature"] = "0" * 64
out["forged"] = post("forms", p["fields"])[0]
# SigV2 forms (boto3's default signer for them) are checked too.
p = dev.generate_presigned_post("forms", "v2.txt")
out["v2"] = post("forms", p["fields"])[0]
p["fields"]["signature"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
out["forged_v2"] = post("forms", p["fields"])[0]
out["md5"] = md5
"#,
    );
    let md5 = out["md5"].as_str().unwrap().to_owned();
    assert_eq!(out["anonymous"], json!([204, md5]));
    assert_eq!(out["anonymous_got"], "form body");
    assert_eq!(out["anonymous_private"], 403);
    let created = &out["created"];
    assert_eq!(created[0], 201);
    assert_eq!(created[1], md5.as_str());
    let body = created[3].as_str().unwrap();
    assert!(
        body.contains("<Bucket>forms</Bucket><Key>signed.txt</Key>"),
        "{body}"
    );
    assert!(
        body.contains(&format!("<ETag>{}</ETag>", md5.replace('"', "&quot;")))
            || body.contains(&format!("<ETag>{md5}</ETag>")),
        "{body}"
    );
    assert_eq!(out["signed_got"], "form body");
    let redirected = &out["redirected"];
    assert_eq!(redirected[0], 303);
    let quoted = md5.replace('"', "%22");
    assert_eq!(
        redirected[2],
        format!("http://example.test/done?bucket=forms&key=redirected.txt&etag={quoted}").as_str()
    );
    assert_eq!(out["too_large"], 400);
    assert_eq!(out["expired"], 403);
    assert_eq!(out["forged"], 403);
    assert_eq!(out["v2"], 204);
    assert_eq!(out["forged_v2"], 403);
}

/// CreateBucket of one's own bucket: in us-east-1 S3 answers 200 (and
/// resets the ACL); where that changes nothing, so does serve (s3-tests'
/// `test_bucket_create_exists`); a request that would change the bucket is
/// `BucketAlreadyOwnedByYou`, another account's bucket `BucketAlreadyExists`,
/// and the bucket keeps its objects.
#[test]
fn creating_ones_own_bucket_again() {
    let test = "creating_ones_own_bucket_again";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = serve_two_users(dir.path());
    let out = run(
        &serve,
        r#"
dev.create_bucket(Bucket="again")
dev.put_object(Bucket="again", Key="k", Body=b"kept")
out["same"] = err(lambda: dev.create_bucket(Bucket="again"))
out["kept"] = dev.get_object(Bucket="again", Key="k")["Body"].read().decode()
out["other_acl"] = err(lambda: dev.create_bucket(Bucket="again", ACL="public-read"))
out["acl_unchanged"] = grants(dev.get_bucket_acl(Bucket="again"))
out["other_region"] = err(lambda: dev.create_bucket(Bucket="again",
    CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}))
out["other_account"] = err(lambda: other.create_bucket(Bucket="again"))
dev.create_bucket(Bucket="again-pub", ACL="public-read")
out["public_again"] = err(lambda: dev.create_bucket(Bucket="again-pub", ACL="public-read"))
out["public_reset"] = err(lambda: dev.create_bucket(Bucket="again-pub"))
"#,
    );
    assert_eq!(out["same"], Value::Null);
    assert_eq!(out["kept"], "kept");
    assert_eq!(out["other_acl"], json!([409, "BucketAlreadyOwnedByYou"]));
    assert_eq!(
        out["acl_unchanged"],
        json!([["CanonicalUser", DEV.2, "FULL_CONTROL"]])
    );
    assert_eq!(out["other_region"], json!([409, "BucketAlreadyOwnedByYou"]));
    assert_eq!(out["other_account"], json!([409, "BucketAlreadyExists"]));
    assert_eq!(out["public_again"], Value::Null);
    assert_eq!(out["public_reset"], json!([409, "BucketAlreadyOwnedByYou"]));
}

/// Conditional writes and deletes, through boto3: `If-None-Match` with an
/// ETag on PutObject and CompleteMultipartUpload (RFC 9110's meaning, as
/// RGW takes it; AWS answers 501), a CompleteMultipartUpload refused by its
/// condition answered 412 that boto3 can read, and DeleteObject's
/// `If-Match`, `x-amz-if-match-last-modified-time` and
/// `x-amz-if-match-size`, and DeleteObjects' `ETag`, `LastModifiedTime` and
/// `Size`, on the current version and on a version named.
#[test]
fn conditional_writes_and_deletes() {
    let test = "conditional_writes_and_deletes";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = serve_two_users(dir.path());
    let out = run(
        &serve,
        r#"
import datetime
dev.create_bucket(Bucket="cond")
etag = dev.put_object(Bucket="cond", Key="k", Body=b"one")["ETag"]
out["none_match_same"] = err(lambda: dev.put_object(Bucket="cond", Key="k", Body=b"x", IfNoneMatch=etag))
out["none_match_other"] = err(lambda: dev.put_object(Bucket="cond", Key="k", Body=b"two", IfNoneMatch='"0123"'))
etag = dev.head_object(Bucket="cond", Key="k")["ETag"]
def complete(**kw):
    u = dev.create_multipart_upload(Bucket="cond", Key="k")["UploadId"]
    p = dev.upload_part(Bucket="cond", Key="k", UploadId=u, PartNumber=1, Body=b"abc")
    return err(lambda: dev.complete_multipart_upload(Bucket="cond", Key="k", UploadId=u,
        MultipartUpload={"Parts": [{"ETag": p["ETag"], "PartNumber": 1}]}, **kw))
out["complete_none_match_any"] = complete(IfNoneMatch="*")
out["complete_none_match_same"] = complete(IfNoneMatch=etag)
out["complete_match_other"] = complete(IfMatch='"0123"')
head = dev.head_object(Bucket="cond", Key="k")
etag, size, mtime = head["ETag"], head["ContentLength"], head["LastModified"]
old = datetime.datetime(2015, 1, 1)
out["delete_refused"] = [
    err(lambda: dev.delete_object(Bucket="cond", Key="k", IfMatch='"0123"')),
    err(lambda: dev.delete_object(Bucket="cond", Key="k", IfMatchSize=size + 1)),
    err(lambda: dev.delete_object(Bucket="cond", Key="k", IfMatchLastModifiedTime=old)),
]
out["still_there"] = dev.get_object(Bucket="cond", Key="k")["Body"].read().decode()
out["delete_matching"] = err(lambda: dev.delete_object(Bucket="cond", Key="k", IfMatch=etag,
    IfMatchSize=size, IfMatchLastModifiedTime=mtime))
out["gone"] = err(lambda: dev.head_object(Bucket="cond", Key="k"))
out["delete_missing"] = err(lambda: dev.delete_object(Bucket="cond", Key="k", IfMatch='"0123"'))

dev.put_object(Bucket="cond", Key="m", Body=b"many")
head = dev.head_object(Bucket="cond", Key="m")
r = dev.delete_objects(Bucket="cond", Delete={"Objects": [
    {"Key": "m", "ETag": '"0123"'}, {"Key": "m", "Size": 1}]})
out["batch_refused"] = sorted(e["Code"] for e in r.get("Errors", []))
r = dev.delete_objects(Bucket="cond", Delete={"Objects": [
    {"Key": "m", "ETag": head["ETag"], "Size": head["ContentLength"]}]})
out["batch_deleted"] = [d["Key"] for d in r.get("Deleted", [])]

dev.create_bucket(Bucket="cond-v")
dev.put_bucket_versioning(Bucket="cond-v", VersioningConfiguration={"Status": "Enabled"})
v1 = dev.put_object(Bucket="cond-v", Key="k", Body=b"v1")
dev.put_object(Bucket="cond-v", Key="k", Body=b"v2")
out["version_refused"] = err(lambda: dev.delete_object(Bucket="cond-v", Key="k",
    VersionId=v1["VersionId"], IfMatch='"0123"'))
out["version_deleted"] = err(lambda: dev.delete_object(Bucket="cond-v", Key="k",
    VersionId=v1["VersionId"], IfMatch=v1["ETag"]))
out["current_refused"] = err(lambda: dev.delete_object(Bucket="cond-v", Key="k", IfMatch=v1["ETag"]))
out["marker"] = dev.delete_object(Bucket="cond-v", Key="k", IfMatch="*").get("DeleteMarker")
out["on_marker"] = [err(lambda: dev.delete_object(Bucket="cond-v", Key="k", IfMatch='"0123"')),
                    err(lambda: dev.delete_object(Bucket="cond-v", Key="k", IfMatch="*"))]
"#,
    );
    let failed = json!([412, "PreconditionFailed"]);
    assert_eq!(out["none_match_same"], failed);
    assert_eq!(out["none_match_other"], Value::Null);
    assert_eq!(out["complete_none_match_any"], failed);
    assert_eq!(out["complete_none_match_same"], failed);
    assert_eq!(out["complete_match_other"], failed);
    assert_eq!(out["delete_refused"], json!([failed, failed, failed]));
    assert_eq!(out["still_there"], "two");
    assert_eq!(out["delete_matching"], Value::Null);
    assert_eq!(out["gone"], json!([404, "404"]));
    assert_eq!(out["delete_missing"], Value::Null);
    assert_eq!(
        out["batch_refused"],
        json!(["PreconditionFailed", "PreconditionFailed"])
    );
    assert_eq!(out["batch_deleted"], json!(["m"]));
    assert_eq!(out["version_refused"], failed);
    assert_eq!(out["version_deleted"], Value::Null);
    assert_eq!(out["current_refused"], failed);
    assert_eq!(out["marker"], true);
    assert_eq!(out["on_marker"], json!([failed, null]));
}

/// An empty `delimiter=` is no delimiter, and the listings do not echo it
/// (s3-tests' `test_bucket_list{,v2}_delimiter_empty`); a real one is.
#[test]
fn an_empty_delimiter_is_not_echoed() {
    let test = "an_empty_delimiter_is_not_echoed";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = serve_two_users(dir.path());
    let out = run(
        &serve,
        r#"
dev.create_bucket(Bucket="delim")
for k in ["a/b", "c"]:
    dev.put_object(Bucket="delim", Key=k, Body=b"x")
for name, f in [("v1", dev.list_objects), ("v2", dev.list_objects_v2),
                ("versions", dev.list_object_versions)]:
    empty = f(Bucket="delim", Delimiter="")
    slash = f(Bucket="delim", Delimiter="/")
    out[name] = [empty.get("Delimiter"), len(empty.get("CommonPrefixes", [])),
                 slash.get("Delimiter"), len(slash.get("CommonPrefixes", []))]
"#,
    );
    for name in ["v1", "v2", "versions"] {
        assert_eq!(out[name], json!([null, 0, "/", 1]), "{name}");
    }
}

/// GetObjectAttributes names the version it read (`x-amz-version-id`) in
/// a versioned bucket, the current one or the one asked for, as GetObject
/// does; an unversioned bucket's object has none.
#[test]
fn object_attributes_name_the_version() {
    let test = "object_attributes_name_the_version";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = serve_two_users(dir.path());
    let out = run(
        &serve,
        r#"
dev.create_bucket(Bucket="attrs")
dev.put_object(Bucket="attrs", Key="plain", Body=b"x")
a = dev.get_object_attributes(Bucket="attrs", Key="plain", ObjectAttributes=["ETag"])
out["unversioned"] = a.get("VersionId")
dev.put_bucket_versioning(Bucket="attrs", VersioningConfiguration={"Status": "Enabled"})
v1 = dev.put_object(Bucket="attrs", Key="k", Body=b"one")["VersionId"]
v2 = dev.put_object(Bucket="attrs", Key="k", Body=b"two!")["VersionId"]
cur = dev.get_object_attributes(Bucket="attrs", Key="k", ObjectAttributes=["ObjectSize"])
old = dev.get_object_attributes(Bucket="attrs", Key="k", VersionId=v1, ObjectAttributes=["ObjectSize"])
out["versioned"] = [cur.get("VersionId") == v2, cur["ObjectSize"], old.get("VersionId") == v1, old["ObjectSize"]]
"#,
    );
    assert_eq!(out["unversioned"], Value::Null);
    assert_eq!(out["versioned"], json!([true, 4, true, 3]));
}

/// Grants given as `x-amz-grant-*` headers are answered in the order S3
/// documents the headers (read, write, read-acp, write-acp, full-control),
/// whatever order they came in (s3-tests' `test_bucket_header_acl_grants`).
#[test]
fn header_grants_are_answered_in_s3s_order() {
    let test = "header_grants_are_answered_in_s3s_order";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = serve_two_users(dir.path());
    let out = run(
        &serve,
        r#"
oid = "id=" + other.list_buckets()["Owner"]["ID"]
dev.create_bucket(Bucket="hdr-grants")
dev.put_bucket_acl(Bucket="hdr-grants", GrantFullControl=oid, GrantWriteACP=oid, GrantReadACP=oid,
                   GrantWrite=oid, GrantRead=oid)
out["bucket"] = grants(dev.get_bucket_acl(Bucket="hdr-grants"))
"#,
    );
    let o = |p: &str| json!(["CanonicalUser", OTHER.2, p]);
    assert_eq!(
        out["bucket"],
        json!([
            o("READ"),
            o("WRITE"),
            o("READ_ACP"),
            o("WRITE_ACP"),
            o("FULL_CONTROL")
        ])
    );
}
