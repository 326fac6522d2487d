//! The master keys: the store's SSE-S3 key and the local KMS key ring.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use zeroize::Zeroizing;

use super::request::SseError;

/// The SSE-S3 key's file under the store's own folder.
const SSE_S3_KEY: &str = "sse-s3.key";
/// The KMS key ring's folder under the store's own folder.
const KMS_DIR: &str = "kms";
/// The longest KMS key ID taken.
const MAX_KEY_ID: usize = 128;
/// How many KMS keys are held in memory at once: past that, the ring
/// forgets them all and loads again what is used.
const MAX_HELD_KMS_KEYS: usize = 1024;

/// The master keys of a store, each a file of 64 hex digits (32 bytes)
/// under its `.s3torrent/` folder:
///
/// - `sse-s3.key`: SSE-S3's key, created (mode 0600) the first time an
///   object is written with SSE-S3;
/// - `kms/<key id>`: the keys SSE-KMS names, placed there by the operator
///   (`openssl rand -hex 32 > ROOT/.s3torrent/kms/my-key`). A key ID is 1
///   to 128 of `A-Z a-z 0-9 . _ -`, not starting with a dot; an ARN
///   (`arn:aws:kms:REGION:ACCOUNT:key/ID`) names the key `ID`.
///
/// Each key file is read once, the first time its key is used (on a
/// blocking thread: the callers run the ring's methods off the runtime's
/// workers), and the key is then held in memory for as long as the store
/// is open: a file removed or replaced while the server runs changes
/// nothing until it is restarted (the guide tells operators to rotate by
/// placing a key under a new ID). Holding on is the safe side of the two:
/// a key that changed under a running server would fail every read of
/// what was sealed under it and mix the two keys among new writes. A key
/// ID with no file is looked for again each time, so a key placed while
/// the server runs is found at once.
pub(crate) struct Keyring {
    own: PathBuf,
    /// SSE-S3's key once read or made.
    s3: Mutex<Option<Zeroizing<[u8; 32]>>>,
    /// The KMS keys loaded so far, by key ID (the file's name), at most
    /// [`MAX_HELD_KMS_KEYS`].
    kms: Mutex<HashMap<String, Zeroizing<[u8; 32]>>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("own", &self.own)
            .finish_non_exhaustive()
    }
}

/// A key file's text, zeroed when dropped.
fn read_key_file(path: &Path) -> std::io::Result<Zeroizing<String>> {
    fs::read_to_string(path).map(Zeroizing::new)
}

fn parse_key(text: &str, path: &Path) -> Result<Zeroizing<[u8; 32]>, SseError> {
    let text = text.trim();
    let bad = || SseError::BadKeyFile(path.to_owned());
    if text.len() != 64 {
        return Err(bad());
    }
    let mut key = Zeroizing::new([0u8; 32]);
    for (i, pair) in text.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).map_err(|_| bad())?;
        key[i] = u8::from_str_radix(s, 16).map_err(|_| bad())?;
    }
    Ok(key)
}

/// The key ID `asked` names (an ARN's last part), if it is one we take.
pub(crate) fn key_id(asked: &str) -> Option<&str> {
    let id = match asked.strip_prefix("arn:") {
        Some(_) => asked.rsplit_once(":key/")?.1,
        None => asked,
    };
    let ok = !id.is_empty()
        && id.len() <= MAX_KEY_ID
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    ok.then_some(id)
}

impl Keyring {
    /// The key ring of the store whose own folder is `own`.
    pub(crate) fn new(own: &Path) -> Keyring {
        Keyring {
            own: own.to_owned(),
            s3: Mutex::new(None),
            kms: Mutex::new(HashMap::new()),
        }
    }

    /// SSE-S3's key for a read: an error if there is none (a read never
    /// makes one: the objects sealed under a lost key stay unreadable).
    pub(crate) fn sse_s3_to_read(&self) -> Result<Zeroizing<[u8; 32]>, SseError> {
        self.sse_s3_key(false)
    }

    /// SSE-S3's key for a write, made on first use.
    pub(crate) fn sse_s3(&self) -> Result<Zeroizing<[u8; 32]>, SseError> {
        self.sse_s3_key(true)
    }

    /// SSE-S3's key if it is in memory already (no file to read, no wait
    /// on a thread reading it).
    pub(crate) fn held_sse_s3(&self) -> Option<Zeroizing<[u8; 32]>> {
        let held = match self.s3.try_lock() {
            Ok(held) => held,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        held.clone()
    }

    fn sse_s3_key(&self, make: bool) -> Result<Zeroizing<[u8; 32]>, SseError> {
        let mut held = self.s3.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = &*held {
            return Ok(k.clone());
        }
        let path = self.own.join(SSE_S3_KEY);
        let key = match read_key_file(&path) {
            Ok(text) => parse_key(&text, &path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && make => {
                let mut key = Zeroizing::new([0u8; 32]);
                getrandom::fill(&mut *key).map_err(|e| SseError::Random(e.to_string()))?;
                let mut text = Zeroizing::new(String::with_capacity(65));
                for b in key.iter() {
                    use std::fmt::Write as _;
                    let _ = write!(text, "{b:02x}");
                }
                text.push('\n');
                let io = |e: std::io::Error| SseError::KeyFile(path.clone(), e);
                let temp = self.own.join("tmp").join(SSE_S3_KEY);
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    let mut f = fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .mode(0o600)
                        .open(&temp)
                        .map_err(io)?;
                    f.write_all(text.as_bytes()).map_err(io)?;
                    f.sync_all().map_err(io)?;
                }
                // Never replaces a key made meanwhile by another store
                // process (the database lock makes that unlikely).
                match fs::hard_link(&temp, &path) {
                    Ok(()) => {
                        let _ = fs::remove_file(&temp);
                        key
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let _ = fs::remove_file(&temp);
                        parse_key(&read_key_file(&path).map_err(io)?, &path)?
                    }
                    Err(e) => return Err(io(e)),
                }
            }
            Err(e) => return Err(SseError::KeyFile(path, e)),
        };
        *held = Some(key.clone());
        Ok(key)
    }

    /// The KMS key `id` names; [`SseError::NoSuchKmsKey`] if the ring has
    /// none of that name.
    pub(crate) fn kms(&self, id: &str) -> Result<Zeroizing<[u8; 32]>, SseError> {
        let unknown = || {
            // The ID as given, cut short in the message.
            let shown: String = id.chars().take(MAX_KEY_ID).collect();
            SseError::NoSuchKmsKey(shown)
        };
        let name = key_id(id).ok_or_else(unknown)?;
        if let Some(key) = self.held_kms(name) {
            return Ok(key);
        }
        // Read without the lock, so that the keys already held are not
        // kept waiting on the disk.
        let path = self.own.join(KMS_DIR).join(name);
        let key = match read_key_file(&path) {
            Ok(text) => parse_key(&text, &path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(unknown()),
            Err(e) => return Err(SseError::KeyFile(path, e)),
        };
        let mut held = self.kms.lock().unwrap_or_else(|e| e.into_inner());
        if held.len() >= MAX_HELD_KMS_KEYS && !held.contains_key(name) {
            held.clear();
        }
        // Two first uses at once: the key loaded first is the one kept.
        Ok(held.entry(name.to_owned()).or_insert(key).clone())
    }

    /// The KMS key `id` names if it is in memory already (no file to
    /// read); none for an ID the ring does not take.
    pub(crate) fn held_kms(&self, id: &str) -> Option<Zeroizing<[u8; 32]>> {
        let name = key_id(id)?;
        let held = self.kms.lock().unwrap_or_else(|e| e.into_inner());
        held.get(name).cloned()
    }
}
