//! The store against a model, with crashes injected at every step of a
//! commit (unit tests: the crash points exist only in test builds).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use super::*;

/// Injected crashes: after `countdown` more crash points the store "dies":
/// that point and everything after it fails, and nothing is cleaned up, as
/// when the process is killed there. The test then drops the store and
/// opens the root again.
#[derive(Default)]
pub(super) struct Crash {
    /// Crash points to pass before dying; negative: never.
    countdown: AtomicI64,
    dead: AtomicBool,
    armed: AtomicBool,
}

impl Crash {
    pub(super) fn point(&self, _at: &'static str) -> Result<(), StoreError> {
        self.alive()?;
        if self.armed.load(Ordering::SeqCst) && self.countdown.fetch_sub(1, Ordering::SeqCst) == 0 {
            self.dead.store(true, Ordering::SeqCst);
            return Err(internal("crashed (injected)"));
        }
        Ok(())
    }

    pub(super) fn alive(&self) -> Result<(), StoreError> {
        if self.dead.load(Ordering::SeqCst) {
            Err(internal("crashed (injected)"))
        } else {
            Ok(())
        }
    }

    /// Dies at the `n`th crash point from now.
    pub(super) fn arm(&self, n: i64) {
        self.countdown.store(n, Ordering::SeqCst);
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Dies at no crash point.
    pub(super) fn disarm(&self) {
        self.armed.store(false, Ordering::SeqCst);
    }

    pub(super) fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }
}

use std::collections::HashMap;
use std::io::Write as _;

use proptest::prelude::*;

/// Keys that are no paths, and keys that would clash as paths.
const KEYS: &[&str] = &["a", "a/b", "a/b/c", "../up", "dir/", "a//b", "./x"];

/// What the model holds for a key: the bytes and the metadata they went with.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    bytes: Vec<u8>,
    content_type: Option<String>,
    user: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
enum Op {
    Put {
        key: usize,
        seed: u8,
        len: usize,
    },
    Delete {
        key: usize,
    },
    /// DeleteObjects' unconditional deletes, in one commit (a key may be
    /// named twice).
    DeleteMany {
        keys: Vec<usize>,
    },
    /// Get, then put the bytes and metadata under another key.
    Copy {
        from: usize,
        to: usize,
    },
    /// A multipart upload of two parts, completed.
    Multipart {
        key: usize,
        seed: u8,
    },
    Get {
        key: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS.len();
    prop_oneof![
        3 => (key.clone(), any::<u8>(), 0usize..3000).prop_map(|(key, seed, len)| Op::Put { key, seed, len }),
        2 => key.clone().prop_map(|key| Op::Delete { key }),
        1 => proptest::collection::vec(key.clone(), 1..5).prop_map(|keys| Op::DeleteMany { keys }),
        1 => (key.clone(), key.clone()).prop_map(|(from, to)| Op::Copy { from, to }),
        1 => (key.clone(), any::<u8>()).prop_map(|(key, seed)| Op::Multipart { key, seed }),
        1 => key.prop_map(|key| Op::Get { key }),
    ]
}

fn bytes_of(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn bucket() -> BucketName {
    BucketName::new("model").unwrap()
}

fn key(i: usize) -> ObjectKey {
    ObjectKey::new(KEYS[i]).unwrap()
}

/// A store at `root` with one user, as every test here opens it.
pub(super) fn open(root: &Path) -> Store {
    Store::open(
        root,
        vec![User::new("k", "secret", "111122223333").unwrap()],
    )
    .unwrap()
}

/// Makes `name`, owned by the store's first user, with the canned
/// ACL `acl`.
pub(super) fn with_bucket(store: &Store, name: &BucketName, acl: CannedAcl) {
    let owner = store.users[0].principal.clone();
    store
        .create_bucket(
            name,
            &owner,
            &Acl::canned(acl, &owner, &owner),
            None,
            None,
            0,
        )
        .unwrap()
        .unwrap();
}

/// The key's object as the store has it now, read whole from a snapshot,
/// its ETag checked against its bytes.
fn read(store: &Store, k: &ObjectKey) -> Option<Version> {
    let snap = store.snapshot(&bucket(), k).unwrap()?;
    let mut bytes = Vec::new();
    let mut file = snap.file;
    std::io::Read::read_to_end(&mut file, &mut bytes).unwrap();
    let etag = snap
        .meta
        .etag
        .clone()
        .expect("a written object's ETag is known");
    if !etag.contains('-') {
        assert_eq!(etag, hex(&Md5::digest(&bytes)), "ETag of {k}");
    }
    assert_eq!(snap.meta.size, bytes.len() as u64);
    Some(Version {
        bytes,
        content_type: snap.meta.content_type,
        user: snap.meta.headers.user,
    })
}

fn put(store: &Store, k: &ObjectKey, v: &Version) -> Result<(), WriteError> {
    let (temp, mut file) = store.temp_file()?;
    file.write_all(&v.bytes).unwrap();
    file.sync_all().unwrap();
    let mut meta = ObjectMeta::new(
        "111122223333".into(),
        StoredAcl::Canned("private".into()),
        hex(&Md5::digest(&v.bytes)),
        v.bytes.len() as u64,
    );
    meta.content_type = v.content_type.clone();
    meta.headers.user = v.user.clone();
    let result = store.commit_object(&bucket(), k, &temp, meta, &Preconditions::default(), None);
    let _ = fs::remove_file(&temp);
    result.map(drop)
}

fn complete(
    store: &Store,
    k: &ObjectKey,
    id: &str,
    claimed: &uploads::Claimed,
) -> Result<ObjectMeta, WriteError> {
    let temp = store.assemble(&claimed.parts, None, |_| {})?;
    let mut meta = ObjectMeta::new(
        claimed.record.owner.clone(),
        claimed.record.acl.clone(),
        claimed.etag.clone(),
        claimed.size,
    );
    meta.content_type = claimed.record.content_type.clone();
    meta.headers = claimed.record.headers.clone();
    let result = store.complete_upload(&bucket(), k, id, &temp, meta, &Preconditions::default());
    let _ = fs::remove_file(&temp);
    result
}

/// Every data file is named by a record, and nothing is left in tmp; the
/// parts of completed uploads are recorded exactly for the current
/// versions made by a completion (ETag `…-N`, N parts).
fn no_leftovers(root: &Path, store: &Store) {
    let mut named = HashSet::new();
    let mut multipart = HashMap::new();
    store
        .list_objects(&bucket(), "", "", |_, m| {
            if let Some(id) = m.data {
                if let Some((_, n)) = m.etag.as_deref().and_then(|e| e.rsplit_once('-')) {
                    multipart.insert(id.clone(), n.parse::<usize>().unwrap());
                }
                named.insert(id);
            }
            Listed::Next
        })
        .unwrap();
    let rows: HashSet<String> = store
        .read(|txn| {
            let table = txn.open_table(parts::OBJECT_PARTS).map_err(internal)?;
            let mut rows = HashSet::new();
            for entry in table.iter().map_err(internal)? {
                rows.insert(entry.map_err(internal)?.0.value().to_owned());
            }
            Ok(rows)
        })
        .unwrap();
    assert_eq!(
        rows,
        multipart.keys().cloned().collect::<HashSet<_>>(),
        "parts rows and completed versions"
    );
    for (id, n) in &multipart {
        let mut meta = ObjectMeta::new(
            String::new(),
            StoredAcl::Canned("private".into()),
            String::new(),
            0,
        );
        meta.data = Some(id.clone());
        let parts = store.object_parts(&meta).unwrap().unwrap();
        assert_eq!(parts.len(), *n);
    }
    let files: HashSet<String> = fs::read_dir(root.join(OWN).join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, named, "data files and records");
    assert_eq!(fs::read_dir(root.join(OWN).join("tmp")).unwrap().count(), 0);
}

fn run(ops: Vec<(Op, Option<i64>)>) {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    let mut store = open(root);
    with_bucket(&store, &bucket(), CannedAcl::Private);
    let mut model: HashMap<usize, Version> = HashMap::new();
    for (n, (op, crash)) in ops.into_iter().enumerate() {
        if let Some(c) = crash {
            store.crash.arm(c);
        }
        // The key the op changes, and its value if the op completes.
        let (changed, new): (Option<usize>, Option<Version>) = match &op {
            Op::Put { key: i, seed, len } => {
                let v = Version {
                    bytes: bytes_of(*seed, *len),
                    content_type: Some(format!("type/{seed}")),
                    user: BTreeMap::from([("seed".into(), format!("{seed} é"))]),
                };
                let _ = put(&store, &key(*i), &v);
                (Some(*i), Some(v))
            }
            Op::Delete { key: i } => {
                let _ = store.delete_object(
                    &bucket(),
                    &key(*i),
                    "111122223333",
                    &DeleteConditions::default(),
                );
                (Some(*i), None)
            }
            Op::Copy { from, to } => match model.get(from).cloned() {
                Some(v) => {
                    store.crash.armed.store(false, Ordering::SeqCst);
                    let got = read(&store, &key(*from));
                    assert_eq!(got.as_ref(), Some(&v), "op {n}: copy source");
                    if let Some(c) = crash {
                        store.crash.arm(c);
                    }
                    let _ = put(&store, &key(*to), &v);
                    (Some(*to), Some(v))
                }
                None => (None, None),
            },
            Op::Multipart { key: i, seed } => {
                let v = Version {
                    bytes: bytes_of(*seed, 100 + usize::from(*seed)),
                    content_type: None,
                    user: BTreeMap::from([("multi".into(), seed.to_string())]),
                };
                // Crashes only in the completion: arm after the parts.
                store.crash.armed.store(false, Ordering::SeqCst);
                let k = key(*i);
                let record = UploadRecord {
                    owner: "111122223333".into(),
                    acl: StoredAcl::Canned("private".into()),
                    content_type: None,
                    initiated: 0,
                    completing: false,
                    listed: None,
                    checksum: None,
                    headers: Headers {
                        user: v.user.clone(),
                        ..Headers::default()
                    },
                    tags: Default::default(),
                    sse: None,
                };
                let id = store.create_upload(&bucket(), &k, &record).unwrap();
                let (temp, mut file) = store.temp_file().unwrap();
                file.write_all(&v.bytes).unwrap();
                file.sync_all().unwrap();
                let etag = hex(&Md5::digest(&v.bytes));
                store
                    .put_part(
                        &bucket(),
                        &k,
                        &id,
                        1,
                        &temp,
                        (etag.clone(), None),
                        v.bytes.len() as u64,
                        0,
                        None,
                    )
                    .unwrap();
                let Ok(Completion::Claimed(claimed)) =
                    store.claim_upload(&bucket(), &k, &id, &[ListedPart::new(1, etag.clone())])
                else {
                    panic!("op {n}: claim failed");
                };
                if let Some(c) = crash {
                    store.crash.arm(c);
                }
                let done = complete(&store, &k, &id, &claimed);
                let crashed = store.crash.is_dead();
                store.crash.armed.store(false, Ordering::SeqCst);
                if crashed {
                    store = {
                        drop(store);
                        open(root)
                    };
                }
                // No ghost: the upload is gone exactly when the object is
                // the new one; a repeated completion answers its ETag.
                let now = read(&store, &k);
                let expected_etag = hex(&Md5::digest(Md5::digest(&v.bytes))) + "-1";
                let again = store.claim_upload(&bucket(), &k, &id, &[ListedPart::new(1, etag)]);
                if now.as_ref() == Some(&v) {
                    assert!(
                        matches!(&again, Ok(Completion::Done(e, _)) if *e == expected_etag),
                        "op {n}: completed, then {again:?}"
                    );
                    assert!(!store.upload_dir(&id).exists(), "op {n}: a ghost upload");
                } else {
                    assert!(crashed || done.is_err(), "op {n}: completed but not stored");
                    assert_eq!(now.as_ref(), model.get(i), "op {n}: neither old nor new");
                    // The upload is still there to complete (or abort).
                    match again {
                        Ok(Completion::Claimed(c)) => {
                            complete(&store, &k, &id, &c).unwrap();
                            assert_eq!(read(&store, &k).as_ref(), Some(&v));
                        }
                        other => panic!("op {n}: the upload is gone: {other:?}"),
                    }
                }
                model.insert(*i, v);
                store.crash.armed.store(false, Ordering::SeqCst);
                no_leftovers(root, &store);
                continue;
            }
            Op::DeleteMany { keys } => {
                let named: Vec<ObjectKey> = keys.iter().map(|i| key(*i)).collect();
                let done = store.delete_current_many(&bucket(), &named, "111122223333");
                let crashed = store.crash.is_dead();
                store.crash.armed.store(false, Ordering::SeqCst);
                if crashed {
                    drop(store);
                    store = open(root);
                }
                // One commit: every key named is gone, or (crashed or
                // failed before the commit) every one is as it was.
                let gone = keys.iter().all(|i| read(&store, &key(*i)).is_none());
                let kept = keys
                    .iter()
                    .all(|i| read(&store, &key(*i)).as_ref() == model.get(i));
                assert!(gone || kept, "op {n} ({op:?}): some keys gone, some not");
                if !crashed {
                    assert_eq!(done.as_ref().map(Vec::len).ok(), Some(keys.len()));
                    assert!(gone, "op {n}: completed but not deleted");
                }
                if gone {
                    for i in keys {
                        model.remove(i);
                    }
                }
                for (i, _) in KEYS.iter().enumerate() {
                    assert_eq!(
                        read(&store, &key(i)).as_ref(),
                        model.get(&i),
                        "op {n}: key {}",
                        KEYS[i]
                    );
                }
                no_leftovers(root, &store);
                continue;
            }
            Op::Get { key: i } => {
                assert_eq!(read(&store, &key(*i)).as_ref(), model.get(i), "op {n}: get");
                (None, None)
            }
        };
        if store.crash.is_dead() {
            drop(store);
            store = open(root);
            if let Some(i) = changed {
                let now = read(&store, &key(i));
                assert!(
                    now.as_ref() == model.get(&i) || now == new,
                    "op {n} ({op:?}) crashed: neither old nor new: {now:?}"
                );
                match now {
                    Some(v) => model.insert(i, v),
                    None => model.remove(&i),
                };
            }
        } else {
            store.crash.armed.store(false, Ordering::SeqCst);
            if let Some(i) = changed {
                match new {
                    Some(v) => model.insert(i, v),
                    None => model.remove(&i),
                };
            }
        }
        for (i, _) in KEYS.iter().enumerate() {
            assert_eq!(
                read(&store, &key(i)).as_ref(),
                model.get(&i),
                "op {n}: key {}",
                KEYS[i]
            );
        }
        no_leftovers(root, &store);
    }
    // And after a last restart.
    drop(store);
    let store = open(root);
    for (i, _) in KEYS.iter().enumerate() {
        assert_eq!(
            read(&store, &key(i)).as_ref(),
            model.get(&i),
            "after restart: {}",
            KEYS[i]
        );
    }
    let mut listed = Vec::new();
    store
        .list_objects(&bucket(), "", "", |k, _| {
            listed.push(k.to_owned());
            Listed::Next
        })
        .unwrap();
    let mut expected: Vec<String> = model.keys().map(|i| KEYS[*i].to_owned()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    assert!(
        !root.join("model").read_dir().unwrap().any(|_| true),
        "a key became a path"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Random interleavings, each op possibly crashing at its 0th to 3rd
    /// crash point (a put has three: before the rename, before the commit,
    /// after it; a delete two).
    #[test]
    fn the_store_is_the_model_across_crashes(
        ops in proptest::collection::vec((op(), proptest::option::weighted(0.5, 0i64..4)), 1..14)
    ) {
        run(ops);
    }
}

/// Every crash point of every kind of write, in turn.
#[test]
fn every_crash_point_of_every_write() {
    for crash in 0..4 {
        run(vec![
            (
                Op::Put {
                    key: 0,
                    seed: 1,
                    len: 10,
                },
                None,
            ),
            (
                Op::Put {
                    key: 0,
                    seed: 2,
                    len: 20,
                },
                Some(crash),
            ),
            (
                Op::Put {
                    key: 3,
                    seed: 3,
                    len: 30,
                },
                Some(crash),
            ),
            (Op::Copy { from: 0, to: 4 }, Some(crash)),
            (Op::Delete { key: 0 }, Some(crash)),
            (Op::Multipart { key: 4, seed: 9 }, Some(crash)),
            (Op::Multipart { key: 5, seed: 7 }, Some(crash)),
            (Op::Delete { key: 4 }, Some(crash)),
            (
                Op::Put {
                    key: 1,
                    seed: 4,
                    len: 40,
                },
                None,
            ),
            (
                Op::DeleteMany {
                    keys: vec![1, 3, 1, 5],
                },
                Some(crash),
            ),
        ]);
    }
}

/// A record written before the ID layout (no `data`, no `headers`; the
/// bytes at `<bucket>/<key>`) still reads, and the next write moves the
/// object into an ID file.
#[test]
fn records_of_older_versions_still_read() {
    #[derive(Serialize)]
    struct OldMeta {
        owner: String,
        acl: String,
        etag: String,
        size: u64,
        #[serde(rename = "content type")]
        content_type: Option<String>,
        modified: i64,
        #[serde(rename = "file mtime")]
        file_mtime: i64,
    }
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    {
        let store = open(root);
        with_bucket(&store, &bucket(), CannedAcl::PublicRead);
    }
    fs::create_dir_all(root.join("model/old")).unwrap();
    fs::write(root.join("model/old/file"), b"old bytes").unwrap();
    let stat = fs::metadata(root.join("model/old/file")).unwrap();
    let old = OldMeta {
        owner: "444455556666".into(),
        acl: "public-read".into(),
        etag: hex(&Md5::digest(b"old bytes")),
        size: 9,
        content_type: Some("text/old".into()),
        modified: 5,
        file_mtime: file_mtime(&stat),
    };
    {
        let db = Database::create(root.join(DATABASE)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(OBJECTS)
            .unwrap()
            .insert("model/old/file", bencode::to_vec(&old).unwrap().as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let store = open(root);
    let k = ObjectKey::new("old/file").unwrap();
    let meta = store.object_meta(&bucket(), &k).unwrap().unwrap();
    assert_eq!(
        (meta.owner.as_str(), &meta.acl, meta.content_type.as_deref()),
        (
            "444455556666",
            &StoredAcl::Canned("public-read".into()),
            Some("text/old")
        )
    );
    assert_eq!(read(&store, &k).unwrap().bytes, b"old bytes");
    let v = Version {
        bytes: b"new".to_vec(),
        content_type: None,
        user: BTreeMap::new(),
    };
    put(&store, &k, &v).unwrap();
    assert_eq!(read(&store, &k).unwrap(), v);
    assert!(!root.join("model/old").exists());
}

/// A CreateBucket that fails (here: a crash before its commit) leaves no
/// record and no folder, so the name belongs to no one.
#[test]
fn a_failed_create_bucket_leaves_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    let store = open(root);
    let owner = store.users[0].principal.clone();
    store.crash.arm(0);
    assert!(
        store
            .create_bucket(
                &bucket(),
                &owner,
                &Acl::canned(CannedAcl::Private, &owner, &owner),
                None,
                None,
                0,
            )
            .is_err()
    );
    drop(store);
    let store = open(root);
    assert!(store.bucket_info(&bucket()).unwrap().is_none());
    assert!(!root.join("model").exists());
    assert!(store.buckets().unwrap().is_empty());
}

/// A write whose bucket was deleted before it committed (a PutObject racing
/// DeleteBucket) is `NoSuchBucket` and leaves no record behind the bucket.
#[test]
fn a_write_after_its_bucket_is_deleted_leaves_no_object() {
    let temp = tempfile::tempdir().unwrap();
    let store = open(temp.path());
    let owner = store.users[0].principal.clone();
    let acl = Acl::canned(CannedAcl::Private, &owner, &owner);
    assert!(
        store
            .create_bucket(&bucket(), &owner, &acl, None, None, 0)
            .unwrap()
            .is_ok()
    );
    assert!(matches!(
        store.delete_bucket(&bucket()).unwrap(),
        super::BucketDeletion::Deleted
    ));
    let v = Version {
        bytes: b"late".to_vec(),
        content_type: None,
        user: BTreeMap::new(),
    };
    match put(&store, &key(0), &v) {
        Err(WriteError::Store(e)) => assert!(matches!(e, StoreError::NoSuchBucket { .. }), "{e}"),
        other => panic!(
            "expected NoSuchBucket, got {:?}",
            other.map_err(|_| "another error")
        ),
    }
    assert!(store.bucket_info(&bucket()).unwrap().is_none());
    assert!(read(&store, &key(0)).is_none());
}

/// What the memos remember is never what a later change replaced: each
/// read below comes right after a read of the same record (which the memo
/// then holds) and a change made by another path than a PUT.
#[test]
fn the_memos_forget_what_changes() {
    let temp = tempfile::tempdir().unwrap();
    let store = open(temp.path());
    let owner = store.users[0].principal.clone();
    let private = Acl::canned(CannedAcl::Private, &owner, &owner);
    let public = Acl::canned(CannedAcl::PublicRead, &owner, &owner);
    assert!(
        store
            .create_bucket(&bucket(), &owner, &private, None, None, 0)
            .unwrap()
            .is_ok()
    );

    // A bucket's request payment.
    assert!(
        !store
            .bucket_info(&bucket())
            .unwrap()
            .unwrap()
            .requester_pays
    );
    store.set_payer(&bucket(), Payer::Requester).unwrap();
    assert!(
        store
            .bucket_info(&bucket())
            .unwrap()
            .unwrap()
            .requester_pays
    );

    // A bucket's default encryption, set and then deleted.
    assert_eq!(store.bucket_encryption(&bucket()).unwrap(), None);
    assert!(store.bucket_memoized(&bucket()));
    let kms = DefaultEncryption::Kms(Some("k1".to_owned()));
    store
        .set_bucket_encryption(&bucket(), Some(kms.clone()))
        .unwrap();
    assert_eq!(store.bucket_encryption(&bucket()).unwrap(), Some(kms));
    assert!(store.bucket_memoized(&bucket()));
    store.set_bucket_encryption(&bucket(), None).unwrap();
    assert_eq!(store.bucket_encryption(&bucket()).unwrap(), None);

    // An object's ACL.
    let v = Version {
        bytes: b"one".to_vec(),
        content_type: None,
        user: BTreeMap::new(),
    };
    put(&store, &key(0), &v).unwrap();
    let before = store.object_meta(&bucket(), &key(0)).unwrap().unwrap();
    assert_eq!(before.acl.to_acl(&owner, &owner).unwrap(), private);
    store
        .set_object_acl(&bucket(), &key(0), None, &public)
        .unwrap();
    let after = store.object_meta(&bucket(), &key(0)).unwrap().unwrap();
    assert_eq!(after.acl.to_acl(&owner, &owner).unwrap(), public);

    // A hand-placed file rewritten in place, then removed.
    let path = temp.path().join("model").join("hand.txt");
    fs::write(&path, b"first").unwrap();
    let hand = ObjectKey::new("hand.txt").unwrap();
    assert_eq!(
        store.object_meta(&bucket(), &hand).unwrap().unwrap().size,
        5
    );
    assert_eq!(
        store.object_meta(&bucket(), &hand).unwrap().unwrap().size,
        5
    );
    fs::write(&path, b"second!").unwrap();
    assert_eq!(
        store.object_meta(&bucket(), &hand).unwrap().unwrap().size,
        7
    );
    fs::remove_file(&path).unwrap();
    assert!(store.object_meta(&bucket(), &hand).unwrap().is_none());

    // An object deleted, then its bucket.
    assert!(store.object_meta(&bucket(), &key(0)).unwrap().is_some());
    store
        .delete_object(
            &bucket(),
            &key(0),
            "111122223333",
            &DeleteConditions::default(),
        )
        .unwrap();
    assert!(store.object_meta(&bucket(), &key(0)).unwrap().is_none());
    assert!(read(&store, &key(0)).is_none());
    assert!(store.bucket_info(&bucket()).unwrap().is_some());
    assert!(matches!(
        store.delete_bucket(&bucket()).unwrap(),
        super::BucketDeletion::Deleted
    ));
    assert!(store.bucket_info(&bucket()).unwrap().is_none());
}
