//! Upload slots: which interested peers are unchoked.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::id::ConnectionId;

/// Whether we choke a peer (it may not request) or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChokeState {
    /// The peer's requests are refused.
    Choked,
    /// The peer's requests are served.
    Unchoked,
}

/// Whether the peer wants data from us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interest {
    /// It sent `interested`.
    Interested,
    /// It did not, or sent `not interested`.
    NotInterested,
}

/// One connection as the [`Choker`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChokeCandidate {
    /// Which connection.
    pub id: ConnectionId,
    /// Whether its peer is interested.
    pub interest: Interest,
    /// Our choke state towards it: read by [`Choker::tick`], and set to the
    /// decision.
    pub choke: ChokeState,
}

/// How many peers are unchoked at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadSlots {
    /// At most this many (one of them the optimistic slot when there are
    /// at least 2).
    Limited(usize),
    /// Every interested peer, at once.
    Unlimited,
}

/// Who decides which peers are unchoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Choking {
    /// The [`Seed`](crate::Seed)'s own [`Choker`], shared by its
    /// connections, which tick it as they go: the host does nothing.
    #[default]
    Seed,
    /// The host, with [`Connection::set_choke`](crate::Connection::set_choke).
    Host,
}

/// The [`Choker`]'s parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChokerConfig {
    /// Upload slots (default 4).
    pub slots: UploadSlots,
    /// How often the choker runs (default 10 s).
    pub tick_interval: Duration,
    /// How long a peer keeps a regular slot while others wait (default 30 s).
    pub rotation: Duration,
    /// How long the optimistic slot stays with one peer (default 30 s).
    pub optimistic_interval: Duration,
}

impl Default for ChokerConfig {
    fn default() -> Self {
        ChokerConfig {
            slots: UploadSlots::Limited(4),
            tick_interval: Duration::from_secs(10),
            rotation: Duration::from_secs(30),
            optimistic_interval: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Record {
    /// Since when it holds a slot.
    unchoked_since: Option<Instant>,
    /// When it last lost a slot.
    last_choked: Option<Instant>,
    /// When it last got the optimistic slot.
    last_optimistic: Option<Instant>,
}

/// The upload-slot policy of a seed, sans-IO.
///
/// A seed has nothing to download, so "who uploads to us fastest" means
/// nothing; slots rotate instead. Each [`tick`](Self::tick), an interested
/// peer keeps its regular slot for [`rotation`](ChokerConfig::rotation)
/// while others wait; freed slots go to the interested peers that have
/// waited longest since they last held one (never first). One more slot is
/// optimistic: it goes round the remaining interested peers, one per
/// [`optimistic_interval`](ChokerConfig::optimistic_interval). Peers that
/// are not interested are choked. Ticking more often than
/// [`tick_interval`](ChokerConfig::tick_interval) is harmless: decisions
/// depend on the times, not on the number of ticks.
///
/// [`Seed`](crate::Seed) runs one for its connections, driven by the
/// connections themselves ([`Choking::Seed`]). With [`Choking::Host`] the
/// host runs its own (this one or another policy) over
/// [`Connection::choke_candidate`](crate::Connection::choke_candidate) and
/// applies the decisions with
/// [`Connection::set_choke`](crate::Connection::set_choke).
#[derive(Debug)]
pub struct Choker {
    config: ChokerConfig,
    records: HashMap<ConnectionId, Record>,
    optimistic: Option<(ConnectionId, Instant)>,
}

impl Choker {
    /// A choker with these parameters.
    pub fn new(config: ChokerConfig) -> Self {
        Choker {
            config,
            records: HashMap::new(),
            optimistic: None,
        }
    }

    /// Its parameters.
    pub fn config(&self) -> &ChokerConfig {
        &self.config
    }

    /// Decides every candidate's choke state. Connections missing from
    /// `candidates` are forgotten.
    pub fn tick(&mut self, now: Instant, candidates: &mut [ChokeCandidate]) {
        self.records
            .retain(|id, _| candidates.iter().any(|c| c.id == *id));
        for c in candidates.iter() {
            self.records.entry(c.id).or_default();
        }
        let slots = match self.config.slots {
            UploadSlots::Unlimited => {
                for c in candidates.iter_mut() {
                    c.choke = match c.interest {
                        Interest::Interested => ChokeState::Unchoked,
                        Interest::NotInterested => ChokeState::Choked,
                    };
                }
                self.stamp(now, candidates);
                return;
            }
            UploadSlots::Limited(n) => n,
        };
        let (regular, optimistic_slot) = if slots >= 2 {
            (slots - 1, true)
        } else {
            (slots, false)
        };
        let optimistic_id = self.optimistic.map(|(id, _)| id);
        let record = |id: &ConnectionId| self.records.get(id).copied().unwrap_or_default();

        // Interested peers, in slot order: holders within their rotation
        // time (longest holder first), then by time since their last slot.
        let mut order: Vec<usize> = (0..candidates.len())
            .filter(|&i| candidates[i].interest == Interest::Interested)
            .collect();
        let keeps = |i: usize| {
            let c = &candidates[i];
            let r = record(&c.id);
            c.choke == ChokeState::Unchoked
                && Some(c.id) != optimistic_id
                && r.unchoked_since
                    .is_some_and(|s| now.saturating_duration_since(s) < self.config.rotation)
        };
        order.sort_by_key(|&i| {
            let r = record(&candidates[i].id);
            if keeps(i) {
                (0, r.unchoked_since, candidates[i].id)
            } else {
                (1, r.last_choked, candidates[i].id)
            }
        });
        let mut unchoke: Vec<ConnectionId> = order
            .iter()
            .take(regular)
            .map(|&i| candidates[i].id)
            .collect();

        if optimistic_slot {
            let rest: Vec<usize> = order
                .iter()
                .copied()
                .filter(|&i| !unchoke.contains(&candidates[i].id))
                .collect();
            let current = self.optimistic.filter(|(id, since)| {
                now.saturating_duration_since(*since) < self.config.optimistic_interval
                    && rest.iter().any(|&i| candidates[i].id == *id)
            });
            self.optimistic = match current {
                Some(kept) => Some(kept),
                None => rest
                    .iter()
                    .min_by_key(|&&i| (record(&candidates[i].id).last_optimistic, candidates[i].id))
                    .map(|&i| (candidates[i].id, now)),
            };
            if let Some((id, since)) = self.optimistic {
                unchoke.push(id);
                if since == now
                    && let Some(r) = self.records.get_mut(&id)
                {
                    r.last_optimistic = Some(now);
                }
            }
        }
        for c in candidates.iter_mut() {
            c.choke = if unchoke.contains(&c.id) {
                ChokeState::Unchoked
            } else {
                ChokeState::Choked
            };
        }
        self.stamp(now, candidates);
    }

    /// Records when slots were taken and lost.
    fn stamp(&mut self, now: Instant, candidates: &[ChokeCandidate]) {
        for c in candidates {
            let r = self.records.entry(c.id).or_default();
            match (c.choke, r.unchoked_since) {
                (ChokeState::Unchoked, None) => r.unchoked_since = Some(now),
                (ChokeState::Choked, Some(_)) => {
                    r.unchoked_since = None;
                    r.last_choked = Some(now);
                }
                _ => {}
            }
        }
    }
}

/// The choker of a [`Seed`](crate::Seed): the candidates' table, ticked by
/// whichever connection finds a tick due.
#[derive(Debug)]
pub(crate) struct SharedChoker {
    choker: Choker,
    table: Vec<ChokeCandidate>,
    next_tick: Option<Instant>,
}

impl SharedChoker {
    pub(crate) fn new(config: ChokerConfig) -> Self {
        SharedChoker {
            choker: Choker::new(config),
            table: Vec::new(),
            next_tick: None,
        }
    }

    /// Reports a connection's interest and gives back its choke state.
    pub(crate) fn decide(
        &mut self,
        id: ConnectionId,
        interest: Interest,
        now: Instant,
    ) -> ChokeState {
        let slots = self.choker.config.slots;
        let index = match self.table.iter().position(|c| c.id == id) {
            Some(i) => i,
            None => {
                self.table.push(ChokeCandidate {
                    id,
                    interest,
                    choke: ChokeState::Choked,
                });
                self.table.len() - 1
            }
        };
        let changed = self.table[index].interest != interest;
        self.table[index].interest = interest;
        let unchoked = self
            .table
            .iter()
            .filter(|c| c.choke == ChokeState::Unchoked)
            .count();
        let free = match slots {
            UploadSlots::Limited(n) => unchoked < n,
            UploadSlots::Unlimited => true,
        };
        let me = self.table[index];
        let urgent =
            (me.interest == Interest::Interested && me.choke == ChokeState::Choked && free)
                || (me.interest == Interest::NotInterested && me.choke == ChokeState::Unchoked)
                || (changed && me.interest == Interest::NotInterested);
        if urgent || self.next_tick.is_none_or(|t| now >= t) {
            self.choker.tick(now, &mut self.table);
            self.next_tick = Some(now + self.choker.config.tick_interval);
        }
        self.table
            .iter()
            .find(|c| c.id == id)
            .map_or(ChokeState::Choked, |c| c.choke)
    }

    /// How many of its connections' peers are interested.
    pub(crate) fn interested(&self) -> usize {
        self.table
            .iter()
            .filter(|c| c.interest == Interest::Interested)
            .count()
    }

    pub(crate) fn remove(&mut self, id: ConnectionId) {
        self.table.retain(|c| c.id != id);
    }
}
