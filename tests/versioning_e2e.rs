//! Versioning end to end, through unmodified boto3, the AWS CLI and python
//! libtorrent: Put/GetBucketVersioning, versioned PUT, GET and HEAD by
//! `versionId`, delete markers (a table of what each request then
//! answers), a suspended bucket's null version (a table, step by step),
//! CopyObject from a version, a multipart upload's version, versioned
//! ACLs, DeleteObjects of versions, ListObjectVersions pages with
//! prefixes and delimiters, `?torrent&versionId=`; and the swarm keeping a
//! version's info-hash while that version exists: an overwrite of a
//! versioned public object while libtorrent downloads it from the
//! endpoint's peer, which finishes with the old bytes while a new client
//! gets the new torrent and the new bytes.
//!
//! Every expectation is a fixed value written here from S3's documented
//! behaviour (and Ceph's s3-tests, which check it against AWS), not one
//! our code computed. Loopback only; every wait is bounded.

use crate::support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use s3torrent_metainfo::Torrent;
use serde_json::{Value, json};
use support::serve::{Serve, aws_ok, request};
use support::swarm::{
    Encryption, announce_failure, downloaded, libtorrent_download, libtorrent_downloads,
    tracker_of, wait_for_bytes,
};
use support::{have_program, have_python_module, python, random_bytes, write};

/// One boto3 session over the whole scenario; prints what each step
/// answered, as JSON (`python3 -c SCENARIO ENDPOINT`). Version IDs are
/// named by the step that made them (`v1`, `m1`, ...), `null` as itself.
const SCENARIO: &str = support::boto3_script!("clients/boto3_versioning_scenario.py");

fn ready(test: &str) -> bool {
    have_python_module(test, "boto3") && have_python_module(test, "libtorrent")
}

#[test]
fn boto3_round_trips_versions_delete_markers_and_null_versions() {
    let test = "boto3_round_trips_versions_delete_markers_and_null_versions";
    if !ready(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start_two_users(dir.path(), &[]);
    let out: Value = serde_json::from_str(python(SCENARIO, &[&serve.endpoint()]).trim()).unwrap();
    let get = |k: &str| out[k].clone();

    // A bucket never versioned has no status; its writes name no version.
    assert_eq!(get("never"), Value::Null);
    assert_eq!(get("unversioned_put"), json!(false));
    assert_eq!(get("enabled"), json!("Enabled"));
    assert_eq!(get("put_versions"), json!([true, true]));
    // The newest version by default, any by its ID (the object from before
    // versioning is `null`); an ID that is not there is NoSuchVersion.
    assert_eq!(
        get("reads"),
        json!([
            "two",
            "v2",
            "one",
            "p0",
            "null",
            [3],
            [404, "NoSuchVersion", null, null]
        ])
    );
    assert_eq!(get("listed"), json!(["k"]));
    assert_eq!(
        get("versions"),
        json!([
            [
                ["k", "v2", true, "two"],
                ["k", "v1", false, "one"],
                ["k", "null", false, "p0"]
            ],
            []
        ])
    );

    // Delete markers: a GET of the key is 404 NoSuchKey and a GET of the
    // marker 405 MethodNotAllowed, both with x-amz-delete-marker (S3's
    // GetObject documentation); older versions read; the key is not listed.
    assert_eq!(get("marker_made"), json!([true, "m1"]));
    assert_eq!(
        get("marker_table"),
        json!([
            ["GET", [404, "NoSuchKey", "true", "m1"]],
            ["HEAD", [404, "404", "true", "m1"]],
            ["GET marker", [405, "MethodNotAllowed", "true", "m1"]],
            ["HEAD marker", [405, "405", "true", "m1"]],
            ["GET v1", "one"],
            ["GetObjectAcl marker", [405, "MethodNotAllowed", null, null]],
            ["ListObjectsV2", []],
            ["anonymous ?torrent", 403]
        ])
    );
    assert_eq!(
        get("versions_with_marker"),
        json!([
            [
                ["k", "v2", false, "two"],
                ["k", "v1", false, "one"],
                ["k", "null", false, "p0"]
            ],
            [["k", "m1", true]]
        ])
    );
    // Deleting the marker by its ID brings the newest version back.
    assert_eq!(get("marker_deleted"), json!([true, "m1", "two"]));

    assert_eq!(get("copy"), json!(["v1", "one"]));
    // Copying the null version onto its key makes it the newest again.
    assert_eq!(get("restore"), json!(["p0", ["v3", "v2", "v1", "null"]]));
    assert_eq!(
        get("multipart"),
        json!(["multi", ["mp", "v3", "v2", "v1", "null"]])
    );
    assert_eq!(
        get("acls"),
        json!([
            [
                "http://acs.amazonaws.com/groups/global/AllUsers READ",
                "owner FULL_CONTROL"
            ],
            ["owner FULL_CONTROL"],
            ["owner FULL_CONTROL"]
        ])
    );
    assert_eq!(get("anonymous"), json!([[200, "one"], 403, 403]));
    // The public version's torrent describes its bytes; the current one is
    // private, and a missing version is not revealed to the anonymous.
    assert_eq!(get("version_torrent"), json!([200, true, 403, 403]));
    assert_eq!(get("other_reads_v1"), json!("one"));
    assert_eq!(
        get("delete_objects"),
        json!([
            ["c", null, true, "cm"],
            ["k", "unnamed", null, null],
            ["k", "v2", null, null]
        ])
    );
    assert_eq!(get("delete_objects_errors"), json!([]));
    assert_eq!(
        get("after_delete_objects"),
        json!([
            ["mp", "v3", "v1", "null"],
            [["c", "cm", true]],
            [404, "NoSuchKey", "true", "cm"]
        ])
    );
    assert_eq!(get("not_empty"), json!([409, "BucketNotEmpty", null, null]));
    assert_eq!(get("torrents"), json!([true, true, true, true, true]));

    assert_eq!(get("policy_versions"), json!([200, 403, [200, "old"]]));
    assert_eq!(get("policy_lists"), json!([200, 403, 200]));

    // Suspended: no version ID in a write's answer (s3-tests'
    // test_versioning_bucket_atomic_upload_return_version_id); the null
    // version is replaced by each write and by a delete marker.
    assert_eq!(get("suspended"), json!("Suspended"));
    assert_eq!(
        get("suspended_table"),
        json!([
            [
                "put s1",
                false,
                "s1",
                [[["x", "null", true, "s1"], ["x", "a1", false, "a"]], []]
            ],
            [
                "put s2",
                false,
                "s2",
                [[["x", "null", true, "s2"], ["x", "a1", false, "a"]], []]
            ],
            [
                "delete",
                [true, "null"],
                [404, "NoSuchKey", "true", "null"],
                [[["x", "a1", false, "a"]], [["x", "null", true]]]
            ],
            [
                "put s3",
                false,
                "s3",
                [[["x", "null", true, "s3"], ["x", "a1", false, "a"]], []]
            ],
            [
                "enable, put b",
                true,
                "b",
                [
                    [
                        ["x", "b1", true, "b"],
                        ["x", "null", false, "s3"],
                        ["x", "a1", false, "a"]
                    ],
                    []
                ]
            ],
            [
                "delete null",
                [null, "null"],
                "b",
                [[["x", "b1", true, "b"], ["x", "a1", false, "a"]], []]
            ],
            [
                "suspend, delete",
                [true, "null"],
                [404, "NoSuchKey", "true", "null"],
                [
                    [["x", "b1", false, "b"], ["x", "a1", false, "a"]],
                    [["x", "null", true]]
                ]
            ]
        ])
    );
    assert_eq!(get("bad_status"), json!([400, "MalformedXML", null, null]));
    assert_eq!(get("other_sets"), json!([403, "AccessDenied", null, null]));

    // Eight entries in four pages of two, each page resuming after the
    // last version it listed; with a delimiter, d/ is one entry.
    assert_eq!(
        get("pages"),
        json!([
            [["a@a3", "a@a2"], [], [], true, "a", "a2"],
            [["a@a1"], ["b@bm"], [], true, "b", "bm"],
            [["b@b1", "d/x@dx"], [], [], true, "d/x", "dx"],
            [["d/y@dy", "e@e1"], [], [], false, null, null]
        ])
    );
    assert_eq!(
        get("pages_delimited"),
        json!([
            [["a@a3", "a@a2"], [], [], true, "a", "a2"],
            [["a@a1"], ["b@bm"], [], true, "b", "bm"],
            [["b@b1"], [], ["d/"], true, "d/", null],
            [["e@e1"], [], [], false, null, null]
        ])
    );
    assert_eq!(get("prefix"), json!([["d/x", "dx"], ["d/y", "dy"]]));
    assert_eq!(
        get("marker_without_key"),
        json!([400, "InvalidArgument", null, null])
    );
}

/// The AWS CLI's versioning commands, and `aws s3` seeing only the
/// current versions.
#[test]
fn aws_cli_sets_versioning_reads_versions_and_deletes_markers() {
    let test = "aws_cli_sets_versioning_reads_versions_and_deletes_markers";
    if !have_program(test, "aws") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("root"), &[]);
    let first = write(dir.path(), "first.txt", b"first version");
    let second = write(dir.path(), "second.txt", b"second version");
    aws_ok(&serve, &["s3", "mb", "s3://cli-ver"]);
    assert_eq!(
        aws_ok(
            &serve,
            &["s3api", "get-bucket-versioning", "--bucket", "cli-ver"]
        )
        .trim(),
        ""
    );
    aws_ok(
        &serve,
        &[
            "s3api",
            "put-bucket-versioning",
            "--bucket",
            "cli-ver",
            "--versioning-configuration",
            "Status=Enabled",
        ],
    );
    let status: Value = serde_json::from_str(&aws_ok(
        &serve,
        &["s3api", "get-bucket-versioning", "--bucket", "cli-ver"],
    ))
    .unwrap();
    assert_eq!(status, json!({"Status": "Enabled"}));
    let put = |file: &Path| -> String {
        let r: Value = serde_json::from_str(&aws_ok(
            &serve,
            &[
                "s3api",
                "put-object",
                "--bucket",
                "cli-ver",
                "--key",
                "doc.txt",
                "--body",
                file.to_str().unwrap(),
            ],
        ))
        .unwrap();
        r["VersionId"].as_str().expect("a version ID").to_owned()
    };
    let (v1, v2) = (put(&first), put(&second));
    assert_ne!(v1, v2);
    let listed: Value = serde_json::from_str(&aws_ok(
        &serve,
        &["s3api", "list-object-versions", "--bucket", "cli-ver"],
    ))
    .unwrap();
    let ids: Vec<(&str, bool)> = listed["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["VersionId"].as_str().unwrap(),
                v["IsLatest"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(ids, [(v2.as_str(), true), (v1.as_str(), false)]);
    let old = dir.path().join("old.txt");
    aws_ok(
        &serve,
        &[
            "s3api",
            "get-object",
            "--bucket",
            "cli-ver",
            "--key",
            "doc.txt",
            "--version-id",
            &v1,
            old.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read(&old).unwrap(), b"first version");
    // `aws s3 rm` makes a delete marker: `aws s3 ls` lists nothing, the
    // versions stay.
    aws_ok(&serve, &["s3", "rm", "s3://cli-ver/doc.txt"]);
    assert_eq!(aws_ok(&serve, &["s3", "ls", "s3://cli-ver"]).trim(), "");
    let listed: Value = serde_json::from_str(&aws_ok(
        &serve,
        &["s3api", "list-object-versions", "--bucket", "cli-ver"],
    ))
    .unwrap();
    assert_eq!(listed["Versions"].as_array().unwrap().len(), 2);
    let marker = listed["DeleteMarkers"][0]["VersionId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(listed["DeleteMarkers"][0]["IsLatest"], json!(true));
    let removed: Value = serde_json::from_str(&aws_ok(
        &serve,
        &[
            "s3api",
            "delete-object",
            "--bucket",
            "cli-ver",
            "--key",
            "doc.txt",
            "--version-id",
            &marker,
        ],
    ))
    .unwrap();
    assert_eq!(removed, json!({"DeleteMarker": true, "VersionId": marker}));
    let back = dir.path().join("back.txt");
    aws_ok(
        &serve,
        &["s3", "cp", "s3://cli-ver/doc.txt", back.to_str().unwrap()],
    );
    assert_eq!(std::fs::read(&back).unwrap(), b"second version");
}

/// Drives boto3 for the swarm test: `python3 -c BOTO ENDPOINT OP ARGS…`.
const BOTO: &str = support::boto3_script!("clients/boto3_versioning_ops.py");

fn boto(serve: &Serve, args: &[&str]) -> Value {
    let endpoint = serve.endpoint();
    let mut all = vec![endpoint.as_str()];
    all.extend_from_slice(args);
    serde_json::from_str(python(BOTO, &all).trim()).expect("boto prints JSON")
}

/// The swarm's flags: peer seeding alone, on ports of the system's
/// choosing, at 256 KiB/s so that a download of 2 MiB takes seconds.
const SLOW_PEER: &[&str] = &[
    "--seeding",
    "peer",
    "--tracker-listen",
    "127.0.0.1:0",
    "--peer-listen",
    "127.0.0.1:0",
    "--seed-rate",
    "262144",
];

/// How many of `data`'s pieces of `piece` bytes `path` holds (libtorrent
/// writes pieces in any order, into a file of the full length).
fn pieces_held(path: &Path, data: &[u8], piece: usize) -> usize {
    let got = downloaded(path);
    data.chunks(piece)
        .enumerate()
        .filter(|(i, chunk)| got.get(i * piece..i * piece + chunk.len()) == Some(*chunk))
        .count()
}

/// Saves a torrent's bytes and parses it.
fn torrent_at(dir: &Path, name: &str, bytes: Vec<u8>) -> (PathBuf, Torrent) {
    let path = write(dir, name, &bytes);
    (path, Torrent::from_bytes(bytes).expect("a torrent"))
}

/// The target scenario: a versioned public object is overwritten while
/// python libtorrent downloads it from the endpoint's peer. The download
/// finishes with the old bytes (the old version still exists and is
/// public, so its info-hash is still served), and a new client gets the
/// new version's torrent, another info-hash, and the new bytes. Then the
/// old version, deleted for good, leaves the swarm.
#[test]
fn an_overwrite_of_a_versioned_object_leaves_its_running_download_alone() {
    let _heavy = support::heavy();
    let test = "an_overwrite_of_a_versioned_object_leaves_its_running_download_alone";
    if !ready(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("root"), SLOW_PEER);
    const PIECE: usize = 262_144;
    let old = random_bytes(8 * PIECE + 5_000, 91);
    let new = random_bytes(8 * PIECE + 7_000, 92);
    assert_eq!(boto(&serve, &["versioned-bucket", "pub"]), json!({}));
    let old_file = write(dir.path(), "old.bin", &old);
    let v1 = boto(
        &serve,
        &["put", "pub", "big.bin", old_file.to_str().unwrap()],
    )["version"]
        .as_str()
        .expect("a version ID")
        .to_owned();
    let got = request(&serve.addr, "GET", "/pub/big.bin?torrent", &[]);
    assert_eq!(got.status, 200, "{}", got.text());
    let (old_path, old_torrent) = torrent_at(dir.path(), "old.torrent", got.body.clone());
    let pinned = request(
        &serve.addr,
        "GET",
        &format!("/pub/big.bin?torrent&versionId={v1}"),
        &[],
    );
    assert_eq!(pinned.body, got.body, "the current version's torrent");
    let old_hash = *old_torrent.info_hash().as_bytes();
    let tracker = tracker_of(&old_torrent);

    // The first client starts; once it holds a piece (and not all), the
    // object is overwritten.
    let save_old = dir.path().join("first");
    let first = {
        let (torrent, save) = (old_path.to_str().unwrap().to_owned(), save_old.clone());
        std::thread::spawn(move || {
            libtorrent_download(&torrent, &save, 120, "127.0.0.1:0", Encryption::Default)
        })
    };
    let target = save_old.join("big.bin");
    let total = old.len().div_ceil(PIECE);
    let deadline = Instant::now() + Duration::from_secs(60);
    while pieces_held(&target, &old, PIECE) == 0 {
        assert!(
            Instant::now() < deadline,
            "no piece of the old version in 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let new_file = write(dir.path(), "new.bin", &new);
    let v2 = boto(
        &serve,
        &["put", "pub", "big.bin", new_file.to_str().unwrap()],
    )["version"]
        .as_str()
        .expect("a version ID")
        .to_owned();
    assert_ne!(v1, v2);
    let held = pieces_held(&target, &old, PIECE);
    assert!(
        held < total,
        "the download was complete before the overwrite ({held} of {total} pieces): slow it down"
    );
    // The old info-hash is still announced: its version is there, public.
    assert_eq!(
        announce_failure(&tracker, &old_hash, "-XX0001-aaaaaaaaaaaa", 40001),
        None
    );

    // A new client gets the new version's torrent and bytes.
    let got = request(&serve.addr, "GET", "/pub/big.bin?torrent", &[]);
    assert_eq!(got.status, 200, "{}", got.text());
    let (new_path, new_torrent) = torrent_at(dir.path(), "new.torrent", got.body);
    assert_ne!(new_torrent.info_hash(), old_torrent.info_hash());
    libtorrent_downloads(&new_path, &dir.path().join("second"), 120, "big.bin", &new);

    // The first client finishes with exactly the old bytes.
    let r = first.join().expect("the first client");
    assert_eq!(r["done"], true, "{r}");
    assert!(wait_for_bytes(&target, &old, 10), "the old bytes");
    // Its torrent is still the old version's, by its ID.
    let pinned = request(
        &serve.addr,
        "GET",
        &format!("/pub/big.bin?torrent&versionId={v1}"),
        &[],
    );
    assert_eq!(pinned.status, 200);
    assert_eq!(
        Torrent::from_bytes(pinned.body).unwrap().info_hash(),
        old_torrent.info_hash()
    );

    // The old version deleted for good: its info-hash is no longer served
    // (to the anonymous, who may not list the bucket, a missing version is
    // AccessDenied, as S3 answers), the new one still is.
    assert_eq!(
        boto(&serve, &["delete-version", "pub", "big.bin", &v1]),
        json!({})
    );
    let gone = announce_failure(&tracker, &old_hash, "-XX0001-bbbbbbbbbbbb", 40002)
        .expect("a failure reason");
    assert!(
        gone.contains("not served") && gone.contains("AccessDenied"),
        "{gone}"
    );
    assert_eq!(
        announce_failure(
            &tracker,
            new_torrent.info_hash().as_bytes(),
            "-XX0001-cccccccccccc",
            40003
        ),
        None
    );
}

/// With web seeding, the torrent of an older version names the object's URL
/// pinned to that version (`?versionId=`), so that aria2c, downloading from
/// the web seed alone, gets that version's bytes after an overwrite.
#[test]
fn aria2c_downloads_an_older_version_from_its_pinned_web_seed() {
    let test = "aria2c_downloads_an_older_version_from_its_pinned_web_seed";
    if !have_python_module(test, "boto3") || !have_program(test, "aria2c") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // `--seeding web`: the web seed alone.
    let serve = Serve::start(&dir.path().join("root"), &[]);
    let old = random_bytes(3 * 262_144 + 11, 93);
    let new = random_bytes(2 * 262_144 + 17, 94);
    assert_eq!(boto(&serve, &["versioned-bucket", "web"]), json!({}));
    let old_file = write(dir.path(), "old.bin", &old);
    let v1 = boto(
        &serve,
        &["put", "web", "doc.bin", old_file.to_str().unwrap()],
    )["version"]
        .as_str()
        .expect("a version ID")
        .to_owned();
    let new_file = write(dir.path(), "new.bin", &new);
    boto(
        &serve,
        &["put", "web", "doc.bin", new_file.to_str().unwrap()],
    );
    let got = request(
        &serve.addr,
        "GET",
        &format!("/web/doc.bin?torrent&versionId={v1}"),
        &[],
    );
    assert_eq!(got.status, 200, "{}", got.text());
    let (path, torrent) = torrent_at(dir.path(), "old.torrent", got.body);
    assert_eq!(
        torrent.web_seeds(),
        [format!("{}/web/doc.bin?versionId={v1}", serve.endpoint())]
    );
    let save = dir.path().join("aria2c");
    support::serve::aria2c_download(&path, &save);
    assert_eq!(downloaded(&save.join("doc.bin")), old);
}
