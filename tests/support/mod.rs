//! What the end-to-end tests share: finding outside programs (and saying so,
//! uncaptured, when one is missing), running the examples, and test data.

#![allow(dead_code)] // each test file uses a different subset

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Writes a line straight to the process's stderr. The test harness captures
/// `eprintln!` of passing tests; this is never hidden, so a skipped check is
/// always visible in the run's output.
pub(crate) fn announce(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Whether `program` runs. If not, says `SKIPPED <test>: <program> not
/// installed (scripts/test installs it)` and returns false.
pub(crate) fn have_program(test: &str, program: &str) -> bool {
    let found = Command::new(program).arg("--version").output().is_ok();
    if !found {
        announce(&format!(
            "SKIPPED {test}: {program} not installed (scripts/test installs it)"
        ));
    }
    found
}

/// Whether python3 can import `module`; says SKIPPED like [`have_program`] if not.
pub(crate) fn have_python_module(test: &str, module: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        announce(&format!(
            "SKIPPED {test}: python module {module} not installed (scripts/test installs it)"
        ));
    }
    ok
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

/// The path of a built example, target/<profile>/examples/NAME.
/// `cargo test --all-targets` builds examples only as test harnesses, so
/// scripts/test runs `cargo build --examples` first.
pub(crate) fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built; run scripts/test, or `cargo build --examples` before `cargo test`",
        path.display()
    );
    path
}

/// Runs an example with arguments.
pub(crate) fn run_example(name: &str, args: &[&std::ffi::OsStr]) -> Output {
    Command::new(example(name))
        .args(args)
        .output()
        .expect("example runs")
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
pub(crate) fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}
