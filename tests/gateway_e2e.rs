//! `s3torrent gateway` end to end, in front of a real Ceph RGW 16.2
//! (`scripts/ceph-dev`, one cluster for the whole test binary): boto3
//! through the gateway; the cluster decides who gets a torrent; torrents
//! describe the cluster's bytes exactly, and equal `serve`'s; the cache is
//! shared between replicas; aria2c downloads through the web seed; the rest
//! of S3 passes through unchanged.

use crate::support;

use s3torrent_metainfo::{Torrent, Verifier};
use support::ceph::{ALICE_ACCOUNT, BOB_ACCOUNT, Cluster, Gateway, cluster, scenario};
use support::serve::{DEV, Serve, aria2c_download, boto};
use support::{have_program, have_python_module, random_bytes, write};

fn ready(test: &str) -> Option<&'static Cluster> {
    if !have_python_module(test, "boto3") {
        return None;
    }
    cluster(test)
}

/// The torrent in a scenario's answer.
fn torrent_of(answer: &serde_json::Value) -> Torrent {
    let hex = answer["hex"]
        .as_str()
        .unwrap_or_else(|| panic!("no torrent: {answer}"));
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    Torrent::from_bytes(bytes).unwrap()
}

/// Whether `data` is exactly what `torrent` describes.
fn describes(torrent: &Torrent, data: &[u8]) -> bool {
    let mut v = Verifier::new(torrent.info());
    v.update(data);
    v.finish().is_ok()
}

fn status_code(answer: &serde_json::Value) -> (u64, String) {
    (
        answer["status"].as_u64().unwrap(),
        answer["code"].as_str().unwrap_or("").to_owned(),
    )
}

#[test]
fn the_cluster_decides_who_gets_a_torrent() {
    let test = "the_cluster_decides_who_gets_a_torrent";
    let Some(cluster) = ready(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(1_000_003, 1);
    let file = write(dir.path(), "data.bin", &data);
    let gw = Gateway::start(cluster, "cache-access", &[]);
    let out = scenario(
        cluster,
        &gw,
        include_str!("clients/gateway_who_gets_a_torrent.py"),
        &[file.to_str().unwrap()],
    );
    for allowed in ["anon_public", "alice_private", "bob_granted", "anon_policy"] {
        assert_eq!(
            status_code(&out[allowed]),
            (200, String::new()),
            "{allowed}: {}",
            out[allowed]
        );
        assert_eq!(
            out[allowed]["headers"]["content-type"], "application/x-bittorrent",
            "{allowed}"
        );
        let t = torrent_of(&out[allowed]);
        assert!(
            describes(&t, &data),
            "{allowed}: the torrent describes other bytes"
        );
        assert_eq!(t.info().length(), 1_000_003);
    }
    let public = torrent_of(&out["anon_public"]);
    assert_eq!(public.info().name(), "dir_public");
    assert_eq!(public.info().aws_key(), Some("dir/public"));
    assert_eq!(
        public.web_seeds(),
        [format!("{}/acl-b/dir/public", gw.endpoint())]
    );
    for (denied, code) in [
        ("anon_private", "AccessDenied"),
        ("bob_private", "AccessDenied"),
        ("anon_granted", "AccessDenied"),
        // Anonymous requesters may not list: a missing key is 403, as in S3.
        ("anon_missing", "AccessDenied"),
        ("anon_policy_missing", "AccessDenied"),
    ] {
        assert_eq!(
            status_code(&out[denied]),
            (403, code.to_owned()),
            "{denied}: {}",
            out[denied]
        );
    }
    assert_eq!(
        status_code(&out["alice_missing"]),
        (404, "NoSuchKey".into())
    );
    assert_eq!(
        status_code(&out["alice_no_bucket"]),
        (404, "NoSuchBucket".into())
    );
    let acl = out["acl_of_policy_object"].to_string();
    assert!(
        !acl.contains("AllUsers"),
        "the object's ACL is private: {acl}"
    );
}

#[test]
fn torrents_follow_the_object_multipart_overwrite_and_versions() {
    let test = "torrents_follow_the_object_multipart_overwrite_and_versions";
    let Some(cluster) = ready(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let part1 = random_bytes(5 * 1024 * 1024, 2);
    let part2 = random_bytes(777_777, 3);
    let one = random_bytes(300_001, 4);
    let two = random_bytes(300_002, 5);
    let files = [
        write(dir.path(), "p1", &part1),
        write(dir.path(), "p2", &part2),
        write(dir.path(), "one", &one),
        write(dir.path(), "two", &two),
    ];
    let args: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    let gw = Gateway::start(cluster, "cache-versions", &[]);
    let out = scenario(
        cluster,
        &gw,
        include_str!("clients/gateway_torrents_follow_the_object.py"),
        &args,
    );
    let mut multi = part1.clone();
    multi.extend_from_slice(&part2);
    assert!(describes(&torrent_of(&out["multi"]), &multi));
    let (over1, over2) = (torrent_of(&out["over1"]), torrent_of(&out["over2"]));
    assert!(describes(&over1, &one));
    assert!(describes(&over2, &two), "an overwrite gives a new torrent");
    assert_ne!(over1.info_hash(), over2.info_hash());
    assert!(describes(&torrent_of(&out["v1"]), &one));
    assert!(describes(&torrent_of(&out["v2"]), &two));
    assert!(describes(&torrent_of(&out["current"]), &two));
    assert_eq!(
        status_code(&out["bad_version"]).0,
        404,
        "{}",
        out["bad_version"]
    );

    // Overwritten while it is hashed: the ranged GETs are pinned to the old
    // ETag, so the answer is the retryable 500 and no torrent, or a torrent
    // of exactly one of the two objects (the hashing won the race, or the
    // request came after the overwrite); never one of mixed bytes. The next
    // request hashes the new object.
    let big = random_bytes(64 << 20, 11);
    let small = random_bytes(1000, 12);
    let big_file = write(dir.path(), "big", &big);
    let small_file = write(dir.path(), "small", &small);
    scenario(
        cluster,
        &gw,
        r#"
alice.put_object(Bucket="ver-b", Key="raced", Body=open(ARGS[0], "rb").read())
print("{}")
"#,
        &[big_file.to_str().unwrap()],
    );
    // The scenario asks in a thread, and overwrites once the gateway has
    // logged that it is hashing (this test touches a flag file then).
    let flag = dir.path().join("hashing");
    let raced = std::thread::scope(|scope| {
        let racing = scope.spawn(|| {
            scenario(
                cluster,
                &gw,
                r#"
import threading, time
out = {}
def ask():
    out["during"] = torrent(alice, "ver-b", "raced")
t = threading.Thread(target=ask)
t.start()
deadline = time.time() + 30
while not os.path.exists(ARGS[1]) and time.time() < deadline:
    time.sleep(0.01)
c_alice.put_object(Bucket="ver-b", Key="raced", Body=open(ARGS[0], "rb").read())
t.join()
out["after"] = torrent(alice, "ver-b", "raced")
print(json.dumps(out))
"#,
                &[small_file.to_str().unwrap(), flag.to_str().unwrap()],
            )
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while gw.hashed("raced") == 0 && std::time::Instant::now() < deadline {}
        std::fs::write(&flag, b"").unwrap();
        racing.join().unwrap()
    });
    let during = &raced["during"];
    match status_code(during) {
        (500, code) => {
            assert_eq!(code, "InternalError", "{during}");
            support::announce("gateway_e2e: the overwrite hit the hashing (500 InternalError)");
        }
        // Asked before the overwrite and hashed in time, or after it.
        (200, _) => {
            let t = torrent_of(during);
            assert!(
                describes(&t, &big) || describes(&t, &small),
                "a torrent of neither object ({} bytes)",
                t.info().length()
            );
            support::announce(&format!(
                "gateway_e2e: the overwrite missed the hashing (a torrent of {} bytes)",
                t.info().length()
            ));
        }
        other => panic!("{other:?}: {during}"),
    }
    assert!(describes(&torrent_of(&raced["after"]), &small));
}

#[test]
fn size_limit_sse_c_and_requester_pays() {
    let test = "size_limit_sse_c_and_requester_pays";
    let Some(cluster) = ready(test) else { return };
    let gw = Gateway::start(cluster, "cache-limits", &["--max-torrent-size", "1000"]);
    let out = scenario(
        cluster,
        &gw,
        include_str!("clients/gateway_size_limit_sse_c_requester_pays.py"),
        &[ALICE_ACCOUNT, BOB_ACCOUNT],
    );
    assert_eq!(status_code(&out["small"]), (200, String::new()));
    assert_eq!(status_code(&out["large"]), (400, "InvalidRequest".into()));
    assert_eq!(status_code(&out["empty"]), (400, "InvalidRequest".into()));
    assert_eq!(
        status_code(&out["ssec"]),
        (400, "InvalidRequest".into()),
        "{}",
        out["ssec"]
    );
    assert_eq!(
        status_code(&out["rp_bob_without"]),
        (403, "AccessDenied".into())
    );
    assert_eq!(status_code(&out["rp_anon"]), (403, "AccessDenied".into()));
    assert_eq!(status_code(&out["rp_bob_with"]), (200, String::new()));
    assert_eq!(
        out["rp_bob_with"]["headers"]["x-amz-request-charged"], "requester",
        "{}",
        out["rp_bob_with"]
    );
    assert_eq!(status_code(&out["rp_owner"]), (200, String::new()));
    assert!(
        out["rp_owner"]["headers"]
            .get("x-amz-request-charged")
            .is_none()
    );
    // RGW ignores x-amz-expected-bucket-owner; the gateway checks it
    // against the configured account of the user whose bucket it is.
    assert_eq!(out["direct_owner_wrong"], serde_json::Value::Null);
    assert_eq!(status_code(&out["owner_right"]), (200, String::new()));
    assert_eq!(
        status_code(&out["owner_wrong"]),
        (403, "AccessDenied".into())
    );
    assert_eq!(
        status_code(&out["owner_malformed"]).0,
        400,
        "{}",
        out["owner_malformed"]
    );
}

#[test]
fn two_replicas_hash_once_and_a_restart_keeps_the_cache() {
    let test = "two_replicas_hash_once_and_a_restart_keeps_the_cache";
    let Some(cluster) = ready(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(2_500_000, 6);
    let file = write(dir.path(), "data.bin", &data);
    // Replicas behind one name: the web seed in their torrents is that
    // name's (here replica a's own address, which serves them all).
    let a = Gateway::start(cluster, "cache-shared", &[]);
    let public = a.endpoint();
    let shared = ["--public-url", public.as_str()];
    let b = Gateway::start(cluster, "cache-shared", &shared);
    let put = r#"
c_alice.create_bucket(Bucket="rep-b")
c_alice.put_object(Bucket="rep-b", Key="shared-object", Body=open(ARGS[0], "rb").read(), ACL="public-read")
print(json.dumps(torrent(anon, "rep-b", "shared-object")))
"#;
    let first = scenario(cluster, &a, put, &[file.to_str().unwrap()]);
    let again = r#"print(json.dumps(torrent(anon, "rep-b", "shared-object")))"#;
    let second = scenario(cluster, &b, again, &[]);
    assert_eq!(a.hashed("shared-object"), 1);
    assert_eq!(b.hashed("shared-object"), 0, "replica b hashed again");
    drop(b);
    let c = Gateway::start(cluster, "cache-shared", &shared);
    let third = scenario(cluster, &c, again, &[]);
    assert_eq!(
        c.hashed("shared-object"),
        0,
        "a restarted gateway hashed again"
    );
    let (t1, t2, t3) = (torrent_of(&first), torrent_of(&second), torrent_of(&third));
    assert!(describes(&t1, &data));
    assert_eq!(
        first["hex"], second["hex"],
        "the same torrent from both replicas"
    );
    assert_eq!(first["hex"], third["hex"]);
    assert_eq!(t1.web_seeds(), [format!("{public}/rep-b/shared-object")]);
    let _ = (t2, t3);
    // The cache bucket is in the cluster, private to the gateway's user.
    let listed = scenario(
        cluster,
        &a,
        r#"
r = c_alice.list_objects_v2(Bucket="cache-shared")
print(json.dumps({"keys": [o["Key"] for o in r.get("Contents", [])],
                  "anon": code(lambda: c_anon.list_objects_v2(Bucket="cache-shared"))}))
"#,
        &[],
    );
    let keys = listed["keys"].as_array().unwrap();
    assert!(
        keys.iter().any(|k| k.as_str().unwrap().contains("/rep-b/")),
        "{listed}"
    );
    assert_eq!(listed["anon"], "AccessDenied");

    // Asked at the same moment, two replicas still hash once: one takes the
    // cluster lock, the other waits for its torrent.
    let big = random_bytes(48 << 20, 10);
    let big_file = write(dir.path(), "big.bin", &big);
    let b = Gateway::start(cluster, "cache-shared", &shared);
    let b_endpoint = b.endpoint();
    let both = scenario(
        cluster,
        &a,
        r#"
import threading
c_alice.put_object(Bucket="rep-b", Key="concurrent-object", Body=open(ARGS[0], "rb").read(), ACL="public-read")
anon_b = mk(ARGS[1])
results = {}
def ask(name, client):
    results[name] = torrent(client, "rep-b", "concurrent-object")
threads = [threading.Thread(target=ask, args=("a", anon)), threading.Thread(target=ask, args=("b", anon_b))]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(results))
"#,
        &[big_file.to_str().unwrap(), b_endpoint.as_str()],
    );
    assert_eq!(both["a"]["status"], 200, "{}", both["a"]);
    assert_eq!(both["a"]["hex"], both["b"]["hex"]);
    assert!(describes(&torrent_of(&both["a"]), &big));
    assert_eq!(
        a.hashed("concurrent-object") + b.hashed("concurrent-object"),
        1,
        "two replicas asked at once hashed {} + {} times",
        a.hashed("concurrent-object"),
        b.hashed("concurrent-object")
    );
}

#[test]
fn the_same_info_hash_as_serve_for_the_same_bytes_and_key() {
    let test = "the_same_info_hash_as_serve_for_the_same_bytes_and_key";
    let Some(cluster) = ready(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(3_333_333, 7);
    let file = write(dir.path(), "data.bin", &data);
    let gw = Gateway::start(cluster, "cache-same", &[]);
    let key = "same/key with space.bin";
    let out = scenario(
        cluster,
        &gw,
        r#"
c_alice.create_bucket(Bucket="same-b")
c_alice.put_object(Bucket="same-b", Key=ARGS[1], Body=open(ARGS[0], "rb").read(), ACL="public-read")
print(json.dumps(torrent(anon, "same-b", ARGS[1])))
"#,
        &[file.to_str().unwrap(), key],
    );
    let ours = torrent_of(&out);
    let serve = Serve::start(&dir.path().join("root"), &[]);
    assert_eq!(boto(&serve, DEV, "mb", &["same-b"]), serde_json::json!({}));
    boto(
        &serve,
        DEV,
        "put",
        &["same-b", key, file.to_str().unwrap(), "public-read"],
    );
    let t = dir.path().join("serve.torrent");
    boto(
        &serve,
        DEV,
        "torrent",
        &["same-b", key, t.to_str().unwrap()],
    );
    let theirs = Torrent::from_bytes(std::fs::read(&t).unwrap()).unwrap();
    assert_eq!(ours.info_hash(), theirs.info_hash());
    assert!(describes(&ours, &data));
}

#[test]
fn aria2c_downloads_through_the_web_seed() {
    let test = "aria2c_downloads_through_the_web_seed";
    let Some(cluster) = ready(test) else { return };
    if !have_program(test, "aria2c") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(4 * 1024 * 1024 + 5, 8);
    let file = write(dir.path(), "data.bin", &data);
    let gw = Gateway::start(cluster, "cache-aria", &[]);
    let out = scenario(
        cluster,
        &gw,
        r#"
c_alice.create_bucket(Bucket="aria-b")
c_alice.put_object(Bucket="aria-b", Key="films/clip.bin", Body=open(ARGS[0], "rb").read(), ACL="public-read")
r = torrent(anon, "aria-b", "films/clip.bin")
open(ARGS[1], "wb").write(bytes.fromhex(r["hex"]))
print(json.dumps({"status": r["status"]}))
"#,
        &[
            file.to_str().unwrap(),
            dir.path().join("t.torrent").to_str().unwrap(),
        ],
    );
    assert_eq!(out["status"], 200);
    let down = dir.path().join("down");
    aria2c_download(&dir.path().join("t.torrent"), &down);
    assert_eq!(std::fs::read(down.join("films_clip.bin")).unwrap(), data);
}

#[test]
fn listing_versioning_and_multipart_pass_through_unchanged() {
    let test = "listing_versioning_and_multipart_pass_through_unchanged";
    let Some(cluster) = ready(test) else { return };
    let gw = Gateway::start(cluster, "cache-pass", &[]);
    let out = scenario(
        cluster,
        &gw,
        include_str!("clients/gateway_pass_through_unchanged.py"),
        &[],
    );
    for name in [
        "list",
        "versions",
        "versioning",
        "uploads",
        "parts",
        "buckets",
    ] {
        let pair = out[name].as_array().unwrap();
        assert_eq!(pair[0], pair[1], "{name} differs through the gateway");
    }
    assert_eq!(out["versions"][0]["Versions"].as_array().unwrap().len(), 4);
    assert_eq!(
        out["versions"][0]["DeleteMarkers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(out["versioning"][0]["Status"], "Enabled");
    assert_eq!(out["uploads"][0]["Uploads"].as_array().unwrap().len(), 1);
    assert_eq!(out["after_abort"], serde_json::json!([]));
    assert_eq!(out["get"], "v2");
    assert_eq!(out["range"], "1-");
    assert_eq!(out["bob_denied"], "AccessDenied");
    assert_eq!(out["bad_signature"], "SignatureDoesNotMatch");
}

/// python libtorrent downloads a `.torrent` into `save` from the peers its
/// tracker gives, within `seconds`: `tests/clients/libtorrent_tracker_download.py`
/// (its docstring says what it prints).
const LT_DOWNLOAD: &str = include_str!("clients/libtorrent_tracker_download.py");

#[test]
fn libtorrent_downloads_from_the_gateway_tracker_and_peer() {
    let _heavy = support::heavy();
    let test = "libtorrent_downloads_from_the_gateway_tracker_and_peer";
    let Some(cluster) = ready(test) else { return };
    if !have_python_module(test, "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 9 pieces of 256 KiB and a short last one.
    let data = random_bytes(9 * 262_144 + 4_321, 9);
    let file = write(dir.path(), "data.bin", &data);
    let gw = Gateway::start(
        cluster,
        "cache-peer",
        &[
            "--seeding",
            "peer",
            "--tracker-listen",
            "127.0.0.1:0",
            "--peer-listen",
            "127.0.0.1:0",
        ],
    );
    let t = dir.path().join("t.torrent");
    let out = scenario(
        cluster,
        &gw,
        r#"
c_alice.create_bucket(Bucket="peer-b")
c_alice.put_object(Bucket="peer-b", Key="swarm.bin", Body=open(ARGS[0], "rb").read(), ACL="public-read")
r = torrent(anon, "peer-b", "swarm.bin")
open(ARGS[1], "wb").write(bytes.fromhex(r["hex"]))
print(json.dumps({"status": r["status"]}))
"#,
        &[file.to_str().unwrap(), t.to_str().unwrap()],
    );
    assert_eq!(out["status"], 200);
    let torrent = Torrent::from_bytes(std::fs::read(&t).unwrap()).unwrap();
    assert!(torrent.web_seeds().is_empty());
    assert!(
        torrent.trackers()[0].ends_with("/announce"),
        "{:?}",
        torrent.trackers()
    );
    // The gateway's UDP tracker, on the HTTP tracker's port, is the second tier.
    assert_eq!(
        torrent.trackers().get(1).copied(),
        Some(
            torrent.trackers()[0]
                .replacen("http://", "udp://", 1)
                .as_str()
        ),
        "{:?}",
        torrent.trackers()
    );
    let save = dir.path().join("lt");
    let r: serde_json::Value = serde_json::from_str(
        support::python(
            LT_DOWNLOAD,
            &[t.to_str().unwrap(), save.to_str().unwrap(), "60"],
        )
        .trim(),
    )
    .unwrap();
    assert_eq!(r["done"], true, "{r}");
    assert_eq!(std::fs::read(save.join("swarm.bin")).unwrap(), data);

    // Made private in the cluster, the object is no longer seeded: the
    // tracker refuses its info-hash.
    scenario(
        cluster,
        &gw,
        r#"
c_alice.put_object_acl(Bucket="peer-b", Key="swarm.bin", ACL="private")
print("{}")
"#,
        &[],
    );
    let announce = format!(
        "{}?info_hash={}&peer_id=-LT2110-abcdefghijkl&port=6999&uploaded=0&downloaded=0&left=1&compact=1",
        torrent.trackers()[0],
        torrent
            .info_hash()
            .as_bytes()
            .iter()
            .map(|b| format!("%{b:02X}"))
            .collect::<String>()
    );
    let tracker_addr = announce
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let path = announce
        .trim_start_matches("http://")
        .trim_start_matches(&tracker_addr)
        .to_owned();
    let reply = support::serve::request(&tracker_addr, "GET", &path, &[]);
    assert!(
        reply.text().contains("failure reason"),
        "the tracker still serves a private object: {}",
        reply.text()
    );
}
