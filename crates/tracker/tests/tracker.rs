//! The integration tests of the tracker: one module per subject and one test
//! binary for them all (`cargo test -p s3torrent-tracker --test tracker NAME::`
//! runs one module), sharing `common`.
//!
//! Cargo's discovery of test files is off for this package
//! (`autotests = false`): a new file in `tests/` is a `mod` line below.

mod common;

mod behaviour;
mod client;
mod forwarded;
mod hostile;
mod swarm_model;
mod udp;
mod ws;

/// Every `tests/*.rs` file but this one is a module here: with Cargo's
/// discovery of test files off, a file left out would never be built.
#[test]
fn every_test_file_is_a_module() {
    s3torrent_testkit::every_file_is_a_module(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests")),
        "tracker.rs",
        include_str!("tracker.rs"),
    );
}
