//! Issue 23: GetObject and HeadObject with `partNumber`, GetObjectAttributes,
//! and uploads sent with `Transfer-Encoding: chunked`, through unmodified
//! boto3 and curl. The expected answers are S3's (recorded AWS answers and
//! its documentation), written out here; sizes and bytes are the test's own.

use crate::support;

use std::process::{Command, Stdio};

use md5::{Digest, Md5};
use serde_json::{Value, json};
use support::serve::Serve;
use support::{have_program, have_python_module, python};

const MIB: u64 = 1024 * 1024;

/// boto3 drives the scenario: `python3 -c SCRIPT ENDPOINT PHASE`; phase
/// `write` makes the objects and reads them, `reread` (after a restart)
/// reads again what the first left.
const PARTS: &str = support::boto3_script!("clients/boto3_parts_write_reread.py");

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
const CHUNKED: &str = support::boto3_script!("clients/boto3_chunked_uploads.py");

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
