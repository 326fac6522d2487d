//! The log's writer: lines are appended to a buffer in memory, and a thread
//! of its own writes the buffer to stderr in batches, so that no request
//! waits on a write to stderr and none wakes a thread either.
//!
//! The writer thread looks at the buffer every [`PERIOD`], and sooner when
//! it holds [`BATCH`] bytes (the logger that filled it wakes the thread):
//! under load, one wake-up and one `write(2)` per batch of lines, not per
//! line. Lines are never dropped: a logger that finds [`LIMIT`] bytes
//! queued waits until the thread has taken them. Dropping the [`Guard`]
//! writes what is queued and stops the thread.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a line may wait in memory when the log is quiet.
const PERIOD: Duration = Duration::from_millis(20);
/// The bytes queued at which a logger wakes the writer thread.
const BATCH: usize = 64 * 1024;
/// The bytes queued at which loggers wait for the writer thread.
const LIMIT: usize = 16 << 20;

#[derive(Default)]
struct State {
    queued: Vec<u8>,
    /// The guard was dropped: write what is queued and stop.
    closing: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// The writer thread waits on it for a batch (or `closing`).
    filled: Condvar,
    /// Loggers wait on it for room under [`LIMIT`].
    emptied: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing that can panic runs under the lock but `Vec`'s growth.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Where the log's lines go: cheap to clone, one per writer the fmt layer
/// asks for.
#[derive(Clone)]
pub(crate) struct Batched(Arc<Shared>);

/// Keeps the writer thread; dropping it writes what is queued and stops it.
pub(crate) struct Guard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the writer thread (named `s3torrent-log`) over stderr.
pub(crate) fn stderr() -> (Batched, Guard) {
    let shared = Arc::new(Shared::default());
    let thread = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("s3torrent-log".into())
            .spawn(move || run(&shared, &mut std::io::stderr()))
            .ok()
    };
    if thread.is_none() {
        eprintln!("serve: warning: no log writer thread: lines are written by the loggers");
    }
    let batched = Batched(Arc::clone(&shared));
    (batched, Guard { shared, thread })
}

/// The writer thread: takes what is queued, in batches, and writes it.
fn run(shared: &Shared, out: &mut dyn Write) {
    let mut spare = Vec::new();
    loop {
        let (batch, closing) = {
            let mut state = shared.lock();
            if state.queued.len() < BATCH && !state.closing {
                state = shared
                    .filled
                    .wait_timeout(state, PERIOD)
                    .map_or_else(|p| p.into_inner().0, |(s, _)| s);
            }
            spare.clear();
            let batch = std::mem::replace(&mut state.queued, std::mem::take(&mut spare));
            shared.emptied.notify_all();
            (batch, state.closing)
        };
        if !batch.is_empty() {
            // A failed write of the log has nowhere to be reported.
            let _ = out.write_all(&batch);
            let _ = out.flush();
        }
        spare = batch;
        if closing && shared.lock().queued.is_empty() {
            return;
        }
    }
}

impl Write for Batched {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut state = self.0.lock();
        while state.queued.len() >= LIMIT && !state.closing {
            state = self
                .0
                .emptied
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
        state.queued.extend_from_slice(line);
        if state.queued.len() >= BATCH {
            self.0.filled.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Batched {
    type Writer = Batched;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.filled.notify_one();
        self.shared.emptied.notify_all();
        match self.thread.take() {
            Some(thread) => {
                let _ = thread.join();
            }
            None => {
                // No thread: write what is queued here.
                let queued = std::mem::take(&mut self.shared.lock().queued);
                let _ = std::io::stderr().write_all(&queued);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line written before the guard is dropped is written, whole
    /// and in order, however many loggers write at once.
    #[test]
    fn every_line_is_written_in_order() {
        let shared = Arc::new(Shared::default());
        let out = Arc::new(Mutex::new(Vec::new()));
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let thread = {
            let (shared, out) = (Arc::clone(&shared), Arc::clone(&out));
            std::thread::spawn(move || run(&shared, &mut Sink(out)))
        };
        let guard = Guard {
            shared: Arc::clone(&shared),
            thread: Some(thread),
        };
        let loggers: Vec<_> = (0..4)
            .map(|t| {
                let mut w = Batched(Arc::clone(&shared));
                std::thread::spawn(move || {
                    for i in 0..20_000 {
                        w.write_all(format!("{t} {i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for l in loggers {
            l.join().unwrap();
        }
        drop(guard);
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        let mut next = [0; 4];
        for line in text.lines() {
            let (t, i) = line.split_once(' ').unwrap();
            let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
            assert_eq!(i, next[t], "logger {t}");
            next[t] += 1;
        }
        assert_eq!(next, [20_000; 4]);
    }
}
