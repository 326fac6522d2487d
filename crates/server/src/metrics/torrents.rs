//! What is known of each torrent lately active: the bytes its downloaders
//! report, the bytes the origin sent for it (the seeding peer's payload
//! and its web seed's GETs), and an hour of that, a sample a minute.
//!
//! At most [`MAX_TORRENTS`] torrents are kept, the most recently active
//! (an announce, a peer connection, a web seed GET); the least recently
//! active one goes for a newcomer, its numbers with it. A torrent that
//! comes back starts again from 0. Memory is bounded: each torrent holds
//! its counters, at most [`HISTORY`] samples and its web seed's paths.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use foldhash::HashMap;

use s3torrent_metainfo::InfoHash;

/// The most torrents whose numbers are kept.
pub(crate) const MAX_TORRENTS: usize = 1000;

/// The samples a torrent keeps: an hour of minutes.
pub(crate) const HISTORY: usize = 60;

/// The most web seed paths one torrent registers.
pub(crate) const MAX_PATHS: usize = 4;

/// The current minute since the Unix epoch.
pub(crate) fn minute_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 60)
}

/// A torrent's numbers at the end of a minute (the latest seen in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    /// Minutes since the Unix epoch.
    pub(crate) minute: u64,
    /// What its downloaders reported downloading, in all.
    pub(crate) downloaded: u64,
    /// What the origin sent for it, in all.
    pub(crate) origin: u64,
}

/// One torrent's numbers.
#[derive(Debug)]
pub(crate) struct TorrentStats {
    /// The sum of the latest `downloaded` of each of its clients.
    downloaded: AtomicU64,
    /// The seeding peer's payload for it.
    peer_sent: AtomicU64,
    /// Its web seed's GET bodies.
    web_seed_sent: AtomicU64,
    /// `completed` announces.
    completed: AtomicU64,
    /// The last hour, a sample a minute (minutes without activity or a
    /// look have none: the value held).
    history: Mutex<VecDeque<Sample>>,
    /// The newest sample in `history` (its minute plus one, 0 for none;
    /// its downloaded; its origin), stored under the lock: a sample of
    /// the same minute with the same numbers needs no lock.
    newest: [AtomicU64; 3],
}

impl TorrentStats {
    fn new() -> TorrentStats {
        TorrentStats {
            downloaded: AtomicU64::new(0),
            peer_sent: AtomicU64::new(0),
            web_seed_sent: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            history: Mutex::new(VecDeque::with_capacity(4)),
            newest: [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)],
        }
    }

    /// What its downloaders report downloading.
    pub(crate) fn downloaded(&self) -> u64 {
        self.downloaded.load(Ordering::Relaxed)
    }

    /// What the origin sent for it: the peer's payload and the web seed's.
    pub(crate) fn origin(&self) -> u64 {
        self.peer_sent() + self.web_seed_sent()
    }

    /// The seeding peer's payload for it.
    pub(crate) fn peer_sent(&self) -> u64 {
        self.peer_sent.load(Ordering::Relaxed)
    }

    /// Its web seed's GET bodies.
    pub(crate) fn web_seed_sent(&self) -> u64 {
        self.web_seed_sent.load(Ordering::Relaxed)
    }

    /// `completed` announces seen.
    pub(crate) fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }

    /// A client announced that it completed its download.
    pub(crate) fn completed_one(&self) {
        self.completed.fetch_add(1, Ordering::Relaxed);
    }

    /// A client's report moved from `before` to `now`.
    pub(crate) fn reported(&self, before: u64, now: u64) {
        let sum = self.downloaded.load(Ordering::Relaxed);
        self.downloaded.store(
            sum.saturating_sub(before).saturating_add(now),
            Ordering::Relaxed,
        );
    }

    /// The seeding peer sent `bytes` of payload.
    pub(crate) fn peer_sent_more(&self, bytes: u64) {
        self.peer_sent.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Its web seed sent `bytes`.
    pub(crate) fn web_seed_sent_more(&self, bytes: u64) {
        self.web_seed_sent.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Records the numbers now as the sample of `minute`.
    pub(crate) fn sample(&self, minute: u64) {
        let now = Sample {
            minute,
            downloaded: self.downloaded(),
            origin: self.origin(),
        };
        let [newest_minute, newest_downloaded, newest_origin] = &self.newest;
        if newest_minute.load(Ordering::Acquire) == minute.saturating_add(1)
            && newest_downloaded.load(Ordering::Relaxed) == now.downloaded
            && newest_origin.load(Ordering::Relaxed) == now.origin
        {
            return;
        }
        let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        match history.back_mut() {
            Some(last) if last.minute >= minute => {
                *last = Sample {
                    minute: last.minute,
                    ..now
                }
            }
            _ => history.push_back(now),
        }
        while history
            .front()
            .is_some_and(|s| s.minute + HISTORY as u64 <= minute)
            || history.len() > HISTORY
        {
            history.pop_front();
        }
        if let Some(back) = history.back() {
            newest_downloaded.store(back.downloaded, Ordering::Relaxed);
            newest_origin.store(back.origin, Ordering::Relaxed);
            newest_minute.store(back.minute.saturating_add(1), Ordering::Release);
        }
    }

    /// The samples of the last hour before `minute`, the oldest first.
    pub(crate) fn history(&self, minute: u64) -> Vec<Sample> {
        self.sample(minute);
        self.history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect()
    }
}

/// A tracked torrent: its numbers, its place in the activity order, the
/// web seed paths that count for it.
struct Entry {
    stats: Arc<TorrentStats>,
    seq: u64,
    paths: Vec<Box<str>>,
}

#[derive(Default)]
struct Table {
    entries: HashMap<InfoHash, Entry>,
    /// Info-hashes by their activity, the oldest first: an entry is its
    /// torrent's last activity when its number is the torrent's `seq`;
    /// older ones are skipped, and dropped when they are the most
    /// ([`Table::compact`]).
    order: VecDeque<(u64, InfoHash)>,
    next: u64,
    /// Web seed paths (`/bucket/key`, as the torrent's `url-list` has
    /// them) of the tracked torrents.
    paths: HashMap<Box<str>, InfoHash>,
}

impl Table {
    /// Whether `order`'s entry `(seq, info_hash)` is that torrent's last
    /// activity.
    fn current(&self, seq: u64, info_hash: &InfoHash) -> bool {
        self.entries.get(info_hash).is_some_and(|e| e.seq == seq)
    }

    /// Takes the least recently active torrent out of the order.
    fn pop_oldest(&mut self) -> Option<InfoHash> {
        while let Some((seq, h)) = self.order.pop_front() {
            if self.current(seq, &h) {
                return Some(h);
            }
        }
        None
    }

    /// `info_hash`'s entry, made if there was none (the least recently
    /// active torrent going if there are too many); it counts as active now.
    fn touch(&mut self, info_hash: &InfoHash) -> &mut Entry {
        let seq = self.next;
        self.next += 1;
        if let Some(e) = self.entries.get_mut(info_hash) {
            e.seq = seq;
            self.order.push_back((seq, *info_hash));
            self.compact();
        } else {
            if self.entries.len() >= MAX_TORRENTS
                && let Some(oldest) = self.pop_oldest()
                && let Some(gone) = self.entries.remove(&oldest)
            {
                for p in &gone.paths {
                    self.paths.remove(p);
                }
            }
            self.order.push_back((seq, *info_hash));
        }
        self.entries.entry(*info_hash).or_insert_with(|| Entry {
            stats: Arc::new(TorrentStats::new()),
            seq,
            paths: Vec::new(),
        })
    }

    /// Drops the order's older entries once they outnumber the current
    /// ones (and a few more): linear, once per as many touches.
    fn compact(&mut self) {
        if self.order.len() <= 2 * self.entries.len() + 64 {
            return;
        }
        let entries = &self.entries;
        self.order
            .retain(|(seq, h)| entries.get(h).is_some_and(|e| e.seq == *seq));
    }
}

/// The torrents lately active, at most [`MAX_TORRENTS`].
#[derive(Default)]
pub(crate) struct Torrents {
    table: Mutex<Table>,
}

impl Torrents {
    /// `info_hash`'s numbers, kept from now on if they were not (the least
    /// recently active torrent going if there are too many); it counts as
    /// active now.
    pub(crate) fn touch(&self, info_hash: &InfoHash) -> Arc<TorrentStats> {
        let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&t.touch(info_hash).stats)
    }

    /// `info_hash`'s numbers if they are kept, without counting a look as
    /// activity.
    pub(crate) fn get(&self, info_hash: &InfoHash) -> Option<Arc<TorrentStats>> {
        let t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        t.entries.get(info_hash).map(|e| Arc::clone(&e.stats))
    }

    /// Counts `info_hash` as active, and the GETs of its web seed's
    /// `paths` as its, when it has none yet.
    pub(crate) fn served<'a>(&self, info_hash: &InfoHash, paths: impl Iterator<Item = &'a str>) {
        let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if !t.touch(info_hash).paths.is_empty() {
            return;
        }
        let mut mine = Vec::new();
        for p in paths.take(MAX_PATHS) {
            let p: Box<str> = p.into();
            t.paths.insert(p.clone(), *info_hash);
            mine.push(p);
        }
        if let Some(e) = t.entries.get_mut(info_hash) {
            e.paths = mine;
        }
    }

    /// The torrent whose web seed has `path`, if it is tracked; it counts
    /// as active.
    pub(crate) fn by_path(&self, path: &str) -> Option<Arc<TorrentStats>> {
        let hash = {
            let t = self.table.lock().unwrap_or_else(|p| p.into_inner());
            *t.paths.get(path)?
        };
        Some(self.touch(&hash))
    }

    /// Every tracked torrent with its numbers, the most recently active
    /// first.
    pub(crate) fn all(&self) -> Vec<(InfoHash, Arc<TorrentStats>)> {
        let t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        t.order
            .iter()
            .rev()
            .filter_map(|(seq, h)| {
                let e = t.entries.get(h).filter(|e| e.seq == *seq)?;
                Some((*h, Arc::clone(&e.stats)))
            })
            .collect()
    }
}

/// The path of a web seed URL (`http://host:port/bucket/key` →
/// `/bucket/key`), as a client's GET names it.
pub(crate) fn url_path(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let at = rest.find('/')?;
    let path = &rest[at..];
    Some(path.split(['?', '#']).next().unwrap_or(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(b: u8) -> InfoHash {
        InfoHash::from_bytes([b; 20])
    }

    #[test]
    fn the_least_recently_active_goes_first() {
        let t = Torrents::default();
        for i in 0..MAX_TORRENTS {
            let mut b = [0u8; 20];
            b[..8].copy_from_slice(&(i as u64).to_be_bytes());
            t.touch(&InfoHash::from_bytes(b));
        }
        // The first is active again: the second goes for a newcomer.
        let first = InfoHash::from_bytes([0; 20]);
        t.touch(&first).peer_sent_more(5);
        t.touch(&hash(0xff));
        assert_eq!(t.all().len(), MAX_TORRENTS);
        assert_eq!(t.get(&first).map(|s| s.peer_sent()), Some(5));
        let mut second = [0u8; 20];
        second[7] = 1;
        assert!(t.get(&InfoHash::from_bytes(second)).is_none());
        assert_eq!(t.all()[0].0, hash(0xff));
    }

    #[test]
    fn web_seed_paths_count_for_their_torrent_while_it_is_kept() {
        let t = Torrents::default();
        t.served(&hash(1), ["/b/k%20x"].into_iter());
        t.by_path("/b/k%20x").unwrap().web_seed_sent_more(10);
        assert!(t.by_path("/b/other").is_none());
        let s = t.get(&hash(1)).unwrap();
        assert_eq!((s.web_seed_sent(), s.origin()), (10, 10));
        assert_eq!(url_path("http://127.0.0.1:9000/b/k%20x"), Some("/b/k%20x"));
        assert_eq!(url_path("https://h/b/k?x=1"), Some("/b/k"));
        assert_eq!(url_path("nonsense"), None);
    }

    #[test]
    fn an_hour_of_samples() {
        let s = TorrentStats::new();
        s.reported(0, 100);
        s.sample(1000);
        s.reported(100, 300);
        s.sample(1000);
        assert_eq!(s.history(1000).len(), 1);
        assert_eq!(s.history(1000)[0].downloaded, 300);
        for m in 1001..1100 {
            s.peer_sent_more(1);
            s.sample(m);
        }
        let h = s.history(1100);
        assert_eq!(h.len(), HISTORY);
        assert_eq!(h.first().map(|s| s.minute), Some(1041));
        assert_eq!(h.last().map(|s| (s.minute, s.origin)), Some((1100, 99)));
    }
}
