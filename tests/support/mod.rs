//! What the end-to-end tests share: finding outside programs (and saying so,
//! uncaptured, when one is missing; failing under `CI=true`), running the
//! `s3torrent` binary, and test data.

pub(crate) mod ceph;
pub(crate) mod metered;
pub(crate) mod nginx;
pub(crate) mod serve;
pub(crate) mod swarm;

use std::io::Write;

/// `tests/clients/boto3_prelude.py`, the set-up the boto3 scripts share,
/// followed by the scripts named (paths relative to the calling file in
/// `tests/`), as one `&'static str` for `python3 -c`.
macro_rules! boto3_script {
    ($($script:literal),*) => {
        concat!(include_str!("clients/boto3_prelude.py") $(, include_str!($script))*)
    };
}
pub(crate) use boto3_script;
use std::process::{Command, Output};

/// Writes a line straight to the process's stderr. The test harness captures
/// `eprintln!` of passing tests; this is never hidden, so a skipped check is
/// always visible in the run's output.
pub(crate) fn announce(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Under `CI=true` a missing outside program fails the test; elsewhere it
/// is skipped, saying so.
fn missing(test: &str, what: &str) -> bool {
    let line = format!("SKIPPED {test}: {what} not installed (scripts/test installs it)");
    if std::env::var_os("CI").is_some_and(|v| v == "true") {
        panic!("{line}; under CI=true that is a failure");
    }
    announce(&line);
    false
}

/// Whether `program` runs. If not, says `SKIPPED <test>: <program> not
/// installed (scripts/test installs it)` and returns false; under `CI=true`
/// it fails the test instead.
pub(crate) fn have_program(test: &str, program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok() || missing(test, program)
}

/// nginx's path ([`nginx::nginx_program`]); if there is none, says
/// SKIPPED (or fails under `CI=true`) like [`have_program`].
pub(crate) fn have_nginx(test: &str) -> Option<std::path::PathBuf> {
    match nginx::nginx_program() {
        Some(p) => Some(p),
        None => {
            missing(test, "nginx");
            None
        }
    }
}

/// Whether python3 can import `module`; says SKIPPED (or fails under
/// `CI=true`) like [`have_program`] if not.
pub(crate) fn have_python_module(test: &str, module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
        || missing(test, &format!("python module {module}"))
}

/// Runs a python3 script with arguments and returns its stdout, panicking
/// with its stderr if it fails.
pub(crate) fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("python prints UTF-8")
}

/// The `s3torrent` binary that Cargo built for this test run.
pub(crate) fn s3torrent() -> Command {
    Command::new(env!("CARGO_BIN_EXE_s3torrent"))
}

/// Runs `s3torrent torrent SUBCOMMAND ARGS…`.
pub(crate) fn run_torrent(subcommand: &str, args: &[&std::ffi::OsStr]) -> Output {
    s3torrent()
        .args(["torrent", subcommand])
        .args(args)
        .output()
        .expect("s3torrent runs")
}

/// Writes `data` to `dir/name` and returns the path.
pub(crate) fn write(dir: &std::path::Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).expect("write a test file");
    path
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
pub(crate) use s3torrent_testkit::random_bytes;

/// The gate a heavy test takes first (a swarm, a browser, network
/// namespaces, a flood, an outside daemon): see `tests/e2e.rs`.
pub(crate) use s3torrent_testkit::heavy;
