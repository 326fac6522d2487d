//! `info-hash`: hash a file on every core and print its torrent's info-hash
//! and magnet link, through the library.
//!
//! ```text
//! cargo run --release --example info-hash -- FILE [v1|v2|hybrid]
//! ```

use std::fs::File;
use std::process::ExitCode;

use s3torrent::metainfo::{HashOptions, PieceLength, TorrentBuilder, TorrentVersion, hash_source};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(path), version) = (args.next(), args.next()) else {
        eprintln!("usage: info-hash FILE [v1|v2|hybrid]");
        return ExitCode::from(2);
    };
    match run(&path, version.as_deref().unwrap_or("v1")) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {path}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &str, version: &str) -> Result<(), Box<dyn std::error::Error>> {
    let version: TorrentVersion = version.parse()?;
    let file = File::open(path)?;
    let length = file.metadata()?.len();
    // Any `ReadAt` will do: a file, a byte slice, an object store's reader.
    let hashes = hash_source(
        &file,
        length,
        PieceLength::auto(length),
        version,
        &HashOptions::new(),
        &|_done| {},
    )?;
    let name = std::path::Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("data");
    let torrent = TorrentBuilder::plain(name)
        .version(version)
        .build(&hashes)?;
    println!("info-hash: {}", torrent.info_hash());
    if let Some(v2) = torrent.info_hash_v2() {
        println!("info-hash v2: {v2}");
    }
    println!("magnet: {}", torrent.magnet());
    Ok(())
}
