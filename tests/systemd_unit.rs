//! `examples/systemd/s3torrent.service`: the unit as shipped, byte for
//! byte, passes `systemd-analyze verify` (no warning either) and `security`
//! (an exposure of 2.0 or less) against a scratch root that holds it at
//! `/etc/systemd/system/`, the built binary at its ExecStart path and the
//! host's own units (`sysinit.target`, ...). It has the hardening the README
//! promises, and the example config it runs agrees with its state folder.
//! `systemd-analyze` comes with Debian's `systemd` package (scripts/test
//! installs it). Every run is bounded (60 s).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::have_program;

const UNIT: &str = "examples/systemd/s3torrent.service";
const CONFIG: &str = "examples/s3torrent.toml";
const UNIT_PATH: &str = "/etc/systemd/system/s3torrent.service";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn unit_text() -> String {
    std::fs::read_to_string(repo(UNIT)).expect("the unit is in the repository")
}

/// `KEY=VALUE` lines of the unit (comments and sections left out).
fn settings(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn values(text: &str, key: &str) -> Vec<String> {
    settings(text)
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect()
}

/// A scratch root: the host's units, `unit` at [`UNIT_PATH`], and the built
/// binary at the path `unit`'s ExecStart names.
fn scratch_root(unit: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("a temp dir");
    let lib = root.path().join("usr/lib/systemd");
    std::fs::create_dir_all(&lib).unwrap();
    let copied = Command::new("cp")
        .arg("-a")
        .arg("/usr/lib/systemd/system")
        .arg(&lib)
        .status()
        .expect("cp runs");
    assert!(copied.success(), "cp -a /usr/lib/systemd/system failed");
    let exec = values(unit, "ExecStart");
    let program = exec[0]
        .split_whitespace()
        .next()
        .expect("ExecStart names a program");
    let binary = root.path().join(program.trim_start_matches('/'));
    std::fs::create_dir_all(binary.parent().unwrap()).unwrap();
    let built = env!("CARGO_BIN_EXE_s3torrent");
    if std::fs::hard_link(built, &binary).is_err() {
        std::fs::copy(built, &binary).expect("copy the built binary");
    }
    let at = root.path().join(UNIT_PATH.trim_start_matches('/'));
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::fs::write(&at, unit).unwrap();
    root
}

fn analyze(root: &Path, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("60")
        .arg("systemd-analyze")
        .args(args)
        .arg(format!("--root={}", root.display()))
        .arg(UNIT_PATH)
        .output()
        .expect("timeout runs")
}

#[test]
fn the_unit_passes_systemd_analyze_verify_and_security() {
    let test = "the_unit_passes_systemd_analyze_verify_and_security";
    if !have_program(test, "systemd-analyze") {
        return;
    }
    let unit = unit_text();
    let root = scratch_root(&unit);
    let verified = analyze(root.path(), &["verify"]);
    let said = String::from_utf8_lossy(&verified.stderr);
    assert!(
        verified.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {:?}\n{said}",
        verified.status
    );
    // Exposure 2.0 of 10 at most (systemd counts it out of 100).
    let security = analyze(
        root.path(),
        &["security", "--offline=true", "--threshold=20"],
    );
    assert!(
        security.status.success(),
        "systemd-analyze security: {:?}\n{}{}",
        security.status,
        String::from_utf8_lossy(&security.stdout),
        String::from_utf8_lossy(&security.stderr)
    );

    // The same check fails a unit with a misspelt directive, and one whose
    // program is missing: it is not a check that passes anything.
    let misspelt = unit.replace("ProtectSystem=strict", "ProtectSystm=strict");
    let root = scratch_root(&misspelt);
    let out = analyze(root.path(), &["verify"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ProtectSystm"),
        "a misspelt key went unnoticed"
    );
    let root = scratch_root(&unit);
    std::fs::remove_file(root.path().join("usr/local/bin/s3torrent")).unwrap();
    assert!(
        !analyze(root.path(), &["verify"]).status.success(),
        "a missing program went unnoticed"
    );
}

#[test]
fn the_unit_is_hardened_and_agrees_with_the_example_config() {
    let unit = unit_text();
    for (key, value) in [
        ("DynamicUser", "yes"),
        ("StateDirectory", "s3torrent"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        (
            "ExecStart",
            "/usr/local/bin/s3torrent serve --config /etc/s3torrent/s3torrent.toml",
        ),
    ] {
        assert_eq!(values(&unit, key), [value], "{key}=");
    }
    let nofile: u64 = values(&unit, "LimitNOFILE")[0].parse().expect("a number");
    // Enough for serve's default of 1024 S3 connections while seeding as a peer.
    assert!(
        s3torrent_server::ServerConfig::max_connections_for(
            nofile,
            s3torrent_server::Seeding::Peer
        ) == s3torrent_server::ServerConfig::DEFAULT_MAX_CONNECTIONS,
        "LimitNOFILE={nofile}"
    );

    // The example config stores under the unit's state folder, and every
    // environment variable it reads is one the unit's environment file is
    // said to set.
    let config: toml::Table = std::fs::read_to_string(repo(CONFIG))
        .unwrap()
        .parse()
        .expect("the example config is TOML");
    assert_eq!(config["root"].as_str(), Some("/var/lib/s3torrent"));
    let env_file = values(&unit, "EnvironmentFile");
    assert_eq!(env_file, ["/etc/s3torrent/s3torrent.env"]);
    let secret = &config["user"][0]["secret-key"]["env"];
    assert!(
        unit.contains(&format!("{}=", secret.as_str().unwrap())),
        "the unit's comments name {secret} for {}",
        env_file[0]
    );
}
