//! The torrent service over an in-memory [`ObjectSource`] that counts its
//! `open()` calls and can be told to change the object while it is read:
//! single-flight hashing under 16 concurrent requests, invalidation on
//! overwrite and per version, objects that change mid-hash, precomputed
//! pieces, the torrent's shape, the LRU cache, and policies sharing a cache.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use s3torrent_metainfo::{HashOptions, Torrent, TorrentHasher, verify_source};
use s3torrent_s3::{
    AccountId, Acl, Addressing, BucketInfo, BucketName, CacheKey, CachedTorrent, CannedAcl,
    CanonicalId, InfoHash, LruCache, ObjectInfo, ObjectKey, ObjectLookup, ObjectSource,
    ObjectVersion, PieceLength, PieceLengthPolicy, Principal, Profile, ReadAt, Requester, Result,
    ServedTorrent, TorrentCache, TorrentPolicy, TorrentRequest, TorrentService, TorrentVersion,
    WebSeed,
};

fn owner() -> Principal {
    Principal::new(
        CanonicalId::new("bucket-owner").unwrap(),
        AccountId::new("111122223333").unwrap(),
    )
}

fn stranger() -> Requester {
    Requester::Authenticated(Principal::new(
        CanonicalId::new("stranger").unwrap(),
        AccountId::new("777788889999").unwrap(),
    ))
}

/// Deterministic bytes that differ with `seed`.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The pieces of `bytes` at `piece_length`, by the streaming hasher.
fn pieces_of(bytes: &[u8], piece_length: PieceLength) -> s3torrent_s3::TorrentHashes {
    let mut h = TorrentHasher::new(piece_length, TorrentVersion::V1);
    h.update(bytes);
    h.finish()
}

struct Version {
    info: ObjectInfo,
    data: Arc<Vec<u8>>,
}

type Hook = Box<dyn FnOnce(&Store) + Send>;

/// An in-memory bucket: versions per key (the last is current), counters,
/// a delay per read and a hook run on the first read.
struct Store {
    bucket: BucketInfo,
    objects: Mutex<HashMap<String, Vec<Version>>>,
    opens: AtomicUsize,
    read_delay: Duration,
    on_first_read: Mutex<Option<Hook>>,
}

impl Store {
    fn new() -> Self {
        Store {
            bucket: BucketInfo::new(BucketName::new("quotes").unwrap(), owner()),
            objects: Mutex::new(HashMap::new()),
            opens: AtomicUsize::new(0),
            read_delay: Duration::ZERO,
            on_first_read: Mutex::new(None),
        }
    }

    fn opens(&self) -> usize {
        self.opens.load(Ordering::SeqCst)
    }

    /// Writes `key`: a new version if `version_id` is set, else an overwrite.
    /// The object is public-read.
    fn put(&self, key: &str, version_id: Option<&str>, etag: &str, bytes: Vec<u8>) -> ObjectInfo {
        let o = owner();
        let mut info = ObjectInfo::new(ObjectKey::new(key).unwrap(), bytes.len() as u64, etag, &o);
        info.acl = Acl::canned(CannedAcl::PublicRead, &o, &o);
        info.version_id = version_id.map(String::from);
        let mut objects = self.objects.lock().unwrap();
        let versions = objects.entry(key.to_owned()).or_default();
        if version_id.is_none() {
            versions.clear();
        }
        versions.push(Version {
            info: info.clone(),
            data: Arc::new(bytes),
        });
        info
    }

    fn delete(&self, key: &str) {
        self.objects.lock().unwrap().remove(key);
    }

    fn on_first_read(&self, hook: impl FnOnce(&Store) + Send + 'static) {
        *self.on_first_read.lock().unwrap() = Some(Box::new(hook));
    }
}

struct Reader<'a> {
    store: &'a Store,
    data: Arc<Vec<u8>>,
}

impl ReadAt for Reader<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let hook = self.store.on_first_read.lock().unwrap().take();
        if let Some(hook) = hook {
            hook(self.store);
        }
        if !self.store.read_delay.is_zero() {
            thread::sleep(self.store.read_delay);
        }
        self.data.as_slice().read_at(buf, offset)
    }
}

impl ObjectSource for Store {
    fn bucket(&self, bucket: &BucketName) -> Result<Option<BucketInfo>> {
        Ok((*bucket == self.bucket.name).then(|| self.bucket.clone()))
    }

    fn object(
        &self,
        _bucket: &BucketName,
        key: &ObjectKey,
        version_id: Option<&str>,
    ) -> Result<ObjectLookup> {
        let objects = self.objects.lock().unwrap();
        let Some(versions) = objects.get(key.as_str()).filter(|v| !v.is_empty()) else {
            return Ok(ObjectLookup::NoSuchKey);
        };
        Ok(match version_id {
            None => ObjectLookup::Found(versions.last().unwrap().info.clone()),
            Some(id) => versions
                .iter()
                .find(|v| v.info.version_id.as_deref() == Some(id))
                .map_or(ObjectLookup::NoSuchVersion, |v| {
                    ObjectLookup::Found(v.info.clone())
                }),
        })
    }

    fn open(
        &self,
        _bucket: &BucketName,
        object: &ObjectInfo,
    ) -> Result<Box<dyn ReadAt + Send + Sync + '_>> {
        self.opens.fetch_add(1, Ordering::SeqCst);
        let objects = self.objects.lock().unwrap();
        let versions = &objects[object.key.as_str()];
        // An unversioned object opens whatever is stored now, as a real store would.
        let version = match &object.version_id {
            None => versions.last().unwrap(),
            Some(id) => versions
                .iter()
                .find(|v| v.info.version_id.as_ref() == Some(id))
                .unwrap(),
        };
        Ok(Box::new(Reader {
            store: self,
            data: Arc::clone(&version.data),
        }))
    }
}

fn anon(key: &str) -> TorrentRequest {
    TorrentRequest::new("quotes", key, Requester::Anonymous)
}

fn parse(served: &ServedTorrent) -> Torrent {
    Torrent::from_bytes(served.torrent.bytes.clone()).expect("the service's torrents parse")
}

#[test]
fn sixteen_concurrent_requests_hash_once() {
    let mut store = Store::new();
    store.read_delay = Duration::from_millis(3);
    let bytes = data(6 << 20, 1);
    let expected_pieces = pieces_of(&bytes, PieceLength::AWS);
    store.put("big/object.bin", None, "etag-1", bytes);
    let service = TorrentService::new(TorrentPolicy::default());
    let barrier = Barrier::new(16);
    let results: Vec<ServedTorrent> = thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    service
                        .get_object_torrent(&store, &anon("big/object.bin"))
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(store.opens(), 1, "one open, one hash");
    assert_eq!(results.iter().filter(|r| !r.from_cache).count(), 1);
    for r in &results {
        assert_eq!(r.torrent, results[0].torrent);
        assert_eq!(r.name, "big_object.bin");
        assert!(!r.request_charged);
    }
    let torrent = parse(&results[0]);
    assert_eq!(
        torrent.info().pieces(),
        expected_pieces.v1().unwrap().as_bytes()
    );
    assert_eq!(torrent.info_hash(), results[0].torrent.info_hash);
    assert_eq!(service.cache().len(), 1);
    // And afterwards, from the cache without opening.
    let again = service
        .get_object_torrent(&store, &anon("big/object.bin"))
        .unwrap();
    assert!(again.from_cache);
    assert_eq!(again.torrent, results[0].torrent);
    assert_eq!(store.opens(), 1);
}

/// A cache whose first `get` on the thread named `late` misses, then
/// stalls until told to go on: the request has looked in the cache but not
/// yet joined a flight when the leader finishes.
struct StallingCache {
    inner: LruCache,
    stalled: AtomicBool,
    missed: Mutex<Option<mpsc::Sender<()>>>,
    resume: Mutex<Option<mpsc::Receiver<()>>>,
}

impl TorrentCache for StallingCache {
    fn get(&self, key: &CacheKey) -> Option<CachedTorrent> {
        let found = self.inner.get(key);
        if thread::current().name() == Some("late") && !self.stalled.swap(true, Ordering::SeqCst) {
            assert!(found.is_none());
            self.missed
                .lock()
                .unwrap()
                .take()
                .unwrap()
                .send(())
                .unwrap();
            let resume = self.resume.lock().unwrap().take().unwrap();
            resume.recv().unwrap();
        }
        found
    }

    fn put(&self, key: CacheKey, torrent: CachedTorrent) {
        self.inner.put(key, torrent);
    }

    fn forget(&self, bucket: &BucketName, key: &ObjectKey) {
        self.inner.forget(bucket, key);
    }
}

#[test]
fn a_request_between_cache_miss_and_flight_does_not_hash_again() {
    let store = Store::new();
    store.put("obj", None, "etag-1", data(1 << 20, 2));
    let (missed_tx, missed_rx) = mpsc::channel();
    let (resume_tx, resume_rx) = mpsc::channel();
    let cache = StallingCache {
        inner: LruCache::default(),
        stalled: AtomicBool::new(false),
        missed: Mutex::new(Some(missed_tx)),
        resume: Mutex::new(Some(resume_rx)),
    };
    let service = TorrentService::with_cache(TorrentPolicy::default(), cache);
    thread::scope(|s| {
        let late = thread::Builder::new()
            .name("late".into())
            .spawn_scoped(s, || service.get_object_torrent(&store, &anon("obj")))
            .unwrap();
        // The late request has missed the cache; now another hashes and finishes.
        missed_rx.recv().unwrap();
        let first = service.get_object_torrent(&store, &anon("obj")).unwrap();
        assert!(!first.from_cache);
        resume_tx.send(()).unwrap();
        let late = late.join().unwrap().unwrap();
        assert_eq!(late.torrent, first.torrent);
        assert!(
            late.from_cache,
            "the late request is served what was cached"
        );
    });
    assert_eq!(store.opens(), 1, "the late request hashed the object again");
}

#[test]
fn an_overwrite_gets_a_new_torrent() {
    let store = Store::new();
    let old = store.put("doc.txt", None, "etag-1", data(3 << 20, 3));
    let service = TorrentService::new(TorrentPolicy::default());
    let first = service
        .get_object_torrent(&store, &anon("doc.txt"))
        .unwrap();
    assert!(!first.from_cache);
    assert!(
        service
            .get_object_torrent(&store, &anon("doc.txt"))
            .unwrap()
            .from_cache
    );
    assert_eq!(store.opens(), 1);

    let new_bytes = data(3 << 20, 4);
    let new = store.put("doc.txt", None, "etag-2", new_bytes.clone());
    // The old entry is still cached, under the old ETag, and not served.
    assert!(
        service
            .cache()
            .get(&service.cache_key(&store.bucket.name, &old).unwrap())
            .is_some()
    );
    assert_eq!(service.cached(&store, &anon("doc.txt")).unwrap(), None);
    let second = service
        .get_object_torrent(&store, &anon("doc.txt"))
        .unwrap();
    assert!(!second.from_cache);
    assert_eq!(store.opens(), 2);
    assert_ne!(second.torrent.info_hash, first.torrent.info_hash);
    assert_ne!(second.torrent.etag, first.torrent.etag);
    assert_eq!(
        parse(&second).info().pieces(),
        pieces_of(&new_bytes, PieceLength::AWS)
            .v1()
            .unwrap()
            .as_bytes()
    );
    let third = service
        .get_object_torrent(&store, &anon("doc.txt"))
        .unwrap();
    assert!(third.from_cache);
    assert_eq!(third.torrent, second.torrent);
    assert_eq!(store.opens(), 2);
    assert_eq!(
        service.cache_key(&store.bucket.name, &new).unwrap().version,
        ObjectVersion::ETag("etag-2".into())
    );

    // forget drops both.
    service
        .cache()
        .forget(&store.bucket.name, &ObjectKey::new("doc.txt").unwrap());
    assert!(service.cache().is_empty());
}

#[test]
fn each_version_has_its_own_torrent() {
    let store = Store::new();
    let (one, two) = (data(1 << 20, 5), data(1 << 20, 6));
    store.put("v.bin", Some("v1"), "etag-1", one.clone());
    store.put("v.bin", Some("v2"), "etag-2", two.clone());
    let service = TorrentService::new(TorrentPolicy::default());
    let at = |v: Option<&str>| {
        let mut req = anon("v.bin");
        req.version_id = v.map(String::from);
        service.get_object_torrent(&store, &req).unwrap()
    };
    let v1 = at(Some("v1"));
    let v2 = at(Some("v2"));
    assert!(!v1.from_cache && !v2.from_cache);
    assert_ne!(v1.torrent.info_hash, v2.torrent.info_hash);
    assert_eq!(
        parse(&v1).info().pieces(),
        pieces_of(&one, PieceLength::AWS).v1().unwrap().as_bytes()
    );
    assert_eq!(
        parse(&v2).info().pieces(),
        pieces_of(&two, PieceLength::AWS).v1().unwrap().as_bytes()
    );
    // The current version is v2: the same torrent, from the cache.
    let current = at(None);
    assert!(current.from_cache);
    assert_eq!(current.torrent, v2.torrent);
    assert!(at(Some("v1")).from_cache);
    assert_eq!(store.opens(), 2);
    assert_eq!(service.cache().len(), 2);

    let mut missing = anon("v.bin");
    missing.version_id = Some("v3".into());
    let e = service.get_object_torrent(&store, &missing).unwrap_err();
    // Anonymous may not list the (private) bucket.
    assert_eq!((e.code().as_str(), e.status()), ("AccessDenied", 403));
}

#[test]
fn an_object_changed_mid_hash_is_an_internal_error_and_not_cached() {
    let store = Store::new();
    let old = store.put("live.log", None, "etag-1", data(2 << 20, 7));
    let new_bytes = data(2 << 20, 8);
    let replacement = new_bytes.clone();
    store.on_first_read(move |s| {
        s.put("live.log", None, "etag-2", replacement);
    });
    let service = TorrentService::new(TorrentPolicy::default());
    let e = service
        .get_object_torrent(&store, &anon("live.log"))
        .unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("InternalError", 500));
    assert!(e.is_retryable());
    assert_eq!(e.resource(), "/quotes/live.log");
    assert!(e.message().contains("changed"), "{}", e.message());
    assert!(service.cache().is_empty(), "nothing cached");
    assert!(
        service
            .cache()
            .get(&service.cache_key(&store.bucket.name, &old).unwrap())
            .is_none()
    );
    assert_eq!(store.opens(), 1);

    // The object settled: the next request hashes the new bytes.
    let served = service
        .get_object_torrent(&store, &anon("live.log"))
        .unwrap();
    assert!(!served.from_cache);
    assert_eq!(store.opens(), 2);
    assert_eq!(
        parse(&served).info().pieces(),
        pieces_of(&new_bytes, PieceLength::AWS)
            .v1()
            .unwrap()
            .as_bytes()
    );
    assert!(
        service
            .get_object_torrent(&store, &anon("live.log"))
            .unwrap()
            .from_cache
    );
}

#[test]
fn an_object_deleted_mid_hash_is_an_internal_error() {
    let store = Store::new();
    store.put("gone", None, "etag-1", data(1 << 20, 9));
    store.on_first_read(|s| s.delete("gone"));
    let service = TorrentService::new(TorrentPolicy::default());
    let e = service
        .get_object_torrent(&store, &anon("gone"))
        .unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("InternalError", 500));
    assert!(service.cache().is_empty());
    let e = service
        .get_object_torrent(&store, &anon("gone"))
        .unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("AccessDenied", 403));
}

#[test]
fn concurrent_requests_never_get_the_torrent_of_bytes_that_changed() {
    let mut store = Store::new();
    store.read_delay = Duration::from_millis(2);
    let old = store.put("hot", None, "etag-1", data(2 << 20, 10));
    let new_bytes = data(2 << 20, 11);
    let new_pieces = pieces_of(&new_bytes, PieceLength::AWS);
    store.on_first_read(move |s| {
        s.put("hot", None, "etag-2", new_bytes);
    });
    let service = TorrentService::new(TorrentPolicy::default());
    let barrier = Barrier::new(8);
    let results: Vec<_> = thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    service.get_object_torrent(&store, &anon("hot"))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut failed = 0;
    for r in &results {
        match r {
            Ok(served) => assert_eq!(
                parse(served).info().pieces(),
                new_pieces.v1().unwrap().as_bytes()
            ),
            Err(e) => {
                assert_eq!((e.code().as_str(), e.status()), ("InternalError", 500));
                failed += 1;
            }
        }
    }
    assert!(failed >= 1, "the request that read the old bytes failed");
    assert!(
        service
            .cache()
            .get(&service.cache_key(&store.bucket.name, &old).unwrap())
            .is_none()
    );
}

#[test]
fn precomputed_pieces_are_served_without_opening() {
    let store = Store::new();
    let bytes = data((1 << 20) + 12345, 12);
    let info = store.put("up/load.bin", None, "etag-1", bytes.clone());
    let service = TorrentService::new(TorrentPolicy::default());
    let pieces = pieces_of(&bytes, PieceLength::AWS);
    let stored = service
        .store_hashes(&store.bucket.name, &info, &pieces)
        .unwrap();
    let served = service
        .get_object_torrent(&store, &anon("up/load.bin"))
        .unwrap();
    assert!(served.from_cache);
    assert_eq!(store.opens(), 0);
    assert_eq!(served.torrent, stored);

    // The same bytes as hashing the object would give.
    let other = TorrentService::new(TorrentPolicy::default());
    let hashed = other
        .get_object_torrent(&store, &anon("up/load.bin"))
        .unwrap();
    assert!(!hashed.from_cache);
    assert_eq!(hashed.torrent, stored);

    // Pieces of the wrong length, or of other bytes, are refused and not cached.
    let fresh = TorrentService::new(TorrentPolicy::default());
    for wrong in [
        pieces_of(&bytes, PieceLength::MIN),
        pieces_of(&bytes[..bytes.len() - 1], PieceLength::AWS),
        pieces_of(&data(3 << 20, 13), PieceLength::AWS),
    ] {
        let e = fresh
            .store_hashes(&store.bucket.name, &info, &wrong)
            .unwrap_err();
        assert_eq!((e.code().as_str(), e.status()), ("InternalError", 500));
        assert_eq!(e.resource(), "/quotes/up/load.bin");
    }
    assert!(fresh.cache().is_empty());

    // With an automatic piece length, the pieces must use the automatic one.
    let mut policy = TorrentPolicy::default();
    policy.piece_length = PieceLengthPolicy::Auto;
    let auto = TorrentService::new(policy);
    assert!(
        auto.store_hashes(&store.bucket.name, &info, &pieces)
            .is_err()
    );
    let auto_len = PieceLength::auto(info.size);
    assert_eq!(auto_len, PieceLength::MIN);
    auto.store_hashes(&store.bucket.name, &info, &pieces_of(&bytes, auto_len))
        .unwrap();
    assert!(
        auto.get_object_torrent(&store, &anon("up/load.bin"))
            .unwrap()
            .from_cache
    );
    assert_eq!(store.opens(), 1);
}

#[test]
fn torrents_have_the_aws_shape() {
    let store = Store::new();
    let bytes = data(700_000, 14);
    store.put("dir/data file.bin", None, "etag-1", bytes.clone());
    let mut policy = TorrentPolicy::default();
    policy.web_seed = Some(WebSeed {
        endpoint: "http://127.0.0.1:9000".into(),
        addressing: Addressing::Path,
    });
    let service = TorrentService::new(policy);
    let served = service
        .get_object_torrent(&store, &anon("dir/data file.bin"))
        .unwrap();
    assert_eq!(served.name, "dir_data file.bin");
    let t = parse(&served);
    assert_eq!(t.info().aws_bucket(), Some("quotes"));
    assert_eq!(t.info().aws_key(), Some("dir/data file.bin"));
    assert_eq!(t.info().name(), "dir_data file.bin");
    assert_eq!(t.info().piece_length(), 262_144);
    assert_eq!(t.info().length(), 700_000);
    assert_eq!(t.info().piece_count(), 3);
    assert_eq!(
        t.info().pieces(),
        pieces_of(&bytes, PieceLength::AWS).v1().unwrap().as_bytes()
    );
    assert_eq!(
        t.web_seeds(),
        ["http://127.0.0.1:9000/quotes/dir/data%20file.bin"]
    );
    assert_eq!(t.announce(), None);
    assert_eq!(t.info_hash(), served.torrent.info_hash);
    assert_eq!(
        served.torrent.etag,
        InfoHash::of_info_bytes(&served.torrent.bytes).to_hex()
    );
    assert_eq!(served.torrent.etag.len(), 40);
    assert!(
        served
            .torrent
            .etag
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );

    // Without a web seed: no url-list; with a tracker: announce and announce-list.
    let mut policy = TorrentPolicy::default();
    policy.trackers = vec!["http://tracker.example:6969/announce".into()];
    let service = TorrentService::new(policy);
    let served = service
        .get_object_torrent(&store, &anon("dir/data file.bin"))
        .unwrap();
    let t = parse(&served);
    assert!(t.web_seeds().is_empty());
    assert_eq!(t.announce(), Some("http://tracker.example:6969/announce"));
    assert_eq!(
        t.announce_list(),
        [vec!["http://tracker.example:6969/announce".to_owned()]]
    );

    // The plain profile: no x-amz fields.
    let mut policy = TorrentPolicy::default();
    policy.profile = Profile::Plain;
    let served = TorrentService::new(policy)
        .get_object_torrent(&store, &anon("dir/data file.bin"))
        .unwrap();
    let t = parse(&served);
    assert_eq!(t.info().aws_bucket(), None);
    assert_eq!(t.info().aws_key(), None);
    assert_eq!(t.info().name(), "dir_data file.bin");
}

#[test]
fn request_charged_is_per_request_not_per_cache_entry() {
    let mut store = Store::new();
    store.bucket.requester_pays = true;
    store.put("paid", None, "etag-1", data(100_000, 15));
    let service = TorrentService::new(TorrentPolicy::default());
    let mut payer = TorrentRequest::new("quotes", "paid", stranger());
    payer.request_payer = true;
    let first = service.get_object_torrent(&store, &payer).unwrap();
    assert!(first.request_charged && !first.from_cache);
    let owner_req = TorrentRequest::new("quotes", "paid", Requester::Authenticated(owner()));
    let by_owner = service.get_object_torrent(&store, &owner_req).unwrap();
    assert!(!by_owner.request_charged && by_owner.from_cache);
    assert!(
        service
            .get_object_torrent(&store, &payer)
            .unwrap()
            .request_charged
    );
    let mut no_header = payer.clone();
    no_header.request_payer = false;
    let e = service.get_object_torrent(&store, &no_header).unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("AccessDenied", 403));
    assert!(service.cached(&store, &no_header).is_err());
    assert_eq!(store.opens(), 1);
}

fn entry(bytes: usize, fill: u8) -> CachedTorrent {
    CachedTorrent::new(
        Bytes::from(vec![fill; bytes]),
        InfoHash::from_bytes([fill; 20]),
    )
}

fn key(name: &str, version: ObjectVersion) -> CacheKey {
    CacheKey {
        bucket: BucketName::new("quotes").unwrap(),
        key: ObjectKey::new(name).unwrap(),
        version,
        policy: 7,
    }
}

#[test]
fn lru_evicts_by_bytes_least_recently_used_first() {
    let cache = LruCache::new(300);
    let (a, b, c, d) = (
        key("a", ObjectVersion::ETag("1".into())),
        key("b", ObjectVersion::ETag("1".into())),
        key("c", ObjectVersion::ETag("1".into())),
        key("d", ObjectVersion::ETag("1".into())),
    );
    cache.put(a.clone(), entry(100, 1));
    cache.put(b.clone(), entry(100, 2));
    cache.put(c.clone(), entry(100, 3));
    assert_eq!(cache.len(), 3);
    // `a` used: `b` is now the least recently used.
    assert_eq!(cache.get(&a), Some(entry(100, 1)));
    cache.put(d.clone(), entry(100, 4));
    assert_eq!(cache.len(), 3);
    assert_eq!(cache.get(&b), None);
    assert!(cache.get(&a).is_some() && cache.get(&c).is_some() && cache.get(&d).is_some());
    // Order now (oldest first): a, c, d. A 250-byte entry pushes out a and c and d.
    let e = key("e", ObjectVersion::ETag("1".into()));
    cache.put(e.clone(), entry(250, 5));
    assert_eq!(cache.len(), 1);
    assert!(cache.get(&e).is_some());
    // Something bigger than the whole cache is not kept, and evicts nothing.
    cache.put(a.clone(), entry(301, 6));
    assert_eq!(cache.get(&a), None);
    assert!(cache.get(&e).is_some());
    // Replacing an entry counts its bytes once.
    cache.put(e.clone(), entry(50, 7));
    cache.put(b.clone(), entry(250, 8));
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.get(&e), Some(entry(50, 7)));
    // A get that misses changes nothing.
    assert_eq!(cache.get(&c), None);
    assert_eq!(cache.len(), 2);
}

#[test]
fn lru_recency_decides_which_of_equal_sizes_goes() {
    let cache = LruCache::new(200);
    let (a, b) = (
        key("a", ObjectVersion::ETag("1".into())),
        key("b", ObjectVersion::ETag("1".into())),
    );
    cache.put(a.clone(), entry(100, 1));
    cache.put(b.clone(), entry(100, 2));
    for _ in 0..3 {
        cache.get(&a);
    }
    cache.put(key("c", ObjectVersion::ETag("1".into())), entry(100, 3));
    assert!(cache.get(&a).is_some());
    assert!(cache.get(&b).is_none());
}

#[test]
fn lru_forget_drops_every_version_of_a_key() {
    let cache = LruCache::default();
    let versions = [
        key("k", ObjectVersion::Id("v1".into())),
        key("k", ObjectVersion::Id("v2".into())),
        key("k", ObjectVersion::ETag("e".into())),
        CacheKey {
            policy: 8,
            ..key("k", ObjectVersion::Id("v1".into()))
        },
    ];
    for (i, k) in versions.iter().enumerate() {
        cache.put(k.clone(), entry(10, i as u8));
    }
    let keep = key("k2", ObjectVersion::Id("v1".into()));
    let keep_prefix = key("k/sub", ObjectVersion::Id("v1".into()));
    let other_bucket = CacheKey {
        bucket: BucketName::new("other").unwrap(),
        ..key("k", ObjectVersion::Id("v1".into()))
    };
    for k in [&keep, &keep_prefix, &other_bucket] {
        cache.put(k.clone(), entry(10, 99));
    }
    assert_eq!(cache.len(), 7);
    cache.forget(
        &BucketName::new("quotes").unwrap(),
        &ObjectKey::new("k").unwrap(),
    );
    assert_eq!(cache.len(), 3);
    for k in &versions {
        assert!(cache.get(k).is_none());
    }
    for k in [&keep, &keep_prefix, &other_bucket] {
        assert!(cache.get(k).is_some());
    }
    // Space freed by forget is reusable to the full capacity.
    let small = LruCache::new(20);
    small.put(versions[0].clone(), entry(10, 1));
    small.put(versions[1].clone(), entry(10, 2));
    small.forget(
        &BucketName::new("quotes").unwrap(),
        &ObjectKey::new("k").unwrap(),
    );
    small.put(keep.clone(), entry(20, 3));
    assert_eq!(small.len(), 1);
    assert!(small.get(&keep).is_some());
}

/// One cache shared by several services.
struct Shared(Arc<LruCache>);

impl TorrentCache for Shared {
    fn get(&self, key: &CacheKey) -> Option<CachedTorrent> {
        self.0.get(key)
    }
    fn put(&self, key: CacheKey, torrent: CachedTorrent) {
        self.0.put(key, torrent);
    }
    fn forget(&self, bucket: &BucketName, key: &ObjectKey) {
        self.0.forget(bucket, key);
    }
}

#[test]
fn policies_sharing_a_cache_do_not_share_entries() {
    let store = Store::new();
    store.put("shared", None, "etag-1", data(1 << 20, 16));
    let cache = Arc::new(LruCache::default());
    let aws = TorrentService::with_cache(TorrentPolicy::default(), Shared(Arc::clone(&cache)));
    let mut tracked = TorrentPolicy::default();
    tracked.trackers = vec!["http://tracker.example:6969/announce".into()];
    let tracked = TorrentService::with_cache(tracked, Shared(Arc::clone(&cache)));
    let mut plain = TorrentPolicy::default();
    plain.profile = Profile::Plain;
    let plain = TorrentService::with_cache(plain, Shared(Arc::clone(&cache)));
    let mut seeded = TorrentPolicy::default();
    seeded.web_seed = Some(WebSeed {
        endpoint: "http://127.0.0.1:9000".into(),
        addressing: Addressing::Path,
    });
    let seeded = TorrentService::with_cache(seeded, Shared(Arc::clone(&cache)));
    let mut small_pieces = TorrentPolicy::default();
    small_pieces.piece_length = PieceLengthPolicy::Fixed(PieceLength::MIN);
    let small_pieces = TorrentService::with_cache(small_pieces, Shared(Arc::clone(&cache)));
    let mut v2 = TorrentPolicy::default();
    v2.version = TorrentVersion::V2;
    let v2 = TorrentService::with_cache(v2, Shared(Arc::clone(&cache)));
    let mut hybrid = TorrentPolicy::default();
    hybrid.version = TorrentVersion::Hybrid;
    let hybrid = TorrentService::with_cache(hybrid, Shared(Arc::clone(&cache)));

    let req = anon("shared");
    let mut seen = Vec::new();
    let services = [&aws, &tracked, &plain, &seeded, &small_pieces, &v2, &hybrid];
    for (i, service) in services.into_iter().enumerate() {
        let served = service.get_object_torrent(&store, &req).unwrap();
        assert!(
            !served.from_cache,
            "policy {i} reused another policy's torrent"
        );
        assert!(!seen.contains(&served.torrent.bytes), "policy {i}");
        seen.push(served.torrent.bytes.clone());
        assert_eq!(store.opens(), i + 1);
    }
    assert_eq!(cache.len(), services.len());
    for service in services {
        assert!(service.get_object_torrent(&store, &req).unwrap().from_cache);
    }
    // The same policy in another service does share, and so does one that
    // differs only in what gets a torrent (not in the torrent's bytes).
    let mut same_bytes = TorrentPolicy::default();
    same_bytes.max_object_size = 1 << 30;
    same_bytes.allow_version_id = false;
    for policy in [TorrentPolicy::default(), same_bytes] {
        let again = TorrentService::with_cache(policy, Shared(Arc::clone(&cache)));
        let served = again.get_object_torrent(&store, &req).unwrap();
        assert!(served.from_cache);
        assert_eq!(served.torrent.bytes, seen[0]);
    }
    assert_eq!(store.opens(), services.len());
}

/// The torrent a v2 or hybrid policy serves, checked against the data
/// (merkle layers and, for hybrid, SHA-1 pieces) rather than against
/// another of our hashers.
fn served_for(
    version: TorrentVersion,
    store: &Store,
    key: &str,
) -> (TorrentService, ServedTorrent) {
    let mut policy = TorrentPolicy::default();
    policy.version = version;
    policy.web_seed = Some(WebSeed {
        endpoint: "http://127.0.0.1:9000".into(),
        addressing: Addressing::Path,
    });
    let service = TorrentService::new(policy);
    let served = service.get_object_torrent(store, &anon(key)).unwrap();
    (service, served)
}

#[test]
fn v2_and_hybrid_policies_serve_their_kind() {
    let store = Store::new();
    // Three pieces of 256 KiB, the last one short: a piece layer of 3 roots.
    let bytes = data(700_000, 17);
    let info = store.put("dir/big.bin", None, "etag-1", bytes.clone());
    let default = TorrentService::new(TorrentPolicy::default())
        .get_object_torrent(&store, &anon("dir/big.bin"))
        .unwrap();
    assert_eq!(parse(&default).version(), TorrentVersion::V1);

    for version in [TorrentVersion::V2, TorrentVersion::Hybrid] {
        let (service, served) = served_for(version, &store, "dir/big.bin");
        let t = parse(&served);
        assert_eq!(t.version(), version);
        // Still the AWS profile, with its fields and the web seed.
        assert_eq!(t.info().aws_bucket(), Some("quotes"));
        assert_eq!(t.info().aws_key(), Some("dir/big.bin"));
        assert_eq!(t.info().name(), "dir_big.bin");
        assert_eq!(t.info().piece_length(), 262_144);
        assert_eq!(t.info().length(), 700_000);
        assert_eq!(t.web_seeds(), ["http://127.0.0.1:9000/quotes/dir/big.bin"]);
        let files = t.info().v2_files();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path(), ["dir_big.bin"]);
        assert_eq!(files[0].piece_layer().len(), 3 * 32);
        let v2_hash = t.info_hash_v2().expect("a v2 info-hash");
        assert_eq!(v2_hash.to_hex().len(), 64);
        assert_eq!(served.torrent.info_hash, t.info_hash());
        match version {
            TorrentVersion::Hybrid => {
                assert_eq!(t.info_hash_v1(), Some(t.info_hash()));
                assert_eq!(
                    t.info().pieces(),
                    pieces_of(&bytes, PieceLength::AWS).v1().unwrap().as_bytes()
                );
            }
            _ => assert_eq!(t.info_hash_v1(), None),
        }
        // The data verifies against the torrent; one flipped byte in the
        // second piece is found there.
        let ok = verify_source(
            t.info(),
            bytes.as_slice(),
            bytes.len() as u64,
            &HashOptions::new(),
            &|_| {},
        )
        .unwrap();
        assert!(ok.is_ok(), "{version}: {ok:?}");
        let mut bad = bytes.clone();
        bad[300_000] ^= 1;
        let found = verify_source(
            t.info(),
            bad.as_slice(),
            bad.len() as u64,
            &HashOptions::new(),
            &|_| {},
        )
        .unwrap();
        assert_eq!(found.bad_pieces(), [1], "{version}");

        // Hashes computed at upload give the same bytes without a read.
        let fresh = TorrentService::new(service.policy().clone());
        let mut hasher = TorrentHasher::new(PieceLength::AWS, version);
        for chunk in bytes.chunks(65_537) {
            hasher.update(chunk);
        }
        let stored = fresh
            .store_hashes(&store.bucket.name, &info, &hasher.finish())
            .unwrap();
        assert_eq!(stored, served.torrent, "{version}");
        // v1-only pieces cannot make a v2 or hybrid torrent.
        let e = TorrentService::new(service.policy().clone())
            .store_hashes(
                &store.bucket.name,
                &info,
                &pieces_of(&bytes, PieceLength::AWS),
            )
            .unwrap_err();
        assert_eq!((e.code().as_str(), e.status()), ("InternalError", 500));
    }
    // v2-only hashes cannot make a v1 or hybrid torrent either.
    let mut hasher = TorrentHasher::new(PieceLength::AWS, TorrentVersion::V2);
    hasher.update(&bytes);
    let v2_only = hasher.finish();
    for version in [TorrentVersion::V1, TorrentVersion::Hybrid] {
        let mut policy = TorrentPolicy::default();
        policy.version = version;
        let service = TorrentService::new(policy);
        assert!(
            service
                .store_hashes(&store.bucket.name, &info, &v2_only)
                .is_err()
        );
        assert!(service.cache().is_empty());
    }
}
