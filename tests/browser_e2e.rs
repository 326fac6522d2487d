//! Browsers join the swarm: three headless Chromium browsers open a public
//! object's console page with `#download` at once and download it with
//! WebTorrent (installed from npm into a temporary folder here, its browser
//! build served locally), over WebRTC between themselves, found through
//! `serve --ws-tracker-listen`, and from the web seed. Everything runs in a
//! network namespace with a veth pair (Chromium gathers no WebRTC
//! candidate on loopback alone), built, run and torn down by
//! `scripts/browserlab.py`.
//!
//! Checked: every page's `#sha256` is hashlib's SHA-256 of the bytes PUT;
//! the torrent lists the WebSocket tracker and a web seed; a private
//! object's page is the 404 page, with no download, and the WebSocket
//! tracker refuses its info-hash with a `failure reason`; the origin sent
//! less than twice the object as GetObject bodies (a page that does not
//! hold the web seed back makes it three times; the figure is printed and
//! recorded in BENCHMARKS.md, not asserted closer).
//!
//! Needs root (`ip netns`), chromium, npm, curl and boto3: without them it
//! says SKIPPED, and fails under `CI=true`.

use crate::support;

use std::process::Command;

use support::{announce, have_program, have_python_module};

const BROWSERLAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/browserlab.py");
/// The WebTorrent release the test was checked against.
const WEBTORRENT: &str = "webtorrent@2.8.5";

/// Whether a namespace can be made here; says SKIPPED (or, under
/// `CI=true`, fails) if not.
fn can_make_a_namespace(test: &str) -> bool {
    let out = Command::new("python3")
        .args([BROWSERLAB, "check"])
        .output()
        .expect("python3 runs");
    if out.status.success() {
        return true;
    }
    let line = format!(
        "SKIPPED {test}: no network namespace here (needs root and ip): {}",
        String::from_utf8_lossy(&out.stdout).trim()
    );
    if std::env::var_os("CI").is_some_and(|v| v == "true") {
        panic!("{line}; under CI=true that is a failure");
    }
    announce(&line);
    false
}

#[test]
fn three_browsers_download_a_public_object_and_share_it() {
    let _heavy = support::heavy();
    let test = "three_browsers_download_a_public_object_and_share_it";
    if !have_program(test, "chromium")
        || !have_program(test, "npm")
        || !have_program(test, "curl")
        || !have_python_module(test, "boto3")
        || !can_make_a_namespace(test)
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let npm = Command::new("npm")
        .args([
            "install",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
            dir.path().to_str().unwrap(),
            WEBTORRENT,
        ])
        .output()
        .expect("npm runs");
    assert!(
        npm.status.success(),
        "npm install {WEBTORRENT}: {}",
        String::from_utf8_lossy(&npm.stderr)
    );
    let dist = dir.path().join("node_modules/webtorrent/dist");
    assert!(dist.join("webtorrent.min.js").is_file(), "no browser build");
    let out = Command::new("python3")
        .args([
            BROWSERLAB,
            "run",
            "--bin",
            env!("CARGO_BIN_EXE_s3torrent"),
            "--webtorrent",
            dist.to_str().unwrap(),
            "--browsers",
            "3",
            "--size-mib",
            "32",
            "--deadline",
            "45",
        ])
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "browserlab.py failed: {stderr}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("browserlab.py printed no JSON ({e}): {stderr}"));
    eprintln!("{result}");
    let expected = result["sha256"].as_str().expect("hashlib's SHA-256");
    assert_eq!(expected.len(), 64);
    let run = &result["runs"][0];
    assert_eq!(run["torrent_lists_ws_tracker"], true, "{run}");
    assert_eq!(run["torrent_has_url_list"], true, "{run}");
    assert_eq!(run["private_page"], "404", "{run}");
    let refusal = run["private_announce"]["failure reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        refusal.contains("refused: not served"),
        "the private info-hash was not refused: {run}"
    );
    let pages = run["pages"].as_array().expect("pages");
    assert_eq!(pages.len(), 3);
    for (i, page) in pages.iter().enumerate() {
        assert_eq!(
            page["sha256"].as_str(),
            Some(expected),
            "page {i} did not finish with the object's bytes: {run}"
        );
    }
    let origin_x = run["origin_x"].as_f64().expect("origin_x");
    eprintln!(
        "three browsers: {:.2}x the object from the origin, all done in {} s",
        origin_x, run["seconds_all"]
    );
    assert!(
        (1.0..2.0).contains(&origin_x),
        "the origin sent {origin_x}x the object to three browsers: {run}"
    );
}
