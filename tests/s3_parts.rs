//! Issue 23: GetObject and HeadObject with `partNumber`, GetObjectAttributes,
//! and uploads sent with `Transfer-Encoding: chunked`, through unmodified
//! boto3 and curl. The expected answers are S3's (recorded AWS answers and
//! its documentation), written out here; sizes and bytes are the test's own.

mod support;

use std::process::{Command, Stdio};

use md5::{Digest, Md5};
use serde_json::{Value, json};
use support::serve::Serve;
use support::{have_program, have_python_module, python};

const MIB: u64 = 1024 * 1024;

/// boto3 drives the scenario: `python3 -c SCRIPT ENDPOINT PHASE`; phase
/// `write` makes the objects and reads them, `reread` (after a restart)
/// reads again what the first left.
const PARTS: &str = r#"
import hashlib, json, sys, warnings
warnings.simplefilter("ignore")
import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
ep, phase = sys.argv[1], sys.argv[2]
cfg = dict(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id="s3torrent",
                  aws_secret_access_key="s3torrent-dev-secret", region_name="us-east-1",
                  config=Config(**cfg))
anon = boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                    config=Config(signature_version=UNSIGNED, **cfg))
def err(f):
    try:
        f()
        return None
    except ClientError as e:
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"],
                e.response["Error"].get("Message")]
SIZES = [5 * 1024 * 1024, 5 * 1024 * 1024, 1000]
def multipart(key):
    u = s3.create_multipart_upload(Bucket="parts", Key=key)["UploadId"]
    listed = []
    for n, size in enumerate(SIZES, 1):
        r = s3.upload_part(Bucket="parts", Key=key, UploadId=u, PartNumber=n, Body=bytes([n]) * size)
        listed.append({"PartNumber": n, "ETag": r["ETag"]})
    return s3.complete_multipart_upload(Bucket="parts", Key=key, UploadId=u,
                                        MultipartUpload={"Parts": listed})["ETag"]
def part(key, n):
    h = s3.head_object(Bucket="parts", Key=key, PartNumber=n)
    g = s3.get_object(Bucket="parts", Key=key, PartNumber=n)
    body = g["Body"].read()
    return {"head": [h["ResponseMetadata"]["HTTPStatusCode"], h["ContentLength"], h.get("PartsCount"),
                     h.get("ContentRange"), h["ETag"]],
            "get": [g["ResponseMetadata"]["HTTPStatusCode"], g["ContentLength"], g.get("PartsCount"),
                    g.get("ContentRange"), g["ETag"]],
            "body": [len(body), sorted(set(body))]}
def attrs(key, **kw):
    r = s3.get_object_attributes(Bucket="parts", Key=key, **kw)
    r.pop("ResponseMetadata")
    r["LastModified"] = "present"
    return r
ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
out = {}
if phase == "write":
    s3.create_bucket(Bucket="parts")
    out["etag"] = multipart("mp")
    out["kept_etag"] = multipart("kept")
    out["parts"] = [part("mp", n) for n in (1, 2, 3)]
    out["past_last"] = err(lambda: s3.get_object(Bucket="parts", Key="mp", PartNumber=4))
    out["head_past_last"] = err(lambda: s3.head_object(Bucket="parts", Key="mp", PartNumber=4))
    out["zero"] = err(lambda: s3.get_object(Bucket="parts", Key="mp", PartNumber=0))
    out["too_big"] = err(lambda: s3.get_object(Bucket="parts", Key="mp", PartNumber=10001))
    out["with_range"] = err(lambda: s3.get_object(Bucket="parts", Key="mp", PartNumber=1, Range="bytes=0-8"))
    s3.put_object(Bucket="parts", Key="simple", Body=b"test-123")
    g = s3.get_object(Bucket="parts", Key="simple", PartNumber=1)
    out["simple"] = [g["ResponseMetadata"]["HTTPStatusCode"], g.get("ContentRange"), g.get("PartsCount"),
                     g["ETag"], g["Body"].read().decode()]
    out["simple_2"] = err(lambda: s3.get_object(Bucket="parts", Key="simple", PartNumber=2))
    out["attrs"] = attrs("mp", ObjectAttributes=ALL)
    out["attrs_page"] = attrs("mp", ObjectAttributes=["ObjectParts"], MaxParts=1, PartNumberMarker=1)
    out["attrs_simple"] = attrs("simple", ObjectAttributes=ALL)
    out["attrs_some"] = attrs("simple", ObjectAttributes=["ObjectSize"])
    out["attrs_missing"] = err(lambda: s3.get_object_attributes(Bucket="parts", Key="nope", ObjectAttributes=ALL))
    out["attrs_anonymous"] = err(lambda: anon.get_object_attributes(Bucket="parts", Key="simple", ObjectAttributes=ALL))
    s3.put_object_acl(Bucket="parts", Key="simple", ACL="public-read")
    out["attrs_public"] = anon.get_object_attributes(Bucket="parts", Key="simple", ObjectAttributes=["ObjectSize"])["ObjectSize"]
    # Overwritten by a simple object: one part again.
    s3.put_object(Bucket="parts", Key="mp", Body=b"now simple")
    out["overwritten"] = err(lambda: s3.get_object(Bucket="parts", Key="mp", PartNumber=2))
    out["overwritten_attrs"] = "ObjectParts" in attrs("mp", ObjectAttributes=ALL)
else:
    out["kept"] = part("kept", 3)
    out["kept_attrs"] = attrs("kept", ObjectAttributes=["ObjectParts"], MaxParts=2)
print(json.dumps(out))
"#;

#[test]
fn boto3_reads_parts_and_attributes_of_multipart_objects() {
    let test = "boto3_reads_parts_and_attributes_of_multipart_objects";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let out: Value =
        serde_json::from_str(python(PARTS, &[&serve.endpoint(), "write"]).trim()).unwrap();
    // S3's multipart ETag: the MD5 of the parts' MD5s, then -3.
    let part_md5 = |n: u8, size: u64| Md5::digest(vec![n; size as usize]).to_vec();
    let joined = [
        part_md5(1, 5 * MIB),
        part_md5(2, 5 * MIB),
        part_md5(3, 1000),
    ]
    .concat();
    let etag = format!("\"{}-3\"", hex(&Md5::digest(&joined)));
    assert_eq!(out["etag"], json!(etag));
    let total = 10 * MIB + 1000;
    let ranges = [(0, 5 * MIB), (5 * MIB, 10 * MIB), (10 * MIB, total)];
    for (i, (start, end)) in ranges.iter().enumerate() {
        let len = end - start;
        let range = format!("bytes {start}-{}/{total}", end - 1);
        let p = &out["parts"][i];
        // HEAD of a part is 206 too, as a GET of it.
        assert_eq!(
            p["head"],
            json!([206, len, 3, range, etag]),
            "part {}",
            i + 1
        );
        assert_eq!(
            p["get"],
            json!([206, len, 3, range, etag]),
            "part {}",
            i + 1
        );
        assert_eq!(p["body"], json!([len, [i + 1]]), "part {}", i + 1);
    }
    let unsatisfiable = json!([
        416,
        "InvalidPartNumber",
        "The requested partnumber is not satisfiable"
    ]);
    assert_eq!(out["past_last"], unsatisfiable);
    // A HEAD's error has no body: the status says it.
    assert_eq!(out["head_past_last"][0], json!(416));
    let bad_number = json!([
        400,
        "InvalidArgument",
        "Part number must be an integer between 1 and 10000, inclusive"
    ]);
    assert_eq!(out["zero"], bad_number);
    assert_eq!(out["too_big"], bad_number);
    assert_eq!(
        out["with_range"],
        json!([
            400,
            "InvalidRequest",
            "Cannot specify both Range header and partNumber query parameter"
        ])
    );
    // Part 1 of a simple object is all of it (206, no parts count); AWS
    // recorded this ETag for these 8 bytes.
    assert_eq!(
        out["simple"],
        json!([
            206,
            "bytes 0-7/8",
            null,
            "\"ca6d00e33edff0e9cb3782d31182de33\"",
            "test-123"
        ])
    );
    assert_eq!(out["simple_2"], unsatisfiable);

    // GetObjectAttributes: the ETag without quotes, as S3 gives it. An
    // upload that named no checksum has S3's default, a full-object
    // CRC64NVME (its value is tests/s3_checksums.rs's business).
    let bare = etag.trim_matches('"');
    let mut attrs = out["attrs"].clone();
    let checksum = attrs.as_object_mut().unwrap().remove("Checksum").unwrap();
    assert_eq!(checksum["ChecksumType"], json!("FULL_OBJECT"));
    assert!(checksum["ChecksumCRC64NVME"].is_string(), "{checksum}");
    assert_eq!(
        attrs,
        json!({
            "LastModified": "present",
            "ETag": bare,
            "ObjectSize": total,
            "StorageClass": "STANDARD",
            "ObjectParts": {
                "TotalPartsCount": 3, "PartNumberMarker": 0, "NextPartNumberMarker": 3,
                "MaxParts": 1000, "IsTruncated": false,
                "Parts": [
                    {"PartNumber": 1, "Size": 5 * MIB},
                    {"PartNumber": 2, "Size": 5 * MIB},
                    {"PartNumber": 3, "Size": 1000}
                ]
            }
        })
    );
    assert_eq!(
        out["attrs_page"],
        json!({
            "LastModified": "present",
            "ObjectParts": {
                "TotalPartsCount": 3, "PartNumberMarker": 1, "NextPartNumberMarker": 2,
                "MaxParts": 1, "IsTruncated": true,
                "Parts": [{"PartNumber": 2, "Size": 5 * MIB}]
            }
        })
    );
    assert_eq!(
        out["attrs_simple"],
        json!({
            "LastModified": "present",
            "ETag": "ca6d00e33edff0e9cb3782d31182de33",
            "ObjectSize": 8,
            "StorageClass": "STANDARD",
            // boto3 sent its default CRC32; AWS answered the same for
            // these bytes.
            "Checksum": {"ChecksumCRC32": "MAPXAg==", "ChecksumType": "FULL_OBJECT"}
        })
    );
    assert_eq!(
        out["attrs_some"],
        json!({"LastModified": "present", "ObjectSize": 8})
    );
    assert_eq!(
        out["attrs_missing"].as_array().unwrap()[..2],
        [json!(404), json!("NoSuchKey")]
    );
    assert_eq!(
        out["attrs_anonymous"].as_array().unwrap()[..2],
        [json!(403), json!("AccessDenied")]
    );
    assert_eq!(out["attrs_public"], json!(8));
    assert_eq!(out["overwritten"], unsatisfiable);
    assert_eq!(out["overwritten_attrs"], json!(false));
    assert_eq!(out["kept_etag"], json!(etag));

    // The parts are in the database: a restart keeps them.
    let root = dir.path().to_owned();
    drop(serve);
    let serve = Serve::start(&root, &[]);
    let out: Value =
        serde_json::from_str(python(PARTS, &[&serve.endpoint(), "reread"]).trim()).unwrap();
    let range = format!("bytes {}-{}/{total}", 10 * MIB, total - 1);
    assert_eq!(out["kept"]["get"], json!([206, 1000, 3, range, etag]));
    assert_eq!(out["kept"]["body"], json!([1000, [3]]));
    assert_eq!(
        out["kept_attrs"]["ObjectParts"],
        json!({
            "TotalPartsCount": 3, "PartNumberMarker": 0, "NextPartNumberMarker": 2,
            "MaxParts": 2, "IsTruncated": true,
            "Parts": [{"PartNumber": 1, "Size": 5 * MIB}, {"PartNumber": 2, "Size": 5 * MIB}]
        })
    );
}

/// boto3 with `Transfer-Encoding: chunked` added to its uploads, as Ceph's
/// s3-tests do: urllib3 then sends the body chunked, with no
/// `Content-Length`.
const CHUNKED: &str = r#"
import hashlib, json, sys, warnings
warnings.simplefilter("ignore")
import boto3
from botocore.config import Config
ep = sys.argv[1]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id="s3torrent",
                  aws_secret_access_key="s3torrent-dev-secret", region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
s3.create_bucket(Bucket="chunked")
s3.put_bucket_acl(Bucket="chunked", ACL="public-read-write")
seen = []
def chunked(request, **kwargs):
    request.headers.add_header("Transfer-Encoding", "chunked")
def text(v):
    return v.decode() if isinstance(v, bytes) else v
def sent(request, **kwargs):
    seen.append([text(request.headers.get("Content-Length")), text(request.headers.get("Transfer-Encoding"))])
for op in ("PutObject", "UploadPart"):
    s3.meta.events.register_first("before-sign.s3." + op, chunked)
    s3.meta.events.register("before-send.s3." + op, sent)
out = {}
r = s3.put_object(Bucket="chunked", Key="foo", Body="bar")
out["put"] = [r["ResponseMetadata"]["HTTPStatusCode"], r["ETag"]]
out["foo"] = s3.get_object(Bucket="chunked", Key="foo")["Body"].read().decode()
u = s3.create_multipart_upload(Bucket="chunked", Key="mp")["UploadId"]
bodies = [b"a" * (5 * 1024 * 1024), b"tail"]
listed = []
for n, body in enumerate(bodies, 1):
    r = s3.upload_part(Bucket="chunked", Key="mp", UploadId=u, PartNumber=n, Body=body)
    listed.append({"PartNumber": n, "ETag": r["ETag"]})
    out.setdefault("part_etags", []).append([r["ETag"], '"' + hashlib.md5(body).hexdigest() + '"'])
s3.complete_multipart_upload(Bucket="chunked", Key="mp", UploadId=u, MultipartUpload={"Parts": listed})
got = s3.get_object(Bucket="chunked", Key="mp")["Body"].read()
out["mp"] = got == b"".join(bodies)
out["sent"] = seen
print(json.dumps(out))
"#;

#[test]
fn uploads_sent_chunked_without_a_length_are_taken() {
    let test = "uploads_sent_chunked_without_a_length_are_taken";
    if !have_python_module(test, "boto3") || !have_program(test, "curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let out: Value = serde_json::from_str(python(CHUNKED, &[&serve.endpoint()]).trim()).unwrap();
    // MD5("bar").
    assert_eq!(
        out["put"],
        json!([200, "\"37b51d194a7513e45b56f6524f2d51f2\""])
    );
    assert_eq!(out["foo"], json!("bar"));
    for pair in out["part_etags"].as_array().unwrap() {
        assert_eq!(pair[0], pair[1]);
    }
    assert_eq!(out["mp"], json!(true));
    // What boto3 sent: no length, chunked, for each of the three uploads.
    assert_eq!(
        out["sent"],
        json!([[null, "chunked"], [null, "chunked"], [null, "chunked"]])
    );

    // curl streaming from a pipe (`-T -`) sends chunked too: an anonymous
    // upload into the public-read-write bucket.
    let data = support::random_bytes(3 * MIB as usize + 17, 5);
    let url = format!("{}/chunked/piped", serve.endpoint());
    let mut curl = Command::new("curl")
        .args([
            "-sS",
            "-T",
            "-",
            "-H",
            "x-amz-acl: public-read",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut curl.stdin.take().unwrap(), &data).unwrap();
    let status = curl.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&status.stdout), "200");
    let got = support::serve::request(&serve.addr, "GET", "/chunked/piped", &[]);
    assert_eq!(got.status, 200);
    assert_eq!(got.body.len(), data.len());
    assert!(got.body == data);
    assert_eq!(
        got.header("etag"),
        Some(format!("\"{}\"", hex(&Md5::digest(&data))).as_str())
    );
    // Nothing of the spooled bodies is left behind.
    let tmp = dir.path().join(".s3torrent").join("tmp");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
