//! One torrent being seeded: the state its connections share (the choker,
//! the rationed offers, the seeding policy, whether the data went stale).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::choke::{ChokeState, ChokerConfig, Choking, Interest, SharedChoker};
use crate::id::ConnectionId;
use crate::superseed::SuperSeed;
use crate::torrent::SeedTorrent;

/// How pieces are offered to the peers of a torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeedMode {
    /// A plain seed: every piece offered at once (a bitfield or `have all`).
    #[default]
    Normal,
    /// Always rationed: each peer is offered a few pieces at a time, a
    /// different few for each peer (BEP 16 super-seeding, with
    /// [`SeedOptions::offers`] pieces in flight).
    SuperSeed,
    /// Plain while the seed's upload is not the bottleneck, rationed while
    /// it is (see [`Adaptive`]); decided per torrent as conditions change,
    /// without closing a connection.
    Adaptive(Adaptive),
}

/// When an [`SeedMode::Adaptive`] seed rations.
///
/// The seed rations while its upload is the bottleneck: the host said so
/// ([`Seed::saturated`]: its rate limit held a sender back) or more peers
/// want the torrent than [`ration_above`](Self::ration_above) (interested
/// connections, or the leechers the host's tracker knows of,
/// [`Seed::set_leechers`], whichever is more), within the last
/// [`hold`](Self::hold). Otherwise it is a plain seed. With
/// [`Choking::Host`] the seed does not see interest: only the host's counts
/// apply.
///
/// A new connection starts rationed and is offered everything (a `have`
/// for each piece not offered yet) once it has been up for
/// [`probation`](Self::probation) and the seed is not rationing: a crowd
/// arriving at once is rationed from its first piece, not after the first
/// few peers were offered everything. A connection offered everything
/// stays so (an offer cannot be taken back); while the seed rations, only
/// new connections are rationed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Adaptive {
    /// Ration while more peers than this are interested (default 4).
    pub ration_above: usize,
    /// How long rationing lasts after its cause was last seen (default 5 s).
    pub hold: Duration,
    /// How long a new connection is rationed at least (default 1 s).
    pub probation: Duration,
}

impl Default for Adaptive {
    fn default() -> Self {
        Adaptive {
            ration_above: 4,
            hold: Duration::from_secs(5),
            probation: Duration::from_secs(1),
        }
    }
}

/// Whether a seed offers everything or rations, now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offering {
    /// Every piece, to every peer.
    All,
    /// A few pieces at a time, different ones to each peer.
    Rationed,
}

/// The choices of a [`Seed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SeedOptions {
    /// Normal, super-seeding or adaptive (default normal).
    pub mode: SeedMode,
    /// Who chokes: the seed's own choker (default) or the host.
    pub choking: Choking,
    /// The seed's choker: upload slots and their rotation.
    pub choker: ChokerConfig,
    /// Pieces offered to a rationed peer at a time (default 2, at least 1):
    /// more keep a fast peer busy while its next offer is on its way.
    pub offers: usize,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            mode: SeedMode::Normal,
            choking: Choking::Seed,
            choker: ChokerConfig::default(),
            offers: 2,
        }
    }
}

/// One torrent being seeded: its description and the state that its
/// connections share (the upload slots, the rationed offers, the policy).
/// Share it between connections in an [`Arc`](std::sync::Arc); every method
/// takes `&self`.
///
/// The pieces themselves are the host's: a connection asks for one with
/// [`Event::NeedPiece`](crate::Event::NeedPiece), and the host reads it
/// (sharing reads between connections as it likes), checks it with
/// [`Seed::verify`] and hands the [`VerifiedPiece`](crate::VerifiedPiece)
/// to [`Connection::piece_loaded`](crate::Connection::piece_loaded).
#[derive(Debug)]
pub struct Seed {
    torrent: SeedTorrent,
    options: SeedOptions,
    choker: Mutex<SharedChoker>,
    super_seed: Mutex<SuperSeed>,
    /// When the last cause to ration was seen (adaptive mode).
    ration_cause: Mutex<Option<Instant>>,
    /// The leechers the host's tracker knows of.
    leechers: AtomicUsize,
    /// 0, or 1 + the first piece found not to match.
    stale: AtomicU64,
}

impl Seed {
    /// Seeds `torrent` with `options`.
    pub fn new(torrent: SeedTorrent, options: SeedOptions) -> Self {
        let rationed = match options.mode {
            SeedMode::Normal => 0,
            SeedMode::SuperSeed | SeedMode::Adaptive(_) => torrent.piece_count(),
        };
        Seed {
            choker: Mutex::new(SharedChoker::new(options.choker)),
            super_seed: Mutex::new(SuperSeed::new(rationed)),
            ration_cause: Mutex::new(None),
            leechers: AtomicUsize::new(0),
            stale: AtomicU64::new(0),
            torrent,
            options,
        }
    }

    /// The torrent.
    pub fn torrent(&self) -> &SeedTorrent {
        &self.torrent
    }

    /// The options.
    pub fn options(&self) -> &SeedOptions {
        &self.options
    }

    /// The first piece found not to match its hash, if any: the data
    /// changed, and every connection of this seed fails with
    /// [`Error::Stale`](crate::Error::Stale) at its next transmit.
    pub fn stale_piece(&self) -> Option<u32> {
        match self.stale.load(Ordering::Relaxed) {
            0 => None,
            n => u32::try_from(n - 1).ok(),
        }
    }

    /// Marks the seed stale: piece `index` did not match.
    pub(crate) fn mark_stale(&self, index: u32) {
        let _ = self.stale.compare_exchange(
            0,
            u64::from(index) + 1,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// The host's upload is the bottleneck at `now` (its rate limit made a
    /// sender of this torrent wait): an adaptive seed rations for the next
    /// [`Adaptive::hold`].
    pub fn saturated(&self, now: Instant) {
        if matches!(self.options.mode, SeedMode::Adaptive(_)) {
            let mut cause = lock(&self.ration_cause);
            if cause.is_none_or(|t| t < now) {
                *cause = Some(now);
            }
        }
    }

    /// The host's tracker knows of `leechers` peers downloading this
    /// torrent now (announced, not complete): an adaptive seed counts them
    /// as a crowd before they connect.
    pub fn set_leechers(&self, leechers: usize) {
        self.leechers.store(leechers, Ordering::Relaxed);
    }

    /// Whether the seed offers everything or rations at `now`.
    pub fn offering(&self, now: Instant) -> Offering {
        match self.options.mode {
            SeedMode::Normal => Offering::All,
            SeedMode::SuperSeed => Offering::Rationed,
            SeedMode::Adaptive(a) => {
                let interested = lock(&self.choker).interested();
                let crowded =
                    interested.max(self.leechers.load(Ordering::Relaxed)) > a.ration_above;
                let mut cause = lock(&self.ration_cause);
                if crowded && cause.is_none_or(|t| t < now) {
                    *cause = Some(now);
                }
                match *cause {
                    Some(t) if now.saturating_duration_since(t) < a.hold => Offering::Rationed,
                    _ => Offering::All,
                }
            }
        }
    }

    /// How long a new connection is rationed at least: 0 for a plain seed,
    /// forever for a super-seed.
    pub(crate) fn probation(&self) -> Option<Duration> {
        match self.options.mode {
            SeedMode::Normal => Some(Duration::ZERO),
            SeedMode::SuperSeed => None,
            SeedMode::Adaptive(a) => Some(a.probation),
        }
    }

    pub(crate) fn decide_choke(
        &self,
        id: ConnectionId,
        interest: Interest,
        now: Instant,
    ) -> ChokeState {
        lock(&self.choker).decide(id, interest, now)
    }

    pub(crate) fn super_seed(&self) -> MutexGuard<'_, SuperSeed> {
        lock(&self.super_seed)
    }

    pub(crate) fn unregister(&self, id: ConnectionId) {
        lock(&self.choker).remove(id);
        self.super_seed().unregister(id);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
