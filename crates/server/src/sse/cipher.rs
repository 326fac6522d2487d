//! The data key, its sealed envelope, and the reader that deciphers.

use std::fs;

use aes::Aes256;
use aes::cipher::BlockCipherEncrypt;
use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::request::SseError;

/// An object's data key and initial counter: what enciphers its bytes.
/// The key is zeroed when dropped.
#[derive(Clone)]
pub(crate) struct DataKey {
    key: Zeroizing<[u8; 32]>,
    iv: [u8; 16],
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

fn random<const N: usize>() -> Result<[u8; N], SseError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| SseError::Random(e.to_string()))?;
    Ok(bytes)
}

impl DataKey {
    /// A fresh random key and counter.
    pub(crate) fn random() -> Result<DataKey, SseError> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut *key).map_err(|e| SseError::Random(e.to_string()))?;
        Ok(DataKey { key, iv: random()? })
    }

    /// The same key with a fresh random counter: a multipart upload's
    /// parts are each enciphered so, the counter kept with the part.
    pub(crate) fn fresh_counter(&self) -> Result<DataKey, SseError> {
        Ok(DataKey {
            key: self.key.clone(),
            iv: random()?,
        })
    }

    /// The same key from counter `iv` (a part's).
    pub(crate) fn with_counter(&self, iv: [u8; 16]) -> DataKey {
        DataKey {
            key: self.key.clone(),
            iv,
        }
    }

    /// The initial counter.
    pub(crate) fn counter(&self) -> [u8; 16] {
        self.iv
    }

    /// Enciphers or deciphers (the same in CTR mode) `buf`, the bytes at
    /// `offset` of the object: AES-256 of the counter blocks (the initial
    /// counter plus the block's index, a big-endian 128-bit number, as NIST
    /// SP 800-38A's CTR), a batch at a time (AES-NI's pipelined path), XORed
    /// into the bytes.
    pub(crate) fn apply(&self, buf: &mut [u8], offset: u64) {
        const BATCH: usize = 256;
        // Borrowed, not copied; the key schedule is zeroed when dropped
        // (aes's `zeroize`).
        let aes = Aes256::new((&*self.key).into());
        let mut counter = u128::from_be_bytes(self.iv).wrapping_add(u128::from(offset / 16));
        // Where in the first block `buf` starts.
        let mut skip = (offset % 16) as usize;
        let mut blocks = [aes::Block::default(); BATCH];
        let mut rest = buf;
        while !rest.is_empty() {
            let n = (rest.len() + skip).div_ceil(16).min(BATCH);
            for b in &mut blocks[..n] {
                *b = counter.to_be_bytes().into();
                counter = counter.wrapping_add(1);
            }
            aes.encrypt_blocks(&mut blocks[..n]);
            for b in &blocks[..n] {
                let ks: [u8; 16] = (*b).into();
                let take = (16 - skip).min(rest.len());
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(take);
                if take == 16 {
                    let x = u128::from_ne_bytes(ks)
                        ^ u128::from_ne_bytes((&*head).try_into().unwrap_or([0; 16]));
                    head.copy_from_slice(&x.to_ne_bytes());
                } else {
                    for (d, k) in head.iter_mut().zip(&ks[skip..]) {
                        *d ^= k;
                    }
                }
                skip = 0;
                rest = tail;
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn from_parts(key: [u8; 32], iv: [u8; 16]) -> DataKey {
        DataKey {
            key: Zeroizing::new(key),
            iv,
        }
    }
}

/// How an object is encrypted, as its record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// SSE-S3: the store's master key.
    S3,
    /// SSE-KMS: the key ring's key of this ID.
    Kms { key_id: String },
    /// SSE-C: the customer's key, known by a salted fingerprint.
    Customer {
        salt: [u8; 16],
        fingerprint: [u8; 32],
    },
}

impl Mode {
    /// The value of `x-amz-server-side-encryption` (none for SSE-C).
    pub(crate) fn header(&self) -> Option<&'static str> {
        match self {
            Mode::S3 => Some("AES256"),
            Mode::Kms { .. } => Some("aws:kms"),
            Mode::Customer { .. } => None,
        }
    }

    /// The associated data the seal is bound to.
    fn aad(&self) -> Vec<u8> {
        match self {
            Mode::S3 => b"s3torrent sse AES256".to_vec(),
            Mode::Kms { key_id } => format!("s3torrent sse aws:kms {key_id}").into_bytes(),
            Mode::Customer { .. } => b"s3torrent sse SSE-C".to_vec(),
        }
    }
}

/// The salted fingerprint of a customer's key.
pub(crate) fn fingerprint(salt: &[u8; 16], key: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"s3torrent sse-c fingerprint\0");
    h.update(salt);
    h.update(key);
    h.finalize().into()
}

/// An object's encryption, as its record keeps it: the mode, the initial
/// counter, and the data key sealed under the master key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Stored", into = "Stored")]
pub(crate) struct Envelope {
    pub(crate) mode: Mode,
    iv: [u8; 16],
    nonce: [u8; 12],
    /// The data key under AES-256-GCM (32 bytes and the 16-byte tag).
    sealed: Vec<u8>,
}

impl Envelope {
    /// Seals `data` under `master` for `mode`.
    pub(crate) fn seal(
        mode: Mode,
        data: &DataKey,
        master: &[u8; 32],
    ) -> Result<Envelope, SseError> {
        let nonce: [u8; 12] = random()?;
        let aead = Aes256Gcm::new(master.into());
        let sealed = aead
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: &data.key[..],
                    aad: &mode.aad(),
                },
            )
            .map_err(|_| SseError::Seal)?;
        Ok(Envelope {
            mode,
            iv: data.iv,
            nonce,
            sealed,
        })
    }

    /// The data key, opened with `master`; [`SseError::Unseal`] if
    /// `master` is not the key it was sealed under.
    pub(crate) fn open(&self, master: &[u8; 32]) -> Result<DataKey, SseError> {
        let aead = Aes256Gcm::new(master.into());
        let opened = Zeroizing::new(
            aead.decrypt(
                &self.nonce.into(),
                Payload {
                    msg: &self.sealed,
                    aad: &self.mode.aad(),
                },
            )
            .map_err(|_| SseError::Unseal)?,
        );
        if opened.len() != 32 {
            return Err(SseError::Unseal);
        }
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&opened);
        Ok(DataKey { key, iv: self.iv })
    }

    /// Bytes unique to this envelope (its nonce and sealed key), for
    /// digests that must differ between writes.
    pub(crate) fn digest_input(&self) -> Vec<u8> {
        let mut v = self.nonce.to_vec();
        v.extend_from_slice(&self.sealed);
        v
    }

    /// Whether `key` is the customer key this SSE-C object was written with.
    pub(crate) fn customer_matches(&self, key: &[u8; 32]) -> bool {
        match &self.mode {
            Mode::Customer {
                salt,
                fingerprint: f,
            } => fingerprint(salt, key) == *f,
            _ => false,
        }
    }
}

/// The envelope as stored (bencode): flat fields.
#[derive(Serialize, Deserialize)]
struct Stored {
    /// `AES256`, `aws:kms` or `SSE-C`.
    scheme: String,
    #[serde(rename = "key id", default, skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    #[serde(with = "serde_bytes", default)]
    salt: Vec<u8>,
    #[serde(with = "serde_bytes", default)]
    fingerprint: Vec<u8>,
    #[serde(with = "serde_bytes")]
    iv: Vec<u8>,
    #[serde(with = "serde_bytes")]
    nonce: Vec<u8>,
    #[serde(with = "serde_bytes")]
    sealed: Vec<u8>,
}

impl From<Envelope> for Stored {
    fn from(e: Envelope) -> Stored {
        let (scheme, key_id, salt, fingerprint) = match e.mode {
            Mode::S3 => ("AES256", None, Vec::new(), Vec::new()),
            Mode::Kms { key_id } => ("aws:kms", Some(key_id), Vec::new(), Vec::new()),
            Mode::Customer { salt, fingerprint } => {
                ("SSE-C", None, salt.to_vec(), fingerprint.to_vec())
            }
        };
        Stored {
            scheme: scheme.to_owned(),
            key_id,
            salt,
            fingerprint,
            iv: e.iv.to_vec(),
            nonce: e.nonce.to_vec(),
            sealed: e.sealed,
        }
    }
}

impl TryFrom<Stored> for Envelope {
    type Error = String;

    fn try_from(s: Stored) -> Result<Envelope, String> {
        let bad = |what: &str| format!("an encryption record's {what} is malformed");
        let mode = match (s.scheme.as_str(), s.key_id) {
            ("AES256", None) => Mode::S3,
            ("aws:kms", Some(key_id)) => Mode::Kms { key_id },
            ("SSE-C", None) => Mode::Customer {
                salt: s.salt.try_into().map_err(|_| bad("salt"))?,
                fingerprint: s.fingerprint.try_into().map_err(|_| bad("fingerprint"))?,
            },
            _ => return Err(bad("scheme")),
        };
        Ok(Envelope {
            mode,
            iv: s.iv.try_into().map_err(|_| bad("counter"))?,
            nonce: s.nonce.try_into().map_err(|_| bad("nonce"))?,
            sealed: s.sealed,
        })
    }
}

/// An object version's file, read as its plaintext: deciphered on the way
/// when the object is encrypted.
#[derive(Debug)]
pub(crate) struct ObjectReader {
    file: fs::File,
    key: Option<DataKey>,
}

impl ObjectReader {
    /// A plain file.
    pub(crate) fn plain(file: fs::File) -> ObjectReader {
        ObjectReader { file, key: None }
    }

    /// A file enciphered with `key`.
    pub(crate) fn encrypted(file: fs::File, key: DataKey) -> ObjectReader {
        ObjectReader {
            file,
            key: Some(key),
        }
    }

    /// Fills `buf` with the plaintext at `offset`.
    pub(crate) fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)?;
        if let Some(k) = &self.key {
            k.apply(buf, offset);
        }
        Ok(())
    }
}

impl s3torrent_metainfo::ReadAt for ObjectReader {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let n = std::os::unix::fs::FileExt::read_at(&self.file, buf, offset)?;
        if let Some(k) = &self.key {
            k.apply(&mut buf[..n], offset);
        }
        Ok(n)
    }
}
