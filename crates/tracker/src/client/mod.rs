//! The client side: a seed announcing itself to other trackers, sans-IO.
//!
//! - [`TrackerUrl::parse`] reads a tracker URL a torrent lists (`http://`,
//!   `udp://`; `https://` is [`ClientError::Unsupported`]: no TLS client).
//! - Over HTTP, [`TrackerUrl::announce_target`] is the GET's target for a
//!   [`ClientAnnounce`], and [`parse_announce_answer`] reads the bencoded
//!   answer strictly, with [`AnswerLimits`].
//! - Over UDP (BEP 15), [`udp_connect_request`] and
//!   [`udp_announce_request`] are the packets to send, and
//!   [`parse_udp_connect_answer`] and [`parse_udp_announce_answer`] read
//!   the answers.
//! - [`Announcer`] is the schedule: keyed by (tracker, info-hash), it says
//!   which announces are due at the time it is given (`started`, regular
//!   ones on the tracker's interval, `stopped` when a swarm is no longer
//!   served), with a cap on announces in flight and exponential backoff.
//!
//! The host sends and receives, resolves names, keeps the clocks and the
//! retransmission timers.

mod error;
mod http;
mod schedule;
mod udp;
mod url;

pub use error::ClientError;
pub use http::{
    AnnounceAnswer, AnswerLimits, ClientAnnounce, MAX_TRACKER_ID, parse_announce_answer,
};
pub use schedule::{Announcer, AnnouncerConfig, Due, Outcome, Taken};
pub use udp::{
    PeerFamily, parse_udp_announce_answer, parse_udp_connect_answer, udp_announce_request,
    udp_connect_request,
};
pub use url::{MAX_TRACKER_URL, TrackerUrl, Transport};
