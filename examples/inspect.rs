//! `inspect`: print what a `.torrent` holds.
//!
//! ```text
//! cargo run --release --example inspect -- FILE.torrent [--json]
//! ```
//!
//! v1, v2 (BEP 52) and hybrid torrents are read. `info-hash` is the v1
//! info-hash, or for a v2-only torrent the v2 one truncated to 20 bytes (what
//! v2 peers announce); v2 and hybrid torrents also show the whole SHA-256 v2
//! info-hash (`info_hash_v2` in `--json`, `null` for v1 torrents), and their
//! magnet links carry `urn:btmh` (a hybrid's both `urn:btih` and `urn:btmh`).
//!
//! Malformed or truncated input exits with code 2 and a one-line error that
//! names the byte offset or the field.

mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use s3torrent_metainfo::Torrent;

const USAGE: &str = "usage: inspect FILE.torrent [--json]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => common::fail(msg),
    }
}

fn run() -> Result<(), String> {
    use lexopt::prelude::*;
    let mut file: Option<PathBuf> = None;
    let mut json = false;
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("json") => json = true,
            Short('h') | Long("help") => {
                println!("{USAGE}");
                return Ok(());
            }
            Value(v) if file.is_none() => file = Some(v.into()),
            _ => return Err(format!("{}\n{USAGE}", arg.unexpected())),
        }
    }
    let path = file.ok_or(format!("FILE.torrent is required\n{USAGE}"))?;
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let t = Torrent::from_bytes(bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let info = t.info();
    if json {
        let doc = serde_json::json!({
            "info_hash": t.info_hash().to_hex(),
            "info_hash_v2": t.info_hash_v2().map(|h| h.to_hex()),
            "version": t.version().to_string(),
            "name": info.name(),
            "length": info.length(),
            "piece_length": info.piece_length(),
            "pieces": info.piece_count(),
            "trackers": t.trackers(),
            "web_seeds": t.web_seeds(),
            "magnet": t.magnet(),
        });
        println!("{doc}");
    } else {
        println!("name:         {}", info.name());
        println!("version:      {}", t.version());
        println!("length:       {}", info.length());
        println!("piece length: {}", info.piece_length());
        println!("pieces:       {}", info.piece_count());
        println!("info-hash:    {}", t.info_hash());
        if let Some(v2) = t.info_hash_v2() {
            println!("info-hash v2: {}", v2.to_hex());
        }
        for tracker in t.trackers() {
            println!("tracker:      {tracker}");
        }
        for seed in t.web_seeds() {
            println!("web seed:     {seed}");
        }
        println!("magnet:       {}", t.magnet());
    }
    Ok(())
}
