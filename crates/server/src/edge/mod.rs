//! The TCP/HTTP edge that `serve`, the gateway and the swarm stand on: the
//! listeners and the accept step, the HTTP front's clocks and screening
//! ([`front`]), and the way an endpoint ends. It imports none of them.

pub(crate) mod arrivals;
pub(crate) mod front;
pub(crate) mod listen;
pub(crate) mod sigv2;
pub(crate) mod tls;

mod advertised;
mod http;
mod listeners;
mod metrics;
mod start;

pub(crate) use self::http::{Front, serve_http};
pub use self::listeners::Listeners;
pub(crate) use self::metrics::{Health, spawn as spawn_metrics};
pub(crate) use self::start::Start;
