//! `serve --config FILE` end to end, with the repository's own example
//! (`examples/s3torrent.toml`): serve runs from it with a flag overriding
//! some of its keys, its user signs with a secret read from the environment
//! (boto3), and the file's other keys show in what the server does; the
//! secret is nowhere in the process's command line (what `ps` shows),
//! nor in its output, nor in `--print-config`'s. Hostile files are refused
//! with the file, line and column, before anything is started.
//!
//! Loopback only; every wait is bounded.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use s3torrent_metainfo::Torrent;
use support::serve::{DEV, Serve, boto, listening, request};
use support::{have_python_module, s3torrent, write};

const SECRET_VAR: &str = "S3TORRENT_ALICE_SECRET";
const ALICE: (&str, &str) = ("alice", "111122223333");

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/s3torrent.toml")
}

/// A secret no other run uses, so that finding it anywhere means it leaked.
fn fresh_secret() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("alice-secret-{}-{nanos}", std::process::id())
}

/// `s3torrent serve ARGS…` with `env`, to completion within 30 s.
fn serve_once(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new("timeout");
    command
        .arg("30")
        .arg(env!("CARGO_BIN_EXE_s3torrent"))
        .arg("serve")
        .args(args)
        .env_remove(SECRET_VAR);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("timeout runs")
}

#[test]
fn the_example_config_runs_serve_with_its_secret_from_the_environment() {
    let test = "the_example_config_runs_serve_with_its_secret_from_the_environment";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let secret = fresh_secret();
    let config = example();
    // The example's addresses are fixed ports; these flags override them
    // (tests run at once), and --root its /var/lib/s3torrent.
    let mut child = s3torrent()
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .arg("--root")
        .arg(&root)
        .args(["--listen", "127.0.0.1:0"])
        .args(["--tracker-listen", "127.0.0.1:0"])
        .args(["--peer-listen", "127.0.0.1:0"])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .env(SECRET_VAR, &secret)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let (addr, stderr) = listening(&mut child);
    let serve = Serve { child, addr };
    assert_ne!(
        serve.addr, "127.0.0.1:9000",
        "--listen overrides the file's"
    );
    assert!(
        root.join(".s3torrent.redb").exists(),
        "--root overrides the file's"
    );

    // What `ps` shows: /proc/PID/cmdline. No secret there.
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", serve.child.id())).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(cmdline.contains("--config"), "{cmdline}");
    assert!(
        !cmdline.contains(&secret),
        "the secret is in argv: {cmdline}"
    );

    // The file's user, with the secret from the environment, signs.
    let alice = (ALICE.0, secret.as_str(), ALICE.1);
    assert_eq!(boto(&serve, alice, "mb", &["conf"]), serde_json::json!({}));
    let data = support::random_bytes(300_000, 7);
    let file = write(dir.path(), "object.bin", &data);
    let put = boto(
        &serve,
        alice,
        "put",
        &["conf", "object.bin", file.to_str().unwrap(), "public-read"],
    );
    assert!(put.get("etag").is_some(), "{put}");
    let wrong = boto(&serve, (ALICE.0, "not-the-secret", ALICE.1), "buckets", &[]);
    assert_eq!(wrong["error"], "SignatureDoesNotMatch", "{wrong}");
    // A file with users means no development user.
    let dev = boto(&serve, DEV, "buckets", &[]);
    assert_eq!(dev["status"], 403, "{dev}");

    // `seeding = "both"` from the file: the torrent lists the tracker and
    // the web seed.
    let answer = request(&serve.addr, "GET", "/conf/object.bin?torrent", &[]);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let torrent = Torrent::from_bytes(answer.body).unwrap();
    assert!(!torrent.trackers().is_empty(), "no tracker: seeding = both");
    assert_eq!(
        torrent.web_seeds(),
        [format!("http://{}/conf/object.bin", serve.addr)],
        "no web seed: seeding = both"
    );

    drop(serve);
    let lines = stderr.join().expect("the stderr reader ends");
    let all = lines.join("\n");
    assert!(!all.contains(&secret), "the secret was printed:\n{all}");
    assert!(!all.contains("development credentials"), "{all}");
    // `log-format = "json"` from the file: request lines are JSON objects.
    let json: Vec<serde_json::Value> = lines
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        json.iter()
            .any(|l| l["method"] == "PUT" && l["status"] == 200),
        "no JSON line for the PUT:\n{all}"
    );
    assert!(all.contains("serve: metrics on http://127.0.0.1:"), "{all}");

    // --print-config with the same file, flags and environment: the
    // secret is named by its variable, never shown.
    let printed = serve_once(
        &[
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--print-config",
        ],
        &[(SECRET_VAR, &secret)],
    );
    let text = String::from_utf8_lossy(&printed.stdout);
    assert!(printed.status.success(), "{printed:?}");
    assert!(!text.contains(&secret), "{text}");
    assert!(
        text.contains(&format!("secret-key = {{ env = \"{SECRET_VAR}\" }}")),
        "{text}"
    );
    assert!(
        text.contains("listen = \"127.0.0.1:0\"  # command line"),
        "{text}"
    );
    assert!(text.contains("seeding = \"both\"  # config file"), "{text}");
}

#[test]
fn print_config_replaces_the_files_users_masks_them_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let config = example();
    let secret = fresh_secret();
    let out = serve_once(
        &[
            "--config",
            config.to_str().unwrap(),
            "--user",
            &format!("bob:{secret}:222233334444"),
            "--tracker",
            "http://tracker.test/announce",
            "--print-config",
        ],
        &[],
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(&secret), "{text}");
    let first: toml::Table = text.parse().expect("--print-config prints TOML");
    let users = first["user"].as_array().unwrap();
    assert_eq!(users.len(), 1, "--user replaces the file's users: {text}");
    assert_eq!(users[0]["access-key"].as_str(), Some("bob"));
    assert_eq!(users[0]["secret-key"].as_str(), Some("********"));
    assert_eq!(first["root"].as_str(), Some("/var/lib/s3torrent"));

    // The output is itself a config file, with the same effect.
    let again = write(dir.path(), "printed.toml", text.as_bytes());
    let out = serve_once(
        &["--config", again.to_str().unwrap(), "--print-config"],
        &[],
    );
    assert!(out.status.success(), "{out:?}");
    let second: toml::Table = String::from_utf8(out.stdout).unwrap().parse().unwrap();
    assert_eq!(first, second);
}

#[test]
fn hostile_config_files_are_refused_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let example_text = std::fs::read_to_string(example()).unwrap();
    let secret_line = example_text
        .lines()
        .position(|l| l.starts_with("secret-key"))
        .expect("the example reads a secret from the environment")
        + 1;
    let secret_column = example_text
        .lines()
        .nth(secret_line - 1)
        .unwrap()
        .find('{')
        .unwrap()
        + 1;
    // (file's text, what the one error line must hold)
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            "listen = \"127.0.0.1:0\"\nmax_connections = 64\n".into(),
            vec![":2:1:".into(), "unknown key `max_connections`".into(), "`max-connections`".into()],
        ),
        (
            "\nlisten = 9000\n".into(),
            vec![":2:10:".into(), "`listen` takes a string".into(), "not an integer".into()],
        ),
        (
            "header-timeout = \"10s\"\n".into(),
            vec![":1:18:".into(), "`header-timeout` takes an integer".into()],
        ),
        (
            "root = \"/tmp/x\"\nseeding = \"peer\n".into(),
            vec![":2:".into(), "not valid TOML".into()],
        ),
        (
            "[[user]]\naccess-key = \"a\"\nsecret-key = { env = \"S3TORRENT_NOT_SET_ANYWHERE\" }\naccount-id = \"111122223333\"\n".into(),
            vec![":3:14:".into(), "S3TORRENT_NOT_SET_ANYWHERE".into(), "not set".into()],
        ),
        // The example itself, without its variable.
        (
            example_text.clone(),
            vec![format!(":{secret_line}:{secret_column}:"), SECRET_VAR.into(), "not set".into()],
        ),
    ];
    for (i, (text, wanted)) in cases.iter().enumerate() {
        let path = write(dir.path(), &format!("hostile-{i}.toml"), text.as_bytes());
        let out = serve_once(
            &[
                "--config",
                path.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
                "--tracker-listen",
                "127.0.0.1:0",
                "--peer-listen",
                "127.0.0.1:0",
            ],
            &[],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "case {i}: {stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        let prefix = format!("error: {}:", path.display());
        assert!(first.starts_with(&prefix), "case {i}: {stderr}");
        for want in wanted {
            assert!(
                first.contains(want.as_str()),
                "case {i}: {want:?} not in {stderr}"
            );
        }
        assert!(
            !stderr.contains("listening on"),
            "case {i} started: {stderr}"
        );
    }

    // A file that is not there.
    let missing = dir.path().join("absent.toml");
    let out = serve_once(&["--config", missing.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("absent.toml") && stderr.contains("No such file"),
        "{stderr}"
    );
}
