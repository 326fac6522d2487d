//! Versioning end to end, through unmodified boto3, the AWS CLI and python
//! libtorrent: Put/GetBucketVersioning, versioned PUT, GET and HEAD by
//! `versionId`, delete markers (a table of what each request then
//! answers), a suspended bucket's null version (a table, step by step),
//! CopyObject from a version, a multipart upload's version, versioned
//! ACLs, DeleteObjects of versions, ListObjectVersions pages with
//! prefixes and delimiters, `?torrent&versionId=`; and the swarm keeping a
//! version's info-hash while that version exists: an overwrite of a
//! versioned public object while libtorrent downloads it from the
//! endpoint's peer, which finishes with the old bytes while a new client
//! gets the new torrent and the new bytes.
//!
//! Every expectation is a fixed value written here from S3's documented
//! behaviour (and Ceph's s3-tests, which check it against AWS), not one
//! our code computed. Loopback only; every wait is bounded.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use s3torrent_metainfo::Torrent;
use serde_json::{Value, json};
use support::serve::{DEV, OTHER, Serve, aws_ok, request};
use support::swarm::{
    Encryption, announce_failure, downloaded, libtorrent_download, tracker_of, wait_for_bytes,
};
use support::{have_program, have_python_module, python, random_bytes, write};

/// One boto3 session over the whole scenario; prints what each step
/// answered, as JSON (`python3 -c SCENARIO ENDPOINT`). Version IDs are
/// named by the step that made them (`v1`, `m1`, ...), `null` as itself.
const SCENARIO: &str = r#"
import hashlib, json, sys, urllib.request, urllib.error, warnings
warnings.simplefilter("ignore")
import boto3
import libtorrent as lt
from botocore.config import Config
from botocore.exceptions import ClientError
ep = sys.argv[1]
def client(ak, sk):
    return boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk,
                        region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
dev = client("s3torrent", "s3torrent-dev-secret")
other = client("other", "other-secret")
names = {"null": "null"}
def name(v):
    return names.get(v, "unnamed" if v else None)
def label(v, n):
    names[v] = n
    return v
def err(f):
    try:
        return f()
    except ClientError as e:
        h = e.response["ResponseMetadata"]["HTTPHeaders"]
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"],
                h.get("x-amz-delete-marker"), name(h.get("x-amz-version-id"))]
def get(bucket, key, **kw):
    return err(lambda: dev.get_object(Bucket=bucket, Key=key, **kw)["Body"].read().decode())
def head(bucket, key, **kw):
    return err(lambda: [dev.head_object(Bucket=bucket, Key=key, **kw)["ContentLength"]])
def put(bucket, key, body, n=None, **kw):
    r = dev.put_object(Bucket=bucket, Key=key, Body=body, **kw)
    if n:
        label(r["VersionId"], n)
    return "VersionId" in r
def versions(bucket, **kw):
    r = dev.list_object_versions(Bucket=bucket, **kw)
    return ([[v["Key"], name(v["VersionId"]), v["IsLatest"],
              get(bucket, v["Key"], VersionId=v["VersionId"])] for v in r.get("Versions", [])],
            [[m["Key"], name(m["VersionId"]), m["IsLatest"]] for m in r.get("DeleteMarkers", [])])
def anonymous(path):
    try:
        with urllib.request.urlopen(ep + path, timeout=60) as r:
            return [r.status, r.read()]
    except urllib.error.HTTPError as e:
        return [e.code, e.read()]
def describes(torrent, data):
    # The torrent's pieces, as libtorrent reads them, are the SHA-1s of data.
    ti = lt.torrent_info(lt.bdecode(torrent))
    size = ti.piece_length()
    return (ti.total_size() == len(data) and ti.num_pieces() == (len(data) + size - 1) // size
            and all(bytes(ti.hash_for_piece(i)) == hashlib.sha1(data[i * size:(i + 1) * size]).digest()
                    for i in range(ti.num_pieces())))
def status(bucket):
    return dev.get_bucket_versioning(Bucket=bucket).get("Status")
out = {}

# Versioning on a bucket with an object from before: that object is the
# null version; each write is a new version, with its ID in the answer.
dev.create_bucket(Bucket="ver")
out["never"] = status("ver")
out["unversioned_put"] = put("ver", "k", b"p0")
dev.put_bucket_versioning(Bucket="ver", VersioningConfiguration={"Status": "Enabled"})
out["enabled"] = status("ver")
out["put_versions"] = [put("ver", "k", b"one", "v1"), put("ver", "k", b"two", "v2")]
vid = {n: v for v, n in names.items()}
out["reads"] = [get("ver", "k"), name(dev.get_object(Bucket="ver", Key="k")["VersionId"]),
                get("ver", "k", VersionId=vid["v1"]), get("ver", "k", VersionId="null"),
                name(dev.get_object(Bucket="ver", Key="k", VersionId="null")["VersionId"]),
                head("ver", "k", VersionId=vid["v1"]),
                get("ver", "k", VersionId="0123456789abcdef0123456789abcdef")]
out["listed"] = [o["Key"] for o in dev.list_objects_v2(Bucket="ver").get("Contents", [])]
out["versions"] = versions("ver")

# A delete marker, and what each request answers while it is the newest.
d = dev.delete_object(Bucket="ver", Key="k")
label(d["VersionId"], "m1")
out["marker_made"] = [d.get("DeleteMarker"), name(d["VersionId"])]
vid = {n: v for v, n in names.items()}
out["marker_table"] = [
    ["GET", get("ver", "k")],
    ["HEAD", head("ver", "k")],
    ["GET marker", get("ver", "k", VersionId=vid["m1"])],
    ["HEAD marker", head("ver", "k", VersionId=vid["m1"])],
    ["GET v1", get("ver", "k", VersionId=vid["v1"])],
    ["GetObjectAcl marker", err(lambda: dev.get_object_acl(Bucket="ver", Key="k", VersionId=vid["m1"]) and "acl")],
    ["ListObjectsV2", [o["Key"] for o in dev.list_objects_v2(Bucket="ver").get("Contents", [])]],
    ["anonymous ?torrent", anonymous("/ver/k?torrent")[0]],
]
out["versions_with_marker"] = versions("ver")
d = dev.delete_object(Bucket="ver", Key="k", VersionId=vid["m1"])
out["marker_deleted"] = [d.get("DeleteMarker"), name(d.get("VersionId")), get("ver", "k")]

# CopyObject from a version (to another key, and onto its own key, which
# restores it), with the source version in the answer.
r = dev.copy_object(Bucket="ver", Key="c", CopySource={"Bucket": "ver", "Key": "k", "VersionId": vid["v1"]})
label(r["VersionId"], "c1")
out["copy"] = [name(r.get("CopySourceVersionId")), get("ver", "c")]
r = dev.copy_object(Bucket="ver", Key="k", CopySource={"Bucket": "ver", "Key": "k", "VersionId": "null"})
label(r["VersionId"], "v3")
out["restore"] = [get("ver", "k"), [v[1] for v in versions("ver", Prefix="k")[0]]]

# A completed multipart upload is a new version.
u = dev.create_multipart_upload(Bucket="ver", Key="k")["UploadId"]
e = dev.upload_part(Bucket="ver", Key="k", UploadId=u, PartNumber=1, Body=b"multi")["ETag"]
r = dev.complete_multipart_upload(Bucket="ver", Key="k", UploadId=u,
                                  MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
label(r["VersionId"], "mp")
out["multipart"] = [get("ver", "k"), [v[1] for v in versions("ver", Prefix="k")[0]]]
vid = {n: v for v, n in names.items()}

# Each version has its own ACL: v1 made public is readable anonymously
# (and its torrent too), the current version is not.
dev.put_object_acl(Bucket="ver", Key="k", VersionId=vid["v1"], ACL="public-read")
grants = lambda **kw: sorted(g["Grantee"].get("URI", "owner") + " " + g["Permission"]
                             for g in dev.get_object_acl(Bucket="ver", Key="k", **kw)["Grants"])
out["acls"] = [grants(VersionId=vid["v1"]), grants(), grants(VersionId=vid["v2"])]
a = anonymous("/ver/k?versionId=" + vid["v1"])
out["anonymous"] = [[a[0], a[1].decode()], anonymous("/ver/k")[0],
                    anonymous("/ver/k?versionId=" + vid["v2"])[0]]
t = anonymous("/ver/k?torrent&versionId=" + vid["v1"])
out["version_torrent"] = [t[0], t[0] == 200 and describes(t[1], b"one"),
                          anonymous("/ver/k?torrent")[0],
                          anonymous("/ver/k?torrent&versionId=0123456789abcdef0123456789abcdef")[0]]
out["other_reads_v1"] = err(lambda: other.get_object(Bucket="ver", Key="k", VersionId=vid["v1"])["Body"].read().decode())

# DeleteObjects: a version for good, a delete marker, a version that is
# not there (deleted all the same, as S3 answers).
r = dev.delete_objects(Bucket="ver", Delete={"Objects": [
    {"Key": "k", "VersionId": vid["v2"]}, {"Key": "c"},
    {"Key": "k", "VersionId": "0123456789abcdef0123456789abcdef"}]})
for d in r.get("Deleted", []):
    if d.get("DeleteMarkerVersionId") and d["DeleteMarkerVersionId"] not in names:
        label(d["DeleteMarkerVersionId"], "cm")
out["delete_objects"] = sorted([d["Key"], name(d.get("VersionId")), d.get("DeleteMarker"),
                                name(d.get("DeleteMarkerVersionId"))] for d in r.get("Deleted", []))
out["delete_objects_errors"] = r.get("Errors", [])
out["after_delete_objects"] = [[v[1] for v in versions("ver", Prefix="k")[0]], versions("ver", Prefix="c")[1], get("ver", "c")]
out["not_empty"] = err(lambda: dev.delete_bucket(Bucket="ver"))

# The torrent of each version: different versions, different torrents;
# each describes its own bytes.
one, two = bytes(range(256)) * 1200, bytes(reversed(range(256))) * 1300
put("ver", "t", one, "t1", ACL="public-read")
put("ver", "t", two, "t2", ACL="public-read")
vid = {n: v for v, n in names.items()}
t1 = anonymous("/ver/t?torrent&versionId=" + vid["t1"])[1]
t2 = anonymous("/ver/t?torrent&versionId=" + vid["t2"])[1]
cur = anonymous("/ver/t?torrent")[1]
out["torrents"] = [describes(t1, one), describes(t2, two), describes(cur, two), t1 != t2, cur == t2]

# To a bucket policy, a version named by its ID is s3:GetObjectVersion, the
# current one s3:GetObject, as in S3.
dev.create_bucket(Bucket="pol")
dev.put_bucket_versioning(Bucket="pol", VersioningConfiguration={"Status": "Enabled"})
put("pol", "p", b"old", "p1")
put("pol", "p", b"new", "p2")
vid = {n: v for v, n in names.items()}
policy = lambda actions: json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": "*", "Action": actions, "Resource": "arn:aws:s3:::pol/*"}]})
dev.put_bucket_policy(Bucket="pol", Policy=policy("s3:GetObject"))
out["policy_versions"] = [anonymous("/pol/p")[0], anonymous("/pol/p?versionId=" + vid["p1"])[0]]
dev.put_bucket_policy(Bucket="pol", Policy=policy(["s3:GetObject", "s3:GetObjectVersion"]))
a = anonymous("/pol/p?versionId=" + vid["p1"])
out["policy_versions"].append([a[0], a[1].decode()])
# Listing the versions is s3:ListBucketVersions, listing the keys s3:ListBucket.
lister = lambda actions: json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": "*", "Action": actions, "Resource": "arn:aws:s3:::pol"}]})
dev.put_bucket_policy(Bucket="pol", Policy=lister("s3:ListBucket"))
out["policy_lists"] = [anonymous("/pol?list-type=2")[0], anonymous("/pol?versions")[0]]
dev.put_bucket_policy(Bucket="pol", Policy=lister(["s3:ListBucket", "s3:ListBucketVersions"]))
out["policy_lists"].append(anonymous("/pol?versions")[0])

# A suspended bucket: writes make the null version, replacing the one
# there was; versions with IDs stay. A table of the bucket after each step.
dev.create_bucket(Bucket="sus")
put("sus", "x", b"n0")
dev.put_bucket_versioning(Bucket="sus", VersioningConfiguration={"Status": "Enabled"})
put("sus", "x", b"a", "a1")
dev.put_bucket_versioning(Bucket="sus", VersioningConfiguration={"Status": "Suspended"})
out["suspended"] = status("sus")
table = []
def step(what, answer):
    table.append([what, answer, get("sus", "x"), versions("sus")])
step("put s1", put("sus", "x", b"s1"))
step("put s2", put("sus", "x", b"s2"))
d = dev.delete_object(Bucket="sus", Key="x")
step("delete", [d.get("DeleteMarker"), d.get("VersionId")])
step("put s3", put("sus", "x", b"s3"))
dev.put_bucket_versioning(Bucket="sus", VersioningConfiguration={"Status": "Enabled"})
step("enable, put b", put("sus", "x", b"b", "b1"))
d = dev.delete_object(Bucket="sus", Key="x", VersionId="null")
step("delete null", [d.get("DeleteMarker"), d.get("VersionId")])
dev.put_bucket_versioning(Bucket="sus", VersioningConfiguration={"Status": "Suspended"})
d = dev.delete_object(Bucket="sus", Key="x")
step("suspend, delete", [d.get("DeleteMarker"), d.get("VersionId")])
out["suspended_table"] = table
out["bad_status"] = err(lambda: dev.put_bucket_versioning(Bucket="sus", VersioningConfiguration={"Status": "Off"}))
out["other_sets"] = err(lambda: other.put_bucket_versioning(Bucket="sus", VersioningConfiguration={"Status": "Enabled"}))

# ListObjectVersions pages: versions and markers count together, a
# common prefix takes one slot, and the markers resume where a page ended.
dev.create_bucket(Bucket="pages")
dev.put_bucket_versioning(Bucket="pages", VersioningConfiguration={"Status": "Enabled"})
for n in ["a1", "a2", "a3"]:
    put("pages", "a", n.encode(), n)
put("pages", "b", b"b1", "b1")
label(dev.delete_object(Bucket="pages", Key="b")["VersionId"], "bm")
put("pages", "d/x", b"dx", "dx")
put("pages", "d/y", b"dy", "dy")
put("pages", "e", b"e1", "e1")
def pages(**kw):
    got, marker = [], {}
    for _ in range(20):
        r = dev.list_object_versions(Bucket="pages", MaxKeys=2, **kw, **marker)
        got.append([[v["Key"] + "@" + name(v["VersionId"]) for v in r.get("Versions", [])],
                    [m["Key"] + "@" + name(m["VersionId"]) for m in r.get("DeleteMarkers", [])],
                    [p["Prefix"] for p in r.get("CommonPrefixes", [])],
                    r["IsTruncated"], r.get("NextKeyMarker"), name(r.get("NextVersionIdMarker"))])
        if not r["IsTruncated"]:
            break
        marker = {"KeyMarker": r["NextKeyMarker"]}
        if r.get("NextVersionIdMarker"):
            marker["VersionIdMarker"] = r["NextVersionIdMarker"]
    return got
out["pages"] = pages()
out["pages_delimited"] = pages(Delimiter="/")
out["prefix"] = [[v[0], v[1]] for v in versions("pages", Prefix="d/")[0]]
out["marker_without_key"] = err(lambda: dev.list_object_versions(Bucket="pages", VersionIdMarker="null"))
print(json.dumps(out))
"#;

fn ready(test: &str) -> bool {
    have_python_module(test, "boto3") && have_python_module(test, "libtorrent")
}

fn users() -> [String; 4] {
    [
        "--user".into(),
        format!("{}:{}:{}", DEV.0, DEV.1, DEV.2),
        "--user".into(),
        format!("{}:{}:{}", OTHER.0, OTHER.1, OTHER.2),
    ]
}

#[test]
fn boto3_round_trips_versions_delete_markers_and_null_versions() {
    let test = "boto3_round_trips_versions_delete_markers_and_null_versions";
    if !ready(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let flags = users();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let serve = Serve::start(dir.path(), &flags);
    let out: Value = serde_json::from_str(python(SCENARIO, &[&serve.endpoint()]).trim()).unwrap();
    let get = |k: &str| out[k].clone();

    // A bucket never versioned has no status; its writes name no version.
    assert_eq!(get("never"), Value::Null);
    assert_eq!(get("unversioned_put"), json!(false));
    assert_eq!(get("enabled"), json!("Enabled"));
    assert_eq!(get("put_versions"), json!([true, true]));
    // The newest version by default, any by its ID (the object from before
    // versioning is `null`); an ID that is not there is NoSuchVersion.
    assert_eq!(
        get("reads"),
        json!([
            "two",
            "v2",
            "one",
            "p0",
            "null",
            [3],
            [404, "NoSuchVersion", null, null]
        ])
    );
    assert_eq!(get("listed"), json!(["k"]));
    assert_eq!(
        get("versions"),
        json!([
            [
                ["k", "v2", true, "two"],
                ["k", "v1", false, "one"],
                ["k", "null", false, "p0"]
            ],
            []
        ])
    );

    // Delete markers: a GET of the key is 404 NoSuchKey and a GET of the
    // marker 405 MethodNotAllowed, both with x-amz-delete-marker (S3's
    // GetObject documentation); older versions read; the key is not listed.
    assert_eq!(get("marker_made"), json!([true, "m1"]));
    assert_eq!(
        get("marker_table"),
        json!([
            ["GET", [404, "NoSuchKey", "true", "m1"]],
            ["HEAD", [404, "404", "true", "m1"]],
            ["GET marker", [405, "MethodNotAllowed", "true", "m1"]],
            ["HEAD marker", [405, "405", "true", "m1"]],
            ["GET v1", "one"],
            ["GetObjectAcl marker", [405, "MethodNotAllowed", null, null]],
            ["ListObjectsV2", []],
            ["anonymous ?torrent", 403]
        ])
    );
    assert_eq!(
        get("versions_with_marker"),
        json!([
            [
                ["k", "v2", false, "two"],
                ["k", "v1", false, "one"],
                ["k", "null", false, "p0"]
            ],
            [["k", "m1", true]]
        ])
    );
    // Deleting the marker by its ID brings the newest version back.
    assert_eq!(get("marker_deleted"), json!([true, "m1", "two"]));

    assert_eq!(get("copy"), json!(["v1", "one"]));
    // Copying the null version onto its key makes it the newest again.
    assert_eq!(get("restore"), json!(["p0", ["v3", "v2", "v1", "null"]]));
    assert_eq!(
        get("multipart"),
        json!(["multi", ["mp", "v3", "v2", "v1", "null"]])
    );
    assert_eq!(
        get("acls"),
        json!([
            [
                "http://acs.amazonaws.com/groups/global/AllUsers READ",
                "owner FULL_CONTROL"
            ],
            ["owner FULL_CONTROL"],
            ["owner FULL_CONTROL"]
        ])
    );
    assert_eq!(get("anonymous"), json!([[200, "one"], 403, 403]));
    // The public version's torrent describes its bytes; the current one is
    // private, and a missing version is not revealed to the anonymous.
    assert_eq!(get("version_torrent"), json!([200, true, 403, 403]));
    assert_eq!(get("other_reads_v1"), json!("one"));
    assert_eq!(
        get("delete_objects"),
        json!([
            ["c", null, true, "cm"],
            ["k", "unnamed", null, null],
            ["k", "v2", null, null]
        ])
    );
    assert_eq!(get("delete_objects_errors"), json!([]));
    assert_eq!(
        get("after_delete_objects"),
        json!([
            ["mp", "v3", "v1", "null"],
            [["c", "cm", true]],
            [404, "NoSuchKey", "true", "cm"]
        ])
    );
    assert_eq!(get("not_empty"), json!([409, "BucketNotEmpty", null, null]));
    assert_eq!(get("torrents"), json!([true, true, true, true, true]));

    assert_eq!(get("policy_versions"), json!([200, 403, [200, "old"]]));
    assert_eq!(get("policy_lists"), json!([200, 403, 200]));

    // Suspended: no version ID in a write's answer (s3-tests'
    // test_versioning_bucket_atomic_upload_return_version_id); the null
    // version is replaced by each write and by a delete marker.
    assert_eq!(get("suspended"), json!("Suspended"));
    assert_eq!(
        get("suspended_table"),
        json!([
            [
                "put s1",
                false,
                "s1",
                [[["x", "null", true, "s1"], ["x", "a1", false, "a"]], []]
            ],
            [
                "put s2",
                false,
                "s2",
                [[["x", "null", true, "s2"], ["x", "a1", false, "a"]], []]
            ],
            [
                "delete",
                [true, "null"],
                [404, "NoSuchKey", "true", "null"],
                [[["x", "a1", false, "a"]], [["x", "null", true]]]
            ],
            [
                "put s3",
                false,
                "s3",
                [[["x", "null", true, "s3"], ["x", "a1", false, "a"]], []]
            ],
            [
                "enable, put b",
                true,
                "b",
                [
                    [
                        ["x", "b1", true, "b"],
                        ["x", "null", false, "s3"],
                        ["x", "a1", false, "a"]
                    ],
                    []
                ]
            ],
            [
                "delete null",
                [null, "null"],
                "b",
                [[["x", "b1", true, "b"], ["x", "a1", false, "a"]], []]
            ],
            [
                "suspend, delete",
                [true, "null"],
                [404, "NoSuchKey", "true", "null"],
                [
                    [["x", "b1", false, "b"], ["x", "a1", false, "a"]],
                    [["x", "null", true]]
                ]
            ]
        ])
    );
    assert_eq!(get("bad_status"), json!([400, "MalformedXML", null, null]));
    assert_eq!(get("other_sets"), json!([403, "AccessDenied", null, null]));

    // Eight entries in four pages of two, each page resuming after the
    // last version it listed; with a delimiter, d/ is one entry.
    assert_eq!(
        get("pages"),
        json!([
            [["a@a3", "a@a2"], [], [], true, "a", "a2"],
            [["a@a1"], ["b@bm"], [], true, "b", "bm"],
            [["b@b1", "d/x@dx"], [], [], true, "d/x", "dx"],
            [["d/y@dy", "e@e1"], [], [], false, null, null]
        ])
    );
    assert_eq!(
        get("pages_delimited"),
        json!([
            [["a@a3", "a@a2"], [], [], true, "a", "a2"],
            [["a@a1"], ["b@bm"], [], true, "b", "bm"],
            [["b@b1"], [], ["d/"], true, "d/", null],
            [["e@e1"], [], [], false, null, null]
        ])
    );
    assert_eq!(get("prefix"), json!([["d/x", "dx"], ["d/y", "dy"]]));
    assert_eq!(
        get("marker_without_key"),
        json!([400, "InvalidArgument", null, null])
    );
}

/// The AWS CLI's versioning commands, and `aws s3` seeing only the
/// current versions.
#[test]
fn aws_cli_sets_versioning_reads_versions_and_deletes_markers() {
    let test = "aws_cli_sets_versioning_reads_versions_and_deletes_markers";
    if !have_program(test, "aws") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("root"), &[]);
    let first = write(dir.path(), "first.txt", b"first version");
    let second = write(dir.path(), "second.txt", b"second version");
    aws_ok(&serve, &["s3", "mb", "s3://cli-ver"]);
    assert_eq!(
        aws_ok(
            &serve,
            &["s3api", "get-bucket-versioning", "--bucket", "cli-ver"]
        )
        .trim(),
        ""
    );
    aws_ok(
        &serve,
        &[
            "s3api",
            "put-bucket-versioning",
            "--bucket",
            "cli-ver",
            "--versioning-configuration",
            "Status=Enabled",
        ],
    );
    let status: Value = serde_json::from_str(&aws_ok(
        &serve,
        &["s3api", "get-bucket-versioning", "--bucket", "cli-ver"],
    ))
    .unwrap();
    assert_eq!(status, json!({"Status": "Enabled"}));
    let put = |file: &Path| -> String {
        let r: Value = serde_json::from_str(&aws_ok(
            &serve,
            &[
                "s3api",
                "put-object",
                "--bucket",
                "cli-ver",
                "--key",
                "doc.txt",
                "--body",
                file.to_str().unwrap(),
            ],
        ))
        .unwrap();
        r["VersionId"].as_str().expect("a version ID").to_owned()
    };
    let (v1, v2) = (put(&first), put(&second));
    assert_ne!(v1, v2);
    let listed: Value = serde_json::from_str(&aws_ok(
        &serve,
        &["s3api", "list-object-versions", "--bucket", "cli-ver"],
    ))
    .unwrap();
    let ids: Vec<(&str, bool)> = listed["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["VersionId"].as_str().unwrap(),
                v["IsLatest"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(ids, [(v2.as_str(), true), (v1.as_str(), false)]);
    let old = dir.path().join("old.txt");
    aws_ok(
        &serve,
        &[
            "s3api",
            "get-object",
            "--bucket",
            "cli-ver",
            "--key",
            "doc.txt",
            "--version-id",
            &v1,
            old.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read(&old).unwrap(), b"first version");
    // `aws s3 rm` makes a delete marker: `aws s3 ls` lists nothing, the
    // versions stay.
    aws_ok(&serve, &["s3", "rm", "s3://cli-ver/doc.txt"]);
    assert_eq!(aws_ok(&serve, &["s3", "ls", "s3://cli-ver"]).trim(), "");
    let listed: Value = serde_json::from_str(&aws_ok(
        &serve,
        &["s3api", "list-object-versions", "--bucket", "cli-ver"],
    ))
    .unwrap();
    assert_eq!(listed["Versions"].as_array().unwrap().len(), 2);
    let marker = listed["DeleteMarkers"][0]["VersionId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(listed["DeleteMarkers"][0]["IsLatest"], json!(true));
    let removed: Value = serde_json::from_str(&aws_ok(
        &serve,
        &[
            "s3api",
            "delete-object",
            "--bucket",
            "cli-ver",
            "--key",
            "doc.txt",
            "--version-id",
            &marker,
        ],
    ))
    .unwrap();
    assert_eq!(removed, json!({"DeleteMarker": true, "VersionId": marker}));
    let back = dir.path().join("back.txt");
    aws_ok(
        &serve,
        &["s3", "cp", "s3://cli-ver/doc.txt", back.to_str().unwrap()],
    );
    assert_eq!(std::fs::read(&back).unwrap(), b"second version");
}

/// Drives boto3 for the swarm test: `python3 -c BOTO ENDPOINT OP ARGS…`.
const BOTO: &str = r#"
import json, sys, warnings
warnings.simplefilter("ignore")
import boto3
from botocore.config import Config
ep, op, *a = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id="s3torrent",
                  aws_secret_access_key="s3torrent-dev-secret", region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
if op == "versioned-bucket":
    s3.create_bucket(Bucket=a[0])
    s3.put_bucket_versioning(Bucket=a[0], VersioningConfiguration={"Status": "Enabled"})
    out = {}
elif op == "bucket":
    s3.create_bucket(Bucket=a[0]); out = {}
elif op == "put":
    r = s3.put_object(Bucket=a[0], Key=a[1], Body=open(a[2], "rb").read(), ACL="public-read")
    out = {"version": r.get("VersionId")}
elif op == "delete-version":
    s3.delete_object(Bucket=a[0], Key=a[1], VersionId=a[2]); out = {}
print(json.dumps(out))
"#;

fn boto(serve: &Serve, args: &[&str]) -> Value {
    let endpoint = serve.endpoint();
    let mut all = vec![endpoint.as_str()];
    all.extend_from_slice(args);
    serde_json::from_str(python(BOTO, &all).trim()).expect("boto prints JSON")
}

/// The swarm's flags: peer seeding alone, on ports of the system's
/// choosing, at 256 KiB/s so that a download of 2 MiB takes seconds.
const SLOW_PEER: &[&str] = &[
    "--seeding",
    "peer",
    "--tracker-listen",
    "127.0.0.1:0",
    "--peer-listen",
    "127.0.0.1:0",
    "--seed-rate",
    "262144",
];

/// How many of `data`'s pieces of `piece` bytes `path` holds (libtorrent
/// writes pieces in any order, into a file of the full length).
fn pieces_held(path: &Path, data: &[u8], piece: usize) -> usize {
    let got = downloaded(path);
    data.chunks(piece)
        .enumerate()
        .filter(|(i, chunk)| got.get(i * piece..i * piece + chunk.len()) == Some(*chunk))
        .count()
}

/// Saves a torrent's bytes and parses it.
fn torrent_at(dir: &Path, name: &str, bytes: Vec<u8>) -> (PathBuf, Torrent) {
    let path = write(dir, name, &bytes);
    (path, Torrent::from_bytes(bytes).expect("a torrent"))
}

/// The target scenario: a versioned public object is overwritten while
/// python libtorrent downloads it from the endpoint's peer. The download
/// finishes with the old bytes (the old version still exists and is
/// public, so its info-hash is still served), and a new client gets the
/// new version's torrent, another info-hash, and the new bytes. Then the
/// old version, deleted for good, leaves the swarm.
#[test]
fn an_overwrite_of_a_versioned_object_leaves_its_running_download_alone() {
    let test = "an_overwrite_of_a_versioned_object_leaves_its_running_download_alone";
    if !ready(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("root"), SLOW_PEER);
    const PIECE: usize = 262_144;
    let old = random_bytes(8 * PIECE + 5_000, 91);
    let new = random_bytes(8 * PIECE + 7_000, 92);
    assert_eq!(boto(&serve, &["versioned-bucket", "pub"]), json!({}));
    let old_file = write(dir.path(), "old.bin", &old);
    let v1 = boto(
        &serve,
        &["put", "pub", "big.bin", old_file.to_str().unwrap()],
    )["version"]
        .as_str()
        .expect("a version ID")
        .to_owned();
    let got = request(&serve.addr, "GET", "/pub/big.bin?torrent", &[]);
    assert_eq!(got.status, 200, "{}", got.text());
    let (old_path, old_torrent) = torrent_at(dir.path(), "old.torrent", got.body.clone());
    let pinned = request(
        &serve.addr,
        "GET",
        &format!("/pub/big.bin?torrent&versionId={v1}"),
        &[],
    );
    assert_eq!(pinned.body, got.body, "the current version's torrent");
    let old_hash = *old_torrent.info_hash().as_bytes();
    let tracker = tracker_of(&old_torrent);

    // The first client starts; once it holds a piece (and not all), the
    // object is overwritten.
    let save_old = dir.path().join("first");
    let first = {
        let (torrent, save) = (old_path.to_str().unwrap().to_owned(), save_old.clone());
        std::thread::spawn(move || {
            libtorrent_download(&torrent, &save, 120, "127.0.0.1:0", Encryption::Default)
        })
    };
    let target = save_old.join("big.bin");
    let total = old.len().div_ceil(PIECE);
    let deadline = Instant::now() + Duration::from_secs(60);
    while pieces_held(&target, &old, PIECE) == 0 {
        assert!(
            Instant::now() < deadline,
            "no piece of the old version in 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let new_file = write(dir.path(), "new.bin", &new);
    let v2 = boto(
        &serve,
        &["put", "pub", "big.bin", new_file.to_str().unwrap()],
    )["version"]
        .as_str()
        .expect("a version ID")
        .to_owned();
    assert_ne!(v1, v2);
    let held = pieces_held(&target, &old, PIECE);
    assert!(
        held < total,
        "the download was complete before the overwrite ({held} of {total} pieces): slow it down"
    );
    // The old info-hash is still announced: its version is there, public.
    assert_eq!(
        announce_failure(&tracker, &old_hash, "-XX0001-aaaaaaaaaaaa", 40001),
        None
    );

    // A new client gets the new version's torrent and bytes.
    let got = request(&serve.addr, "GET", "/pub/big.bin?torrent", &[]);
    assert_eq!(got.status, 200, "{}", got.text());
    let (new_path, new_torrent) = torrent_at(dir.path(), "new.torrent", got.body);
    assert_ne!(new_torrent.info_hash(), old_torrent.info_hash());
    let save_new = dir.path().join("second");
    let r = libtorrent_download(
        new_path.to_str().unwrap(),
        &save_new,
        120,
        "127.0.0.1:0",
        Encryption::Default,
    );
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(downloaded(&save_new.join("big.bin")), new);

    // The first client finishes with exactly the old bytes.
    let r = first.join().expect("the first client");
    assert_eq!(r["done"], true, "{r}");
    assert!(wait_for_bytes(&target, &old, 10), "the old bytes");
    // Its torrent is still the old version's, by its ID.
    let pinned = request(
        &serve.addr,
        "GET",
        &format!("/pub/big.bin?torrent&versionId={v1}"),
        &[],
    );
    assert_eq!(pinned.status, 200);
    assert_eq!(
        Torrent::from_bytes(pinned.body).unwrap().info_hash(),
        old_torrent.info_hash()
    );

    // The old version deleted for good: its info-hash is no longer served
    // (to the anonymous, who may not list the bucket, a missing version is
    // AccessDenied, as S3 answers), the new one still is.
    assert_eq!(
        boto(&serve, &["delete-version", "pub", "big.bin", &v1]),
        json!({})
    );
    let gone = announce_failure(&tracker, &old_hash, "-XX0001-bbbbbbbbbbbb", 40002)
        .expect("a failure reason");
    assert!(
        gone.contains("not served") && gone.contains("AccessDenied"),
        "{gone}"
    );
    assert_eq!(
        announce_failure(
            &tracker,
            new_torrent.info_hash().as_bytes(),
            "-XX0001-cccccccccccc",
            40003
        ),
        None
    );
}

/// With web seeding, the torrent of an older version names the object's URL
/// pinned to that version (`?versionId=`), so that aria2c, downloading from
/// the web seed alone, gets that version's bytes after an overwrite.
#[test]
fn aria2c_downloads_an_older_version_from_its_pinned_web_seed() {
    let test = "aria2c_downloads_an_older_version_from_its_pinned_web_seed";
    if !have_python_module(test, "boto3") || !have_program(test, "aria2c") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // `--seeding web`: the web seed alone.
    let serve = Serve::start(&dir.path().join("root"), &[]);
    let old = random_bytes(3 * 262_144 + 11, 93);
    let new = random_bytes(2 * 262_144 + 17, 94);
    assert_eq!(boto(&serve, &["versioned-bucket", "web"]), json!({}));
    let old_file = write(dir.path(), "old.bin", &old);
    let v1 = boto(
        &serve,
        &["put", "web", "doc.bin", old_file.to_str().unwrap()],
    )["version"]
        .as_str()
        .expect("a version ID")
        .to_owned();
    let new_file = write(dir.path(), "new.bin", &new);
    boto(
        &serve,
        &["put", "web", "doc.bin", new_file.to_str().unwrap()],
    );
    let got = request(
        &serve.addr,
        "GET",
        &format!("/web/doc.bin?torrent&versionId={v1}"),
        &[],
    );
    assert_eq!(got.status, 200, "{}", got.text());
    let (path, torrent) = torrent_at(dir.path(), "old.torrent", got.body);
    assert_eq!(
        torrent.web_seeds(),
        [format!("{}/web/doc.bin?versionId={v1}", serve.endpoint())]
    );
    let save = dir.path().join("aria2c");
    support::serve::aria2c_download(&path, &save);
    assert_eq!(downloaded(&save.join("doc.bin")), old);
}
