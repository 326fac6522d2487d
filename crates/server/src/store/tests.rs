//! The store against a model, with crashes injected at every step of a
//! commit (unit tests: the crash points exist only in test builds).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use super::*;

/// Injected crashes: after `countdown` more crash points the store "dies":
/// that point and everything after it fails, and nothing is cleaned up, as
/// when the process is killed there. The test then drops the store and
/// opens the root again.
#[derive(Default)]
pub(super) struct Crash {
    /// Crash points to pass before dying; negative: never.
    countdown: AtomicI64,
    dead: AtomicBool,
    armed: AtomicBool,
}

impl Crash {
    pub(super) fn point(&self, _at: &'static str) -> Result<(), S3Error> {
        self.alive()?;
        if self.armed.load(Ordering::SeqCst) && self.countdown.fetch_sub(1, Ordering::SeqCst) == 0 {
            self.dead.store(true, Ordering::SeqCst);
            return Err(internal("crashed (injected)"));
        }
        Ok(())
    }

    pub(super) fn alive(&self) -> Result<(), S3Error> {
        if self.dead.load(Ordering::SeqCst) {
            Err(internal("crashed (injected)"))
        } else {
            Ok(())
        }
    }

    /// Dies at the `n`th crash point from now.
    fn arm(&self, n: i64) {
        self.countdown.store(n, Ordering::SeqCst);
        self.armed.store(true, Ordering::SeqCst);
    }

    fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }
}
