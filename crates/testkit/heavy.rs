//! A gate for heavy tests. The end-to-end tests of a crate are one test
//! binary, whose harness runs as many tests at once as the machine has
//! threads; a test that starts a swarm, a browser, network namespaces, a
//! flood or an outside daemon takes the gate first, so that only a few
//! such tests share the machine at a time while light tests run beside
//! them.

use std::sync::{Condvar, Mutex, PoisonError};

/// How many heavy tests run at once unless `S3TORRENT_HEAVY_TESTS` says
/// otherwise: two, as many as a two-core machine's test harness runs at
/// once. With one, a heavy test waiting at the gate holds a harness
/// thread that a light test could use, and the run gets slower.
pub const DEFAULT_HEAVY_TESTS: usize = 2;

static RUNNING: Mutex<usize> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

/// The gate's width: `S3TORRENT_HEAVY_TESTS` (a number from 1), else
/// [`DEFAULT_HEAVY_TESTS`].
fn width() -> usize {
    std::env::var("S3TORRENT_HEAVY_TESTS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(DEFAULT_HEAVY_TESTS)
}

/// A heavy test's place through the gate, held until it is dropped (at
/// the end of the test, or while it unwinds from a failure).
#[derive(Debug)]
#[must_use = "the gate is held only while the value lives"]
pub struct Heavy {
    _held: (),
}

/// Waits until fewer than the gate's width of heavy tests run in this
/// process, then holds a place until the returned value is dropped.
///
/// ```
/// let first = s3torrent_testkit::heavy();
/// // ... start the swarm ...
/// drop(first);
/// let _second = s3torrent_testkit::heavy();
/// ```
pub fn heavy() -> Heavy {
    let width = width();
    let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    while *running >= width {
        running = FREED.wait(running).unwrap_or_else(PoisonError::into_inner);
    }
    *running += 1;
    Heavy { _held: () }
}

impl Drop for Heavy {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        *running = running.saturating_sub(1);
        FREED.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn never_more_than_the_width_at_once() {
        static INSIDE: AtomicUsize = AtomicUsize::new(0);
        static MOST: AtomicUsize = AtomicUsize::new(0);
        let threads: Vec<_> = (0..6)
            .map(|_| {
                std::thread::spawn(|| {
                    let _gate = heavy();
                    let now = INSIDE.fetch_add(1, Ordering::SeqCst) + 1;
                    MOST.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    INSIDE.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().expect("a thread ends");
        }
        assert!((1..=width()).contains(&MOST.load(Ordering::SeqCst)));
    }
}
