//! `make-torrent`: hash a file on all cores and write its `.torrent`.
//!
//! ```text
//! cargo run --release --example make-torrent -- FILE [-o OUT] [--piece-length BYTES|auto]
//!     [--tracker URL]... [--web-seed URL]... [--bucket B --key K] [--name NAME]
//!     [--private] [--source TEXT] [--comment TEXT] [--threads N] [--v2 | --hybrid]
//! ```
//!
//! `--bucket` with `--key` selects the AWS profile (piece length 262144 unless
//! given); otherwise the torrent is plain with an `auto` piece length. The
//! output is `OUT`, or `<name>.torrent`; `-o -` writes to stdout.
//!
//! The torrent is v1 (BEP 3) unless `--v2` (BEP 52: a `file tree` of SHA-256
//! merkle roots and `piece layers`) or `--hybrid` (the v1 and v2 keys in one
//! `info`, readable by v1 and v2 clients) is given; one pass over the file
//! computes every hash needed. v2 and hybrid torrents need a piece length
//! that is a power of two of at least 16384 bytes; `auto` and the AWS
//! profile's 262144 are.

mod common;

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use s3torrent_metainfo::{
    HashOptions, PieceLength, TorrentBuilder, TorrentVersion, hash_source_versioned,
};

const USAGE: &str = "usage: make-torrent FILE [-o OUT] [--piece-length BYTES|auto] \
[--tracker URL]... [--web-seed URL]... [--bucket B --key K] [--name NAME] \
[--private] [--source TEXT] [--comment TEXT] [--threads N] [--v2 | --hybrid]";

#[derive(Default)]
struct Args {
    file: Option<PathBuf>,
    out: Option<String>,
    piece_length: Option<String>,
    trackers: Vec<String>,
    web_seeds: Vec<String>,
    bucket: Option<String>,
    key: Option<String>,
    name: Option<String>,
    private: bool,
    source: Option<String>,
    comment: Option<String>,
    threads: Option<usize>,
    version: TorrentVersion,
}

impl Args {
    /// `--v2` or `--hybrid`, not both.
    fn set_version(&mut self, version: TorrentVersion) -> Result<(), String> {
        if self.version != TorrentVersion::V1 && self.version != version {
            return Err("--v2 and --hybrid exclude each other".into());
        }
        self.version = version;
        Ok(())
    }
}

fn parse_args() -> Result<Args, String> {
    use lexopt::prelude::*;
    let mut args = Args::default();
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('o') | Long("out") => args.out = Some(common::flag_value(&mut parser, "-o")?),
            Long("piece-length") => {
                args.piece_length = Some(common::flag_value(&mut parser, "--piece-length")?)
            }
            Long("tracker") => args
                .trackers
                .push(common::flag_value(&mut parser, "--tracker")?),
            Long("web-seed") => args
                .web_seeds
                .push(common::flag_value(&mut parser, "--web-seed")?),
            Long("bucket") => args.bucket = Some(common::flag_value(&mut parser, "--bucket")?),
            Long("key") => args.key = Some(common::flag_value(&mut parser, "--key")?),
            Long("name") => args.name = Some(common::flag_value(&mut parser, "--name")?),
            Long("private") => args.private = true,
            Long("source") => args.source = Some(common::flag_value(&mut parser, "--source")?),
            Long("comment") => args.comment = Some(common::flag_value(&mut parser, "--comment")?),
            Long("threads") => {
                let n: usize = common::parse_value(
                    "--threads",
                    &common::flag_value(&mut parser, "--threads")?,
                )?;
                if n == 0 {
                    return Err("--threads must be at least 1".into());
                }
                args.threads = Some(n);
            }
            Long("v2") => args.set_version(TorrentVersion::V2)?,
            Long("hybrid") => args.set_version(TorrentVersion::Hybrid)?,
            Short('h') | Long("help") => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            Value(v) if args.file.is_none() => args.file = Some(v.into()),
            _ => return Err(arg.unexpected().to_string()),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => common::fail(msg),
    }
}

fn run() -> Result<(), String> {
    let args = parse_args().map_err(|e| format!("{e}\n{USAGE}"))?;
    let path = args
        .file
        .clone()
        .ok_or(format!("FILE is required\n{USAGE}"))?;
    let file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let length = file
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();

    let mut builder = match (&args.bucket, &args.key) {
        (Some(bucket), Some(key)) => TorrentBuilder::aws(bucket, key),
        (None, None) => {
            let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
                format!("{}: the file name is not UTF-8; use --name", path.display())
            })?;
            TorrentBuilder::plain(name)
        }
        _ => return Err("--bucket and --key go together".into()),
    };
    let aws = args.bucket.is_some();
    let piece_length = match args.piece_length.as_deref() {
        None if aws => PieceLength::AWS,
        None | Some("auto") => PieceLength::auto(length),
        Some(text) => {
            let bytes: u64 = text
                .parse()
                .map_err(|_| format!("--piece-length {text:?}: not a number or `auto`"))?;
            if args.version.has_v2() && (!bytes.is_power_of_two() || bytes < 16384) {
                return Err(format!(
                    "--piece-length {bytes}: a {} torrent needs a power of two of at least \
                     16384 (BEP 52 hashes 16 KiB blocks in a merkle tree)",
                    args.version
                ));
            }
            PieceLength::new(bytes).map_err(|e| format!("--piece-length: {e}"))?
        }
    };
    if let Some(name) = &args.name {
        builder = builder.name(name);
    }
    for t in &args.trackers {
        builder = builder.tracker(t);
    }
    for w in &args.web_seeds {
        builder = builder.web_seed(w);
    }
    if args.private {
        builder = builder.private(true);
    }
    if let Some(s) = &args.source {
        builder = builder.source(s);
    }
    if let Some(c) = &args.comment {
        builder = builder.comment(c);
    }

    let mut options = HashOptions::new();
    if let Some(n) = args.threads {
        options = options.threads(n);
    }
    let bar = common::progress_bar(length, "hashing");
    let hashes = hash_source_versioned(
        &file,
        length,
        piece_length,
        args.version,
        &options,
        &|done| bar.set_position(done),
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    bar.finish_and_clear();

    let torrent = builder
        .version(args.version)
        .build_hashes(&hashes)
        .map_err(|e| e.to_string())?;
    let out = args
        .out
        .unwrap_or_else(|| format!("{}.torrent", torrent.info().name()));
    let bytes = torrent.as_bytes();
    if out == "-" {
        std::io::stdout()
            .lock()
            .write_all(bytes)
            .map_err(|e| format!("stdout: {e}"))?;
    } else {
        std::fs::write(&out, bytes).map_err(|e| format!("{out}: {e}"))?;
    }
    Ok(())
}
