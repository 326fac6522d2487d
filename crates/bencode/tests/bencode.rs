//! The integration tests of the bencode codec: one module per subject and one test
//! binary for them all (`cargo test -p s3torrent-bencode --test bencode NAME::`
//! runs one module), sharing `common`.
//!
//! Cargo's discovery of test files is off for this package
//! (`autotests = false`): a new file in `tests/` is a `mod` line below.

mod common;

mod differential;
mod hostile;
mod roundtrip;
mod serde;

/// Every `tests/*.rs` file but this one is a module here: with Cargo's
/// discovery of test files off, a file left out would never be built.
#[test]
fn every_test_file_is_a_module() {
    s3torrent_testkit::every_file_is_a_module(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests")),
        "bencode.rs",
        include_str!("bencode.rs"),
    );
}
