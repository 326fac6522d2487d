//! Object ownership, Block Public Access, tagging and
//! `x-amz-expected-bucket-owner`, through unmodified boto3 and the AWS CLI:
//! ownership controls and the ACL refusals they bring; Block Public Access
//! taking a public object out of `?torrent` and the tracker, and back;
//! tags and their limits; a wrong expected bucket owner refused on every
//! operation. Each expectation is a value written here from S3's documented
//! behaviour, not one our code computed.

mod support;

use s3torrent_metainfo::Torrent;
use serde_json::{Value, json};
use support::serve::{DEV, OTHER, Serve, aws, aws_ok, request};
use support::swarm::{announce_failure, publish_public, torrent_of, tracker_of};
use support::{have_program, have_python_module, python};

/// What each scenario starts with: boto3 clients for the development user,
/// the other user and an anonymous requester, and `err`, which answers
/// `[status, code]` for an S3 error and `None` for success.
const PRELUDE: &str = r#"
import json, sys, warnings
warnings.simplefilter("ignore")
import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
ep = sys.argv[1]
def client(ak=None, sk=None):
    cfg = dict(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})
    if ak is None:
        return boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                            config=Config(signature_version=UNSIGNED, **cfg))
    return boto3.client("s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id=ak,
                        aws_secret_access_key=sk, config=Config(**cfg))
dev = client("s3torrent", "s3torrent-dev-secret")
other = client("other", "other-secret")
anon = client()
def err(f):
    try:
        f()
        return None
    except ClientError as e:
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]]
out = {}
"#;

/// Runs `PRELUDE` then `scenario` against `serve`: the JSON it prints.
fn run(serve: &Serve, scenario: &str) -> Value {
    let script = format!("{PRELUDE}{scenario}\nprint(json.dumps(out))\n");
    serde_json::from_str(python(&script, &[&serve.endpoint()]).trim()).unwrap()
}

/// A serve with the development user and the other one.
fn serve_two_users(root: &std::path::Path, extra: &[&str]) -> Serve {
    let dev = format!("{}:{}:{}", DEV.0, DEV.1, DEV.2);
    let other = format!("{}:{}:{}", OTHER.0, OTHER.1, OTHER.2);
    let mut args = vec!["--user", &dev, "--user", &other];
    args.extend_from_slice(extra);
    Serve::start(root, &args)
}

const OWNERSHIP: &str = r#"
def owner(c, b, k):
    r = c.get_object_acl(Bucket=b, Key=k)
    grants = sorted([g["Grantee"].get("DisplayName") or g["Grantee"].get("URI"), g["Permission"]]
                    for g in r["Grants"])
    return [r["Owner"]["DisplayName"], grants]
def everyone(b):
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "*"}, "Action": "*",
        "Resource": [f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*"]}]})
rules = lambda o: {"Rules": [{"ObjectOwnership": o}]}

# Created without x-amz-object-ownership: no controls, and ACLs work.
dev.create_bucket(Bucket="plain")
out["plain_controls"] = err(lambda: dev.get_bucket_ownership_controls(Bucket="plain"))
dev.put_object(Bucket="plain", Key="k", Body=b"x", ACL="public-read")
out["plain_acl"] = owner(dev, "plain", "k")
out["plain_anon"] = anon.get_object(Bucket="plain", Key="k")["Body"].read().decode()

# BucketOwnerEnforced: ACLs disabled, every object the bucket owner's.
out["enforced_public_create"] = err(lambda: dev.create_bucket(
    Bucket="enf-pub", ACL="public-read", ObjectOwnership="BucketOwnerEnforced"))
dev.create_bucket(Bucket="enf", ObjectOwnership="BucketOwnerEnforced")
out["enf_controls"] = dev.get_bucket_ownership_controls(Bucket="enf")["OwnershipControls"]["Rules"]
dev.put_bucket_policy(Bucket="enf", Policy=everyone("enf"))
other.put_object(Bucket="enf", Key="none", Body=b"a")
other.put_object(Bucket="enf", Key="bofc", Body=b"b", ACL="bucket-owner-full-control")
out["enf_owners"] = [owner(dev, "enf", "none"), owner(other, "enf", "bofc")]
out["enf_refused"] = [
    err(lambda: other.put_object(Bucket="enf", Key="p", Body=b"c", ACL="private")),
    err(lambda: other.put_object(Bucket="enf", Key="p", Body=b"c", ACL="public-read")),
    err(lambda: other.create_multipart_upload(Bucket="enf", Key="m", ACL="private")),
    err(lambda: other.copy_object(Bucket="enf", Key="c", CopySource="enf/none", ACL="private")),
    err(lambda: dev.put_bucket_acl(Bucket="enf", ACL="private")),
    err(lambda: dev.put_object_acl(Bucket="enf", Key="none", ACL="private")),
]
u = other.create_multipart_upload(Bucket="enf", Key="m")["UploadId"]
out["enf_upload_owner"] = other.list_parts(Bucket="enf", Key="m", UploadId=u)["Owner"]["DisplayName"]
other.copy_object(Bucket="enf", Key="c", CopySource="enf/none", ACL="bucket-owner-full-control")
out["enf_copy_owner"] = owner(dev, "enf", "c")[0]

# Grants stop counting once ACLs are disabled, and count again without
# the controls.
dev.create_bucket(Bucket="grants")
dev.put_object(Bucket="grants", Key="pub", Body=b"p", ACL="public-read")
out["grants_before"] = anon.get_object(Bucket="grants", Key="pub")["Body"].read().decode()
dev.put_bucket_ownership_controls(Bucket="grants", OwnershipControls=rules("BucketOwnerEnforced"))
out["grants_enforced"] = [err(lambda: anon.get_object(Bucket="grants", Key="pub")),
                          owner(dev, "grants", "pub")]
dev.delete_bucket_ownership_controls(Bucket="grants")
out["grants_deleted"] = [err(lambda: dev.get_bucket_ownership_controls(Bucket="grants")),
                         anon.get_object(Bucket="grants", Key="pub")["Body"].read().decode()]

# BucketOwnerPreferred: bucket-owner-full-control hands the object over.
dev.create_bucket(Bucket="pref")
dev.put_bucket_ownership_controls(Bucket="pref", OwnershipControls=rules("BucketOwnerPreferred"))
out["pref_controls"] = dev.get_bucket_ownership_controls(Bucket="pref")["OwnershipControls"]["Rules"]
dev.put_bucket_policy(Bucket="pref", Policy=everyone("pref"))
other.put_object(Bucket="pref", Key="bofc", Body=b"x", ACL="bucket-owner-full-control")
other.put_object(Bucket="pref", Key="mine", Body=b"x", ACL="private")
out["pref_owners"] = [owner(dev, "pref", "bofc")[0], owner(other, "pref", "mine")[0]]
# A bucket ACL that grants others bars BucketOwnerEnforced; once private,
# the setting takes, and the other account's object is the owner's.
dev.put_bucket_acl(Bucket="pref", ACL="public-read")
enforce = lambda: dev.put_bucket_ownership_controls(Bucket="pref", OwnershipControls=rules("BucketOwnerEnforced"))
out["pref_enforce_public"] = err(enforce)
dev.put_bucket_acl(Bucket="pref", ACL="private")
enforce()
out["pref_enforced_owner"] = owner(dev, "pref", "mine")
out["pref_listed_owners"] = sorted({o["Owner"]["DisplayName"]
    for o in dev.list_objects_v2(Bucket="pref", FetchOwner=True)["Contents"]})
out["bad_rule"] = err(lambda: dev.put_bucket_ownership_controls(Bucket="pref", OwnershipControls=rules("Nobody")))
out["others_controls"] = err(lambda: other.get_bucket_ownership_controls(Bucket="plain"))
"#;

#[test]
fn ownership_controls_disable_acls_and_hand_objects_to_the_bucket_owner() {
    let test = "ownership_controls_disable_acls_and_hand_objects_to_the_bucket_owner";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = serve_two_users(dir.path(), &[]);
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

const TAGGING: &str = r#"
def tags(b, k, c=dev, **kw):
    return [[t["Key"], t["Value"]] for t in c.get_object_tagging(Bucket=b, Key=k, **kw)["TagSet"]]
def count(b, k, c=dev):
    head = c.head_object(Bucket=b, Key=k)["ResponseMetadata"]["HTTPHeaders"]
    get = c.get_object(Bucket=b, Key=k)["ResponseMetadata"]["HTTPHeaders"]
    return [head.get("x-amz-tagging-count"), get.get("x-amz-tagging-count")]
def tagset(pairs):
    return {"TagSet": [{"Key": k, "Value": v} for k, v in pairs]}
dev.create_bucket(Bucket="tags")

# x-amz-tagging on PutObject, read back by key, counted on HEAD and GET.
dev.put_object(Bucket="tags", Key="k", Body=b"x", Tagging="foo=bar&bar&with%20space=a+b")
out["header"] = tags("tags", "k")
out["count"] = count("tags", "k")
out["bad_header"] = err(lambda: dev.put_object(Bucket="tags", Key="h", Body=b"x", Tagging="a=1&a=2"))

put = lambda ts: err(lambda: dev.put_object_tagging(Bucket="tags", Key="k", Tagging=tagset(ts)))
out["limits"] = [
    put([(f"k{i}", "v") for i in range(10)]),
    put([(f"k{i}", "v") for i in range(11)]),
    put([("k" * 129, "v")]),
    put([("k", "v" * 257)]),
    put([("a", "1"), ("a", "2")]),
    put([(f"k{i}", "v" * 300) for i in range(1000)]),
    put([("k" * 128, "v" * 256)]),
    put([("\u00e9" * 128, "\u00e9" * 256)]),
]
out["after_limits"] = [[len(k), len(v), k[0]] for k, v in tags("tags", "k")]
r = dev.delete_object_tagging(Bucket="tags", Key="k")
out["deleted"] = [r["ResponseMetadata"]["HTTPStatusCode"], tags("tags", "k"), count("tags", "k")]
dev.put_object_tagging(Bucket="tags", Key="k", Tagging=tagset([("a", "1")]))
out["versions"] = [tags("tags", "k", VersionId="null"),
                   err(lambda: tags("tags", "k", VersionId="3HL4kqtJlcpXroDTDmJ"))]

# Multipart uploads and copies.
u = dev.create_multipart_upload(Bucket="tags", Key="mp", Tagging="a=1&b=2")["UploadId"]
e = dev.upload_part(Bucket="tags", Key="mp", UploadId=u, PartNumber=1, Body=b"part")["ETag"]
dev.complete_multipart_upload(Bucket="tags", Key="mp", UploadId=u,
                              MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
out["multipart"] = tags("tags", "mp")
dev.copy_object(Bucket="tags", Key="c1", CopySource="tags/mp")
dev.copy_object(Bucket="tags", Key="c2", CopySource="tags/mp", TaggingDirective="REPLACE", Tagging="z=9")
dev.copy_object(Bucket="tags", Key="c3", CopySource="tags/mp", TaggingDirective="REPLACE")
out["copies"] = [tags("tags", "c1"), tags("tags", "c2"), tags("tags", "c3")]

# Another account reads a public object but not its tags, until a policy
# grants s3:GetObjectTagging.
dev.put_object_acl(Bucket="tags", Key="mp", ACL="public-read")
out["other"] = [err(lambda: other.get_object_tagging(Bucket="tags", Key="mp")),
                count("tags", "mp", other)]
dev.put_bucket_policy(Bucket="tags", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "222233334444"}, "Action": "s3:GetObjectTagging",
     "Resource": "arn:aws:s3:::tags/*"}]}))
out["other_granted"] = [tags("tags", "mp", other), count("tags", "mp", other),
                        err(lambda: other.put_object_tagging(Bucket="tags", Key="mp", Tagging=tagset([("x", "y")])))]
out["missing"] = [err(lambda: dev.get_object_tagging(Bucket="tags", Key="nope")),
                  err(lambda: anon.get_object_tagging(Bucket="tags", Key="nope"))]

# Bucket tags: 50 at most, NoSuchTagSet without.
bput = lambda n: err(lambda: dev.put_bucket_tagging(Bucket="tags", Tagging=tagset([(f"t{i}", str(i)) for i in range(n)])))
out["bucket_none"] = err(lambda: dev.get_bucket_tagging(Bucket="tags"))
out["bucket_limits"] = [bput(51), bput(50)]
out["bucket_tags"] = [len(dev.get_bucket_tagging(Bucket="tags")["TagSet"]),
                      dev.get_bucket_tagging(Bucket="tags")["TagSet"][:2]]
out["bucket_other"] = err(lambda: other.get_bucket_tagging(Bucket="tags"))
r = dev.delete_bucket_tagging(Bucket="tags")
out["bucket_deleted"] = [r["ResponseMetadata"]["HTTPStatusCode"],
                         err(lambda: dev.get_bucket_tagging(Bucket="tags"))]
"#;

#[test]
fn tags_round_trip_within_s3s_limits() {
    let test = "tags_round_trip_within_s3s_limits";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = serve_two_users(dir.path(), &[]);
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

const EXPECTED_OWNER: &str = r#"
dev.create_bucket(Bucket="eob", ACL="public-read-write")
dev.create_bucket(Bucket="eob-gone")
dev.put_object(Bucket="eob", Key="k", Body=b"v", ACL="public-read")
ops = [
    # The issue's case: anonymous, in a public-read-write bucket.
    ("ListObjects", lambda o: anon.list_objects(Bucket="eob", ExpectedBucketOwner=o)),
    ("ListObjectsV2", lambda o: anon.list_objects_v2(Bucket="eob", ExpectedBucketOwner=o)),
    ("PutObject", lambda o: anon.put_object(Bucket="eob", Key="w", Body=b"w", ExpectedBucketOwner=o)),
    ("GetObject", lambda o: anon.get_object(Bucket="eob", Key="k", ExpectedBucketOwner=o)),
    ("HeadObject", lambda o: anon.head_object(Bucket="eob", Key="k", ExpectedBucketOwner=o)),
    ("HeadBucket", lambda o: dev.head_bucket(Bucket="eob", ExpectedBucketOwner=o)),
    ("GetBucketAcl", lambda o: dev.get_bucket_acl(Bucket="eob", ExpectedBucketOwner=o)),
    ("GetObjectAcl", lambda o: dev.get_object_acl(Bucket="eob", Key="k", ExpectedBucketOwner=o)),
    ("PutObjectTagging", lambda o: dev.put_object_tagging(Bucket="eob", Key="k",
        Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}, ExpectedBucketOwner=o)),
    ("GetBucketTagging", lambda o: dev.get_bucket_tagging(Bucket="eob", ExpectedBucketOwner=o)),
    ("GetPublicAccessBlock", lambda o: dev.get_public_access_block(Bucket="eob", ExpectedBucketOwner=o)),
    ("GetBucketOwnershipControls", lambda o: dev.get_bucket_ownership_controls(Bucket="eob", ExpectedBucketOwner=o)),
    ("GetBucketPolicyStatus", lambda o: dev.get_bucket_policy_status(Bucket="eob", ExpectedBucketOwner=o)),
    ("CopyObject", lambda o: dev.copy_object(Bucket="eob", Key="c", CopySource="eob/k", ExpectedBucketOwner=o)),
    ("CopyObjectSource", lambda o: dev.copy_object(Bucket="eob", Key="c", CopySource="eob/k",
        ExpectedSourceBucketOwner=o)),
    ("DeleteObjects", lambda o: dev.delete_objects(Bucket="eob", Delete={"Objects": [{"Key": "w"}]},
        ExpectedBucketOwner=o)),
    ("DeleteObject", lambda o: dev.delete_object(Bucket="eob", Key="c", ExpectedBucketOwner=o)),
    ("DeleteBucket", lambda o: dev.delete_bucket(Bucket="eob-gone", ExpectedBucketOwner=o)),
]
for name, op in ops:
    out[name] = [err(lambda: op("999999999999")), err(lambda: op("not-an-account")), err(lambda: op("000000000001"))]
"#;

#[test]
fn a_wrong_expected_bucket_owner_is_refused_on_every_operation() {
    let test = "a_wrong_expected_bucket_owner_is_refused_on_every_operation";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = serve_two_users(dir.path(), &[]);
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
