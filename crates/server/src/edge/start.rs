//! What `serve` and the gateway do alike before they serve: the listeners
//! checked against the seeding mode and the DHT node, the URLs the
//! endpoint advertises, and the torrent policy those make.

use std::net::SocketAddr;

use s3torrent_s3::TorrentPolicy;
use tokio::net::TcpListener;

use super::advertised::Advertised;
use super::listen::{Endpoint, SwarmListeners};
use super::listeners::{Checked, Listeners, check_dht};
use super::tls::Tls;
use crate::config::{FrontConfig, SwarmConfig};
use crate::error::Error;

/// An endpoint's listeners, checked, and what it advertises.
pub(crate) struct Start {
    /// The S3 listener and its address.
    pub(crate) s3: TcpListener,
    pub(crate) addr: SocketAddr,
    /// The tracker's and the peer's, when seeding as a peer.
    pub(crate) swarm: Option<SwarmListeners>,
    /// The metrics listener, when there is one.
    pub(crate) metrics: Option<TcpListener>,
    /// The S3 listener's and the HTTP tracker's certificate, when they
    /// speak HTTPS.
    pub(crate) tls: Option<Tls>,
    /// The endpoint's own announce URLs, as torrents list them.
    pub(crate) own_trackers: Vec<String>,
    /// How its torrents are made: the size limit, the version, the web
    /// seed and the trackers.
    pub(crate) policy: TorrentPolicy,
}

impl Start {
    /// Checks `listeners` against `swarm` (a DHT node needs the seeding
    /// peer; seeding as a peer needs its listeners) and works out the URLs
    /// `endpoint` advertises from `front`: [`Error::Config`] when they do
    /// not fit.
    pub(crate) fn new(
        endpoint: Endpoint,
        listeners: Listeners,
        front: &FrontConfig,
        swarm: &SwarmConfig,
    ) -> Result<Start, Error> {
        check_dht(swarm.seeding, swarm.dht.as_ref())?;
        let checked = Checked::new(listeners, swarm.seeding)?;
        let advertised = Advertised::new(
            endpoint,
            swarm.seeding,
            front.public_url.as_deref(),
            front.announce_url.as_deref(),
            &checked,
        )?;
        let own_trackers = advertised.own_trackers();
        let Checked {
            s3,
            addr,
            swarm,
            metrics,
            tls,
            ..
        } = checked;
        let policy = advertised.policy(
            front.max_torrent_size,
            front.torrent_version,
            &front.trackers,
        );
        Ok(Start {
            s3,
            addr,
            swarm,
            metrics,
            tls,
            own_trackers,
            policy,
        })
    }
}
