//! xorshift64 (Marsaglia's 13, 7, 17): fast, deterministic, and plenty for
//! test data; no cryptographic claim.

/// A deterministic stream of 64-bit words.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// The stream for `seed` (any value: the state is never zero).
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next word.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `bound` (`bound` > 0; slightly biased, as test data
    /// may be).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = usize::try_from(self.below(i as u64 + 1)).unwrap_or(0);
            items.swap(i, j);
        }
    }

    /// Fills `out` with the stream's bytes, each word little-endian.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// `len` bytes of the stream for `seed`: the same for every run.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0; len];
    XorShift::new(seed).fill(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words of the stream are those of the copies the tests kept
    /// before this crate (so their data did not change).
    #[test]
    fn the_stream_is_the_one_the_tests_used() {
        let mut state = 5u64.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut expected = Vec::new();
        while expected.len() < 37 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            expected.extend_from_slice(&state.to_le_bytes());
        }
        expected.truncate(37);
        assert_eq!(random_bytes(37, 5), expected);
    }
}
