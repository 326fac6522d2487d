//! The versions of a versioned bucket against a model, with crashes
//! injected at every step of each commit: puts, delete markers, deletions
//! of versions, copies of old versions, tags on versions and changes of the
//! bucket's versioning, in any order. After every step (and a restart after
//! a crash) each key's versions, newest first, are the model's, each
//! version's bytes and tags are its own, the current version is the newest
//! unless that is a delete marker, and every data file belongs to a version.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};

use proptest::prelude::*;

use super::tests::{open, with_bucket};
use super::*;

/// Keys, one with a NUL (the escaping of `versions` rows) and its prefix.
const KEYS: &[&str] = &["a", "a\0b", "a/b", "b"];

/// A version as the model has it: bytes and a tag, or a delete marker.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Content {
    Object { bytes: Vec<u8>, tag: Option<String> },
    Marker,
}

/// Each key's versions, newest first.
type Model = BTreeMap<String, Vec<(VersionId, Content)>>;

#[derive(Debug, Clone)]
enum Op {
    Put {
        key: usize,
        seed: u8,
        len: usize,
    },
    /// DeleteObject without a version: a marker, or (unversioned) gone.
    Delete {
        key: usize,
    },
    /// DeleteObject of the `pick`th version (modulo; `null` if none).
    DeleteVersion {
        key: usize,
        pick: usize,
    },
    /// CopyObject of the `pick`th version of `from` to `to`.
    Copy {
        from: usize,
        pick: usize,
        to: usize,
    },
    /// PutObjectTagging of the `pick`th version.
    Tag {
        key: usize,
        pick: usize,
        value: u8,
    },
    /// PutBucketVersioning.
    SetVersioning {
        enabled: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS.len();
    prop_oneof![
        4 => (key.clone(), any::<u8>(), 0usize..2000)
            .prop_map(|(key, seed, len)| Op::Put { key, seed, len }),
        2 => key.clone().prop_map(|key| Op::Delete { key }),
        3 => (key.clone(), 0usize..3).prop_map(|(key, pick)| Op::DeleteVersion { key, pick }),
        1 => (key.clone(), 0usize..3, key.clone())
            .prop_map(|(from, pick, to)| Op::Copy { from, pick, to }),
        1 => (key, 0usize..3, any::<u8>()).prop_map(|(key, pick, value)| Op::Tag { key, pick, value }),
        2 => any::<bool>().prop_map(|enabled| Op::SetVersioning { enabled }),
    ]
}

fn bucket() -> BucketName {
    BucketName::new("versioned").unwrap()
}

fn key(i: usize) -> ObjectKey {
    ObjectKey::new(KEYS[i]).unwrap()
}

fn bytes_of(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed))
        .collect()
}

/// Writes `bytes` (and `tag`) as a new version of `k`, as PutObject does.
fn put(
    store: &Store,
    k: &ObjectKey,
    bytes: &[u8],
    tag: Option<&str>,
) -> Result<VersionId, WriteError> {
    let (temp, mut file) = store.temp_file()?;
    file.write_all(bytes).unwrap();
    file.sync_all().unwrap();
    let mut meta = ObjectMeta::new(
        "111122223333".into(),
        StoredAcl::Canned("private".into()),
        hex(&Md5::digest(bytes)),
        bytes.len() as u64,
    );
    if let Some(t) = tag {
        meta.tags.insert("t".into(), t.into());
    }
    let result = store.commit_object(&bucket(), k, &temp, meta, &Preconditions::default(), None);
    let _ = fs::remove_file(&temp);
    result.map(|m| m.version)
}

/// A version's content as the store has it: its bytes read whole from a
/// snapshot (their MD5 checked against the ETag), or a marker.
fn content_of(store: &Store, k: &ObjectKey, v: &VersionId) -> Option<Content> {
    match store.snapshot_version(&bucket(), k, Some(v)).unwrap()? {
        Found::Marker(m) => {
            assert_eq!(&m.version, v);
            Some(Content::Marker)
        }
        Found::Object(snap) => {
            assert_eq!(&snap.meta.version, v);
            let mut bytes = Vec::new();
            let mut file = snap.file;
            file.read_to_end(&mut bytes).unwrap();
            assert_eq!(
                snap.meta.etag,
                Some(hex(&Md5::digest(&bytes))),
                "ETag of {k:?}@{v:?}"
            );
            Some(Content::Object {
                bytes,
                tag: snap.meta.tags.get("t").cloned(),
            })
        }
    }
}

/// The store's versions of every key, newest first, each read back, with
/// the listing's `latest` checked; and every data file is a version's.
fn state(root: &Path, store: &Store) -> Model {
    let mut listed: Vec<(String, VersionId, bool)> = Vec::new();
    let mut named = HashSet::new();
    let from = ListFrom {
        key: "",
        version: None,
    };
    store
        .list_versions(&bucket(), "", &from, |k, entry| {
            if let Found::Object(m) = &entry.found {
                named.insert(m.data.clone().expect("versions are in data files"));
            }
            listed.push((k.to_owned(), entry.version().clone(), entry.latest));
            Listed::Next
        })
        .unwrap();
    let files: HashSet<String> = fs::read_dir(root.join(OWN).join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, named, "data files and versions");
    assert_eq!(fs::read_dir(root.join(OWN).join("tmp")).unwrap().count(), 0);
    let mut model = Model::new();
    for (k, v, latest) in listed {
        let versions = model.entry(k.clone()).or_default();
        assert_eq!(latest, versions.is_empty(), "{k:?}@{v:?}: latest");
        let content = content_of(store, &ObjectKey::new(k.clone()).unwrap(), &v)
            .unwrap_or_else(|| panic!("{k:?}@{v:?} is listed but not found"));
        versions.push((v, content));
    }
    // The current version: the newest, unless it is a marker.
    for (i, k) in KEYS.iter().enumerate() {
        let newest = model.get(*k).and_then(|v| v.first());
        let current = store.object_meta(&bucket(), &key(i)).unwrap();
        match (newest, current) {
            (Some((v, Content::Object { .. })), Some(m)) => assert_eq!(&m.version, v, "{k:?}"),
            (None | Some((_, Content::Marker)), None) => {}
            (n, c) => panic!("{k:?}: newest {n:?}, current {c:?}"),
        }
    }
    model
}

/// The model after `op`, whose new version (if it makes one with an ID)
/// is `new`.
fn apply(
    model: &Model,
    status: Versioning,
    op: &Op,
    new: Option<&VersionId>,
) -> (Model, Versioning) {
    let mut model = model.clone();
    let add = |model: &mut Model, k: usize, content: Content| {
        let versions = model.entry(KEYS[k].to_owned()).or_default();
        match status {
            Versioning::Unversioned => {
                versions.clear();
                if content != Content::Marker {
                    versions.push((VersionId::Null, content));
                }
            }
            Versioning::Suspended => {
                versions.retain(|(v, _)| !v.is_null());
                versions.insert(0, (VersionId::Null, content));
            }
            Versioning::Enabled => {
                versions.insert(0, (new.expect("a new version's ID").clone(), content));
            }
        }
    };
    match op {
        Op::Put { key, seed, len } => add(
            &mut model,
            *key,
            Content::Object {
                bytes: bytes_of(*seed, *len),
                tag: None,
            },
        ),
        Op::Delete { key } => add(&mut model, *key, Content::Marker),
        Op::Copy { from, pick, to } => {
            if let Some((_, Content::Object { bytes, tag })) = picked(&model, *from, *pick) {
                add(&mut model, *to, Content::Object { bytes, tag });
            }
        }
        Op::DeleteVersion { key, pick } => {
            let v = picked(&model, *key, *pick).map_or(VersionId::Null, |(v, _)| v);
            if let Some(versions) = model.get_mut(KEYS[*key]) {
                versions.retain(|(w, _)| *w != v);
            }
        }
        Op::Tag { key, pick, value } => {
            if let Some((v, Content::Object { .. })) = picked(&model, *key, *pick)
                && let Some((_, Content::Object { tag, .. })) = model
                    .get_mut(KEYS[*key])
                    .and_then(|vs| vs.iter_mut().find(|(w, _)| *w == v))
            {
                *tag = Some(value.to_string());
            }
        }
        Op::SetVersioning { enabled } => {
            let status = if *enabled {
                Versioning::Enabled
            } else {
                Versioning::Suspended
            };
            model.retain(|_, v| !v.is_empty());
            return (model, status);
        }
    }
    model.retain(|_, v| !v.is_empty());
    (model, status)
}

/// The `pick`th version of a key in the model (modulo its count).
fn picked(model: &Model, key: usize, pick: usize) -> Option<(VersionId, Content)> {
    let versions = model.get(KEYS[key])?;
    (!versions.is_empty()).then(|| versions[pick % versions.len()].clone())
}

/// Runs `op` against the store: the new version's ID it made, if any.
fn run_op(store: &Store, model: &Model, op: &Op) -> Option<VersionId> {
    match op {
        Op::Put { key: k, seed, len } => put(store, &key(*k), &bytes_of(*seed, *len), None).ok(),
        Op::Delete { key: k } => match store.delete_current(
            &bucket(),
            &key(*k),
            "111122223333",
            &DeleteConditions::default(),
        ) {
            Ok(Removal::Marker(v)) => Some(v),
            _ => None,
        },
        Op::DeleteVersion { key: k, pick } => {
            let v = picked(model, *k, *pick).map_or(VersionId::Null, |(v, _)| v);
            let _ = store.delete_version(&bucket(), &key(*k), &v, &DeleteConditions::default());
            None
        }
        Op::Copy { from, pick, to } => {
            let (v, _) = picked(model, *from, *pick)?;
            // The source read from its snapshot, as CopyObject reads it.
            let Some(Content::Object { bytes, tag }) = content_of(store, &key(*from), &v) else {
                return None;
            };
            put(store, &key(*to), &bytes, tag.as_deref()).ok()
        }
        Op::Tag {
            key: k,
            pick,
            value,
        } => {
            let (v, _) = picked(model, *k, *pick)?;
            let _ = store.set_object_tags(
                &bucket(),
                &key(*k),
                Some(&v),
                Tags::from([("t".to_owned(), value.to_string())]),
            );
            None
        }
        Op::SetVersioning { enabled } => {
            let status = if *enabled {
                Versioning::Enabled
            } else {
                Versioning::Suspended
            };
            let _ = store.set_versioning(&bucket(), status);
            None
        }
    }
}

/// The key whose versions an op changes (a copy's target).
fn changed_key(op: &Op) -> Option<usize> {
    match op {
        Op::Put { key, .. }
        | Op::Delete { key }
        | Op::DeleteVersion { key, .. }
        | Op::Tag { key, .. } => Some(*key),
        Op::Copy { to, .. } => Some(*to),
        Op::SetVersioning { .. } => None,
    }
}

fn run(ops: Vec<(Op, Option<i64>)>) {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    let mut store = open(root);
    with_bucket(&store, &bucket(), CannedAcl::Private);
    let mut model = Model::new();
    let mut status = Versioning::Unversioned;
    for (n, (op, crash)) in ops.into_iter().enumerate() {
        if let Some(c) = crash {
            store.crash.arm(c);
        }
        let new = run_op(&store, &model, &op);
        let crashed = store.crash.is_dead();
        store.crash.disarm();
        if crashed {
            drop(store);
            store = open(root);
        }
        let now = state(root, &store);
        let now_status = store.bucket_versioning(&bucket()).unwrap();
        let after = |new: Option<&VersionId>| apply(&model, status, &op, new);
        let expected = if crashed {
            // Wholly old, or wholly new (its new ID, if any, is the one
            // the store has now).
            let made = changed_key(&op)
                .and_then(|k| now.get(KEYS[k]))
                .and_then(|v| v.first())
                .map(|(v, _)| v.clone());
            if (now.clone(), now_status) == (model.clone(), status) {
                (model.clone(), status)
            } else {
                after(made.as_ref().filter(|v| !v.is_null()))
            }
        } else {
            after(new.as_ref())
        };
        assert_eq!(
            (&now, now_status),
            (&expected.0, expected.1),
            "op {n} ({op:?}, crash {crash:?}, crashed {crashed})"
        );
        (model, status) = expected;
    }
    // And after a last restart.
    drop(store);
    let store = open(root);
    assert_eq!(state(root, &store), model, "after restart");
    assert!(
        !root.join("versioned").read_dir().unwrap().any(|_| true),
        "a key became a path"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random interleavings, each op possibly crashing at its 0th to 3rd
    /// crash point.
    #[test]
    fn versions_are_the_model_across_crashes(
        ops in proptest::collection::vec((op(), proptest::option::weighted(0.4, 0i64..4)), 1..24)
    ) {
        run(ops);
    }
}

/// Every crash point of every kind of versioned write, in turn, over a
/// key with a null version from before versioning, versions with IDs, a
/// suspended null version and delete markers.
#[test]
fn every_crash_point_of_every_versioned_write() {
    for crash in 0..4 {
        let c = Some(crash);
        run(vec![
            (
                Op::Put {
                    key: 0,
                    seed: 1,
                    len: 10,
                },
                None,
            ),
            (Op::SetVersioning { enabled: true }, c),
            (
                Op::Put {
                    key: 0,
                    seed: 2,
                    len: 20,
                },
                c,
            ),
            (
                Op::Put {
                    key: 0,
                    seed: 3,
                    len: 30,
                },
                c,
            ),
            (Op::Delete { key: 0 }, c),
            (
                Op::Copy {
                    from: 0,
                    pick: 2,
                    to: 1,
                },
                c,
            ),
            (
                Op::Tag {
                    key: 0,
                    pick: 3,
                    value: 7,
                },
                c,
            ),
            (Op::SetVersioning { enabled: false }, c),
            (
                Op::Put {
                    key: 0,
                    seed: 4,
                    len: 40,
                },
                c,
            ),
            (
                Op::Put {
                    key: 0,
                    seed: 5,
                    len: 50,
                },
                c,
            ),
            (Op::Delete { key: 1 }, c),
            (Op::DeleteVersion { key: 0, pick: 0 }, c),
            (Op::DeleteVersion { key: 0, pick: 1 }, c),
            (Op::SetVersioning { enabled: true }, c),
            (Op::Delete { key: 0 }, c),
            (Op::DeleteVersion { key: 0, pick: 0 }, c),
            (Op::DeleteVersion { key: 1, pick: 0 }, c),
        ]);
    }
}

/// A record of each kind written before versions (an object record with
/// no `version`, a bucket record with no `versioning`, an index entry with
/// no version) reads as the null version of an unversioned bucket, and the
/// bucket's first versioned write keeps it as a noncurrent version.
#[test]
fn records_from_before_versions_are_null_versions() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    let store = open(root);
    with_bucket(&store, &bucket(), CannedAcl::Private);
    put(&store, &key(0), b"old", None).unwrap();
    // Written as before versions: no field names a version.
    let raw: Vec<u8> = store
        .read(|txn| {
            let t = txn.open_table(OBJECTS).map_err(internal)?;
            let v = t.get("versioned/a").map_err(internal)?.unwrap();
            Ok(v.value().to_vec())
        })
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("version"));
    let raw_bucket: Vec<u8> = store
        .read(|txn| {
            let t = txn.open_table(BUCKETS).map_err(internal)?;
            let v = t.get("versioned").map_err(internal)?.unwrap();
            Ok(v.value().to_vec())
        })
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw_bucket).contains("versioning"));
    store
        .set_versioning(&bucket(), Versioning::Enabled)
        .unwrap();
    let v = put(&store, &key(0), b"new", None).unwrap();
    assert!(matches!(&v, VersionId::Id(id) if valid_id(id)));
    let old = content_of(&store, &key(0), &VersionId::Null);
    assert_eq!(
        old,
        Some(Content::Object {
            bytes: b"old".to_vec(),
            tag: None
        })
    );
    drop(store);
    let store = open(root);
    let model = state(root, &store);
    assert_eq!(
        model["a"]
            .iter()
            .map(|(v, _)| v.clone())
            .collect::<Vec<_>>(),
        vec![v, VersionId::Null]
    );
}

/// DeleteObject with conditions in a versioned bucket: a key with no
/// version at all is left alone (no marker; "if the object doesn't exist,
/// the operation returns 204"); once the key has versions, a delete marker
/// as the current version matches only `If-Match: *`.
#[test]
fn a_conditional_delete_of_a_key_without_versions_makes_no_marker() {
    let temp = tempfile::tempdir().unwrap();
    let store = open(temp.path());
    with_bucket(&store, &bucket(), CannedAcl::Private);
    store
        .set_versioning(&bucket(), Versioning::Enabled)
        .unwrap();
    let any = DeleteConditions {
        if_match: Some(Expected::Any),
        ..DeleteConditions::default()
    };
    let bad = DeleteConditions {
        if_match: Some(Expected::ETag("\"bad\"".into())),
        ..DeleteConditions::default()
    };
    let k = key(0);
    let none = || store.find_version(&bucket(), &k, None).unwrap().is_none();
    for c in [&any, &bad] {
        assert!(matches!(
            store.delete_current(&bucket(), &k, "111122223333", c),
            Ok(Removal::Removed)
        ));
        assert!(none(), "a marker was made");
    }
    // Unconditional: a marker, as S3 makes one for a missing key.
    assert!(matches!(
        store.delete_current(&bucket(), &k, "111122223333", &DeleteConditions::default()),
        Ok(Removal::Marker(_))
    ));
    // The marker is the current version now: only `*` matches it.
    assert!(matches!(
        store.delete_current(&bucket(), &k, "111122223333", &bad),
        Err(StoreError::ConditionFailed { .. })
    ));
    assert!(matches!(
        store.delete_current(&bucket(), &k, "111122223333", &any),
        Ok(Removal::Marker(_))
    ));
}
