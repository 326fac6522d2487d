//! `s3torrent`: GetObjectTorrent for any S3-style object store.
//!
//! ```text
//! s3torrent serve [--config FILE] [--print-config] [--root DIR] [--listen ADDR] [--base-domain NAME]
//!     [--user ACCESS:SECRET:ACCOUNT_ID]... [--max-torrent-size BYTES]
//!     [--torrent-version v1|v2|hybrid]
//! s3torrent gateway [--config FILE] [--print-config] --upstream URL [--listen ADDR] [--user ACCESS:SECRET:ACCOUNT_ID]...
//!     [--upstream-access-key K --upstream-secret-key S] [--region R] ...
//! s3torrent torrent create FILE [-o OUT] [--piece-length BYTES|auto] ...
//! s3torrent torrent show FILE.torrent [--json]
//! s3torrent torrent verify FILE.torrent DATA
//! ```
//!
//! Argument errors exit 2 with a usage line; `--help` works on every level.
//! `serve` and `gateway` read their flags from a TOML file too (`--config`,
//! `config.rs`).

mod config;
mod gateway;
mod log_writer;
mod progress;
mod serve;
mod torrent;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::ConfigArgs;

/// mimalloc instead of the system allocator: serve's requests allocate and
/// free many small buffers, on two or more threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// GetObjectTorrent for any S3-style object store: an S3 endpoint over a
/// local folder that answers `?torrent` and seeds its objects, and the
/// torrent tools that go with it.
#[derive(Debug, Parser)]
#[command(name = "s3torrent", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an S3 endpoint over a local folder that answers GetObjectTorrent
    /// (`?torrent`) and seeds its objects as a web seed.
    Serve(serve::ServeArgs),
    /// Put GetObjectTorrent in front of an existing S3 cluster (Ceph RGW,
    /// MinIO, ...): `?torrent` answered here, everything else passed through.
    Gateway(gateway::GatewayArgs),
    /// Create, show and verify `.torrent` files.
    #[command(subcommand)]
    Torrent(torrent::TorrentCommand),
}

impl Command {
    /// `--config` and `--print-config`, for the subcommands that take them.
    fn config_args(&self) -> Option<&ConfigArgs> {
        match self {
            Command::Serve(args) => Some(&args.config),
            Command::Gateway(args) => Some(&args.config),
            Command::Torrent(_) => None,
        }
    }
}

fn main() -> ExitCode {
    let cli = match config::parse() {
        config::Outcome::Run(cli) => cli,
        config::Outcome::Exit(code) => return code,
    };
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Gateway(args) => gateway::run(args),
        Command::Torrent(command) => torrent::run(command),
    }
}

/// Prints `error: …` on one line and returns exit code 2, as for a usage
/// error: the input could not be used.
fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// Resolves at the first SIGINT (Ctrl-C) or SIGTERM (what systemd, Docker
/// and Kubernetes send to stop a service): either starts the graceful
/// shutdown, answers in flight finishing.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
