//! A sans-IO BitTorrent HTTP tracker (work in progress).

#![deny(missing_docs)]
