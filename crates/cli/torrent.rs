//! `s3torrent torrent create|show|verify`: the metainfo tools.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use s3torrent_metainfo::{
    HashOptions, PieceLength, Torrent, TorrentBuilder, TorrentVersion, hash_source, verify_source,
};

use crate::{fail, progress};

#[derive(Debug, Subcommand)]
pub(crate) enum TorrentCommand {
    /// Hash a file on all cores and write its `.torrent`.
    ///
    /// `--bucket` with `--key` selects the AWS profile (`x-amz-bucket` and
    /// `x-amz-key` in `info`, piece length 262144 unless given); otherwise
    /// the torrent is plain with an `auto` piece length. The torrent is v1
    /// unless `--v2` or `--hybrid` (BEP 52) is given; one pass over the file
    /// computes every hash needed.
    Create(Box<CreateArgs>),
    /// Print what a `.torrent` holds. Malformed input exits 2 with one line
    /// naming the byte offset or the field; what real servers emit and
    /// clients read anyway (a `/` in the name, bytes after the top-level
    /// dictionary) is read as libtorrent reads it, with a warning on stderr.
    Show(ShowArgs),
    /// Check data against a `.torrent`: exit 0 when every piece matches, 1
    /// (printing `bad pieces: …`) when not, 2 when the input is unusable.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The file to hash.
    file: PathBuf,
    /// Where to write the torrent (`-` for stdout); default `<name>.torrent`.
    #[arg(short = 'o', long = "out", value_name = "OUT")]
    out: Option<String>,
    /// The piece length in bytes, or `auto` (at most 2000 pieces).
    #[arg(long, value_name = "BYTES|auto")]
    piece_length: Option<String>,
    /// A tracker URL (repeatable).
    #[arg(long = "tracker", value_name = "URL")]
    trackers: Vec<String>,
    /// A web seed URL, BEP 19 (repeatable).
    #[arg(long = "web-seed", value_name = "URL")]
    web_seeds: Vec<String>,
    /// The object's bucket: with `--key`, the AWS profile.
    #[arg(long, value_name = "B", requires = "key")]
    bucket: Option<String>,
    /// The object's key: with `--bucket`, the AWS profile.
    #[arg(long, value_name = "K", requires = "bucket")]
    key: Option<String>,
    /// The torrent's name (default: the file name, or the key).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Mark the torrent private (BEP 27).
    #[arg(long)]
    private: bool,
    /// The `source` field (BEP 27's cross-seeding guard).
    #[arg(long, value_name = "TEXT")]
    source: Option<String>,
    /// A comment.
    #[arg(long, value_name = "TEXT")]
    comment: Option<String>,
    /// Hashing threads (default: every core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    threads: Option<u32>,
    /// A BEP 52 v2 torrent (`file tree` and `piece layers`).
    #[arg(long, conflicts_with = "hybrid")]
    v2: bool,
    /// A BEP 52 hybrid torrent, readable by v1 and v2 clients.
    #[arg(long)]
    hybrid: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The torrent file.
    #[arg(value_name = "FILE.torrent")]
    file: PathBuf,
    /// One JSON object: info_hash, info_hash_v2, version, name, length,
    /// piece_length, pieces, trackers, web_seeds, magnet, warnings.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The torrent file.
    #[arg(value_name = "FILE.torrent")]
    torrent: PathBuf,
    /// The data: the file, or for a torrent of several files the files one
    /// after the other (with the pad files of a v1 or hybrid torrent).
    #[arg(value_name = "DATA")]
    data: PathBuf,
}

pub(crate) fn run(command: TorrentCommand) -> ExitCode {
    let result = match command {
        TorrentCommand::Create(args) => create(*args).map(|()| ExitCode::SUCCESS),
        TorrentCommand::Show(args) => show(args).map(|()| ExitCode::SUCCESS),
        TorrentCommand::Verify(args) => verify(args).map(|good| {
            if good {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }),
    };
    result.unwrap_or_else(fail)
}

fn create(args: CreateArgs) -> Result<(), String> {
    let path = &args.file;
    let version = if args.v2 {
        TorrentVersion::V2
    } else if args.hybrid {
        TorrentVersion::Hybrid
    } else {
        TorrentVersion::V1
    };
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let length = file
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();

    let mut builder = match (&args.bucket, &args.key) {
        (Some(bucket), Some(key)) => TorrentBuilder::aws(bucket, key),
        _ => {
            let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
                format!("{}: the file name is not UTF-8; use --name", path.display())
            })?;
            TorrentBuilder::plain(name)
        }
    };
    let aws = args.bucket.is_some();
    let piece_length = match args.piece_length.as_deref() {
        None if aws => PieceLength::AWS,
        None | Some("auto") => PieceLength::auto(length),
        Some(text) => {
            let bytes: u64 = text
                .parse()
                .map_err(|_| format!("--piece-length {text:?}: not a number or `auto`"))?;
            if version.has_v2() && (!bytes.is_power_of_two() || bytes < 16384) {
                return Err(format!(
                    "--piece-length {bytes}: a {version} torrent needs a power of two of at \
                     least 16384 (BEP 52 hashes 16 KiB blocks in a merkle tree)"
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
        builder = builder.private();
    }
    if let Some(s) = &args.source {
        builder = builder.source(s);
    }
    if let Some(c) = &args.comment {
        builder = builder.comment(c);
    }

    let mut options = HashOptions::new();
    if let Some(n) = args.threads {
        options = options.threads(n as usize);
    }
    let bar = progress::bar(length, "hashing");
    let hashes = hash_source(&file, length, piece_length, version, &options, &|done| {
        bar.set_position(done)
    })
    .map_err(|e| format!("{}: {e}", path.display()))?;
    bar.finish_and_clear();

    let torrent = builder
        .version(version)
        .build(&hashes)
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

fn show(args: ShowArgs) -> Result<(), String> {
    let path = &args.file;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let t = Torrent::from_bytes(bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let info = t.info();
    for warning in t.warnings() {
        eprintln!("warning: {}: {warning}", path.display());
    }
    let mut out = std::io::stdout().lock();
    let written = if args.json {
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
            "warnings": t.warnings().iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        writeln!(out, "{doc}")
    } else {
        let mut text = String::new();
        let mut line = |label: &str, value: &dyn std::fmt::Display| {
            text.push_str(&format!("{label:<14}{value}\n"));
        };
        line("name:", &info.name());
        line("version:", &t.version());
        line("length:", &info.length());
        line("piece length:", &info.piece_length());
        line("pieces:", &info.piece_count());
        line("info-hash:", &t.info_hash());
        if let Some(v2) = t.info_hash_v2() {
            line("info-hash v2:", &v2.to_hex());
        }
        for tracker in t.trackers() {
            line("tracker:", &tracker);
        }
        for seed in t.web_seeds() {
            line("web seed:", seed);
        }
        line("magnet:", &t.magnet());
        out.write_all(text.as_bytes())
    };
    written.map_err(|e| format!("stdout: {e}"))
}

fn verify(args: VerifyArgs) -> Result<bool, String> {
    let (torrent_path, data_path) = (&args.torrent, &args.data);
    let bytes =
        std::fs::read(torrent_path).map_err(|e| format!("{}: {e}", torrent_path.display()))?;
    let torrent =
        Torrent::from_bytes(bytes).map_err(|e| format!("{}: {e}", torrent_path.display()))?;
    let data = File::open(data_path).map_err(|e| format!("{}: {e}", data_path.display()))?;
    let data_length = data
        .metadata()
        .map_err(|e| format!("{}: {e}", data_path.display()))?
        .len();

    let bar = progress::bar(data_length.min(torrent.info().length()), "verifying");
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
