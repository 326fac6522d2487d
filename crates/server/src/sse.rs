//! Server-side encryption of objects at rest: SSE-S3, SSE-KMS and SSE-C.
//!
//! Every encrypted object version has its own random 256-bit data key and
//! a random 128-bit initial counter; its bytes are AES-256 in CTR mode
//! (big-endian 128-bit counter), so that any byte range, a ranged GET or a
//! torrent piece, is deciphered without reading what comes before it, and
//! the file keeps the plaintext's length. The data key is sealed
//! (AES-256-GCM, the scheme and key name as associated data) under the
//! object's master key and kept in its record ([`Envelope`]):
//!
//! - SSE-S3 (`AES256`): the store's own key, `.s3torrent/sse-s3.key`,
//!   created on first use;
//! - SSE-KMS (`aws:kms`): the named key of the local key ring,
//!   `.s3torrent/kms/<key id>` (see [`Keyring`]);
//! - SSE-C: the customer's key, which is never stored: the record keeps a
//!   salted SHA-256 fingerprint of it, to tell a wrong key from a right one
//!   before anything is deciphered.
//!
//! Key material in memory (data keys, master keys, customer keys, the
//! ciphers' key schedules) is zeroed when dropped (`zeroize`); copies a
//! move leaves behind (a map growing, a value returned) are not.

mod cipher;
mod keys;
mod request;

#[cfg(test)]
mod tests;

pub(crate) use self::cipher::{DataKey, Envelope, Mode, ObjectReader, fingerprint};
pub(crate) use self::keys::Keyring;
pub(crate) use self::request::{Asked, CustomerKey, SseError, Target, asked, customer_key};
