//! Issue 23: additional checksums (`x-amz-checksum-*`) through unmodified
//! boto3 and the AWS CLI: sent in headers and in `aws-chunked` trailers,
//! checked (`BadDigest`, nothing stored), kept, and given back by GET and
//! HEAD with `x-amz-checksum-mode: ENABLED` and by GetObjectAttributes.
//!
//! Every expected value comes from outside the server: Python's `zlib` and
//! `hashlib`, a bitwise CRC32C and CRC64NVME written in the script (checked
//! first against the catalogued check values), what boto3 computes and
//! validates itself, and the values of Ceph's s3-tests.

mod support;

use serde_json::{Value, json};
use support::serve::{Serve, aws_ok};
use support::{have_program, have_python_module, python};

/// What the scripts share: clients, `err`, and the reference CRCs.
const COMMON: &str = r#"
import base64, hashlib, json, sys, warnings, zlib
warnings.simplefilter("ignore")
import boto3, botocore.httpchecksum
from botocore.config import Config
from botocore.exceptions import ClientError
ep = sys.argv[1]
def client(**kw):
    return boto3.client("s3", endpoint_url=ep, aws_access_key_id="s3torrent",
                        aws_secret_access_key="s3torrent-dev-secret", region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}, **kw))
s3 = client()
def err(f):
    try:
        r = f()
        r.pop("ResponseMetadata", None)
        r.pop("Body", None)
        return r
    except ClientError as e:
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"],
                e.response["Error"].get("Message")]
def reflect(x, width):
    return int(bin(x)[2:].zfill(width)[::-1], 2)
def crc(data, poly, width):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ reflect(poly, width) if c & 1 else c >> 1
        table.append(c)
    mask = (1 << width) - 1
    c = mask
    for b in data:
        c = table[(c ^ b) & 0xff] ^ (c >> 8)
    return c ^ mask
# The catalogue's check values: the references are right.
assert crc(b"123456789", 0x1EDC6F41, 32) == 0xE3069283
assert crc(b"123456789", 0xAD93D23594C93659, 64) == 0xAE8B14860A799888
b64 = lambda b: base64.b64encode(b).decode()
REF = {
    "CRC32": lambda d: b64(zlib.crc32(d).to_bytes(4, "big")),
    "CRC32C": lambda d: b64(crc(d, 0x1EDC6F41, 32).to_bytes(4, "big")),
    "CRC64NVME": lambda d: b64(crc(d, 0xAD93D23594C93659, 64).to_bytes(8, "big")),
    "SHA1": lambda d: b64(hashlib.sha1(d).digest()),
    "SHA256": lambda d: b64(hashlib.sha256(d).digest()),
}
def random_bytes(n, seed):
    out, x = bytearray(), seed
    while len(out) < n:
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out += x.to_bytes(8, "little")
    return bytes(out[:n])
out = {}
"#;

const SIMPLE: &str = r#"
s3.create_bucket(Bucket="sums")
data = random_bytes(70000, 7)
out["ref"] = {alg: REF[alg](data) for alg in REF}
# boto3's default: it computes CRC32 and sends it in a header.
r = s3.put_object(Bucket="sums", Key="default", Body=data)
out["default"] = [r.get("ChecksumCRC32"), r.get("ChecksumType")]
out["head_plain"] = sorted(k for k in s3.head_object(Bucket="sums", Key="default") if k.startswith("Checksum"))
h = s3.head_object(Bucket="sums", Key="default", ChecksumMode="ENABLED")
out["head_enabled"] = [h.get("ChecksumCRC32"), h.get("ChecksumType")]
# boto3 asks for checksums on GET and validates the body against them.
g = s3.get_object(Bucket="sums", Key="default")
out["get"] = [g.get("ChecksumCRC32"), g["Body"].read() == data]
out["ranged"] = sorted(k for k in s3.get_object(Bucket="sums", Key="default", Range="bytes=0-9") if k.startswith("Checksum"))
# Algorithms boto3 computes itself.
out["computed"] = {}
for alg in ["CRC32", "SHA1", "SHA256"]:
    r = s3.put_object(Bucket="sums", Key="c-" + alg, Body=data, ChecksumAlgorithm=alg)
    h = s3.head_object(Bucket="sums", Key="c-" + alg, ChecksumMode="ENABLED")
    out["computed"][alg] = [r.get("Checksum" + alg), h.get("Checksum" + alg)]
# Values given by the client (boto3 needs awscrt to compute these two).
out["given"] = {}
for alg in ["CRC32C", "CRC64NVME"]:
    r = s3.put_object(Bucket="sums", Key="g-" + alg, Body=data, **{"Checksum" + alg: REF[alg](data)})
    h = s3.head_object(Bucket="sums", Key="g-" + alg, ChecksumMode="ENABLED")
    out["given"][alg] = [r.get("Checksum" + alg), h.get("Checksum" + alg)]
# s3-tests: 1024 'A's.
r = s3.put_object(Bucket="sums", Key="s3tests", Body=b"A" * 1024, ChecksumSHA256="arcu6553sHVAiX4MjW0j7I7vD4w6R+Gz9Ok0Q9lTa+0=")
out["s3tests"] = r.get("ChecksumSHA256")
# No checksum at all: S3 gives the object a CRC64NVME.
plain = client(request_checksum_calculation="when_required")
r = plain.put_object(Bucket="sums", Key="none", Body=b"A" * 1024)
out["none"] = [r.get("ChecksumCRC64NVME"), r.get("ChecksumType")]
# In an aws-chunked body's trailer (what boto3 does over HTTPS).
def trailer(params, **kw):
    alg = params.get("context", {}).get("checksum", {}).get("request_algorithm")
    if alg:
        alg["in"] = "trailer"
sent = []
def headers(request, **kw):
    sent.append([request.headers.get(h) and (request.headers.get(h).decode() if isinstance(request.headers.get(h), bytes) else request.headers.get(h))
                 for h in ("Content-Encoding", "X-Amz-Trailer", "X-Amz-Content-SHA256")])
chunked = client()
chunked.meta.events.register("before-call.s3.PutObject", trailer)
chunked.meta.events.register("before-send.s3.PutObject", headers)
r = chunked.put_object(Bucket="sums", Key="trailer", Body=data, ChecksumAlgorithm="SHA256")
out["trailer"] = r.get("ChecksumSHA256")
out["trailer_sent"] = sent
h = s3.head_object(Bucket="sums", Key="trailer", ChecksumMode="ENABLED")
out["trailer_head"] = [h.get("ChecksumSHA256"), h.get("ContentEncoding"), h["ContentLength"]]
r = chunked.put_object(Bucket="sums", Key="gzip", Body=data, ChecksumAlgorithm="SHA256", ContentEncoding="gzip")
out["gzip"] = s3.head_object(Bucket="sums", Key="gzip").get("ContentEncoding")
# Refused: a value of other bytes (BadDigest, nothing stored), a value
# that is no digest, two algorithms at once, a trailer that lies.
out["bad_digest"] = err(lambda: s3.put_object(Bucket="sums", Key="bad", Body=data, ChecksumSHA256=REF["SHA256"](b"other")))
out["bad_crc64"] = err(lambda: s3.put_object(Bucket="sums", Key="bad", Body=data, ChecksumCRC64NVME=REF["CRC64NVME"](b"other")))
out["bad_value"] = err(lambda: s3.put_object(Bucket="sums", Key="bad", Body=data, ChecksumSHA256="bad"))
out["two"] = err(lambda: s3.put_object(Bucket="sums", Key="bad", Body=data, ChecksumCRC32=REF["CRC32"](data), ChecksumSHA1=REF["SHA1"](data)))
honest = botocore.httpchecksum.Sha256Checksum.digest
botocore.httpchecksum.Sha256Checksum.digest = lambda self: hashlib.sha256(b"other").digest()
out["bad_trailer"] = err(lambda: chunked.put_object(Bucket="sums", Key="bad", Body=data, ChecksumAlgorithm="SHA256"))
botocore.httpchecksum.Sha256Checksum.digest = honest
out["bad_stored"] = err(lambda: s3.head_object(Bucket="sums", Key="bad"))
# An overwrite with a bad checksum leaves the old object.
out["keep_old"] = err(lambda: s3.put_object(Bucket="sums", Key="default", Body=b"new", ChecksumSHA256=REF["SHA256"](b"old")))
out["still_old"] = s3.get_object(Bucket="sums", Key="default")["Body"].read() == data
a = s3.get_object_attributes(Bucket="sums", Key="c-SHA256", ObjectAttributes=["Checksum"])
out["attrs"] = a.get("Checksum")
# A copy gets the source's algorithm, over its own bytes.
r = s3.copy_object(Bucket="sums", Key="copy", CopySource="sums/c-SHA256")
out["copy"] = [r["CopyObjectResult"].get("ChecksumSHA256"), r["CopyObjectResult"].get("ChecksumType")]
print(json.dumps(out))
"#;

#[test]
fn boto3_checksums_of_uploads_are_checked_kept_and_given_back() {
    let test = "boto3_checksums_of_uploads_are_checked_kept_and_given_back";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let script = format!("{COMMON}{SIMPLE}");
    let out: Value = serde_json::from_str(python(&script, &[&serve.endpoint()]).trim()).unwrap();
    let reference = |alg: &str| out["ref"][alg].clone();
    assert_eq!(out["default"], json!([reference("CRC32"), "FULL_OBJECT"]));
    assert_eq!(out["head_plain"], json!([]));
    assert_eq!(
        out["head_enabled"],
        json!([reference("CRC32"), "FULL_OBJECT"])
    );
    assert_eq!(out["get"], json!([reference("CRC32"), true]));
    // A range has no checksum of its own.
    assert_eq!(out["ranged"], json!([]));
    for alg in ["CRC32", "SHA1", "SHA256"] {
        assert_eq!(
            out["computed"][alg],
            json!([reference(alg), reference(alg)]),
            "{alg}"
        );
    }
    for alg in ["CRC32C", "CRC64NVME"] {
        assert_eq!(
            out["given"][alg],
            json!([reference(alg), reference(alg)]),
            "{alg}"
        );
    }
    assert_eq!(
        out["s3tests"],
        json!("arcu6553sHVAiX4MjW0j7I7vD4w6R+Gz9Ok0Q9lTa+0=")
    );
    // s3-tests' CRC64NVME of 1024 'A's.
    assert_eq!(out["none"], json!(["Qeh8oXvGiSo=", "FULL_OBJECT"]));
    assert_eq!(out["trailer"], reference("SHA256"));
    assert_eq!(
        out["trailer_sent"][0],
        json!([
            "aws-chunked",
            "x-amz-checksum-sha256",
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        ])
    );
    // The gzip upload was sent `gzip,aws-chunked`: the object is gzip.
    assert_eq!(out["trailer_sent"][1][0], json!("gzip,aws-chunked"));
    // `aws-chunked` framed the upload; it is no encoding of the object.
    assert_eq!(
        out["trailer_head"],
        json!([reference("SHA256"), null, 70000])
    );
    assert_eq!(out["gzip"], json!("gzip"));
    assert_eq!(
        out["bad_digest"],
        json!([
            400,
            "BadDigest",
            "The SHA256 you specified did not match the calculated checksum."
        ])
    );
    assert_eq!(
        out["bad_crc64"].as_array().unwrap()[..2],
        [json!(400), json!("BadDigest")]
    );
    assert_eq!(
        out["bad_value"],
        json!([
            400,
            "InvalidRequest",
            "Value for x-amz-checksum-sha256 header is invalid."
        ])
    );
    assert_eq!(
        out["two"].as_array().unwrap()[..2],
        [json!(400), json!("InvalidRequest")]
    );
    assert_eq!(
        out["bad_trailer"].as_array().unwrap()[..2],
        [json!(400), json!("BadDigest")]
    );
    assert_eq!(out["bad_stored"][0], json!(404));
    assert_eq!(
        out["keep_old"].as_array().unwrap()[..2],
        [json!(400), json!("BadDigest")]
    );
    assert_eq!(out["still_old"], json!(true));
    assert_eq!(
        out["attrs"],
        json!({"ChecksumSHA256": reference("SHA256"), "ChecksumType": "FULL_OBJECT"})
    );
    assert_eq!(out["copy"], json!([reference("SHA256"), "FULL_OBJECT"]));
    // Refused uploads left nothing behind.
    let tmp = dir.path().join(".s3torrent").join("tmp");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
}

/// Ceph s3-tests' multipart checksums: three parts of 5 MiB of 'A', 'B'
/// and 'C', the parts' values and the object's, per algorithm and type.
const MULTIPART: &str = r#"
M = 5 * 1024 * 1024
BODIES = [b"A" * M, b"B" * M, b"C" * M]
CASES = [
    ("SHA256", "COMPOSITE", ["275VF5loJr1YYawit0XSHREhkFXYkkPKGuoK0x9VKxI=", "mrHwOfjTL5Zwfj74F05HOQGLdUb7E5szdCbxgUSq6NM=",
                             "Vw7oB/nKQ5xWb3hNgbyfkvDiivl+U+/Dft48nfJfDow="], "uWBwpe1dxI4Vw8Gf0X9ynOdw/SS6VBzfWm9giiv1sf4=-3"),
    ("SHA1", "COMPOSITE", ["iIaTCGbm+vdVjNqIMF2S0T7ibMk=", "LS/TJ32bAVKEwRu+sE3X7awh/lk=", "6DDwovUaHwrKNXDMzOGbuvj9kxI="],
     "sizjvY4eud3MrcHdZM3cQ/ol39o=-3"),
    ("CRC64NVME", "FULL_OBJECT", ["L/E4WYn8v98=", "xW1l19VobYM=", "cK5MnNaWrW4="], "i+6LR0y3eFo="),
    ("CRC32", "FULL_OBJECT", ["JRTCyQ==", "QoZTGg==", "YAgjqw=="], "WgDhBQ=="),
    ("CRC32C", "FULL_OBJECT", ["MDaLrw==", "TH4EZg==", "Z7mBIQ=="], "xU+Krw=="),
]
s3.create_bucket(Bucket="mpsums")
def upload(key, alg, kind, sums, compute=False):
    r = s3.create_multipart_upload(Bucket="mpsums", Key=key, ChecksumAlgorithm=alg, ChecksumType=kind)
    u = r["UploadId"]
    created = [r.get("ChecksumAlgorithm"), r.get("ChecksumType")]
    parts = []
    for n, body in enumerate(BODIES, 1):
        kw = {"ChecksumAlgorithm": alg} if compute else {"Checksum" + alg: sums[n - 1]}
        r = s3.upload_part(Bucket="mpsums", Key=key, UploadId=u, PartNumber=n, Body=body, **kw)
        parts.append({"PartNumber": n, "ETag": r["ETag"], "Checksum" + alg: r.get("Checksum" + alg)})
    return u, created, parts
out["cases"] = {}
for alg, kind, sums, whole in CASES:
    key = "k-" + alg
    # boto3 computes what it can (SHA, CRC32); the CRC32C and CRC64NVME
    # values are s3-tests'.
    u, created, parts = upload(key, alg, kind, sums, compute=alg in ("SHA256", "SHA1", "CRC32"))
    c = {"created": created, "parts": [p["Checksum" + alg] for p in parts]}
    listed = s3.list_parts(Bucket="mpsums", Key=key, UploadId=u)
    c["list_parts"] = [listed.get("ChecksumAlgorithm"), listed.get("ChecksumType"),
                       [p.get("Checksum" + alg) for p in listed["Parts"]]]
    r = s3.complete_multipart_upload(Bucket="mpsums", Key=key, UploadId=u, MultipartUpload={"Parts": parts},
                                     **{"Checksum" + alg: whole})
    c["complete"] = [r.get("Checksum" + alg), r.get("ChecksumType"), r["ETag"]]
    h = s3.head_object(Bucket="mpsums", Key=key, ChecksumMode="ENABLED")
    c["head"] = [h.get("Checksum" + alg), h.get("ChecksumType")]
    h = s3.head_object(Bucket="mpsums", Key=key, PartNumber=2, ChecksumMode="ENABLED")
    c["part2"] = [h.get("Checksum" + alg), h.get("ChecksumType")]
    g = s3.get_object(Bucket="mpsums", Key=key)
    c["body"] = g["Body"].read() == b"".join(BODIES)
    a = s3.get_object_attributes(Bucket="mpsums", Key=key, ObjectAttributes=["Checksum", "ObjectParts"])
    c["attrs"] = [a["Checksum"], [p.get("Checksum" + alg) for p in a["ObjectParts"]["Parts"]]]
    again = s3.complete_multipart_upload(Bucket="mpsums", Key=key, UploadId=u, MultipartUpload={"Parts": parts})
    c["again"] = [again.get("Checksum" + alg), again["ETag"]]
    out["cases"][alg] = c
# Refusals. A completion that fails on a checksum leaves the upload to
# complete again.
SHA = CASES[0]
u, _, parts = upload("refused", "SHA256", "COMPOSITE", SHA[2])
out["wrong_whole"] = err(lambda: s3.complete_multipart_upload(Bucket="mpsums", Key="refused", UploadId=u,
                         MultipartUpload={"Parts": parts}, ChecksumSHA256=REF["SHA256"](b"x") + "-3"))
bare = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]
out["missing_part_sum"] = err(lambda: s3.complete_multipart_upload(Bucket="mpsums", Key="refused", UploadId=u,
                              MultipartUpload={"Parts": bare}))
wrong = [dict(p) for p in parts]
wrong[1]["ChecksumSHA256"] = SHA[2][0]
out["wrong_part_sum"] = err(lambda: s3.complete_multipart_upload(Bucket="mpsums", Key="refused", UploadId=u,
                            MultipartUpload={"Parts": wrong}))
out["wrong_type"] = err(lambda: s3.complete_multipart_upload(Bucket="mpsums", Key="refused", UploadId=u,
                        MultipartUpload={"Parts": parts}, ChecksumType="FULL_OBJECT"))
out["other_alg_part"] = err(lambda: s3.upload_part(Bucket="mpsums", Key="refused", UploadId=u, PartNumber=4,
                            Body=b"tail", ChecksumAlgorithm="CRC32"))
out["bad_part"] = err(lambda: s3.upload_part(Bucket="mpsums", Key="refused", UploadId=u, PartNumber=4,
                      Body=b"tail", ChecksumSHA256=REF["SHA256"](b"other")))
r = s3.complete_multipart_upload(Bucket="mpsums", Key="refused", UploadId=u, MultipartUpload={"Parts": parts})
out["after_refusals"] = r.get("ChecksumSHA256")
out["sha_full"] = err(lambda: s3.create_multipart_upload(Bucket="mpsums", Key="x", ChecksumAlgorithm="SHA256",
                      ChecksumType="FULL_OBJECT"))
# An upload without a checksum: the object gets S3's CRC64NVME.
plain = client(request_checksum_calculation="when_required")
u = plain.create_multipart_upload(Bucket="mpsums", Key="plain")["UploadId"]
parts = []
for n, body in enumerate(BODIES, 1):
    r = plain.upload_part(Bucket="mpsums", Key="plain", UploadId=u, PartNumber=n, Body=body)
    parts.append({"PartNumber": n, "ETag": r["ETag"]})
listed_sums = [p for p in parts]
out["plain_listed_sum"] = err(lambda: plain.complete_multipart_upload(Bucket="mpsums", Key="plain", UploadId=u,
    MultipartUpload={"Parts": [dict(parts[0], ChecksumCRC32="AAAAAA==")] + parts[1:]}))
r = plain.complete_multipart_upload(Bucket="mpsums", Key="plain", UploadId=u, MultipartUpload={"Parts": parts})
out["plain"] = [r.get("ChecksumCRC64NVME"), r.get("ChecksumType")]
print(json.dumps(out))
"#;

#[test]
fn boto3_multipart_checksums_are_composite_or_full_object_as_s3_makes_them() {
    let test = "boto3_multipart_checksums_are_composite_or_full_object_as_s3_makes_them";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let script = format!("{COMMON}{MULTIPART}");
    let out: Value = serde_json::from_str(python(&script, &[&serve.endpoint()]).trim()).unwrap();
    // s3-tests' values (the ETag too: the MD5 of the three parts' MD5s).
    let etag = "\"b2add96cc9702bbf4efb0ccdfc6b7747-3\"";
    let cases: [(&str, &str, [&str; 3], &str); 5] = [
        (
            "SHA256",
            "COMPOSITE",
            [
                "275VF5loJr1YYawit0XSHREhkFXYkkPKGuoK0x9VKxI=",
                "mrHwOfjTL5Zwfj74F05HOQGLdUb7E5szdCbxgUSq6NM=",
                "Vw7oB/nKQ5xWb3hNgbyfkvDiivl+U+/Dft48nfJfDow=",
            ],
            "uWBwpe1dxI4Vw8Gf0X9ynOdw/SS6VBzfWm9giiv1sf4=-3",
        ),
        (
            "SHA1",
            "COMPOSITE",
            [
                "iIaTCGbm+vdVjNqIMF2S0T7ibMk=",
                "LS/TJ32bAVKEwRu+sE3X7awh/lk=",
                "6DDwovUaHwrKNXDMzOGbuvj9kxI=",
            ],
            "sizjvY4eud3MrcHdZM3cQ/ol39o=-3",
        ),
        (
            "CRC64NVME",
            "FULL_OBJECT",
            ["L/E4WYn8v98=", "xW1l19VobYM=", "cK5MnNaWrW4="],
            "i+6LR0y3eFo=",
        ),
        (
            "CRC32",
            "FULL_OBJECT",
            ["JRTCyQ==", "QoZTGg==", "YAgjqw=="],
            "WgDhBQ==",
        ),
        (
            "CRC32C",
            "FULL_OBJECT",
            ["MDaLrw==", "TH4EZg==", "Z7mBIQ=="],
            "xU+Krw==",
        ),
    ];
    for (alg, kind, parts, whole) in cases {
        let c = &out["cases"][alg];
        assert_eq!(c["created"], json!([alg, kind]), "{alg}");
        assert_eq!(c["parts"], json!(parts), "{alg}");
        assert_eq!(c["list_parts"], json!([alg, kind, parts]), "{alg}");
        assert_eq!(c["complete"], json!([whole, kind, etag]), "{alg}");
        assert_eq!(c["head"], json!([whole, kind]), "{alg}");
        // A part of a composite object has its own checksum; a part of a
        // full-object one has none (S3's answers).
        let part2 = match kind {
            "COMPOSITE" => json!([parts[1], kind]),
            _ => json!([null, null]),
        };
        assert_eq!(c["part2"], part2, "{alg}");
        assert_eq!(c["body"], json!(true), "{alg}");
        // GetObjectAttributes gives the digest without `-3`.
        let bare = whole.trim_end_matches("-3");
        assert_eq!(
            c["attrs"],
            json!([{format!("Checksum{alg}"): bare, "ChecksumType": kind}, parts]),
            "{alg}"
        );
        assert_eq!(c["again"], json!([whole, etag]), "{alg}");
    }
    assert_eq!(
        out["wrong_whole"],
        json!([
            400,
            "BadDigest",
            "The SHA256 you specified did not match the calculated checksum."
        ])
    );
    assert_eq!(
        out["missing_part_sum"],
        json!([
            400,
            "InvalidRequest",
            "The upload was created using a sha256 checksum. The complete request must include \
             the checksum for each part. It was missing for part 1 in the request."
        ])
    );
    assert_eq!(
        out["wrong_part_sum"].as_array().unwrap()[..2],
        [json!(400), json!("InvalidPart")]
    );
    assert_eq!(
        out["wrong_type"].as_array().unwrap()[..2],
        [json!(400), json!("InvalidRequest")]
    );
    assert_eq!(
        out["other_alg_part"].as_array().unwrap()[..2],
        [json!(400), json!("InvalidRequest")]
    );
    assert_eq!(
        out["bad_part"].as_array().unwrap()[..2],
        [json!(400), json!("BadDigest")]
    );
    assert_eq!(
        out["after_refusals"],
        json!("uWBwpe1dxI4Vw8Gf0X9ynOdw/SS6VBzfWm9giiv1sf4=-3")
    );
    assert_eq!(
        out["sha_full"].as_array().unwrap()[..2],
        [json!(400), json!("InvalidRequest")]
    );
    assert_eq!(
        out["plain_listed_sum"].as_array().unwrap()[..2],
        [json!(400), json!("InvalidPart")]
    );
    // s3-tests' full-object CRC64NVME of the three parts.
    assert_eq!(out["plain"], json!(["i+6LR0y3eFo=", "FULL_OBJECT"]));
}

/// `python3 -c COMPOSITE_CRC32 FILE SIZE…`: S3's composite CRC32 of FILE
/// cut into parts of those sizes, by zlib.
const COMPOSITE_CRC32: &str = r#"
import base64, sys, zlib
data = open(sys.argv[1], "rb").read()
sums, at = b"", 0
for size in map(int, sys.argv[2:]):
    sums += zlib.crc32(data[at:at + size]).to_bytes(4, "big")
    at += size
assert at == len(data)
print(base64.b64encode(zlib.crc32(sums).to_bytes(4, "big")).decode() + "-" + str(len(sys.argv) - 2))
"#;

#[test]
fn aws_cli_puts_with_a_checksum_and_copies_a_large_file_both_ways() {
    let test = "aws_cli_puts_with_a_checksum_and_copies_a_large_file_both_ways";
    if !have_program(test, "aws") || !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let small = dir.path().join("small.bin");
    std::fs::write(&small, support::random_bytes(100_000, 3)).unwrap();
    let expected_sha256 = python(
        "import base64,hashlib,sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1],'rb').read()).digest()).decode())",
        &[small.to_str().unwrap()],
    );
    aws_ok(&serve, &["s3", "mb", "s3://cli-sums"]);
    let put = aws_ok(
        &serve,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "cli-sums",
            "--key",
            "small",
            "--body",
            small.to_str().unwrap(),
            "--checksum-algorithm",
            "SHA256",
        ],
    );
    let put: Value = serde_json::from_str(&put).unwrap();
    assert_eq!(put["ChecksumSHA256"], json!(expected_sha256.trim()));
    let head = aws_ok(
        &serve,
        &[
            "s3api",
            "head-object",
            "--bucket",
            "cli-sums",
            "--key",
            "small",
            "--checksum-mode",
            "ENABLED",
        ],
    );
    let head: Value = serde_json::from_str(&head).unwrap();
    assert_eq!(head["ChecksumSHA256"], json!(expected_sha256.trim()));
    assert_eq!(head["ChecksumType"], json!("FULL_OBJECT"));

    // `aws s3 cp` of 20 MiB: a multipart upload with the CLI's default
    // checksums, and a download that validates what it gets.
    let large = dir.path().join("large.bin");
    let data = support::random_bytes(20 * 1024 * 1024 + 5, 9);
    std::fs::write(&large, &data).unwrap();
    aws_ok(
        &serve,
        &["s3", "cp", large.to_str().unwrap(), "s3://cli-sums/large"],
    );
    let back = dir.path().join("back.bin");
    aws_ok(
        &serve,
        &["s3", "cp", "s3://cli-sums/large", back.to_str().unwrap()],
    );
    assert!(std::fs::read(&back).unwrap() == data);
    let head = aws_ok(
        &serve,
        &[
            "s3api",
            "head-object",
            "--bucket",
            "cli-sums",
            "--key",
            "large",
            "--checksum-mode",
            "ENABLED",
        ],
    );
    let head: Value = serde_json::from_str(&head).unwrap();
    // The CLI asks for CRC32 (composite, for a multipart upload): its
    // value is zlib's CRC32 over the parts' CRC32s, the parts cut where
    // GetObjectAttributes says they are.
    assert_eq!(head["ChecksumType"], json!("COMPOSITE"), "{head}");
    let attrs = aws_ok(
        &serve,
        &[
            "s3api",
            "get-object-attributes",
            "--bucket",
            "cli-sums",
            "--key",
            "large",
            "--object-attributes",
            "ObjectParts",
        ],
    );
    let attrs: Value = serde_json::from_str(&attrs).unwrap();
    let sizes: Vec<String> = attrs["ObjectParts"]["Parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Size"].to_string())
        .collect();
    assert!(sizes.len() > 1, "{attrs}");
    let expected = python(
        COMPOSITE_CRC32,
        &[
            &[large.to_str().unwrap()],
            &sizes.iter().map(String::as_str).collect::<Vec<_>>()[..],
        ]
        .concat(),
    );
    assert_eq!(head["ChecksumCRC32"], json!(expected.trim()));
}
