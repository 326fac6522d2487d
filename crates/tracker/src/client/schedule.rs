//! When to announce what where: the schedule of a seed announcing its
//! swarms to other trackers, as a state machine that takes the time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use s3torrent_metainfo::InfoHash;

use super::http::AnnounceAnswer;
use super::url::TrackerUrl;
use crate::announce::Event;

/// The limits and timings of an [`Announcer`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnnouncerConfig {
    /// The most announces in flight at once (default 16).
    pub max_in_flight: usize,
    /// The wait after a first failure (default 15 s); it doubles with each
    /// failure in a row.
    pub first_backoff: Duration,
    /// The longest wait after failures (default 30 minutes).
    pub max_backoff: Duration,
    /// The shortest wait between regular announces, whatever the tracker
    /// says (default 60 s).
    pub min_interval: Duration,
    /// The longest wait between regular announces, whatever the tracker
    /// says (default 6 hours).
    pub max_interval: Duration,
    /// The most (tracker, info-hash) pairs kept (default 100,000).
    pub max_entries: usize,
}

impl Default for AnnouncerConfig {
    fn default() -> Self {
        AnnouncerConfig {
            max_in_flight: 16,
            first_backoff: Duration::from_secs(15),
            max_backoff: Duration::from_secs(30 * 60),
            min_interval: Duration::from_secs(60),
            max_interval: Duration::from_secs(6 * 3600),
            max_entries: 100_000,
        }
    }
}

/// One announce to make now: to `tracker`, for `info_hash`, with `event`
/// (and the `tracker id` its last answer gave).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Due {
    /// Where.
    pub tracker: TrackerUrl,
    /// The swarm.
    pub info_hash: InfoHash,
    /// `started` (the first), none (the regular ones) or `stopped` (the
    /// last).
    pub event: Event,
    /// What the tracker's last answer gave as its `tracker id`.
    pub tracker_id: Option<Vec<u8>>,
}

/// How an announce ended, as [`Announcer::answered`] takes it.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// The tracker answered.
    Answered(&'a AnnounceAnswer),
    /// The tracker answered, but refused this info-hash (a `failure
    /// reason`, an error packet) or answered it with nothing usable: this
    /// pair backs off.
    Refused,
    /// The tracker could not be reached, or answered no announce at all:
    /// the whole tracker backs off.
    Unreachable,
}

/// Where a pair stands in its life with its tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Taken; no announce answered yet: the next is `started`.
    Starting,
    /// Taken and announced: the next is a regular one.
    Announced,
    /// No longer served: the next (and last) is `stopped`.
    Stopping,
}

/// Whether a pair waits for its time, or has an announce out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Waiting until this time (it is in the queue under it).
    Waiting(Instant),
    /// An announce with this event is out.
    InFlight(Event),
}

#[derive(Debug)]
struct Entry {
    phase: Phase,
    slot: Slot,
    /// Failures in a row of this pair.
    failures: u32,
    /// The earliest next regular announce the tracker's `min interval`
    /// allows.
    earliest: Instant,
    tracker_id: Option<Vec<u8>>,
}

/// A tracker's own backoff, after it could not be reached.
#[derive(Debug, Default)]
struct TrackerState {
    failures: u32,
    blocked_until: Option<Instant>,
    /// Its pairs, so that it is forgotten with the last.
    pairs: usize,
}

type Key = (TrackerUrl, InfoHash);

/// The schedule of a seed that announces its swarms to other trackers:
/// keyed by (tracker, info-hash), told what is served and how each
/// announce ended, it says which announces are due. Sans-IO: the host makes
/// the announces and passes the time.
///
/// - A pair that becomes served announces `started` at once; once
///   answered, a regular announce every interval the tracker gives (at
///   least its `min interval`), clamped to
///   [`AnnouncerConfig::min_interval`]..[`AnnouncerConfig::max_interval`].
/// - A pair that stops being served ([`Announcer::withdraw`], or missing
///   from [`Announcer::sync`]) announces `stopped` at once, if the tracker
///   heard of it; one try. [`Announcer::stop_all`] does so for every pair,
///   at shutdown.
/// - At most [`AnnouncerConfig::max_in_flight`] announces are out at once.
/// - A refusal backs the pair off ([`AnnouncerConfig::first_backoff`],
///   doubling, at most [`AnnouncerConfig::max_backoff`]); an unreachable
///   tracker backs off every pair of that tracker the same way, and no
///   other tracker's.
///
/// ```
/// use std::time::{Duration, Instant};
/// use s3torrent_metainfo::InfoHash;
/// use s3torrent_tracker::{AnnounceAnswer, Announcer, AnnouncerConfig, Event, Outcome, TrackerUrl};
///
/// let mut announcer = Announcer::new(AnnouncerConfig::default());
/// let tracker = TrackerUrl::parse("udp://t.example:6969")?;
/// let hash = InfoHash::from_bytes([1; 20]);
/// let now = Instant::now();
/// announcer.serve(tracker.clone(), hash, now);
///
/// let due = announcer.poll_due(now).expect("started is due at once");
/// assert_eq!(due.event, Event::Started);
/// assert!(announcer.poll_due(now).is_none(), "one announce per pair at a time");
///
/// let answer = AnnounceAnswer::new(Duration::from_secs(1800));
/// announcer.answered(&tracker, &hash, Outcome::Answered(&answer), now);
/// assert_eq!(announcer.poll_timeout(), Some(now + Duration::from_secs(1800)));
///
/// announcer.withdraw(&tracker, &hash, now);
/// assert_eq!(announcer.poll_due(now).map(|d| d.event), Some(Event::Stopped));
/// announcer.answered(&tracker, &hash, Outcome::Answered(&answer), now);
/// assert!(announcer.is_empty());
/// # Ok::<(), s3torrent_tracker::ClientError>(())
/// ```
#[derive(Debug)]
pub struct Announcer {
    config: AnnouncerConfig,
    entries: BTreeMap<Key, Entry>,
    /// The waiting pairs by time.
    queue: BTreeSet<(Instant, TrackerUrl, InfoHash)>,
    trackers: BTreeMap<TrackerUrl, TrackerState>,
    in_flight: usize,
}

/// Whether [`Announcer::serve`] took a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Taken, or known already.
    Yes,
    /// Not taken: [`AnnouncerConfig::max_entries`] pairs are kept already.
    Full,
}

impl Announcer {
    /// An announcer with nothing to announce.
    pub fn new(config: AnnouncerConfig) -> Announcer {
        Announcer {
            config,
            entries: BTreeMap::new(),
            queue: BTreeSet::new(),
            trackers: BTreeMap::new(),
            in_flight: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AnnouncerConfig {
        &self.config
    }

    /// How many pairs are kept (stopping ones included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no pair is kept: after [`Announcer::stop_all`], every
    /// `stopped` is answered or given up.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many announces are out.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Queues the pair at `at` (out of the queue first, if it waits).
    fn queue_at(&mut self, key: &Key, at: Instant) {
        if let Some(e) = self.entries.get_mut(key) {
            if let Slot::Waiting(old) = e.slot {
                self.queue.remove(&(old, key.0.clone(), key.1));
            }
            e.slot = Slot::Waiting(at);
            self.queue.insert((at, key.0.clone(), key.1));
        }
    }

    /// Forgets the pair, and its tracker with its last pair.
    fn remove(&mut self, key: &Key) {
        let Some(e) = self.entries.remove(key) else {
            return;
        };
        match e.slot {
            Slot::Waiting(at) => {
                self.queue.remove(&(at, key.0.clone(), key.1));
            }
            Slot::InFlight(_) => self.in_flight = self.in_flight.saturating_sub(1),
        }
        if let Some(t) = self.trackers.get_mut(&key.0) {
            t.pairs = t.pairs.saturating_sub(1);
            if t.pairs == 0 {
                self.trackers.remove(&key.0);
            }
        }
    }

    /// `info_hash` is served and should be announced to `tracker`: a new
    /// pair announces `started` at `now`; one that was stopping carries on
    /// instead (or starts again once its `stopped` is answered).
    pub fn serve(&mut self, tracker: TrackerUrl, info_hash: InfoHash, now: Instant) -> Taken {
        let key = (tracker, info_hash);
        if let Some(e) = self.entries.get_mut(&key) {
            if e.phase == Phase::Stopping {
                match e.slot {
                    Slot::InFlight(Event::Regular) => e.phase = Phase::Announced,
                    Slot::InFlight(_) => e.phase = Phase::Starting,
                    Slot::Waiting(_) => {
                        // Its `stopped` was not sent: it stays announced.
                        e.phase = Phase::Announced;
                        let at = e.earliest.max(now);
                        self.queue_at(&key, at);
                    }
                }
            }
            return Taken::Yes;
        }
        if self.entries.len() >= self.config.max_entries {
            return Taken::Full;
        }
        self.trackers.entry(key.0.clone()).or_default().pairs += 1;
        self.entries.insert(
            key.clone(),
            Entry {
                phase: Phase::Starting,
                slot: Slot::Waiting(now),
                failures: 0,
                earliest: now,
                tracker_id: None,
            },
        );
        self.queue.insert((now, key.0, key.1));
        Taken::Yes
    }

    /// `info_hash` is no longer served (made private, deleted, changed):
    /// if `tracker` heard of it, `stopped` is due at `now`; else the pair
    /// is forgotten.
    pub fn withdraw(&mut self, tracker: &TrackerUrl, info_hash: &InfoHash, now: Instant) {
        let key = (tracker.clone(), *info_hash);
        let Some(e) = self.entries.get_mut(&key) else {
            return;
        };
        match (e.phase, e.slot) {
            (Phase::Stopping, _) => {}
            // Never answered: nothing to stop.
            (Phase::Starting, Slot::Waiting(_)) => self.remove(&key),
            (_, Slot::InFlight(_)) => e.phase = Phase::Stopping,
            (Phase::Announced, Slot::Waiting(_)) => {
                e.phase = Phase::Stopping;
                self.queue_at(&key, now);
            }
        }
    }

    /// Makes the served pairs exactly `wanted`: those missing are
    /// withdrawn, the new ones served. Says how many new pairs did not fit
    /// ([`AnnouncerConfig::max_entries`]).
    pub fn sync(&mut self, wanted: &BTreeSet<(TrackerUrl, InfoHash)>, now: Instant) -> usize {
        let gone: Vec<Key> = self
            .entries
            .iter()
            .filter(|(k, e)| e.phase != Phase::Stopping && !wanted.contains(*k))
            .map(|(k, _)| k.clone())
            .collect();
        for (tracker, hash) in gone {
            self.withdraw(&tracker, &hash, now);
        }
        let mut refused = 0;
        for (tracker, hash) in wanted {
            if self.serve(tracker.clone(), *hash, now) == Taken::Full {
                refused += 1;
            }
        }
        refused
    }

    /// Shutting down: every pair a tracker heard of is withdrawn
    /// (`stopped` due at `now`), the others forgotten. Call
    /// [`Announcer::poll_due`] until it is empty, or a deadline passes.
    pub fn stop_all(&mut self, now: Instant) {
        let keys: Vec<Key> = self.entries.keys().cloned().collect();
        for (tracker, hash) in keys {
            self.withdraw(&tracker, &hash, now);
        }
    }

    /// The next announce to make at `now`, if one is due and fewer than
    /// [`AnnouncerConfig::max_in_flight`] are out; it counts as out until
    /// [`Announcer::answered`]. Call until `None`.
    pub fn poll_due(&mut self, now: Instant) -> Option<Due> {
        while self.in_flight < self.config.max_in_flight {
            let (at, tracker, info_hash) = self.queue.first()?.clone();
            if at > now {
                return None;
            }
            self.queue.pop_first();
            let key = (tracker, info_hash);
            // A tracker backing off: its pairs wait for it.
            let blocked = self
                .trackers
                .get(&key.0)
                .and_then(|t| t.blocked_until)
                .filter(|until| *until > now);
            let Some(e) = self.entries.get_mut(&key) else {
                continue;
            };
            if let Some(until) = blocked {
                e.slot = Slot::Waiting(until);
                self.queue.insert((until, key.0, key.1));
                continue;
            }
            let event = match e.phase {
                Phase::Starting => Event::Started,
                Phase::Announced => Event::Regular,
                Phase::Stopping => Event::Stopped,
            };
            e.slot = Slot::InFlight(event);
            self.in_flight += 1;
            return Some(Due {
                tracker: key.0,
                info_hash: key.1,
                event,
                tracker_id: e.tracker_id.clone(),
            });
        }
        None
    }

    /// When the next announce is due, if any can be made: `None` while
    /// nothing waits, or while [`AnnouncerConfig::max_in_flight`] are out
    /// (an answer frees a place).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.in_flight >= self.config.max_in_flight {
            return None;
        }
        self.queue.first().map(|(at, ..)| *at)
    }

    /// The announce of `info_hash` to `tracker` (from [`Announcer::poll_due`])
    /// ended at `now` with `outcome`. An answer for a pair with no announce
    /// out is ignored.
    pub fn answered(
        &mut self,
        tracker: &TrackerUrl,
        info_hash: &InfoHash,
        outcome: Outcome<'_>,
        now: Instant,
    ) {
        let key = (tracker.clone(), *info_hash);
        let config = &self.config;
        let Some(e) = self.entries.get_mut(&key) else {
            return;
        };
        let Slot::InFlight(event) = e.slot else {
            return;
        };
        let next = match outcome {
            Outcome::Answered(answer) => {
                if let Some(t) = self.trackers.get_mut(&key.0) {
                    t.failures = 0;
                    t.blocked_until = None;
                }
                e.failures = 0;
                if answer.tracker_id.is_some() {
                    e.tracker_id.clone_from(&answer.tracker_id);
                }
                let min = answer.min_interval.unwrap_or_default();
                let interval = answer
                    .interval
                    .max(min)
                    .clamp(config.min_interval, config.max_interval);
                e.earliest = now + min.clamp(config.min_interval, config.max_interval);
                match (e.phase, event) {
                    (Phase::Stopping, Event::Stopped) => None,
                    // Re-served while its `stopped` was out: start again.
                    (Phase::Starting, Event::Stopped) | (Phase::Stopping, _) => {
                        Some((e.phase, now))
                    }
                    (Phase::Starting | Phase::Announced, _) => {
                        Some((Phase::Announced, now + interval))
                    }
                }
            }
            Outcome::Refused | Outcome::Unreachable => {
                if let (Outcome::Unreachable, Some(t)) = (outcome, self.trackers.get_mut(&key.0))
                    && t.blocked_until.is_none_or(|until| until <= now)
                {
                    t.failures = t.failures.saturating_add(1);
                    t.blocked_until = Some(now + backoff(config, t.failures));
                }
                match (e.phase, event) {
                    // One try.
                    (Phase::Stopping, Event::Stopped) => None,
                    (Phase::Stopping, _) | (Phase::Starting, Event::Stopped) => {
                        Some((e.phase, now))
                    }
                    (phase, _) => {
                        e.failures = e.failures.saturating_add(1);
                        Some((phase, now + backoff(config, e.failures)))
                    }
                }
            }
        };
        match next {
            None => self.remove(&key),
            Some((phase, at)) => {
                e.phase = phase;
                e.slot = Slot::Waiting(at);
                self.in_flight = self.in_flight.saturating_sub(1);
                self.queue.insert((at, key.0, key.1));
            }
        }
    }
}

/// The wait after `failures` failures in a row (at least one): the first
/// backoff, doubled for each failure after the first, at most the longest.
fn backoff(config: &AnnouncerConfig, failures: u32) -> Duration {
    let doubled = 2u32.saturating_pow(failures.saturating_sub(1));
    config
        .first_backoff
        .saturating_mul(doubled)
        .min(config.max_backoff)
}
