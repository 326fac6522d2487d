//! The seeding side of the BitTorrent peer wire protocol (work in progress).

#![deny(missing_docs)]
