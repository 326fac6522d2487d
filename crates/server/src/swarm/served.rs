//! What the endpoint serves now, for what announces it elsewhere (other
//! trackers, the DHT): a sweep over the source's info-hashes that keeps
//! those [`SwarmSource::lookup`] allows, each with the trackers its torrent
//! lists besides the endpoint's own, published on a [`watch`] channel.
//!
//! A sweep runs when a torrent was made ([`SwarmSource::generation`]
//! moved, looked at every [`POLL`]) and at least every [`SWEEP`], so that
//! an object made private, deleted or overwritten leaves the set within
//! that time without a new torrent.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use s3torrent_metainfo::InfoHash;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{SwarmSource, stopped};

/// How often the source's generation is looked at.
const POLL: Duration = Duration::from_secs(1);
/// The longest time between two sweeps.
const SWEEP: Duration = Duration::from_secs(60);
/// The most info-hashes one sweep looks at.
const MAX_SWARMS: usize = 100_000;

/// The info-hashes served now, each with the other trackers its torrent
/// lists (in the torrent's order, the endpoint's own left out).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Served {
    /// Served info-hash → the other trackers of its torrent.
    pub(crate) swarms: BTreeMap<InfoHash, Vec<String>>,
}

impl Served {
    /// The info-hashes in `self` that `now` no longer has: to withdraw.
    pub(crate) fn gone<'a>(&'a self, now: &'a Served) -> impl Iterator<Item = &'a InfoHash> + 'a {
        self.swarms.keys().filter(|h| !now.swarms.contains_key(*h))
    }
}

/// Starts the sweep over `source`; `own` are the endpoint's own tracker
/// URLs (left out of each swarm's trackers). The channel starts empty and
/// holds the newest sweep's result until `shutdown`.
pub(crate) fn spawn_sweeper(
    source: Arc<dyn SwarmSource>,
    own: Vec<String>,
    shutdown: watch::Receiver<bool>,
) -> (watch::Receiver<Arc<Served>>, JoinHandle<()>) {
    let (tx, rx) = watch::channel(Arc::new(Served::default()));
    let task = tokio::spawn(async move {
        let mut shutdown = shutdown;
        let mut seen: Option<u64> = None;
        let mut last = tokio::time::Instant::now();
        loop {
            let generation = source.generation();
            if seen != Some(generation) || last.elapsed() >= SWEEP {
                seen = Some(generation);
                last = tokio::time::Instant::now();
                let source = Arc::clone(&source);
                let own = own.clone();
                // Lookups read the store or ask the cluster: blocking.
                if let Ok(served) = tokio::task::spawn_blocking(move || sweep(&*source, &own)).await
                {
                    tx.send_if_modified(|old| {
                        let changed = **old != served;
                        if changed {
                            *old = Arc::new(served);
                        }
                        changed
                    });
                }
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = stopped(&mut shutdown) => return,
            }
        }
    });
    (rx, task)
}

/// One sweep: the served info-hashes of `source` and their other trackers.
fn sweep(source: &dyn SwarmSource, own: &[String]) -> Served {
    let mut swarms = BTreeMap::new();
    for hash in source.info_hashes(MAX_SWARMS) {
        let Ok(target) = source.lookup(&hash) else {
            continue;
        };
        let mut others: Vec<String> = Vec::new();
        for url in target.torrent.trackers() {
            if !own.iter().any(|o| o == url) && !others.iter().any(|o| o == url) {
                others.push(url.to_owned());
            }
        }
        swarms.insert(hash, others);
    }
    Served { swarms }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(b: u8) -> InfoHash {
        InfoHash::from_bytes([b; 20])
    }

    #[test]
    fn gone_lists_what_the_newer_sweep_lost() {
        let old = Served {
            swarms: [
                (hash(1), vec![]),
                (hash(2), vec!["udp://t/announce".into()]),
            ]
            .into(),
        };
        let now = Served {
            swarms: [(hash(2), vec![]), (hash(3), vec![])].into(),
        };
        assert_eq!(old.gone(&now).collect::<Vec<_>>(), vec![&hash(1)]);
        assert_eq!(now.gone(&old).collect::<Vec<_>>(), vec![&hash(3)]);
    }
}
