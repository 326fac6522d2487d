//! The end-to-end tests, one module per subject and one test binary for
//! them all (as ripgrep's `tests/tests.rs`): the `s3torrent` binary against
//! real clients and parts (python libtorrent, aria2c, transmission-cli,
//! rtorrent, mktorrent, boto3, aws-cli, opentracker, nginx, Prometheus,
//! headless Chromium, Ceph RGW). One binary links s3s, hyper and redb once
//! instead of once per file. `cargo test --test e2e swarm_e2e::` runs one
//! module.
//!
//! The harness runs as many tests at once as the machine has threads. A
//! test that starts a swarm, a browser, network namespaces, a flood or an
//! outside daemon first takes [`support::heavy`], which lets two such tests
//! run at a time (`S3TORRENT_HEAVY_TESTS=N`: N) and light tests beside
//! them.
//!
//! Cargo's discovery of test files is off for this package
//! (`autotests = false`): a new file in `tests/` is a `mod` line below.

mod support;

mod announce_e2e;
mod browser_e2e;
mod config_e2e;
mod console_e2e;
mod dht;
mod embed_s3s;
mod floods;
mod gateway_e2e;
mod log_format;
mod metainfo_interop;
mod metrics;
mod ops_e2e;
mod prometheus_e2e;
mod reach_e2e;
mod s3_access;
mod s3_checksums;
mod s3_conformance;
mod s3_cors;
mod s3_encryption;
mod s3_parts;
mod s3_policy_conditions;
mod serve_e2e;
mod slow_clients;
mod store_e2e;
mod swarm_e2e;
mod swarm_encryption;
mod swarm_netns;
mod systemd_unit;
mod tls_e2e;
mod v2_interop;
mod versioning_e2e;

/// Every `tests/*.rs` file but this one is a module here: with Cargo's
/// discovery of test files off, a file left out would never be built.
#[test]
fn every_test_file_is_a_module() {
    s3torrent_testkit::every_file_is_a_module(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests")),
        "e2e.rs",
        include_str!("e2e.rs"),
    );
}
