//! A single-node Ceph cluster (`scripts/ceph-dev`) shared by every test of
//! a test binary, and `s3torrent gateway` processes in front of it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

use super::{have_program, python, s3torrent};

/// The cluster's endpoint and users.
pub(crate) struct Cluster {
    pub(crate) endpoint: String,
    pub(crate) alice: (String, String),
    pub(crate) bob: (String, String),
}

/// The account IDs the gateway is given for the two users.
pub(crate) const ALICE_ACCOUNT: &str = "111111111111";
pub(crate) const BOB_ACCOUNT: &str = "222222222222";

static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/ceph-dev")
}

/// The shared cluster, started on first use: `None` (the test is skipped)
/// when Ceph is not installed, which fails under `CI=true`. It is stopped
/// by a watcher once this test process exits.
pub(crate) fn cluster(test: &str) -> Option<&'static Cluster> {
    if !have_program(test, "radosgw") || !have_program(test, "ceph-mon") {
        return None;
    }
    CLUSTER.get_or_init(|| Some(start())).as_ref()
}

fn start() -> Cluster {
    let dir = tempfile::Builder::new()
        .prefix("s3torrent-ceph-")
        .tempdir()
        .expect("a temp dir")
        .keep();
    let out = Command::new(script())
        .arg("start")
        .arg(&dir)
        .output()
        .expect("scripts/ceph-dev runs");
    assert!(
        out.status.success(),
        "scripts/ceph-dev start failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Stop the cluster when this process ends, however it ends.
    let watcher = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; exec '{script}' stop '{dir}'",
        pid = std::process::id(),
        script = script().display(),
        dir = dir.display()
    );
    // `setsid -f` forks the watcher into its own session and returns.
    let watching = Command::new("setsid")
        .args(["-f", "sh", "-c", &watcher])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the cluster's watcher starts");
    assert!(watching.success(), "setsid -f failed: {watching}");
    let env = Command::new(script())
        .arg("env")
        .arg(&dir)
        .output()
        .expect("scripts/ceph-dev env runs");
    let env = String::from_utf8_lossy(&env.stdout).into_owned();
    let get = |name: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("ceph-dev env prints no {name}"))
            .to_owned()
    };
    Cluster {
        endpoint: get("CEPH_ENDPOINT"),
        alice: (get("CEPH_ALICE_ACCESS_KEY"), get("CEPH_ALICE_SECRET_KEY")),
        bob: (get("CEPH_BOB_ACCESS_KEY"), get("CEPH_BOB_SECRET_KEY")),
    }
}

/// A running `s3torrent gateway`, killed when dropped; its stderr lines
/// are kept.
pub(crate) struct Gateway {
    child: Child,
    pub(crate) addr: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Gateway {
    /// A gateway in front of `cluster`, for alice and bob, caching in
    /// `cache_bucket` as alice.
    pub(crate) fn start(cluster: &Cluster, cache_bucket: &str, extra: &[&str]) -> Gateway {
        let alice = format!("{}:{}:{ALICE_ACCOUNT}", cluster.alice.0, cluster.alice.1);
        let bob = format!("{}:{}:{BOB_ACCOUNT}", cluster.bob.0, cluster.bob.1);
        let mut child = s3torrent()
            .args(["gateway", "--upstream", &cluster.endpoint])
            .args(["--listen", "127.0.0.1:0"])
            .args(["--user", &alice, "--user", &bob])
            .args(["--upstream-access-key", &cluster.alice.0])
            .args(["--upstream-secret-key", &cluster.alice.1])
            .args(["--cache-bucket", cache_bucket])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the gateway starts");
        let stderr = child.stderr.take().expect("piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let kept = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("gateway: listening on http://") {
                    let _ = tx.send(addr.to_owned());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the gateway did not say where it listens within 30 s: {:?}",
                    lines.lock().unwrap()
                );
            }
        };
        Gateway { child, addr, lines }
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The lines it wrote to stderr so far.
    pub(crate) fn log(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// How many objects this gateway hashed whose key is `key` (its
    /// `hashing` log lines). The log is written by a background thread:
    /// this waits a moment for it.
    pub(crate) fn hashed(&self, key: &str) -> usize {
        std::thread::sleep(Duration::from_millis(300));
        let needle = format!("key=\"{key}\"");
        let needle_plain = format!("key={key} ");
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("hashing") && (l.contains(&needle) || l.contains(&needle_plain)))
            .count()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Python prelude for a scenario: boto3 clients `alice`, `bob` and `anon`
/// on the gateway (`GW`) and `c_alice`, `c_bob`, `c_anon` straight on the
/// cluster; `torrent(client, bucket, key, **kw)` gives `{"status", "code",
/// "hex", "headers"}` (the torrent's bytes in hex), with `version` (a
/// `versionId` added to the signed URL), `payer` and `owner`. The scenario
/// prints one JSON value.
const PRELUDE: &str = include_str!("../clients/boto3_gateway_prelude.py");

/// Runs `scenario` (after [`PRELUDE`]) against `gateway` and `cluster`,
/// with `args` as `ARGS`; returns what it printed, as JSON.
pub(crate) fn scenario(
    cluster: &Cluster,
    gateway: &Gateway,
    scenario: &str,
    args: &[&str],
) -> serde_json::Value {
    let script = format!("{PRELUDE}\n{scenario}");
    let gw = gateway.endpoint();
    let mut all = vec![
        gw.as_str(),
        cluster.endpoint.as_str(),
        cluster.alice.0.as_str(),
        cluster.alice.1.as_str(),
        cluster.bob.0.as_str(),
        cluster.bob.1.as_str(),
    ];
    all.extend_from_slice(args);
    let out = python(&script, &all);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("scenario printed {out:?}: {e}"))
}
