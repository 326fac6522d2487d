//! Issue 23: additional checksums (`x-amz-checksum-*`) through unmodified
//! boto3 and the AWS CLI: sent in headers and in `aws-chunked` trailers,
//! checked (`BadDigest`, nothing stored), kept, and given back by GET and
//! HEAD with `x-amz-checksum-mode: ENABLED` and by GetObjectAttributes.
//!
//! Every expected value comes from outside the server: Python's `zlib` and
//! `hashlib`, a bitwise CRC32C and CRC64NVME written in the script (checked
//! first against the catalogued check values), what boto3 computes and
//! validates itself, and the values of Ceph's s3-tests.

use crate::support;

use serde_json::{Value, json};
use support::serve::{Serve, aws_ok};
use support::{have_program, have_python_module, python};

/// What the scripts share: clients, `err`, and the reference CRCs.
const COMMON: &str = support::boto3_script!("clients/boto3_checksums_prelude.py");

const SIMPLE: &str = include_str!("clients/boto3_checksums_single_part.py");

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
    // Unsupported algorithms: S3's InvalidRequest, naming what asked.
    let named = [
        "header x-amz-checksum-sha512",
        "header x-amz-checksum-md5",
        "value of x-amz-sdk-checksum-algorithm",
        "header x-amz-checksum-xxhash3",
    ];
    let mut refusals = out["unsupported"].as_array().unwrap().clone();
    refusals.push(out["unsupported_part"].clone());
    assert_eq!(refusals.len(), named.len());
    for (refusal, named) in refusals.iter().zip(named) {
        let r = refusal.as_array().unwrap();
        assert_eq!(r[..2], [json!(400), json!("InvalidRequest")], "{refusal}");
        let message = r[2].as_str().unwrap();
        assert!(
            message.contains(named) && message.contains("not supported"),
            "{message}"
        );
    }
    assert_eq!(out["unsupported_parts_kept"], json!(0));
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
    // A copy naming an unsupported algorithm: refused by name, no copy.
    let refusals = out["unsupported_copy"].as_array().unwrap();
    let named = ["SHA512", "xxhash3", "MD5", "garbage"];
    assert_eq!(refusals.len(), named.len());
    for (refusal, named) in refusals.iter().zip(named) {
        let r = refusal.as_array().expect("a refusal, not a copy");
        assert_eq!(r[..2], [json!(400), json!("InvalidRequest")], "{refusal}");
        let message = r[2].as_str().unwrap();
        assert!(
            message.contains(&format!("x-amz-checksum-algorithm value {named} "))
                && message.contains("not supported"),
            "{message}"
        );
    }
    assert_eq!(out["unsupported_copy_kept"][0], json!(404));
    // Refused uploads left nothing behind.
    let tmp = dir.path().join(".s3torrent").join("tmp");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
}

/// Ceph s3-tests' multipart checksums: three parts of 5 MiB of 'A', 'B'
/// and 'C', the parts' values and the object's, per algorithm and type.
const MULTIPART: &str = include_str!("clients/boto3_checksums_multipart.py");

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
const COMPOSITE_CRC32: &str = include_str!("clients/composite_crc32.py");

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
