//! Message stream encryption's policy and outcome: a leaf module, which
//! the error type and the handshake both name.

use std::fmt;

/// Whether connections are encrypted (MSE/PE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncryptionPolicy {
    /// Accept plain and encrypted connections; when initiating, the host
    /// decides (plain first, as a rule), and an encrypted handshake offers
    /// RC4 and plaintext, RC4 chosen when offered.
    #[default]
    Prefer,
    /// Only encrypted connections, RC4 after the handshake.
    Require,
    /// Plain connections only: no MSE.
    Off,
}

impl fmt::Display for EncryptionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EncryptionPolicy::Prefer => "prefer",
            EncryptionPolicy::Require => "require",
            EncryptionPolicy::Off => "off",
        })
    }
}

/// What carries the stream after the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crypto {
    /// Plaintext: a plain BitTorrent connection, or MSE with plaintext
    /// selected.
    Plaintext,
    /// RC4 in both directions.
    Rc4,
}
