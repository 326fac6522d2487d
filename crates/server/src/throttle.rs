//! `--seed-rate`: one budget of bytes per second for everything the
//! endpoint uploads (peer connections and GetObject bodies), shared between
//! them in the order they ask.

use std::num::NonZeroU64;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket that lends: a sender takes what it is about to send and
/// sleeps off the debt, so senders queue in the order they asked and each
/// gets its turn (a large request cannot starve small ones for long: a
/// sender takes at most [`Throttle::CHUNK`] bytes at a time).
#[derive(Debug)]
pub(crate) struct Throttle {
    rate: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Bytes that may go out now; negative while senders sleep off debt.
    available: f64,
    refilled: Instant,
}

impl Throttle {
    /// The most one sender should take at once.
    pub(crate) const CHUNK: usize = 16 * 1024;

    /// A budget of `rate` bytes per second, with a burst of a tenth of a
    /// second (at least one chunk).
    pub(crate) fn new(rate: NonZeroU64) -> Throttle {
        let rate = rate.get() as f64;
        let burst = (rate / 10.0).max(Self::CHUNK as f64);
        Throttle {
            rate,
            burst,
            state: Mutex::new(Bucket {
                available: burst,
                refilled: Instant::now(),
            }),
        }
    }

    /// How long a sender of `bytes` must wait from `now` before sending;
    /// the bytes are counted as sent.
    fn reserve(&self, bytes: usize, now: Instant) -> Duration {
        let mut b = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = now.saturating_duration_since(b.refilled).as_secs_f64();
        b.available = (b.available + elapsed * self.rate).min(self.burst);
        b.refilled = now;
        b.available -= bytes as f64;
        if b.available >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.available / self.rate)
        }
    }

    /// Waits until `bytes` may be sent; whether it had to wait (the rate is
    /// the bottleneck).
    pub(crate) async fn take(&self, bytes: usize) -> bool {
        let wait = self.reserve(bytes, Instant::now());
        if wait.is_zero() {
            return false;
        }
        tokio::time::sleep(wait).await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_queue_for_the_rate() {
        // 1 MB/s: a burst of 100 kB is free, then each 50 kB costs 50 ms more.
        let t = Throttle::new(NonZeroU64::new(1_000_000).unwrap());
        let now = Instant::now();
        assert_eq!(t.reserve(100_000, now), Duration::ZERO);
        let first = t.reserve(50_000, now);
        let second = t.reserve(50_000, now);
        assert!((first.as_secs_f64() - 0.05).abs() < 1e-9, "{first:?}");
        assert!((second.as_secs_f64() - 0.10).abs() < 1e-9, "{second:?}");
        // A second later the debt is paid and the burst is back, capped.
        let later = now + Duration::from_secs(2);
        assert_eq!(t.reserve(100_000, later), Duration::ZERO);
        assert!(t.reserve(1, later) > Duration::ZERO);
    }
}
