//! Object ownership, Block Public Access, tagging and
//! `x-amz-expected-bucket-owner`, through unmodified boto3 and the AWS CLI:
//! ownership controls and the ACL refusals they bring; Block Public Access
//! taking a public object out of `?torrent` and the tracker, and back;
//! tags and their limits; a wrong expected bucket owner refused on every
//! operation. Each expectation is a value written here from S3's documented
//! behaviour, not one our code computed.

use crate::support;

use s3torrent_metainfo::Torrent;
use serde_json::{Value, json};
use support::serve::{DEV, OTHER, Serve, aws, aws_ok, request};
use support::swarm::{announce_failure, publish_public, torrent_of, tracker_of};
use support::{have_program, have_python_module};

/// What each scenario starts with: boto3 clients for the development user,
/// the other user and an anonymous requester, and `err`, which answers
/// `[status, code]` for an S3 error and `None` for success.
const PRELUDE: &str = support::boto3_script!();

/// Runs `PRELUDE` then `scenario` against `serve`: the JSON it prints.
fn run(serve: &Serve, scenario: &str) -> Value {
    support::serve::scenario(serve, PRELUDE, scenario)
}

const OWNERSHIP: &str = include_str!("clients/boto3_access_ownership.py");

#[test]
fn ownership_controls_disable_acls_and_hand_objects_to_the_bucket_owner() {
    let test = "ownership_controls_disable_acls_and_hand_objects_to_the_bucket_owner";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start_two_users(dir.path(), &[]);
    let out = run(&serve, OWNERSHIP);
    let get = |k: &str| out[k].clone();
    let all_users = "http://acs.amazonaws.com/groups/global/AllUsers";
    let dev_only = json!([DEV.2, [[DEV.2, "FULL_CONTROL"]]]);
    assert_eq!(
        get("plain_controls"),
        json!([404, "OwnershipControlsNotFoundError"])
    );
    assert_eq!(
        get("plain_acl"),
        json!([DEV.2, [[DEV.2, "FULL_CONTROL"], [all_users, "READ"]]])
    );
    assert_eq!(get("plain_anon"), json!("x"));
    assert_eq!(
        get("enforced_public_create"),
        json!([400, "InvalidBucketAclWithObjectOwnership"])
    );
    assert_eq!(
        get("enf_controls"),
        json!([{"ObjectOwnership": "BucketOwnerEnforced"}])
    );
    assert_eq!(get("enf_owners"), json!([dev_only, dev_only]));
    let refused = json!([400, "AccessControlListNotSupported"]);
    assert_eq!(get("enf_refused"), Value::Array(vec![refused; 6]));
    assert_eq!(get("enf_upload_owner"), json!(DEV.2));
    assert_eq!(get("enf_copy_owner"), json!(DEV.2));
    assert_eq!(get("grants_before"), json!("p"));
    assert_eq!(
        get("grants_enforced"),
        json!([[403, "AccessDenied"], dev_only])
    );
    assert_eq!(
        get("grants_deleted"),
        json!([[404, "OwnershipControlsNotFoundError"], "p"])
    );
    assert_eq!(
        get("pref_controls"),
        json!([{"ObjectOwnership": "BucketOwnerPreferred"}])
    );
    assert_eq!(get("pref_owners"), json!([DEV.2, OTHER.2]));
    assert_eq!(
        get("pref_enforce_public"),
        json!([400, "InvalidBucketAclWithObjectOwnership"])
    );
    assert_eq!(get("pref_enforced_owner"), dev_only);
    assert_eq!(get("pref_listed_owners"), json!([DEV.2]));
    assert_eq!(get("bad_rule"), json!([400, "MalformedXML"]));
    assert_eq!(get("others_controls"), json!([403, "AccessDenied"]));
}

/// The AWS CLI, as the development user: `(succeeded, stdout, stderr)`.
fn cli(serve: &Serve, args: &[&str]) -> (bool, String, String) {
    let out = aws(serve, args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `put-public-access-block` on bucket `pub` with these settings on.
fn block(serve: &Serve, on: &[&str]) {
    let config: Vec<String> = [
        "BlockPublicAcls",
        "IgnorePublicAcls",
        "BlockPublicPolicy",
        "RestrictPublicBuckets",
    ]
    .iter()
    .map(|s| format!("{s}={}", on.contains(s)))
    .collect();
    aws_ok(
        serve,
        &[
            "s3api",
            "put-public-access-block",
            "--bucket",
            "pub",
            "--public-access-block-configuration",
            &config.join(","),
        ],
    );
}

/// A public-read object in peer-seeding mode: its torrent and tracker
/// answer anonymously until Block Public Access ignores public ACLs, and
/// again once the configuration is deleted. The other settings through the
/// AWS CLI: BlockPublicPolicy refuses a public policy (not one naming an
/// account), BlockPublicAcls a public ACL, RestrictPublicBuckets takes a
/// public policy's object out of the swarm (and GetBucketPolicyStatus
/// says it is not public any more).
#[test]
fn block_public_access_takes_objects_out_of_the_swarm_and_back() {
    let test = "block_public_access_takes_objects_out_of_the_swarm_and_back";
    if !have_program(test, "aws") || !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        &dir.path().join("root"),
        &[
            "--seeding",
            "peer",
            "--tracker-listen",
            "127.0.0.1:0",
            "--peer-listen",
            "127.0.0.1:0",
        ],
    );
    let key = "iso/disk.img";
    publish_public(&serve, dir.path(), key, &support::random_bytes(300_000, 5));
    let torrent = Torrent::from_bytes(torrent_of(&serve, key)).unwrap();
    let tracker = tracker_of(&torrent);
    let hash = *torrent.info_hash().as_bytes();
    let path = format!("/pub/{key}?torrent");
    let anonymous = |path: &str| request(&serve.addr, "GET", path, &[]);
    assert_eq!(
        announce_failure(&tracker, &hash, "-XX0001-aaaaaaaaaaaa", 41001),
        None
    );
    let (ok, _, stderr) = cli(
        &serve,
        &["s3api", "get-public-access-block", "--bucket", "pub"],
    );
    assert!(
        !ok && stderr.contains("NoSuchPublicAccessBlockConfiguration"),
        "{stderr}"
    );

    // IgnorePublicAcls: the public-read grant grants nothing.
    block(&serve, &["IgnorePublicAcls"]);
    let got: Value = serde_json::from_str(&aws_ok(
        &serve,
        &["s3api", "get-public-access-block", "--bucket", "pub"],
    ))
    .unwrap();
    assert_eq!(
        got["PublicAccessBlockConfiguration"],
        json!({"BlockPublicAcls": false, "IgnorePublicAcls": true,
               "BlockPublicPolicy": false, "RestrictPublicBuckets": false})
    );
    assert_eq!(anonymous(&path).code(), "AccessDenied");
    assert_eq!(anonymous(&format!("/pub/{key}")).status, 403);
    let reason = announce_failure(&tracker, &hash, "-XX0001-bbbbbbbbbbbb", 41002)
        .expect("the tracker refuses the info-hash");
    assert!(reason.contains("AccessDenied"), "{reason}");

    // Deleted: public again, the same torrent, announced again.
    aws_ok(
        &serve,
        &["s3api", "delete-public-access-block", "--bucket", "pub"],
    );
    let again = anonymous(&path);
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(
        Torrent::from_bytes(again.body).unwrap().info_hash(),
        torrent.info_hash()
    );
    assert_eq!(
        announce_failure(&tracker, &hash, "-XX0001-cccccccccccc", 41003),
        None
    );

    // BlockPublicAcls and BlockPublicPolicy refuse public ACLs and public
    // policies, and nothing else.
    block(&serve, &["BlockPublicAcls", "BlockPublicPolicy"]);
    let file = support::write(dir.path(), "small.txt", b"small");
    let file = file.to_str().unwrap();
    let public_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}]}"#;
    let named_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"222233334444"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}]}"#;
    for args in [
        &[
            "s3api",
            "put-bucket-policy",
            "--bucket",
            "pub",
            "--policy",
            public_policy,
        ][..],
        &[
            "s3api",
            "put-bucket-acl",
            "--bucket",
            "pub",
            "--acl",
            "public-read",
        ],
        &[
            "s3api",
            "put-object-acl",
            "--bucket",
            "pub",
            "--key",
            key,
            "--acl",
            "authenticated-read",
        ],
        &[
            "s3api",
            "put-object",
            "--bucket",
            "pub",
            "--key",
            "s",
            "--body",
            file,
            "--acl",
            "public-read",
        ],
    ] {
        let (ok, _, stderr) = cli(&serve, args);
        assert!(!ok && stderr.contains("AccessDenied"), "{args:?}: {stderr}");
    }
    aws_ok(
        &serve,
        &[
            "s3api",
            "put-bucket-policy",
            "--bucket",
            "pub",
            "--policy",
            named_policy,
        ],
    );
    aws_ok(
        &serve,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "pub",
            "--key",
            "s",
            "--body",
            file,
            "--acl",
            "private",
        ],
    );
    // The public-read ACL set before stays in force.
    assert_eq!(anonymous(&path).status, 200);

    // RestrictPublicBuckets: an object public through the policy alone
    // leaves the swarm; its owner still reads it.
    aws_ok(
        &serve,
        &["s3api", "delete-public-access-block", "--bucket", "pub"],
    );
    aws_ok(
        &serve,
        &[
            "s3api",
            "put-bucket-policy",
            "--bucket",
            "pub",
            "--policy",
            public_policy,
        ],
    );
    aws_ok(
        &serve,
        &[
            "s3api",
            "put-object-acl",
            "--bucket",
            "pub",
            "--key",
            key,
            "--acl",
            "private",
        ],
    );
    let status = |serve: &Serve| -> Value {
        let out = aws_ok(
            serve,
            &["s3api", "get-bucket-policy-status", "--bucket", "pub"],
        );
        serde_json::from_str::<Value>(&out).unwrap()["PolicyStatus"]["IsPublic"].clone()
    };
    assert_eq!(anonymous(&path).status, 200);
    assert_eq!(status(&serve), json!(true));
    block(&serve, &["RestrictPublicBuckets"]);
    assert_eq!(anonymous(&path).code(), "AccessDenied");
    let reason = announce_failure(&tracker, &hash, "-XX0001-dddddddddddd", 41004)
        .expect("the tracker refuses the info-hash");
    assert!(reason.contains("AccessDenied"), "{reason}");
    assert_eq!(status(&serve), json!(false));
    let saved = dir.path().join("owner-copy");
    aws_ok(
        &serve,
        &[
            "s3api",
            "get-object",
            "--bucket",
            "pub",
            "--key",
            key,
            saved.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::metadata(&saved).unwrap().len(), 300_000);

    // Ownership controls round trip through the CLI too.
    aws_ok(
        &serve,
        &[
            "s3api",
            "put-bucket-ownership-controls",
            "--bucket",
            "pub",
            "--ownership-controls",
            "Rules=[{ObjectOwnership=BucketOwnerPreferred}]",
        ],
    );
    let got: Value = serde_json::from_str(&aws_ok(
        &serve,
        &["s3api", "get-bucket-ownership-controls", "--bucket", "pub"],
    ))
    .unwrap();
    assert_eq!(
        got["OwnershipControls"]["Rules"],
        json!([{"ObjectOwnership": "BucketOwnerPreferred"}])
    );
}

const TAGGING: &str = include_str!("clients/boto3_access_tagging.py");

#[test]
fn tags_round_trip_within_s3s_limits() {
    let test = "tags_round_trip_within_s3s_limits";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start_two_users(dir.path(), &[]);
    let out = run(&serve, TAGGING);
    let get = |k: &str| out[k].clone();
    assert_eq!(
        get("header"),
        json!([["bar", ""], ["foo", "bar"], ["with space", "a b"]])
    );
    assert_eq!(get("count"), json!(["3", "3"]));
    assert_eq!(get("bad_header"), json!([400, "InvalidTag"]));
    let invalid = json!([400, "InvalidTag"]);
    assert_eq!(
        get("limits"),
        json!([
            null,
            invalid,
            invalid,
            invalid,
            invalid,
            [400, "MaxMessageLengthExceeded"],
            null,
            null
        ])
    );
    // The last accepted set: 128 and 256 characters of two bytes each.
    assert_eq!(get("after_limits"), json!([[128, 256, "é"]]));
    assert_eq!(get("deleted"), json!([204, [], [null, null]]));
    assert_eq!(
        get("versions"),
        json!([[["a", "1"]], [404, "NoSuchVersion"]])
    );
    assert_eq!(get("multipart"), json!([["a", "1"], ["b", "2"]]));
    assert_eq!(
        get("copies"),
        json!([[["a", "1"], ["b", "2"]], [["z", "9"]], []])
    );
    assert_eq!(get("other"), json!([[403, "AccessDenied"], [null, null]]));
    assert_eq!(
        get("other_granted"),
        json!([[["a", "1"], ["b", "2"]], ["2", "2"], [403, "AccessDenied"]])
    );
    assert_eq!(
        get("missing"),
        json!([[404, "NoSuchKey"], [403, "AccessDenied"]])
    );
    assert_eq!(get("bucket_none"), json!([404, "NoSuchTagSet"]));
    assert_eq!(get("bucket_limits"), json!([invalid, null]));
    assert_eq!(
        get("bucket_tags"),
        json!([50, [{"Key": "t0", "Value": "0"}, {"Key": "t1", "Value": "1"}]])
    );
    assert_eq!(get("bucket_other"), json!([403, "AccessDenied"]));
    assert_eq!(get("bucket_deleted"), json!([204, [404, "NoSuchTagSet"]]));
}

const EXPECTED_OWNER: &str = include_str!("clients/boto3_access_expected_owner.py");

#[test]
fn a_wrong_expected_bucket_owner_is_refused_on_every_operation() {
    let test = "a_wrong_expected_bucket_owner_is_refused_on_every_operation";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start_two_users(dir.path(), &[]);
    let out = run(&serve, EXPECTED_OWNER);
    // A HEAD's error has no body: boto3 names its status as the code.
    let head = json!([[403, "403"], [400, "400"], null]);
    let refused = |right: Value| {
        json!([
            [403, "AccessDenied"],
            [400, "InvalidBucketOwnerAWSAccountID"],
            right
        ])
    };
    for (op, expect) in [
        ("ListObjects", refused(Value::Null)),
        ("ListObjectsV2", refused(Value::Null)),
        ("PutObject", refused(Value::Null)),
        ("GetObject", refused(Value::Null)),
        ("HeadObject", head.clone()),
        ("HeadBucket", head),
        ("GetBucketAcl", refused(Value::Null)),
        ("GetObjectAcl", refused(Value::Null)),
        ("PutObjectTagging", refused(Value::Null)),
        ("GetBucketTagging", refused(json!([404, "NoSuchTagSet"]))),
        (
            "GetPublicAccessBlock",
            refused(json!([404, "NoSuchPublicAccessBlockConfiguration"])),
        ),
        (
            "GetBucketOwnershipControls",
            refused(json!([404, "OwnershipControlsNotFoundError"])),
        ),
        (
            "GetBucketPolicyStatus",
            refused(json!([404, "NoSuchBucketPolicy"])),
        ),
        ("CopyObject", refused(Value::Null)),
        ("CopyObjectSource", refused(Value::Null)),
        ("DeleteObjects", refused(Value::Null)),
        ("DeleteObject", refused(Value::Null)),
        ("DeleteBucket", refused(Value::Null)),
    ] {
        assert_eq!(out[op], expect, "{op}");
    }
}
