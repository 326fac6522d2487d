//! What Ceph's s3-tests (`scripts/s3-tests`) found, each fixed behaviour
//! checked here on its own with unmodified boto3 or raw HTTP, so CI keeps it
//! without running the suite. The expected answers are the ones s3-tests
//! asserts (RGW's, where S3 leaves a choice), written out here.

use crate::support;

use serde_json::{Value, json};
use support::have_python_module;
use support::serve::{DEV, OTHER, Serve};

/// boto3 clients for the development user and the other one, `err`,
/// which answers `[status, code]` for an S3 error and `None` for success,
/// and `grants`.
const PRELUDE: &str = support::boto3_script!("clients/boto3_conformance_prelude.py");

/// Runs `PRELUDE` then `scenario` against `serve`: the JSON it prints.
fn run(serve: &Serve, scenario: &str) -> Value {
    support::serve::scenario(serve, PRELUDE, scenario)
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
    let serve = Serve::start_two_users(dir.path(), &[]);
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
    let serve = Serve::start_two_users(dir.path(), &[]);
    let out = run(
        &serve,
        include_str!("clients/boto3_conformance_post_object_forms.py"),
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
    let serve = Serve::start_two_users(dir.path(), &[]);
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
    let serve = Serve::start_two_users(dir.path(), &[]);
    let out = run(
        &serve,
        include_str!("clients/boto3_conformance_conditional_writes.py"),
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
    let serve = Serve::start_two_users(dir.path(), &[]);
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
    let serve = Serve::start_two_users(dir.path(), &[]);
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
    let serve = Serve::start_two_users(dir.path(), &[]);
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
