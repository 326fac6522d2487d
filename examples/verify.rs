//! `verify`: check data against a `.torrent`.
//!
//! ```text
//! cargo run --release --example verify -- FILE.torrent DATA
//! ```
//!
//! Exits 0 when every piece matches; otherwise prints the bad piece indexes
//! and exits 1. Unreadable or malformed input exits 2.
//!
//! v1 torrents are checked with their SHA-1 `pieces`; v2-only torrents with
//! their SHA-256 merkle trees, each piece against its hash in `piece layers`
//! (a file of one piece against its `pieces root`). A single-file hybrid
//! torrent is checked both ways in one pass (its v1 and v2 pieces cover the
//! same bytes, so a piece is bad if either hash disagrees); a hybrid torrent
//! of several files with its SHA-1 `pieces`. For a torrent of several files,
//! DATA is the files one after the other (for a v1 or hybrid torrent, with
//! its pad files).

mod common;

use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use s3torrent_metainfo::{HashOptions, Torrent, verify_source};

const USAGE: &str = "usage: verify FILE.torrent DATA";

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(msg) => common::fail(msg),
    }
}

fn run() -> Result<bool, String> {
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            lexopt::Arg::Value(v) if paths.len() < 2 => paths.push(v.into()),
            lexopt::Arg::Long("help") | lexopt::Arg::Short('h') => {
                println!("{USAGE}");
                return Ok(true);
            }
            _ => return Err(format!("{}\n{USAGE}", arg.unexpected())),
        }
    }
    let [torrent_path, data_path] = <[PathBuf; 2]>::try_from(paths)
        .map_err(|_| format!("FILE.torrent and DATA are required\n{USAGE}"))?;
    let bytes =
        std::fs::read(&torrent_path).map_err(|e| format!("{}: {e}", torrent_path.display()))?;
    let torrent =
        Torrent::from_bytes(bytes).map_err(|e| format!("{}: {e}", torrent_path.display()))?;
    let data = File::open(&data_path).map_err(|e| format!("{}: {e}", data_path.display()))?;
    let data_length = data
        .metadata()
        .map_err(|e| format!("{}: {e}", data_path.display()))?
        .len();

    let bar = common::progress_bar(data_length.min(torrent.info().length()), "verifying");
    let result = verify_source(
        torrent.info(),
        &data,
        data_length,
        &HashOptions::new(),
        &|done| bar.set_position(done),
    )
    .map_err(|e| format!("{}: {e}", data_path.display()))?;
    bar.finish_and_clear();

    if result.data_length() != result.expected_length() {
        println!(
            "length: {} bytes, but the torrent describes {}",
            result.data_length(),
            result.expected_length()
        );
    }
    if !result.bad_pieces().is_empty() {
        let list: Vec<String> = result.bad_pieces().iter().map(u64::to_string).collect();
        println!("bad pieces: {}", list.join(" "));
    }
    Ok(result.is_ok())
}
