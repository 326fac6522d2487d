//! Connection slots for the swarm's listeners, handed out so that a flood
//! of useless connections cannot lock useful ones out.
//!
//! - Each address (an IPv6 address by its /64) holds at most
//!   `per_address` slots. A newcomer from an address that holds its share
//!   closes that address's oldest *pending* connection (one that has not
//!   shown it is useful: a peer that has not completed its handshake, a
//!   tracker connection that has not sent a request), rather than being
//!   refused: an address can only crowd out itself.
//! - When every slot is taken, a newcomer closes the oldest pending
//!   connection that has had `grace` to show it is useful; one the
//!   endpoint chose (a dial to a leecher that announced) closes the oldest
//!   pending connection, however young.
//! - Refusals are counted and logged as one summary line at most every
//!   [`SUMMARY_EVERY`], not one line each.
//! - A waiter can learn when a slot frees ([`Admission::freed`]).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use foldhash::HashMap;
use tokio::sync::Notify;

/// How often a summary of refused connections is logged at most.
pub(crate) const SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// The address a slot is counted under: an IPv4 address, or an IPv6
/// address's /64 (an IPv4-mapped IPv6 address is its IPv4 address).
pub(crate) fn address_group(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
    }
}

/// Which listener a table of slots is for: its log lines' target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    /// The seeding peer's.
    Peer,
    /// The HTTP tracker's.
    Tracker,
    /// The WebSocket tracker's.
    WsTracker,
}

impl Listener {
    /// The same listener, as the metrics name it.
    fn metrics(self) -> crate::metrics::Listener {
        match self {
            Listener::Peer => crate::metrics::Listener::Peer,
            Listener::Tracker => crate::metrics::Listener::Tracker,
            Listener::WsTracker => crate::metrics::Listener::WsTracker,
        }
    }
}

/// Whether a connection has shown it is useful yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Not yet: it may be closed for a newcomer once its grace is over.
    Pending = 0,
    /// It has (a peer's handshake was accepted): it is never closed for a
    /// newcomer.
    Established = 1,
}

/// Who asks for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Newcomer {
    /// A connection accepted from the listener: held to the per-address
    /// cap, and it may close only its own address's pending connections,
    /// or others' past their grace.
    Accepted,
    /// A connection the endpoint makes (a dial): not held to the
    /// per-address cap, and it may close any pending connection.
    Chosen,
    /// A connection accepted from a trusted reverse proxy
    /// (`--trusted-proxy`), which carries many clients' requests from its
    /// one address: not held to the per-address cap; otherwise as
    /// [`Newcomer::Accepted`].
    Proxied,
}

/// Why a slot was not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its address holds its share of slots, none of them closable.
    PerAddress,
    /// Every slot is taken, none of them closable.
    Full,
}

/// What one connection's slot shares with the table: its standing, and
/// the signal that it is to close.
#[derive(Debug)]
pub(crate) struct Ticket {
    standing: AtomicU8,
    evict: Notify,
}

impl Ticket {
    /// The connection has shown it is useful: it keeps its slot.
    pub(crate) fn establish(&self) {
        self.standing
            .store(Standing::Established as u8, Ordering::Release);
    }

    fn standing(&self) -> Standing {
        if self.standing.load(Ordering::Acquire) == Standing::Established as u8 {
            Standing::Established
        } else {
            Standing::Pending
        }
    }

    /// Completes once the connection is to close for a newcomer.
    pub(crate) async fn evicted(&self) {
        self.evict.notified().await;
    }
}

#[derive(Debug)]
struct Entry {
    group: IpAddr,
    since: Instant,
    ticket: Arc<Ticket>,
}

#[derive(Debug, Default)]
struct Table {
    next: u64,
    /// The live slots, the oldest first.
    live: BTreeMap<u64, Entry>,
    per_group: HashMap<IpAddr, usize>,
}

impl Table {
    fn remove(&mut self, id: u64) -> Option<Entry> {
        let entry = self.live.remove(&id)?;
        if let Some(n) = self.per_group.get_mut(&entry.group) {
            *n -= 1;
            if *n == 0 {
                self.per_group.remove(&entry.group);
            }
        }
        Some(entry)
    }

    /// The oldest pending slot that a newcomer from `group` may close at
    /// `now`: its own address's (`Scope::Own`), or anyone's past `grace`
    /// (`Scope::Any`; a chosen newcomer ignores the grace).
    fn victim(
        &self,
        group: IpAddr,
        scope: Scope,
        newcomer: Newcomer,
        grace: Duration,
        now: Instant,
    ) -> Option<u64> {
        self.live
            .iter()
            .filter(|(_, e)| e.ticket.standing() == Standing::Pending)
            .find(|(_, e)| match scope {
                Scope::Own => e.group == group,
                Scope::Any => {
                    e.group == group
                        || newcomer == Newcomer::Chosen
                        || now.saturating_duration_since(e.since) >= grace
                }
            })
            .map(|(id, _)| *id)
    }
}

/// Whose connections a newcomer may close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Its own address's.
    Own,
    /// Anyone's.
    Any,
}

/// Refusals since the last summary line.
#[derive(Debug, Default)]
struct Refused {
    per_address: u64,
    full: u64,
    evicted: u64,
    last: Option<Instant>,
}

/// The slots of one listener (see the module's documentation).
#[derive(Debug)]
pub(crate) struct Admission {
    /// Whose slots, for the log.
    what: Listener,
    max: usize,
    per_address: usize,
    grace: Duration,
    table: Mutex<Table>,
    refused: Mutex<Refused>,
    freed: Notify,
}

impl Admission {
    pub(crate) fn new(
        what: Listener,
        max: usize,
        per_address: usize,
        grace: Duration,
    ) -> Admission {
        Admission {
            what,
            max,
            per_address,
            grace,
            table: Mutex::new(Table::default()),
            refused: Mutex::new(Refused::default()),
            freed: Notify::new(),
        }
    }

    /// A slot for a connection with `ip`, closing a pending connection for
    /// it if the slots run out; or why not (counted for the summary line).
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr, newcomer: Newcomer) -> Result<Slot, Refusal> {
        let group = address_group(ip);
        let now = Instant::now();
        let mut evicted = 0;
        let outcome = {
            let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
            let mut outcome = Ok(());
            if newcomer == Newcomer::Accepted
                && table.per_group.get(&group).copied().unwrap_or(0) >= self.per_address
            {
                match table.victim(group, Scope::Own, newcomer, self.grace, now) {
                    Some(id) => {
                        close(table.remove(id));
                        evicted += 1;
                    }
                    None => outcome = Err(Refusal::PerAddress),
                }
            }
            if outcome.is_ok() && table.live.len() >= self.max {
                match table.victim(group, Scope::Any, newcomer, self.grace, now) {
                    Some(id) => {
                        close(table.remove(id));
                        evicted += 1;
                    }
                    None => outcome = Err(Refusal::Full),
                }
            }
            outcome.map(|()| {
                let id = table.next;
                table.next += 1;
                let ticket = Arc::new(Ticket {
                    standing: AtomicU8::new(Standing::Pending as u8),
                    evict: Notify::new(),
                });
                table.live.insert(
                    id,
                    Entry {
                        group,
                        since: now,
                        ticket: Arc::clone(&ticket),
                    },
                );
                *table.per_group.entry(group).or_default() += 1;
                Slot {
                    admission: Arc::clone(self),
                    id,
                    ticket,
                    _open: crate::metrics::METRICS.connection(self.what.metrics()),
                }
            })
        };
        self.count(outcome.as_ref().err().copied(), evicted, now);
        outcome
    }

    /// Counts slot `id` under `ip` from now on, as [`Slot::readdress`]
    /// says.
    fn readdress(&self, id: u64, ip: IpAddr) -> Result<(), Refusal> {
        let group = address_group(ip);
        let now = Instant::now();
        let mut evicted = 0;
        let outcome = {
            let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
            match table.live.get(&id).map(|e| e.group) {
                // Closed for a newcomer meanwhile: it is closing anyway.
                None => Ok(()),
                Some(old) if old == group => Ok(()),
                Some(old) => {
                    let mut outcome = Ok(());
                    if table.per_group.get(&group).copied().unwrap_or(0) >= self.per_address {
                        match table.victim(group, Scope::Own, Newcomer::Accepted, self.grace, now) {
                            Some(victim) => {
                                close(table.remove(victim));
                                evicted += 1;
                            }
                            None => outcome = Err(Refusal::PerAddress),
                        }
                    }
                    if outcome.is_ok() {
                        if let Some(n) = table.per_group.get_mut(&old) {
                            *n -= 1;
                            if *n == 0 {
                                table.per_group.remove(&old);
                            }
                        }
                        *table.per_group.entry(group).or_default() += 1;
                        if let Some(entry) = table.live.get_mut(&id) {
                            entry.group = group;
                        }
                    }
                    outcome
                }
            }
        };
        self.count(outcome.err(), evicted, now);
        outcome
    }

    /// Counts a refusal and the connections closed for newcomers, and logs
    /// the summary when it is due.
    fn count(&self, refusal: Option<Refusal>, evicted: u64, now: Instant) {
        if refusal.is_none() && evicted == 0 {
            return;
        }
        let metrics = &crate::metrics::METRICS;
        match refusal {
            Some(Refusal::PerAddress) => {
                metrics.refused(self.what.metrics(), crate::metrics::Refused::PerAddress);
            }
            Some(Refusal::Full) => {
                metrics.refused(self.what.metrics(), crate::metrics::Refused::Full)
            }
            None => {}
        }
        metrics.evicted(self.what.metrics(), evicted);
        let mut r = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        match refusal {
            Some(Refusal::PerAddress) => r.per_address += 1,
            Some(Refusal::Full) => r.full += 1,
            None => {}
        }
        r.evicted += evicted;
        if r.last
            .is_some_and(|t| now.saturating_duration_since(t) < SUMMARY_EVERY)
        {
            return;
        }
        r.last = Some(now);
        let (per_address, full, evicted) = (r.per_address, r.full, r.evicted);
        (r.per_address, r.full, r.evicted) = (0, 0, 0);
        drop(r);
        // A `tracing` target is a constant: the listener's own.
        match (self.what, per_address + full > 0) {
            (Listener::Peer, true) => tracing::warn!(
                target: "peer",
                refused_per_address = per_address,
                refused_full = full,
                closed_for_newcomers = evicted,
                "connections refused since the last summary"
            ),
            (Listener::Tracker, true) => tracing::warn!(
                target: "tracker",
                refused_per_address = per_address,
                refused_full = full,
                closed_for_newcomers = evicted,
                "connections refused since the last summary"
            ),
            (Listener::WsTracker, true) => tracing::warn!(
                target: "tracker",
                transport = "ws",
                refused_per_address = per_address,
                refused_full = full,
                closed_for_newcomers = evicted,
                "connections refused since the last summary"
            ),
            (Listener::Peer, false) => tracing::info!(
                target: "peer",
                closed_for_newcomers = evicted,
                "pending connections closed for newcomers since the last summary"
            ),
            (Listener::Tracker, false) => tracing::info!(
                target: "tracker",
                closed_for_newcomers = evicted,
                "pending connections closed for newcomers since the last summary"
            ),
            (Listener::WsTracker, false) => tracing::info!(
                target: "tracker",
                transport = "ws",
                closed_for_newcomers = evicted,
                "pending connections closed for newcomers since the last summary"
            ),
        }
    }

    /// What a waiter for a free slot waits on (`notify_waiters` when one
    /// frees): make and `enable` its `notified()` before the
    /// [`admit`](Self::admit) it is to retry, so that a slot freed in
    /// between is not missed.
    pub(crate) fn freed(&self) -> &Notify {
        &self.freed
    }

    /// How many slots are taken.
    #[cfg(test)]
    fn taken(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .live
            .len()
    }
}

/// Tells an evicted connection to close.
fn close(entry: Option<Entry>) {
    if let Some(e) = entry {
        e.ticket.evict.notify_one();
    }
}

/// One taken slot, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    admission: Arc<Admission>,
    id: u64,
    ticket: Arc<Ticket>,
    /// Counts the connection open in the metrics while the slot lives.
    _open: crate::metrics::Open,
}

impl Slot {
    /// The slot's ticket: its standing and its eviction signal.
    pub(crate) fn ticket(&self) -> &Arc<Ticket> {
        &self.ticket
    }

    /// Counts the slot under `ip` from now on: the client a trusted proxy
    /// forwards for, learnt once its request is read. It is then held to
    /// `ip`'s share as an accepted connection from `ip` would be: when
    /// `ip` holds its share, `ip`'s oldest pending connection is closed
    /// for it, or, with none pending, it is refused (counted for the
    /// summary line) and keeps the proxy's uncapped slot until dropped.
    pub(crate) fn readdress(&self, ip: IpAddr) -> Result<(), Refusal> {
        self.admission.readdress(self.id, ip)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.admission
            .table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(self.id);
        self.admission.freed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            address_group(ip("2001:db8:1:2:3:4:5:6")),
            address_group(ip("2001:db8:1:2:ffff::1"))
        );
        assert_ne!(
            address_group(ip("2001:db8:1:2::1")),
            address_group(ip("2001:db8:1:3::1"))
        );
        assert_eq!(address_group(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
    }

    #[test]
    fn one_address_gets_its_share_then_closes_its_own_pending_connections() {
        let a = Arc::new(Admission::new(
            Listener::Peer,
            10,
            2,
            Duration::from_secs(60),
        ));
        let first = a.admit(ip("10.0.0.1"), Newcomer::Accepted).expect("room");
        let second = a.admit(ip("10.0.0.1"), Newcomer::Accepted).expect("room");
        let _other = a.admit(ip("10.0.0.2"), Newcomer::Accepted).expect("room");
        // The address's oldest pending connection closes for the third.
        let third = a.admit(ip("10.0.0.1"), Newcomer::Accepted).expect("evicts");
        assert_eq!(a.taken(), 3);
        // Established ones are kept: with both established, it is refused.
        second.ticket().establish();
        third.ticket().establish();
        assert_eq!(
            a.admit(ip("10.0.0.1"), Newcomer::Accepted).err(),
            Some(Refusal::PerAddress)
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(1), first.ticket().evicted())
                .await
                .expect("the oldest was told to close");
        });
        drop(first);
        assert_eq!(a.taken(), 3, "an evicted slot is not freed twice");
    }

    #[test]
    fn a_trusted_proxy_is_not_held_to_the_per_address_cap() {
        let a = Arc::new(Admission::new(Listener::Tracker, 4, 1, Duration::ZERO));
        let first = a.admit(ip("127.0.0.1"), Newcomer::Proxied).expect("room");
        first.ticket().establish();
        let second = a.admit(ip("127.0.0.1"), Newcomer::Proxied).expect("no cap");
        second.ticket().establish();
        assert_eq!(
            a.admit(ip("127.0.0.1"), Newcomer::Accepted).err(),
            Some(Refusal::PerAddress)
        );
        let _third = a.admit(ip("127.0.0.1"), Newcomer::Proxied).expect("no cap");
        assert_eq!(a.taken(), 3);
    }

    #[test]
    fn a_proxied_slot_readdressed_is_held_to_its_clients_share() {
        let a = Arc::new(Admission::new(
            Listener::WsTracker,
            10,
            2,
            Duration::from_secs(60),
        ));
        let proxy = ip("127.0.0.1");
        let held: Vec<Slot> = (0..2)
            .map(|_| {
                let s = a.admit(proxy, Newcomer::Proxied).expect("room");
                s.readdress(ip("198.51.100.7")).expect("its share");
                s.ticket().establish();
                s
            })
            .collect();
        let third = a
            .admit(proxy, Newcomer::Proxied)
            .expect("the proxy is uncapped");
        assert_eq!(
            third.readdress(ip("198.51.100.7")),
            Err(Refusal::PerAddress)
        );
        third.readdress(ip("198.51.100.8")).expect("another client");
        // The client's count follows the slot: one freed, one more fits.
        drop(held);
        let fourth = a.admit(proxy, Newcomer::Proxied).expect("room");
        fourth.readdress(ip("198.51.100.7")).expect("freed");
        // A pending one of the client's is closed for its newcomer.
        let fifth = a.admit(proxy, Newcomer::Proxied).expect("room");
        fifth.readdress(ip("198.51.100.7")).expect("its share");
        let sixth = a.admit(proxy, Newcomer::Proxied).expect("room");
        sixth.readdress(ip("198.51.100.7")).expect("closes fourth");
        assert_eq!(a.taken(), 3);
    }

    #[test]
    fn established_connections_are_never_closed_for_newcomers() {
        let a = Arc::new(Admission::new(Listener::Peer, 2, 10, Duration::ZERO));
        let one = a.admit(ip("10.0.0.1"), Newcomer::Accepted).expect("room");
        let two = a.admit(ip("10.0.0.2"), Newcomer::Accepted).expect("room");
        one.ticket().establish();
        two.ticket().establish();
        assert_eq!(
            a.admit(ip("10.0.0.3"), Newcomer::Chosen).err(),
            Some(Refusal::Full)
        );
        drop(two);
        let _three = a.admit(ip("10.0.0.3"), Newcomer::Accepted).expect("freed");
    }

    #[test]
    fn when_full_only_pending_connections_past_their_grace_close() {
        let a = Arc::new(Admission::new(
            Listener::Peer,
            2,
            10,
            Duration::from_millis(50),
        ));
        let _one = a.admit(ip("10.0.0.1"), Newcomer::Accepted).expect("room");
        let _two = a.admit(ip("10.0.0.2"), Newcomer::Accepted).expect("room");
        assert_eq!(
            a.admit(ip("10.0.0.3"), Newcomer::Accepted).err(),
            Some(Refusal::Full)
        );
        std::thread::sleep(Duration::from_millis(60));
        let _three = a.admit(ip("10.0.0.3"), Newcomer::Accepted).expect("evicts");
        assert_eq!(a.taken(), 2);
    }

    #[test]
    fn a_chosen_newcomer_closes_a_pending_connection_within_its_grace() {
        let a = Arc::new(Admission::new(
            Listener::Peer,
            1,
            1,
            Duration::from_secs(60),
        ));
        let _idle = a.admit(ip("10.0.0.1"), Newcomer::Accepted).expect("room");
        assert_eq!(
            a.admit(ip("10.0.0.2"), Newcomer::Accepted).err(),
            Some(Refusal::Full)
        );
        let _dial = a.admit(ip("10.0.0.1"), Newcomer::Chosen).expect("evicts");
        assert_eq!(a.taken(), 1);
    }
}
