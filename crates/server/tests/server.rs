//! The server library's own tests, in process: a server started on
//! `127.0.0.1:0` over a temp root, driven by a real SigV4 signer
//! (rusty-s3) and hyper's client. One module per subject and one test
//! binary for them all, which links s3s, hyper and redb once.
//! `cargo test -p s3torrent-server --test server front::` runs one module.
//!
//! Cargo's discovery of test files is off for this package
//! (`autotests = false`): a new file in `tests/` is a `mod` line below.

mod support;

mod acl;
mod adoption;
mod advertised;
mod answers;
mod digest;
mod disk_full;
mod front;
mod keys;
mod listing;
mod multipart;
mod objects;
mod ops_buckets;
mod ops_copy_acl;
mod ops_listing;
mod restart;

/// Every `tests/*.rs` file but this one is a module here: with Cargo's
/// discovery of test files off, a file left out would never be built.
#[test]
fn every_test_file_is_a_module() {
    s3torrent_testkit::every_file_is_a_module(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests")),
        "server.rs",
        include_str!("server.rs"),
    );
}
