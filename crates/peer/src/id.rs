//! The small types the other modules share: the connection id every
//! shared table is keyed by, and the block a request names (a leaf: it
//! imports nothing of the crate).

use std::sync::atomic::{AtomicU64, Ordering};

/// A connection's id, unique in the process (it keys the shared choker and
/// super-seeding state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

impl ConnectionId {
    /// A new id, never handed out before in this process.
    pub(crate) fn next() -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        ConnectionId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A block: piece index, offset in the piece and length (`request`,
/// `cancel` and `reject request` carry one; errors name one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockRequest {
    /// The piece index.
    pub index: u32,
    /// The offset in the piece.
    pub begin: u32,
    /// The length in bytes.
    pub length: u32,
}
