//! The console (`/_s3torrent/`) in a real browser: headless Chromium
//! loads its pages from `serve` (`--dump-dom` for the DOM checks,
//! `--screenshot` of the object page into the test's temp dir), and the
//! pages follow S3's permissions for an anonymous requester: a public
//! object's page has its magnet link (its QR code decoding to the same link
//! with zbarimg), its `.torrent` link (which downloads its torrent) and the
//! swarm three libtorrent clients made; a private, deleted or
//! requester-pays object's page is 404; a public object in a bucket that
//! is not anonymously listable has its page but is on no bucket page; a key
//! with HTML's metacharacters is shown escaped, making no element.
//!
//! Loopback only; every wait is bounded. Chromium runs with a fresh
//! profile and without the network services it would otherwise call.

use crate::support;

use std::path::Path;
use std::process::Command;

use s3torrent_metainfo::Torrent;
use support::metered::{Metered, swarm_download};
use support::serve::{DEV, request};
use support::{have_program, have_python_module, python, random_bytes, write};

/// boto3 as the development user: `python3 -c SETUP ENDPOINT ACCESS SECRET
/// STEP…`, each step `OP:ARGS` joined by `|`. Prints `ok`.
const SETUP: &str = include_str!("clients/boto3_console_setup.py");

/// A key with HTML's metacharacters: unescaped, it would make a `<b>`.
const HOSTILE: &str = "x<b>bold</b>&\"q\" 'é'.bin";

/// Headless Chromium, as this machine allows it (no sandbox, GPU, QUIC or
/// background network), with a fresh profile under `dir`, for at most
/// 60 s: its stdout.
fn chromium(dir: &Path, args: &[&str]) -> String {
    let profile = tempfile::tempdir_in(dir).unwrap();
    let out = Command::new("timeout")
        .args([
            "60",
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The DOM Chromium builds from `url`, serialized.
fn dom(dir: &Path, url: &str) -> String {
    chromium(dir, &["--dump-dom", url])
}

/// The value of attribute `name` of the element with `id` in a serialized
/// DOM (which writes `&` in attribute values as `&amp;`), decoded.
fn attribute(dom: &str, id: &str, name: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let start = dom[..at].rfind('<')?;
    let end = at + dom[at..].find('>')?;
    let tag = &dom[start..end];
    let from = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let value = &tag[from..from + tag[from..].find('"')?];
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The text of the element with `id` (no child elements), decoded.
fn text(dom: &str, id: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let from = at + dom[at..].find('>')? + 1;
    let value = &dom[from..from + dom[from..].find('<')?];
    Some(
        value
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&nbsp;", "\u{a0}")
            .replace("&amp;", "&"),
    )
}

/// Every byte but unreserved ones as `%XX`, as the console's links write a
/// key.
fn encode(text: &str) -> String {
    support::metered::query_encode(text)
}

#[test]
fn the_console_shows_what_s3_shows_anyone() {
    let _heavy = support::heavy();
    let test = "the_console_shows_what_s3_shows_anyone";
    if !have_program(test, "chromium")
        || !have_program(test, "zbarimg")
        || !have_python_module(test, "boto3")
        || !have_python_module(test, "libtorrent")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Metered::start(
        &dir.path().join("root"),
        &["--ration-above", "0", "--seed-rate", "4000000"],
    );
    let base = format!("http://{}", serve.addr);

    let size = 4 * 1024 * 1024 + 999;
    let data = random_bytes(size, 25);
    let file = write(dir.path(), "upload.bin", &data);
    let file = file.to_str().unwrap();
    let small = write(dir.path(), "small.bin", b"a small public object");
    let small = small.to_str().unwrap();
    let (ak, sk, _) = DEV;
    let steps = [
        "mb|open|public-read".to_owned(),
        "mb|closed|private".to_owned(),
        "mb|payer|public-read".to_owned(),
        format!("put|open|shared.bin|{file}|public-read"),
        format!("put|open|{HOSTILE}|{small}|public-read"),
        format!("put|open|private.bin|{small}|private"),
        format!("put|open|gone.bin|{small}|public-read"),
        "rm|open|gone.bin".to_owned(),
        format!("put|closed|public-in-closed.bin|{small}|public-read"),
        format!("put|payer|charged.bin|{small}|public-read"),
        "payer|payer".to_owned(),
    ];
    let mut args = vec![base.as_str(), ak, sk];
    args.extend(steps.iter().map(String::as_str));
    assert_eq!(python(SETUP, &args).trim(), "ok");

    // A swarm of three downloads the shared object.
    let t = request(&serve.addr, "GET", "/open/shared.bin?torrent", &[]);
    assert_eq!(t.status, 200, "{}", t.text());
    let torrent = Torrent::from_bytes(t.body.clone()).expect("a torrent");
    let info_hash = torrent.info_hash().to_hex();
    let path = write(dir.path(), "shared.torrent", &t.body);
    let out = swarm_download(&path, &dir.path().join("clients"), 3, 120);
    assert_eq!(out["done"], true, "{out}");

    // The index lists the listable bucket only.
    let index = dom(dir.path(), &format!("{base}/_s3torrent/"));
    assert!(index.contains("href=\"/_s3torrent/b/open/\""), "{index}");
    for hidden in ["closed", "payer\""] {
        assert!(
            !index.contains(&format!("/_s3torrent/b/{hidden}")),
            "{index}"
        );
    }

    // The listable bucket lists its public objects only, the hostile key
    // escaped.
    let open = dom(dir.path(), &format!("{base}/_s3torrent/b/open/"));
    assert!(
        open.contains("href=\"/_s3torrent/b/open/shared.bin\""),
        "{open}"
    );
    assert!(
        open.contains(&format!("href=\"/_s3torrent/b/open/{}\"", encode(HOSTILE))),
        "{open}"
    );
    assert!(!open.contains("<b>"), "the key made an element: {open}");
    for absent in ["private.bin", "gone.bin"] {
        assert!(!open.contains(absent), "{absent} listed: {open}");
    }

    // A bucket not anonymously listable lists nothing, not even its public
    // object, whose own page is there.
    let closed = request(&serve.addr, "GET", "/_s3torrent/b/closed/", &[]);
    assert_eq!(closed.status, 404, "{}", closed.text());
    let closed = dom(dir.path(), &format!("{base}/_s3torrent/b/closed/"));
    assert!(!closed.contains("public-in-closed"), "{closed}");
    let reachable = request(
        &serve.addr,
        "GET",
        "/_s3torrent/b/closed/public-in-closed.bin",
        &[],
    );
    assert_eq!(reachable.status, 200, "{}", reachable.text());
    let page = dom(
        dir.path(),
        &format!("{base}/_s3torrent/b/closed/public-in-closed.bin"),
    );
    assert!(
        attribute(&page, "magnet", "href").is_some_and(|m| m.starts_with("magnet:?xt=urn:btih:")),
        "{page}"
    );

    // Private, deleted, requester-pays, missing: the same 404.
    for path in [
        "/_s3torrent/b/open/private.bin",
        "/_s3torrent/b/open/gone.bin",
        "/_s3torrent/b/payer/charged.bin",
        "/_s3torrent/b/open/never.bin",
        "/_s3torrent/b/nosuchbucket/x",
    ] {
        let r = request(&serve.addr, "GET", path, &[]);
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert!(!r.text().contains("magnet:"), "{path}");
        let d = dom(dir.path(), &format!("{base}{path}"));
        assert!(d.contains("<h1>Not found</h1>"), "{path}: {d}");
    }

    // The hostile key's page: its name is text, not markup.
    let hostile = dom(
        dir.path(),
        &format!("{base}/_s3torrent/b/open/{}", encode(HOSTILE)),
    );
    assert_eq!(text(&hostile, "key").as_deref(), Some(HOSTILE), "{hostile}");
    assert!(
        !hostile.contains("<b>"),
        "the key made an element: {hostile}"
    );
    assert!(
        hostile.contains(&format!(
            "<title>{}",
            HOSTILE
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        )),
        "{hostile}"
    );

    // The shared object's page: links, QR code, swarm; and a screenshot.
    let url = format!("{base}/_s3torrent/b/open/shared.bin");
    let shared = dom(dir.path(), &url);
    let magnet = attribute(&shared, "magnet", "href").expect("a magnet link");
    assert!(
        magnet.starts_with(&format!("magnet:?xt=urn:btih:{info_hash}&dn=shared.bin")),
        "{magnet}"
    );
    assert!(magnet.contains("&tr=http%3A%2F%2F127.0.0.1%3A"), "{magnet}");
    let xs = format!("&xs={}", encode(&format!("{base}/open/shared.bin?torrent")));
    assert!(magnet.contains(&xs), "{magnet} lacks {xs}");
    let link = attribute(&shared, "torrent", "href").expect("a torrent link");
    let fetched = request(&serve.addr, "GET", &link, &[]);
    assert_eq!(fetched.status, 200, "{link}");
    assert_eq!(fetched.body, t.body, "{link} is another torrent");
    assert!(shared.contains("<svg class=\"qr\""), "{shared}");
    assert_eq!(
        text(&shared, "info-hash").as_deref(),
        Some(info_hash.as_str())
    );
    assert!(
        text(&shared, "size").is_some_and(|s| s.contains(&format!("({size} bytes)"))),
        "{shared}"
    );
    // Three clients reported the object each; the origin sent it about once.
    let saved = text(&shared, "saved").unwrap_or_default();
    assert!(!saved.starts_with("0 "), "nothing saved: {shared}");
    assert_eq!(text(&shared, "completed").as_deref(), Some("3"), "{shared}");
    assert!(shared.contains("<svg class=\"chart\""), "{shared}");

    let shot = dir.path().join("shared.png");
    chromium(
        dir.path(),
        &[
            "--window-size=1000,1300",
            &format!("--screenshot={}", shot.display()),
            &url,
        ],
    );
    assert!(std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000));
    if let Ok(keep) = std::env::var("S3TORRENT_CONSOLE_SHOT") {
        let _ = std::fs::copy(&shot, keep);
    }
    // The QR code on the screen is the magnet link.
    let zbar = Command::new("timeout")
        .args(["30", "zbarimg", "--raw", "-q"])
        .arg(&shot)
        .output()
        .expect("zbarimg runs");
    let decoded = String::from_utf8_lossy(&zbar.stdout);
    assert_eq!(decoded.trim(), magnet, "zbarimg: {zbar:?}");
}
