//! The store through unmodified boto3, end to end against the `s3torrent`
//! binary: `download_file` (ranged GETs, each pinned to the first one's
//! ETag with `If-Match`) while another client overwrites the key never
//! yields a file mixing two versions; object headers round-trip through
//! PutObject and a multipart `upload_file`.

use crate::support;

use support::serve::Serve;
use support::{have_python_module, python};

const DOWNLOADS: &str = include_str!("clients/boto3_download_while_overwritten.py");

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

const HEADERS: &str = include_str!("clients/boto3_object_headers.py");

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
