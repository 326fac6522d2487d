//! The store through unmodified boto3, end to end against the `s3torrent`
//! binary: `download_file` (ranged GETs, each pinned to the first one's
//! ETag with `If-Match`) while another client overwrites the key never
//! yields a file mixing two versions; object headers round-trip through
//! PutObject and a multipart `upload_file`.

mod support;

use support::serve::Serve;
use support::{have_python_module, python};

const DOWNLOADS: &str = r#"
import hashlib, os, sys, threading, warnings
warnings.simplefilter("ignore")
import boto3
from boto3.s3.transfer import TransferConfig
from s3transfer.exceptions import S3DownloadFailedError
addr, work = sys.argv[1], sys.argv[2]
def client():
    return boto3.client("s3", endpoint_url=addr, aws_access_key_id="s3torrent",
                        aws_secret_access_key="s3torrent-dev-secret", region_name="us-east-1")
s3 = client()
s3.create_bucket(Bucket="race")
size = 3 * 1024 * 1024
versions = [bytes([i]) * size for i in range(1, 4)]
versions = [v[: size - i * 4096] for i, v in enumerate(versions)]
digests = {hashlib.md5(v).hexdigest() for v in versions}
s3.put_object(Bucket="race", Key="k", Body=versions[0])
stop = threading.Event()
writes = [0]
def writer():
    w = client()
    n = 0
    while not stop.is_set():
        n += 1
        w.put_object(Bucket="race", Key="k", Body=versions[n % len(versions)])
        writes[0] += 1
t = threading.Thread(target=writer, daemon=True)
t.start()
config = TransferConfig(multipart_threshold=1024 * 1024, multipart_chunksize=1024 * 1024,
                        max_concurrency=4)
whole, refused, mixed = 0, 0, 0
i = 0
while (i < 30 or writes[0] < 10) and i < 400:
    i += 1
    path = os.path.join(work, f"d{i}")
    try:
        s3.download_file("race", "k", path, Config=config)
    except S3DownloadFailedError as e:
        # A part's If-Match failed: the object changed under the download.
        assert "did not match expected ETag" in str(e), e
        refused += 1
        continue
    except BaseException:
        stop.set()
        raise
    with open(path, "rb") as f:
        got = hashlib.md5(f.read()).hexdigest()
    if got in digests:
        whole += 1
    else:
        mixed += 1
    os.remove(path)
stop.set()
t.join()
print(f"{whole} {refused} {mixed} {writes[0]}")
"#;

#[test]
fn boto3_download_file_never_mixes_versions() {
    let test = "boto3_download_file_never_mixes_versions";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("root"), &[]);
    let out = python(
        DOWNLOADS,
        &[&serve.endpoint(), dir.path().to_str().unwrap()],
    );
    let n: Vec<u32> = out.split_whitespace().map(|w| w.parse().unwrap()).collect();
    let (whole, refused, mixed, writes) = (n[0], n[1], n[2], n[3]);
    assert_eq!(
        mixed, 0,
        "{mixed} mixed files ({whole} whole, {refused} refused)"
    );
    assert!(whole > 0, "no download finished ({refused} refused)");
    assert!(writes >= 10, "the writer wrote only {writes} times");
    eprintln!("{whole} whole, {refused} refused with 412, {writes} overwrites");
}

const HEADERS: &str = r#"
import json, os, sys, warnings, datetime
warnings.simplefilter("ignore")
import boto3
from boto3.s3.transfer import TransferConfig
addr, work = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=addr, aws_access_key_id="s3torrent",
                  aws_secret_access_key="s3torrent-dev-secret", region_name="us-east-1")
s3.create_bucket(Bucket="meta")
extra = dict(Metadata={"color": "blue", "n": "42"}, CacheControl="no-cache",
             ContentDisposition='attachment; filename="x.bin"', ContentEncoding="identity",
             ContentLanguage="de", Expires=datetime.datetime(2031, 5, 6, 7, 8, 9))
s3.put_object(Bucket="meta", Key="small", Body=b"small", **extra)
path = os.path.join(work, "big.bin")
with open(path, "wb") as f:
    f.write(os.urandom(12 * 1024 * 1024))
s3.upload_file(path, "meta", "big", ExtraArgs=extra,
               Config=TransferConfig(multipart_threshold=5 * 1024 * 1024,
                                     multipart_chunksize=5 * 1024 * 1024))
s3.put_object(Bucket="meta", Key="plain", Body=b"plain")
out = {}
for key in ["small", "big", "plain"]:
    h = s3.head_object(Bucket="meta", Key=key)
    g = s3.get_object(Bucket="meta", Key=key)
    assert g["Metadata"] == h["Metadata"], (g["Metadata"], h["Metadata"])
    out[key] = {"metadata": h["Metadata"], "type": h.get("ContentType"),
                "cache": h.get("CacheControl"), "disposition": h.get("ContentDisposition"),
                "encoding": h.get("ContentEncoding"), "language": h.get("ContentLanguage"),
                "expires": h["Expires"].isoformat() if h.get("Expires") else None,
                "etag_parts": h["ETag"].strip('"').partition("-")[2]}
print(json.dumps(out))
"#;

#[test]
fn boto3_object_headers_round_trip() {
    let test = "boto3_object_headers_round_trip";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("root"), &[]);
    let out = python(HEADERS, &[&serve.endpoint(), dir.path().to_str().unwrap()]);
    let got: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let with = serde_json::json!({
        "metadata": {"color": "blue", "n": "42"},
        "type": "binary/octet-stream",
        "cache": "no-cache",
        "disposition": "attachment; filename=\"x.bin\"",
        "encoding": "identity",
        "language": "de",
        "expires": "2031-05-06T07:08:09+00:00",
    });
    for key in ["small", "big"] {
        let mut g = got[key].clone();
        let parts = g["etag_parts"].take();
        assert_eq!(
            g,
            {
                let mut w = with.clone();
                w["etag_parts"] = serde_json::Value::Null;
                w
            },
            "{key}"
        );
        assert_eq!(parts, if key == "big" { "3" } else { "" }, "{key}");
    }
    assert_eq!(got["plain"]["metadata"], serde_json::json!({}));
    assert_eq!(got["plain"]["type"], "binary/octet-stream");
    assert_eq!(got["plain"]["cache"], serde_json::Value::Null);
}
