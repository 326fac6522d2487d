//! Our peer id: the client prefix and a random tail, one per process.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// What every peer id of ours starts with: `-S3` and the version,
/// Azureus-style (BEP 20).
pub const PEER_ID_PREFIX: &[u8; 8] = b"-S30100-";

/// A peer id: [`PEER_ID_PREFIX`], then 12 random letters and digits (from
/// the process's random hash keys, the clock and the process id: enough to
/// tell processes apart, not a secret). A host makes one when it starts,
/// so that two endpoints (replicas, or one restarted) never look like one
/// peer to a client that remembers peer ids.
pub fn random_peer_id() -> [u8; 20] {
    const ALPHABET: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut id = [0u8; 20];
    id[..8].copy_from_slice(PEER_ID_PREFIX);
    let mut bits = 0u64;
    for (k, b) in id[8..].iter_mut().enumerate() {
        // 64 random bits give 10 letters; a second draw the last 2.
        if k % 10 == 0 {
            let mut h = RandomState::new().build_hasher();
            h.write_u128(nanos);
            h.write_u32(std::process::id());
            h.write_usize(k);
            bits = h.finish();
        }
        *b = ALPHABET[(bits % 62) as usize];
        bits /= 62;
    }
    id
}

#[cfg(test)]
mod tests {
    use super::{PEER_ID_PREFIX, random_peer_id};

    #[test]
    fn random_ids_keep_the_prefix_and_differ() {
        let a = random_peer_id();
        let b = random_peer_id();
        assert_eq!(&a[..8], PEER_ID_PREFIX);
        assert!(a[8..].iter().all(u8::is_ascii_alphanumeric), "{a:?}");
        assert_ne!(a, b);
    }
}
