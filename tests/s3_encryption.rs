//! Issue 23: server-side encryption (SSE-S3, SSE-KMS with serve's local key
//! ring, SSE-C) through unmodified boto3, the bytes on disk enciphered, and
//! the torrent side: python libtorrent downloads an SSE-S3 object's exact
//! plaintext from the seeding peer, while an SSE-C object gets no torrent
//! (S3's rule) and an SSE-KMS one neither (S3 deciphers it for signed
//! requests only, and the swarm serves the anonymous).
//!
//! Every expected value comes from outside the server: the plaintexts the
//! scripts send, the MD5s Python computes, S3's documented error codes.

use crate::support;

use std::path::Path;

use serde_json::{Value, json};
use support::serve::{Serve, request};
use support::swarm::{libtorrent_downloads, torrent_of};
use support::{have_python_module, python, random_bytes, write};

const ROUND_TRIPS: &str = support::boto3_script!("clients/boto3_encryption.py");
const PUBLISH: &str = support::boto3_script!("clients/boto3_encryption_publish.py");

/// The marker the round-trip script's plaintext repeats.
const MARK: &[u8] = b"s3torrent-plaintext-marker.";

/// A KMS key `id` in the key ring of the store at `root` (before serve
/// starts).
fn kms_key(root: &Path, id: &str, byte: u8) {
    let ring = root.join(".s3torrent").join("kms");
    std::fs::create_dir_all(&ring).unwrap();
    let hex: String = std::iter::repeat_n(format!("{byte:02x}"), 32).collect();
    std::fs::write(ring.join(id), format!("{hex}\n")).unwrap();
}

/// Every file under `dir` whose bytes hold `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .unwrap_or_default()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn boto3_sse_s3_kms_and_c_round_trip_and_are_enciphered_at_rest() {
    let test = "boto3_sse_s3_kms_and_c_round_trip_and_are_enciphered_at_rest";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    kms_key(&root, "k1", 0x5a);
    let serve = Serve::start(&root, &["--allow-sse-c-over-http"]);
    let out: Value =
        serde_json::from_str(python(ROUND_TRIPS, &[&serve.endpoint()]).trim()).unwrap();
    let bad = |code: &str| json!([400, code]);
    assert_eq!(out["s3_put"], json!(["AES256", true]));
    assert_eq!(out["s3_get"], json!(["AES256", true]));
    assert_eq!(out["s3_head"], json!("AES256"));
    assert_eq!(out["s3_ranges"], json!(true));
    assert_eq!(out["kms_put"], json!(["aws:kms", "k1", true]));
    assert_eq!(out["kms_get"], json!(["aws:kms", "k1", true]));
    assert_eq!(out["kms_unknown"], bad("KMS.NotFoundException"));
    assert_eq!(out["kms_no_id"], bad("InvalidArgument"));
    assert_eq!(out["bad_algorithm"], bad("InvalidArgument"));
    assert_eq!(out["both"], bad("InvalidArgument"));
    assert_eq!(out["c_put"], json!(["AES256", true, true]));
    assert_eq!(out["c_get_none"], bad("InvalidRequest"));
    // A HEAD's error has no body: only its status.
    assert_eq!(out["c_head_none"][0], json!(400));
    assert_eq!(out["c_get_other"], bad("InvalidRequest"));
    assert_eq!(out["c_get"], json!(["AES256", true]));
    assert_eq!(out["c_head"], json!(true));
    assert_eq!(out["c_ranges"], json!(true));
    assert_eq!(out["c_bad_md5"], bad("InvalidArgument"));
    assert_eq!(out["c_key_on_plain"], bad("InvalidRequest"));
    assert_eq!(out["get_with_sse_header"], bad("InvalidArgument"));
    assert_eq!(out["copy_no_source_key"], bad("InvalidRequest"));
    assert_eq!(out["copy_c_to_s3"], json!(["AES256", "AES256", true]));
    assert_eq!(out["copy_kms_to_c"], json!([bad("InvalidRequest"), true]));
    assert_eq!(out["mp_create"], json!(true));
    // An SSE-C part's ETag is not its plaintext's MD5 either.
    assert_eq!(out["mp_part_etag_opaque"], json!(true));
    assert_eq!(out["mp_part_no_key"], bad("InvalidRequest"));
    assert_eq!(out["mp_part_other_key"], bad("InvalidRequest"));
    assert_eq!(out["mp_complete_no_key"], bad("InvalidRequest"));
    assert_eq!(out["mp_get"], json!([true, true, bad("InvalidRequest")]));
    assert_eq!(
        out["default_none"],
        bad("ServerSideEncryptionConfigurationNotFoundError")
    );
    assert_eq!(
        out["default_rule"],
        json!({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "k1"})
    );
    assert_eq!(out["default_put"], json!(["aws:kms", "k1"]));
    assert_eq!(
        out["default_deleted"],
        bad("ServerSideEncryptionConfigurationNotFoundError")
    );
    assert_eq!(out["default_after"], json!(null));
    drop(serve);
    // At rest: of everything under the root (data files, the database,
    // parts, temp files), only the plain control object's file holds the
    // plaintext; the encrypted objects' files do not, and the SSE-C key is
    // nowhere.
    let holding = files_holding(&root, MARK);
    assert_eq!(holding.len(), 1, "{holding:?}");
    let customer_key: Vec<u8> = (0u8..32).collect();
    assert!(files_holding(&root, &customer_key).is_empty());
    // The SSE-S3 key was made in the store's own folder, readable by its
    // owner only.
    let made = root.join(".s3torrent").join("sse-s3.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&made).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn sse_c_is_refused_over_plain_http_unless_allowed() {
    let test = "sse_c_is_refused_over_plain_http_unless_allowed";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), &[]);
    let script = ROUND_TRIPS
        .split("\n# The round trips.\n")
        .next()
        .unwrap()
        .to_owned()
        + "\ns3.create_bucket(Bucket=\"enc\")\n\
           print(json.dumps(err(lambda: s3.put_object(Bucket=\"enc\", Key=\"c\", Body=b\"c\", **A))))\n";
    let out: Value = serde_json::from_str(python(&script, &[&serve.endpoint()]).trim()).unwrap();
    // S3's refusal of SSE-C over plain HTTP.
    assert_eq!(out, json!([400, "InvalidRequest"]));
}

#[test]
fn libtorrent_downloads_an_sse_s3_object_and_sse_c_and_kms_get_no_torrent() {
    let _heavy = support::heavy();
    let test = "libtorrent_downloads_an_sse_s3_object_and_sse_c_and_kms_get_no_torrent";
    if !have_python_module(test, "boto3") || !have_python_module(test, "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    kms_key(&root, "k1", 0xa5);
    let serve = Serve::start(
        &root,
        &[
            "--seeding",
            "peer",
            "--tracker-listen",
            "127.0.0.1:0",
            "--peer-listen",
            "127.0.0.1:0",
            "--allow-sse-c-over-http",
        ],
    );
    // 9 pieces of 256 KiB and a short last one.
    let data = random_bytes(9 * 262_144 + 777, 23);
    let file = write(dir.path(), "upload.bin", &data);
    let out = python(PUBLISH, &[&serve.endpoint(), file.to_str().unwrap()]);
    assert_eq!(out.trim(), r#"{"ok": true}"#);
    // The SSE-S3 object: anonymously readable, so torrentable; its pieces
    // are the plaintext's, and the peer serves the plaintext.
    let body = torrent_of(&serve, "s3.bin");
    let torrent_path = write(dir.path(), "s3.torrent", &body);
    libtorrent_downloads(&torrent_path, &dir.path().join("lt"), 60, "s3.bin", &data);
    // SSE-C: no torrent (S3's GetObjectTorrent says so), even public.
    let c = request(&serve.addr, "GET", "/pub/c.bin?torrent", &[]);
    assert_eq!((c.status, c.code()), (400, "InvalidRequest".to_owned()));
    // SSE-KMS: S3 deciphers it for signed requests only, so an anonymous
    // GET is refused, and the swarm (which serves the anonymous) has none.
    let k = request(&serve.addr, "GET", "/pub/kms.bin?torrent", &[]);
    assert_eq!((k.status, k.code()), (400, "InvalidArgument".to_owned()));
    let g = request(&serve.addr, "GET", "/pub/kms.bin", &[]);
    assert_eq!((g.status, g.code()), (400, "InvalidArgument".to_owned()));
}
