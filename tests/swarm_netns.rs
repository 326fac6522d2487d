//! The swarm on a network of real hosts: `serve --seeding peer` on an
//! origin host, and six client hosts each downloading one 16 MiB object with
//! python libtorrent from the endpoint's tracker and peer and from each
//! other. The hosts are network namespaces joined by a bridge in a switch
//! namespace of their own, with addresses in 198.18.0.0/15 and links shaped
//! with tc (origin 40 Mbit/s up; clients 16 up, 48 down), built and torn
//! down by `scripts/netlab.py`, which also runs the scenario; this test
//! checks that every client finished and reads every client's file against
//! the published bytes.
//!
//! Needs root (`ip netns`, `tc`), python libtorrent and boto3: without them
//! it says SKIPPED, and fails under `CI=true`. The lab's namespaces are named
//! after the harness's pid and start time, so two runs never collide; the
//! harness tears its lab down when it exits (also on a signal), and a guard
//! here stops the harness and sweeps stale labs even if the test fails.

use crate::support;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{announce, have_python_module, random_bytes, write};

const NETLAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/netlab.py");
const CLIENTS: usize = 6;
const SIZE: usize = 16 << 20;
/// The clients' own bound (netlab's --deadline) and the whole run's.
const CLIENT_SECONDS: u64 = 90;
const RUN_SECONDS: u64 = 240;

fn netlab(args: &[&str]) -> std::process::Output {
    Command::new("python3")
        .arg(NETLAB)
        .args(args)
        .output()
        .expect("python3 runs")
}

/// Whether a lab can be built here (`netlab.py check` builds and removes a
/// two-host one). If not, says SKIPPED; under `CI=true` fails instead.
fn can_build_a_lab(test: &str) -> bool {
    let out = netlab(&["check"]);
    if out.status.success() {
        return true;
    }
    let why = String::from_utf8_lossy(&out.stdout).trim().to_owned()
        + String::from_utf8_lossy(&out.stderr).trim();
    let line = format!("SKIPPED {test}: no network namespaces here (needs root, ip and tc): {why}");
    if std::env::var_os("CI").is_some_and(|v| v == "true") {
        panic!("{line}; under CI=true that is a failure");
    }
    announce(&line);
    false
}

/// The running harness. Dropped (the test passed or failed), it is sent
/// SIGTERM if still running (its handlers tear its lab down), killed if it
/// has not exited 20 s later, and then stale labs are swept: a harness
/// that was killed leaves namespaces whose creator is dead.
struct Harness {
    child: Child,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Harness {
    fn start(args: &[&str]) -> Harness {
        let mut child = Command::new("python3")
            .arg(NETLAB)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut pipe = child.stderr.take().expect("stderr piped");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        });
        Harness {
            child,
            stderr: Some(stderr),
        }
    }

    /// Waits at most `seconds` for the harness to exit: its success and
    /// what it wrote on stderr.
    fn wait(&mut self, seconds: u64) -> (bool, String) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let status = loop {
            match self.child.try_wait().expect("try_wait") {
                Some(status) => break Some(status),
                None if Instant::now() >= deadline => break None,
                None => std::thread::sleep(Duration::from_millis(200)),
            }
        };
        let Some(status) = status else {
            panic!("netlab.py did not finish within {seconds} s");
        };
        let stderr = self
            .stderr
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default();
        (status.success(), stderr)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = netlab(&["sweep"]);
    }
}

fn file_matches(path: &Path, data: &[u8]) -> Result<(), String> {
    match std::fs::read(path) {
        Ok(got) if got == data => Ok(()),
        Ok(got) => Err(format!(
            "{}: {} bytes, not the published {} bytes",
            path.display(),
            got.len(),
            data.len()
        )),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[test]
fn six_hosts_download_from_the_endpoint_over_shaped_links() {
    let _heavy = support::heavy();
    let test = "six_hosts_download_from_the_endpoint_over_shaped_links";
    if !have_python_module(test, "libtorrent")
        || !have_python_module(test, "boto3")
        || !can_build_a_lab(test)
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(SIZE, 613);
    let object = write(dir.path(), "object.bin", &data);
    let workdir = dir.path().join("run");
    let result_path = dir.path().join("result.json");
    let clients = CLIENTS.to_string();
    let deadline = CLIENT_SECONDS.to_string();
    let started = Instant::now();
    let mut harness = Harness::start(&[
        "run",
        "--seeder",
        "serve",
        "--bin",
        env!("CARGO_BIN_EXE_s3torrent"),
        "--clients",
        &clients,
        "--origin-up",
        "40",
        "--client-up",
        "16",
        "--client-down",
        "48",
        "--data",
        object.to_str().unwrap(),
        "--workdir",
        workdir.to_str().unwrap(),
        "--json",
        result_path.to_str().unwrap(),
        "--deadline",
        &deadline,
    ]);
    let (ok, stderr) = harness.wait(RUN_SECONDS);
    let result: serde_json::Value = std::fs::read(&result_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| panic!("netlab.py wrote no result: {stderr}"));
    eprintln!("{stderr}");
    assert_eq!(result["mode"], "netns", "{result}");
    assert_eq!(result["clients"], CLIENTS, "{result}");
    assert_eq!(result["object_bytes"], SIZE, "{result}");
    assert_eq!(
        result["all_finished"], true,
        "not every client finished: {result}"
    );
    let finished = result["finish_s"].as_array().expect("finish_s");
    assert_eq!(finished.len(), CLIENTS, "{result}");
    assert!(finished.iter().all(|f| f.as_f64().is_some()), "{result}");
    // The bytes, read here, not taken on the harness's word.
    let wrong: Vec<String> = (0..CLIENTS)
        .filter_map(|i| {
            let file = workdir
                .join("serve")
                .join(format!("client{i}"))
                .join("object.bin");
            file_matches(&file, &data).err()
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(ok, "netlab.py failed: {stderr}");
    // The harness's lab is gone: no namespace is named after it.
    let prefix = result["lab"].as_str().expect("the lab's prefix").to_owned();
    assert!(prefix.starts_with("s3t"), "{prefix}");
    let list = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip runs");
    let left: Vec<&str> = std::str::from_utf8(&list.stdout)
        .unwrap_or("")
        .lines()
        .filter(|l| l.starts_with(&format!("{prefix}-")))
        .collect();
    assert!(left.is_empty(), "the lab was left behind: {left:?}");
    eprintln!(
        "{CLIENTS} hosts got {SIZE} bytes in {} s (harness {:.1} s); origin {}x",
        result["time_all_s"],
        started.elapsed().as_secs_f64(),
        result["origin_upload_x"]
    );
}
