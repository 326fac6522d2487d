//! Records read recently, kept in memory until the next write: what a
//! cached `?torrent`, a GET or a HEAD needs (the bucket, the object's
//! record) without a database read.
//!
//! Every write transaction the store runs moves the store's epoch on once
//! it has committed (or failed), and a memo holds the rows of one epoch
//! only: the first lookup of a newer epoch empties it. A reader takes the
//! epoch *before* it reads the database and stores what it read under that
//! epoch, so a row read before a commit is never served after the commit's
//! epoch move; the window is the commit's own call, which has not returned
//! to its caller yet. Any write empties the whole memo: writes are rare next
//! to reads on the paths it serves, and a finer scheme would have to know
//! which rows each transaction touched.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The store's write counter.
#[derive(Debug, Default)]
pub(super) struct Epoch(AtomicU64);

impl Epoch {
    /// The epoch now: take it before reading what is to be remembered.
    pub(super) fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// After a write transaction (committed or not).
    pub(super) fn advance(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Rows of one epoch, at most [`Memo::ROWS`] of them.
#[derive(Debug)]
pub(super) struct Memo<T> {
    inner: Mutex<Rows<T>>,
}

#[derive(Debug)]
struct Rows<T> {
    epoch: u64,
    rows: HashMap<String, T>,
}

impl<T: Clone> Memo<T> {
    /// How many rows a memo holds: when full it starts again empty (rows
    /// are small: a bucket's or an object's record).
    const ROWS: usize = 4096;

    pub(super) fn new() -> Self {
        Memo {
            inner: Mutex::new(Rows {
                epoch: 0,
                rows: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rows<T>> {
        // No code that can panic runs under the lock but HashMap's own.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The row of `key` if it was read in epoch `now` (the current one).
    pub(super) fn get(&self, now: u64, key: &str) -> Option<T> {
        let mut rows = self.lock();
        if rows.epoch != now {
            if rows.epoch < now {
                rows.rows.clear();
                rows.epoch = now;
            }
            return None;
        }
        rows.rows.get(key).cloned()
    }

    /// Whether the row of `key` is held for epoch `now`.
    pub(super) fn holds(&self, now: u64, key: &str) -> bool {
        let rows = self.lock();
        rows.epoch == now && rows.rows.contains_key(key)
    }

    /// Remembers a row read in epoch `read`, unless a write has moved the
    /// epoch on since (`now`).
    pub(super) fn put(&self, read: u64, now: u64, key: &str, value: T) {
        if read != now {
            return;
        }
        let mut rows = self.lock();
        if rows.epoch != read {
            if rows.epoch > read {
                // A reader of a newer epoch was here first.
                return;
            }
            rows.rows.clear();
            rows.epoch = read;
        }
        if rows.rows.len() >= Self::ROWS && !rows.rows.contains_key(key) {
            rows.rows.clear();
        }
        rows.rows.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_read_before_a_write_is_not_served_after_it() {
        let epoch = Epoch::default();
        let memo = Memo::new();
        let read = epoch.now();
        // The write commits and moves the epoch before the reader stores.
        epoch.advance();
        memo.put(read, epoch.now(), "k", 1);
        assert_eq!(memo.get(epoch.now(), "k"), None);
        // Stored before the move: served until the move, not after.
        let read = epoch.now();
        memo.put(read, epoch.now(), "k", 2);
        assert_eq!(memo.get(epoch.now(), "k"), Some(2));
        epoch.advance();
        assert_eq!(memo.get(epoch.now(), "k"), None);
    }

    #[test]
    fn a_full_memo_starts_again() {
        let epoch = Epoch::default();
        let memo = Memo::new();
        for i in 0..=Memo::<usize>::ROWS {
            memo.put(epoch.now(), epoch.now(), &i.to_string(), i);
        }
        assert_eq!(memo.get(epoch.now(), "0"), None);
        assert_eq!(
            memo.get(epoch.now(), &Memo::<usize>::ROWS.to_string()),
            Some(Memo::<usize>::ROWS)
        );
    }
}
