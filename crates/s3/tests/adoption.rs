//! Adopted objects (files a host found in place, their MD5 ETag not yet
//! computed): the decision needs no hashing, a refused request reads no
//! byte, and concurrent first requests compute the MD5 and the torrent once,
//! in one pass, the host learning the MD5.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

use s3torrent_metainfo::Torrent;
use s3torrent_s3::{
    AccountId, Acl, BucketInfo, BucketName, CannedAcl, CanonicalId, ETag, ErrorCode, ObjectInfo,
    ObjectKey, ObjectLookup, ObjectSource, Principal, ReadAt, Requester, Result, TorrentPolicy,
    TorrentRequest, TorrentService,
};

/// MD5 of these 43 bytes, from RFC 1321's test suite lineage (the
/// Wikipedia/`md5sum` example), not from our code.
const FOX: &[u8] = b"The quick brown fox jumps over the lazy dog";
const FOX_MD5: &str = "9e107d9d372bb6826bd81d3542a419d6";

fn owner() -> Principal {
    Principal::new(
        CanonicalId::new("bucket-owner").unwrap(),
        AccountId::new("111122223333").unwrap(),
    )
}

/// Counts every byte read, and sleeps per read so that requests overlap.
struct Counting {
    data: &'static [u8],
    read: Arc<AtomicU64>,
    delay: Duration,
}

impl ReadAt for Counting {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        thread::sleep(self.delay);
        let n = self.data.read_at(buf, offset)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

struct Store {
    bucket: BucketInfo,
    object: Mutex<ObjectInfo>,
    read: Arc<AtomicU64>,
    opens: AtomicUsize,
    recorded: Mutex<Vec<String>>,
    delay: Duration,
}

impl Store {
    fn new(acl: CannedAcl, delay: Duration) -> Self {
        let o = owner();
        let mut object = ObjectInfo::new(
            ObjectKey::new("fox.txt").unwrap(),
            FOX.len() as u64,
            ETag::Uncomputed,
            &o,
        );
        object.acl = Acl::canned(acl, &o, &o);
        object.last_modified = 1_700_000_000;
        Store {
            bucket: BucketInfo::new(BucketName::new("zoo").unwrap(), o),
            object: Mutex::new(object),
            read: Arc::new(AtomicU64::new(0)),
            opens: AtomicUsize::new(0),
            recorded: Mutex::new(Vec::new()),
            delay,
        }
    }
}

impl ObjectSource for Store {
    fn bucket(&self, _: &BucketName) -> Result<Option<BucketInfo>> {
        Ok(Some(self.bucket.clone()))
    }

    fn object(&self, _: &BucketName, _: &ObjectKey, _: Option<&str>) -> Result<ObjectLookup> {
        Ok(ObjectLookup::Found(self.object.lock().unwrap().clone()))
    }

    fn open(&self, _: &BucketName, _: &ObjectInfo) -> Result<Box<dyn ReadAt + Send + Sync + '_>> {
        self.opens.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(Counting {
            data: FOX,
            read: Arc::clone(&self.read),
            delay: self.delay,
        }))
    }

    fn record_etag(&self, _: &BucketName, object: &ObjectInfo, etag: &str) -> Result<ObjectInfo> {
        self.recorded.lock().unwrap().push(etag.to_owned());
        let mut stored = self.object.lock().unwrap();
        stored.etag = ETag::Known(etag.to_owned());
        let mut object = object.clone();
        object.etag = stored.etag.clone();
        Ok(object)
    }
}

#[test]
fn a_refused_request_reads_no_byte() {
    let store = Store::new(CannedAcl::Private, Duration::ZERO);
    let service = TorrentService::new(TorrentPolicy::default());
    for _ in 0..16 {
        let req = TorrentRequest::new("zoo", "fox.txt", Requester::Anonymous);
        let err = service.get_object_torrent(&store, &req).unwrap_err();
        assert_eq!(err.code(), ErrorCode::AccessDenied);
    }
    assert_eq!(store.read.load(Ordering::Relaxed), 0);
    assert_eq!(store.opens.load(Ordering::SeqCst), 0);
    assert!(store.recorded.lock().unwrap().is_empty());
    assert_eq!(store.object.lock().unwrap().etag, ETag::Uncomputed);
}

#[test]
fn concurrent_first_requests_hash_once_and_the_host_learns_the_md5() {
    let store = Arc::new(Store::new(CannedAcl::PublicRead, Duration::from_millis(30)));
    let service = Arc::new(TorrentService::new(TorrentPolicy::default()));
    let n = 16;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (store, service, barrier) = (store.clone(), service.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                let req = TorrentRequest::new("zoo", "fox.txt", Requester::Anonymous);
                service.get_object_torrent(&*store, &req).unwrap()
            })
        })
        .collect();
    let served: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(store.opens.load(Ordering::SeqCst), 1, "one pass");
    // MD5 and SHA-1 each read the object once.
    assert_eq!(store.read.load(Ordering::Relaxed), 2 * FOX.len() as u64);
    assert_eq!(*store.recorded.lock().unwrap(), vec![FOX_MD5.to_owned()]);
    assert_eq!(served.iter().filter(|s| !s.from_cache).count(), 1);
    let first = &served[0].torrent;
    assert!(served.iter().all(|s| s.torrent == *first));
    let torrent = Torrent::from_bytes(first.bytes.clone()).unwrap();
    assert_eq!(torrent.info().length(), FOX.len() as u64);

    // Now known: later requests are cache hits, reading nothing.
    let req = TorrentRequest::new("zoo", "fox.txt", Requester::Anonymous);
    assert!(
        service
            .get_object_torrent(&*store, &req)
            .unwrap()
            .from_cache
    );
    assert_eq!(store.opens.load(Ordering::SeqCst), 1);
}

#[test]
fn resolve_etag_computes_the_md5_once_for_concurrent_reads() {
    let store = Arc::new(Store::new(CannedAcl::PublicRead, Duration::from_millis(30)));
    let service = Arc::new(TorrentService::new(TorrentPolicy::default()));
    let object = store.object.lock().unwrap().clone();
    let bucket = store.bucket.name.clone();
    let n = 8;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (store, service, barrier) = (store.clone(), service.clone(), barrier.clone());
            let (object, bucket) = (object.clone(), bucket.clone());
            thread::spawn(move || {
                barrier.wait();
                service.resolve_etag(&*store, &bucket, &object).unwrap()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().etag, ETag::Known(FOX_MD5.into()));
    }
    assert_eq!(store.opens.load(Ordering::SeqCst), 1);
    assert_eq!(store.recorded.lock().unwrap().len(), 1);
    // The torrent came in the same pass: the first ?torrent is a cache hit.
    let req = TorrentRequest::new("zoo", "fox.txt", Requester::Anonymous);
    assert!(
        service
            .get_object_torrent(&*store, &req)
            .unwrap()
            .from_cache
    );
    assert_eq!(store.opens.load(Ordering::SeqCst), 1);
    // A known ETag is returned as it is, reading nothing.
    let known = store.object.lock().unwrap().clone();
    assert_eq!(
        service.resolve_etag(&*store, &bucket, &known).unwrap(),
        known
    );
    assert_eq!(store.opens.load(Ordering::SeqCst), 1);
}
