//! `make-torrent`: hash a file on all cores and write its `.torrent`.
//!
//! ```text
//! cargo run --release --example make-torrent -- FILE [-o OUT] [--piece-length BYTES|auto]
//!     [--tracker URL]... [--web-seed URL]... [--bucket B --key K] [--name NAME]
//!     [--private] [--source TEXT] [--comment TEXT] [--threads N]
//! ```
//!
//! `--bucket` with `--key` selects the AWS profile (piece length 262144 unless
//! given); otherwise the torrent is plain with an `auto` piece length. The
//! output is `OUT`, or `<name>.torrent`; `-o -` writes to stdout.

mod common;

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use s3torrent_metainfo::{HashOptions, PieceLength, TorrentBuilder, hash_source};

const USAGE: &str = "usage: make-torrent FILE [-o OUT] [--piece-length BYTES|auto] \
[--tracker URL]... [--web-seed URL]... [--bucket B --key K] [--name NAME] \
[--private] [--source TEXT] [--comment TEXT] [--threads N]";

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
    let pieces = hash_source(&file, length, piece_length, &options, &|done| {
        bar.set_position(done)
    })
    .map_err(|e| format!("{}: {e}", path.display()))?;
    bar.finish_and_clear();

    let torrent = builder.build(&pieces).map_err(|e| e.to_string())?;
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
