//! Nothing but a home for the criterion suites beside this file (a
//! package needs a target of its own): `cargo bench -p s3torrent-benches`.
