//! Properties of GetObjectTorrent's decision over random buckets, objects
//! and requesters: object ownership, bucket and object ACLs (canned or
//! random grant lists), who asks, requester pays and its header, expected
//! owner, lookups, encryption, size, storage class and restore state.
//!
//! - (a) anonymous requesters get a plan only for objects with an AllUsers
//!   `READ` or `FULL_CONTROL` grant;
//! - (b) with `BucketOwnerEnforced`, grants never widen access: the outcome
//!   is the same with every grant removed, and only the bucket owner's
//!   account is served;
//! - (c) `NoSuchKey`/`NoSuchVersion` go only to requesters who may list
//!   the bucket;
//! - (d) every error's status is its code's documented status (a table
//!   written here), and `decide` never panics;
//! - (e) the whole outcome equals a reference model written here from the
//!   issue's rules.

use proptest::prelude::*;
use s3torrent_s3::{
    AccountId, Acl, BucketInfo, BucketName, CannedAcl, CanonicalId, Encryption, Grant, Grantee,
    ObjectInfo, ObjectKey, ObjectLookup, ObjectOwnership, Permission, Principal, Requester,
    RestoreState, StorageClass, TorrentPolicy, TorrentRequest, decide,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    BucketOwner,
    /// Another identity in the bucket owner's account (its own canonical ID).
    BucketOwnerColleague,
    Writer,
    Other,
}

const WHO: [Who; 5] = [
    Who::Anonymous,
    Who::BucketOwner,
    Who::BucketOwnerColleague,
    Who::Writer,
    Who::Other,
];

const BUCKET_OWNER_ACCOUNT: &str = "111122223333";

fn ids(who: Who) -> Option<(&'static str, &'static str)> {
    match who {
        Who::Anonymous => None,
        Who::BucketOwner => Some(("bucket-owner", BUCKET_OWNER_ACCOUNT)),
        Who::BucketOwnerColleague => Some(("bucket-owner-colleague", BUCKET_OWNER_ACCOUNT)),
        Who::Writer => Some(("writer", "444455556666")),
        Who::Other => Some(("stranger", "777788889999")),
    }
}

fn principal(who: Who) -> Option<Principal> {
    ids(who).map(|(c, a)| Principal::new(CanonicalId::new(c).unwrap(), AccountId::new(a).unwrap()))
}

fn requester(who: Who) -> Requester {
    principal(who).map_or(Requester::Anonymous, Requester::Authenticated)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum G {
    AllUsers,
    AuthenticatedUsers,
    User(Who),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AclSpec {
    Canned(CannedAcl),
    Grants(Vec<(G, Permission)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    Found,
    NoSuchKey,
    NoSuchVersion,
    DeleteMarker,
}

#[derive(Debug, Clone)]
struct Setup {
    bucket_exists: bool,
    ownership: ObjectOwnership,
    bucket_acl: AclSpec,
    requester_pays: bool,
    object_owner: Who,
    object_acl: AclSpec,
    look: Look,
    version_id: Option<&'static str>,
    encryption: Encryption,
    size: u64,
    class: StorageClass,
    restore: RestoreState,
    expected_owner: Option<&'static str>,
    header: bool,
    max_size: u64,
}

fn owner_strategy() -> impl Strategy<Value = Who> {
    prop::sample::select(vec![
        Who::BucketOwner,
        Who::BucketOwnerColleague,
        Who::Writer,
        Who::Other,
    ])
}

fn acl_strategy() -> impl Strategy<Value = AclSpec> {
    let grantee = prop_oneof![
        Just(G::AllUsers),
        Just(G::AuthenticatedUsers),
        owner_strategy().prop_map(G::User),
    ];
    let permission = prop::sample::select(vec![
        Permission::Read,
        Permission::Write,
        Permission::ReadAcp,
        Permission::WriteAcp,
        Permission::FullControl,
    ]);
    prop_oneof![
        prop::sample::select(CannedAcl::ALL.to_vec()).prop_map(AclSpec::Canned),
        prop::collection::vec((grantee, permission), 0..5).prop_map(AclSpec::Grants),
    ]
}

fn setup_strategy() -> impl Strategy<Value = Setup> {
    let bucket = (
        prop::bool::weighted(0.95),
        prop::sample::select(vec![
            ObjectOwnership::ObjectWriter,
            ObjectOwnership::BucketOwnerPreferred,
            ObjectOwnership::BucketOwnerEnforced,
        ]),
        acl_strategy(),
        any::<bool>(),
    );
    let object = (
        owner_strategy(),
        acl_strategy(),
        prop::sample::select(vec![
            Look::Found,
            Look::Found,
            Look::Found,
            Look::NoSuchKey,
            Look::NoSuchVersion,
            Look::DeleteMarker,
        ]),
        prop::option::of(Just("v1")),
        prop::sample::select(vec![
            Encryption::None,
            Encryption::SseS3,
            Encryption::SseKms,
            Encryption::SseC,
        ]),
        prop_oneof![
            Just(0u64),
            1..=4096u64,
            Just(5_368_709_120u64),
            Just(5_368_709_121u64),
            any::<u64>(),
        ],
        prop::sample::select(vec![
            StorageClass::Standard,
            StorageClass::Glacier,
            StorageClass::DeepArchive,
        ]),
        prop::sample::select(vec![
            RestoreState::NotRestored,
            RestoreState::InProgress,
            RestoreState::Restored,
        ]),
    );
    let request = (
        prop::sample::select(vec![
            None,
            Some(BUCKET_OWNER_ACCOUNT),
            Some("444455556666"),
            Some("12345"),
            Some("abcdefghijkl"),
        ]),
        any::<bool>(),
        prop_oneof![Just(5_368_709_120u64), 1..10_000u64],
    );
    (bucket, object, request).prop_map(
        |(
            (bucket_exists, ownership, bucket_acl, requester_pays),
            (object_owner, object_acl, look, version_id, encryption, size, class, restore),
            (expected_owner, header, max_size),
        )| Setup {
            bucket_exists,
            ownership,
            bucket_acl,
            requester_pays,
            object_owner,
            object_acl,
            look,
            version_id,
            encryption,
            size,
            class,
            restore,
            expected_owner,
            header,
            max_size,
        },
    )
}

fn to_acl(spec: &AclSpec, owner: &Principal, bucket_owner: &Principal) -> Acl {
    match spec {
        AclSpec::Canned(c) => Acl::canned(*c, owner, bucket_owner),
        AclSpec::Grants(grants) => Acl {
            owner: owner.clone(),
            grants: grants
                .iter()
                .map(|(g, p)| {
                    let grantee = match g {
                        G::AllUsers => Grantee::AllUsers,
                        G::AuthenticatedUsers => Grantee::AuthenticatedUsers,
                        G::User(w) => Grantee::CanonicalUser(principal(*w).unwrap().canonical_id),
                    };
                    Grant::new(grantee, *p)
                })
                .collect(),
        },
    }
}

/// Decides `setup` for `who`; `strip_grants` empties both ACLs' grants.
fn run(setup: &Setup, who: Who, strip_grants: bool) -> Result<bool, s3torrent_s3::S3Error> {
    let bucket_owner = principal(Who::BucketOwner).unwrap();
    let mut bucket = BucketInfo::new(BucketName::new("data").unwrap(), bucket_owner.clone());
    bucket.acl = to_acl(&setup.bucket_acl, &bucket_owner, &bucket_owner);
    bucket.ownership = setup.ownership;
    bucket.requester_pays = setup.requester_pays;
    let owner = principal(setup.object_owner).unwrap();
    let mut info = ObjectInfo::new(ObjectKey::new("obj").unwrap(), setup.size, "e", &owner);
    info.acl = to_acl(&setup.object_acl, &owner, &bucket_owner);
    info.version_id = setup.version_id.map(String::from);
    info.encryption = setup.encryption;
    info.storage_class = setup.class;
    info.restore = setup.restore;
    if strip_grants {
        bucket.acl.grants.clear();
        info.acl.grants.clear();
    }
    let lookup = match setup.look {
        Look::Found => ObjectLookup::Found(info),
        Look::NoSuchKey => ObjectLookup::NoSuchKey,
        Look::NoSuchVersion => ObjectLookup::NoSuchVersion,
        Look::DeleteMarker => {
            info.delete_marker = true;
            ObjectLookup::Found(info)
        }
    };
    let mut req = TorrentRequest::new("data", "obj", requester(who));
    req.version_id = setup.version_id.map(String::from);
    req.request_payer = setup.header;
    req.expected_bucket_owner = setup.expected_owner.map(String::from);
    let mut policy = TorrentPolicy::default();
    policy.max_object_size = setup.max_size;
    decide(
        &req,
        setup.bucket_exists.then_some(&bucket),
        &lookup,
        &policy,
    )
    .map(|plan| plan.request_charged)
}

// The reference model, written from the rules.

fn account(who: Who) -> Option<&'static str> {
    ids(who).map(|(_, a)| a)
}

fn in_bucket_owner_account(who: Who) -> bool {
    account(who) == Some(BUCKET_OWNER_ACCOUNT)
}

/// The grants an ACL spec expands to, as S3 expands canned ACLs.
fn model_grants(spec: &AclSpec, owner: Who) -> Vec<(G, Permission)> {
    match spec {
        AclSpec::Grants(g) => g.clone(),
        AclSpec::Canned(c) => {
            let mut g = vec![(G::User(owner), Permission::FullControl)];
            let owner_is_bucket_owner = owner == Who::BucketOwner;
            match c {
                CannedAcl::Private => {}
                CannedAcl::PublicRead => g.push((G::AllUsers, Permission::Read)),
                CannedAcl::PublicReadWrite => {
                    g.push((G::AllUsers, Permission::Read));
                    g.push((G::AllUsers, Permission::Write));
                }
                CannedAcl::AuthenticatedRead => g.push((G::AuthenticatedUsers, Permission::Read)),
                CannedAcl::BucketOwnerRead if !owner_is_bucket_owner => {
                    g.push((G::User(Who::BucketOwner), Permission::Read))
                }
                CannedAcl::BucketOwnerFullControl if !owner_is_bucket_owner => {
                    g.push((G::User(Who::BucketOwner), Permission::FullControl))
                }
                CannedAcl::BucketOwnerRead | CannedAcl::BucketOwnerFullControl => {}
            }
            g
        }
    }
}

fn grants_read(grants: &[(G, Permission)], who: Who) -> bool {
    grants.iter().any(|(g, p)| {
        matches!(p, Permission::Read | Permission::FullControl)
            && match g {
                G::AllUsers => true,
                G::AuthenticatedUsers => who != Who::Anonymous,
                // Canonical IDs: each identity has its own.
                G::User(u) => *u == who,
            }
    })
}

fn model_may_list(s: &Setup, who: Who) -> bool {
    if s.ownership == ObjectOwnership::BucketOwnerEnforced {
        in_bucket_owner_account(who)
    } else {
        grants_read(&model_grants(&s.bucket_acl, Who::BucketOwner), who)
    }
}

fn model_may_read(s: &Setup, who: Who) -> bool {
    if s.ownership == ObjectOwnership::BucketOwnerEnforced {
        in_bucket_owner_account(who)
    } else {
        grants_read(&model_grants(&s.object_acl, s.object_owner), who)
    }
}

/// Requester pays lets `who` through (without saying anything about READ).
fn model_pays_ok(s: &Setup, who: Who) -> bool {
    !s.requester_pays || in_bucket_owner_account(who) || (who != Who::Anonymous && s.header)
}

type Outcome = Result<bool, &'static str>;

fn model(s: &Setup, who: Who) -> Outcome {
    let expected = s.expected_owner;
    if matches!(expected, Some(e) if e.len() != 12 || !e.bytes().all(|b| b.is_ascii_digit())) {
        return Err("InvalidBucketOwnerAWSAccountID");
    }
    if !s.bucket_exists {
        return Err("NoSuchBucket");
    }
    if matches!(expected, Some(e) if e != BUCKET_OWNER_ACCOUNT) {
        return Err("AccessDenied");
    }
    if !model_pays_ok(s, who) {
        return Err("AccessDenied");
    }
    let missing = |code| {
        if model_may_list(s, who) {
            Err(code)
        } else {
            Err("AccessDenied")
        }
    };
    match s.look {
        Look::NoSuchKey => return missing("NoSuchKey"),
        Look::NoSuchVersion => return missing("NoSuchVersion"),
        Look::DeleteMarker if s.version_id.is_some() => return Err("MethodNotAllowed"),
        Look::DeleteMarker => return missing("NoSuchKey"),
        Look::Found => {}
    }
    if !model_may_read(s, who) {
        return Err("AccessDenied");
    }
    if s.encryption == Encryption::SseKms && who == Who::Anonymous {
        return Err("InvalidArgument");
    }
    if matches!(s.encryption, Encryption::SseC | Encryption::SseKms)
        || s.size == 0
        || s.size > s.max_size
    {
        return Err("InvalidRequest");
    }
    if s.class != StorageClass::Standard && s.restore != RestoreState::Restored {
        return Err("InvalidObjectState");
    }
    Ok(s.requester_pays && !in_bucket_owner_account(who))
}

/// The documented status of each code, written out here.
fn documented_status(code: &str) -> u16 {
    match code {
        "AccessDenied" | "InvalidObjectState" => 403,
        "InvalidRequest"
        | "InvalidArgument"
        | "InvalidBucketName"
        | "InvalidBucketOwnerAWSAccountID"
        | "InvalidURI"
        | "KeyTooLongError"
        | "RequestTorrentOfBucketError" => 400,
        "NoSuchBucket" | "NoSuchKey" | "NoSuchVersion" => 404,
        "MethodNotAllowed" => 405,
        "InternalError" => 500,
        "NotImplemented" => 501,
        "SlowDown" => 503,
        other => panic!("undocumented code {other}"),
    }
}

fn has_all_users_read(s: &Setup) -> bool {
    model_grants(&s.object_acl, s.object_owner)
        .iter()
        .any(|(g, p)| *g == G::AllUsers && matches!(p, Permission::Read | Permission::FullControl))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn a_anonymous_needs_an_all_users_read_grant(s in setup_strategy()) {
        if run(&s, Who::Anonymous, false).is_ok() {
            prop_assert!(has_all_users_read(&s), "anonymous plan without AllUsers READ: {s:?}");
            prop_assert!(s.ownership != ObjectOwnership::BucketOwnerEnforced);
            prop_assert!(!s.requester_pays);
        }
    }

    #[test]
    fn b_enforced_grants_never_widen_access(mut s in setup_strategy()) {
        s.ownership = ObjectOwnership::BucketOwnerEnforced;
        for who in WHO {
            let with = run(&s, who, false);
            let without = run(&s, who, true);
            prop_assert_eq!(&with, &without, "{:?}: grants changed the outcome of {:?}", who, s);
            if with.is_ok() {
                prop_assert!(in_bucket_owner_account(who), "{:?} served under BucketOwnerEnforced", who);
            }
        }
    }

    #[test]
    fn c_missing_keys_only_to_listers(s in setup_strategy()) {
        for who in WHO {
            if let Err(e) = run(&s, who, false)
                && matches!(e.code().as_str(), "NoSuchKey" | "NoSuchVersion")
            {
                prop_assert!(model_may_list(&s, who), "{:?} told {} in {:?}", who, e, s);
                prop_assert!(model_pays_ok(&s, who), "{:?} told {} without paying in {:?}", who, e, s);
            }
        }
    }

    #[test]
    fn d_statuses_are_documented(s in setup_strategy()) {
        for who in WHO {
            if let Err(e) = run(&s, who, false) {
                prop_assert_eq!(e.status(), documented_status(e.code().as_str()), "{}", e);
                prop_assert_eq!(e.code().to_string(), e.code().as_str());
                prop_assert_eq!(e.resource(), "/data/obj");
                prop_assert!(!e.message().is_empty());
                prop_assert!(!e.is_retryable());
            }
        }
    }

    #[test]
    fn e_outcome_equals_the_model(s in setup_strategy()) {
        for who in WHO {
            let got: Outcome = run(&s, who, false).map_err(|e| e.code().as_str());
            prop_assert_eq!(got, model(&s, who), "{:?} in {:?}", who, s);
        }
    }
}
