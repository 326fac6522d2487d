//! The client side's one error type.

/// Why an announce to another tracker could not be made or its answer not
/// used: a tracker URL this client cannot announce to, a refusal from the
/// tracker, or an answer that breaks the protocol or a limit.
///
/// Every text names the field (or URL part) at fault, and where in the
/// answer it stands when that is known. Text taken from the tracker or the
/// URL is escaped and shortened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A tracker URL that does not parse: `url` (escaped, shortened) and
    /// what is wrong with it.
    #[error("tracker URL \"{url}\": {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A tracker URL whose scheme this client does not speak (`https`: no
    /// TLS client yet; `wss`, …).
    #[error("tracker URL \"{url}\": scheme {scheme} is not supported (http and udp are)")]
    Unsupported {
        /// The URL as given.
        url: String,
        /// Its scheme, lowercased.
        scheme: String,
    },
    /// The tracker refused the announce: its `failure reason` (HTTP) or its
    /// error packet's message (UDP).
    #[error("the tracker refused: {reason}")]
    Failure {
        /// The tracker's words, escaped and shortened.
        reason: String,
    },
    /// An answer longer than the limit.
    #[error("{what} is {len} bytes, over the limit of {max}")]
    TooLong {
        /// The answer (`HTTP answer`, `UDP packet`).
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An HTTP answer that is not bencode.
    #[error("the answer is not bencode: {0}")]
    Bencode(#[from] s3torrent_bencode::Error),
    /// An HTTP answer that is bencode but not a dictionary.
    #[error("the answer is not a dictionary")]
    NotDictionary,
    /// A required field is absent (`interval` from a successful answer,
    /// `peers[2].port`).
    #[error("{field} is missing")]
    Missing {
        /// The field.
        field: String,
    },
    /// A field with a value it may not hold: `field`, and what it must be.
    /// `at` is its byte offset in the answer, when known.
    #[error("{field}{} must be {expected}", At(*.at))]
    Field {
        /// The field (`interval`, `peers`, `peers[3].port`, …).
        field: String,
        /// What it must be.
        expected: &'static str,
        /// Where it stands in the answer.
        at: Option<usize>,
    },
    /// An answer listing more peers than the limit.
    #[error("the answer lists more than {max} peers")]
    TooManyPeers {
        /// The limit.
        max: usize,
    },
    /// A UDP packet whose length does not fit its action.
    #[error("udp {action} answer must be {expected}, got {len} bytes")]
    PacketSize {
        /// The action (`connect`, `announce`, `error`, or `answer` when it
        /// is too short to name one).
        action: &'static str,
        /// Its length.
        len: usize,
        /// What it must be.
        expected: &'static str,
    },
    /// A UDP answer with another action than the request's (and not an
    /// error).
    #[error("udp answer at byte 0 has action {got}, expected {expected}")]
    Action {
        /// The action it has.
        got: u32,
        /// The action asked for.
        expected: u32,
    },
    /// A UDP answer to another transaction (a late answer to an earlier
    /// try, or a forgery): ignore it and keep waiting.
    #[error("udp answer at byte 4 has transaction id {got:#010x}, expected {expected:#010x}")]
    Transaction {
        /// The id it has.
        got: u32,
        /// The id sent.
        expected: u32,
    },
}

/// ` at byte N`, when the offset is known.
struct At(Option<usize>);

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(n) => write!(f, " at byte {n}"),
            None => Ok(()),
        }
    }
}
