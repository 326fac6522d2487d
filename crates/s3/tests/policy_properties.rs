//! Bucket policies with ACLs, over random policies, keys, ACLs and
//! requesters: `authorize_read` (what GetObject, `?torrent`, the tracker
//! and the peer ask) agrees with a model written here from S3's rules (an
//! explicit deny wins; an allow grants; otherwise the ACL decides), whose
//! matching is spelled out case by case rather than with wildcards; and
//! under Block Public Access (`IgnorePublicAcls`: a public grant grants
//! nothing; `RestrictPublicBuckets`: a public policy allows nobody outside
//! the bucket owner's account).

use std::sync::Arc;

use proptest::prelude::*;
use s3torrent_s3::{
    AccountId, Acl, BucketInfo, BucketName, BucketPolicy, CannedAcl, CanonicalId, ErrorCode,
    ObjectInfo, ObjectKey, ObjectLookup, Principal, PublicAccessBlock, Requester, TorrentRequest,
    authorize_read,
};

const OWNER: (&str, &str) = ("owner-canonical", "111122223333");
const OTHER: (&str, &str) = ("other-canonical", "444455556666");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Owner,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrincipalPick {
    Anyone,
    OwnerAccount,
    OtherAccount,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ActionPick {
    GetObject,
    GetStar,
    Star,
    PutObject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResourcePick {
    AllObjects,
    PublicPrefix,
    ExactKey,
    Bucket,
}

#[derive(Debug, Clone, Copy)]
struct Stmt {
    deny: bool,
    principal: PrincipalPick,
    action: ActionPick,
    resource: ResourcePick,
}

fn principal(ids: (&str, &str)) -> Principal {
    Principal::new(
        CanonicalId::new(ids.0).unwrap(),
        AccountId::new(ids.1).unwrap(),
    )
}

fn requester(who: Who) -> Requester {
    match who {
        Who::Anonymous => Requester::Anonymous,
        Who::Owner => Requester::Authenticated(principal(OWNER)),
        Who::Other => Requester::Authenticated(principal(OTHER)),
    }
}

fn json(statements: &[Stmt], key: &str) -> String {
    let parts: Vec<String> = statements
        .iter()
        .map(|s| {
            let principal = match s.principal {
                PrincipalPick::Anyone => "\"*\"".to_owned(),
                PrincipalPick::OwnerAccount => format!("{{\"AWS\":\"{}\"}}", OWNER.1),
                PrincipalPick::OtherAccount => {
                    format!("{{\"AWS\":\"arn:aws:iam::{}:root\"}}", OTHER.1)
                }
            };
            let action = match s.action {
                ActionPick::GetObject => "s3:GetObject",
                ActionPick::GetStar => "s3:Get*",
                ActionPick::Star => "s3:*",
                ActionPick::PutObject => "s3:PutObject",
            };
            let resource = match s.resource {
                ResourcePick::AllObjects => "arn:aws:s3:::site/*".to_owned(),
                ResourcePick::PublicPrefix => "arn:aws:s3:::site/public/*".to_owned(),
                ResourcePick::ExactKey => format!("arn:aws:s3:::site/{key}"),
                ResourcePick::Bucket => "arn:aws:s3:::site".to_owned(),
            };
            format!(
                "{{\"Effect\":\"{}\",\"Principal\":{principal},\"Action\":\"{action}\",\"Resource\":\"{resource}\"}}",
                if s.deny { "Deny" } else { "Allow" }
            )
        })
        .collect();
    format!(
        "{{\"Version\":\"2012-10-17\",\"Statement\":[{}]}}",
        parts.join(",")
    )
}

/// Whether statement `s` covers `who` reading `key` (the object's key is
/// what `ExactKey` names, so it always matches it).
fn model_covers(s: &Stmt, who: Who, key: &str) -> bool {
    let principal = match s.principal {
        PrincipalPick::Anyone => true,
        PrincipalPick::OwnerAccount => who == Who::Owner,
        PrincipalPick::OtherAccount => who == Who::Other,
    };
    let action = match s.action {
        ActionPick::GetObject | ActionPick::GetStar | ActionPick::Star => true,
        ActionPick::PutObject => false,
    };
    let resource = match s.resource {
        ResourcePick::AllObjects | ResourcePick::ExactKey => true,
        ResourcePick::PublicPrefix => key.starts_with("public/"),
        ResourcePick::Bucket => false,
    };
    principal && action && resource
}

fn model(statements: &[Stmt], who: Who, key: &str, public_acl: bool) -> bool {
    model_blocked(statements, who, key, public_acl, Blocks::default())
}

/// The two Block Public Access settings that change who may read.
#[derive(Debug, Clone, Copy, Default)]
struct Blocks {
    ignore_public_acls: bool,
    restrict_public_buckets: bool,
}

fn model_blocked(statements: &[Stmt], who: Who, key: &str, public_acl: bool, b: Blocks) -> bool {
    if statements
        .iter()
        .any(|s| s.deny && model_covers(s, who, key))
    {
        return false;
    }
    // A policy is public when an Allow names `*` (no statement here has a
    // condition); restricted, it allows only the owner's account.
    let public_policy = statements
        .iter()
        .any(|s| !s.deny && s.principal == PrincipalPick::Anyone);
    let restricted = b.restrict_public_buckets && public_policy && who != Who::Owner;
    if !restricted
        && statements
            .iter()
            .any(|s| !s.deny && model_covers(s, who, key))
    {
        return true;
    }
    // The object's ACL: private grants its owner (the bucket owner), the
    // canned public-read everyone, unless public grants are ignored.
    (public_acl && !b.ignore_public_acls) || who == Who::Owner
}

fn stmt() -> impl Strategy<Value = Stmt> {
    (
        any::<bool>(),
        prop_oneof![
            Just(PrincipalPick::Anyone),
            Just(PrincipalPick::OwnerAccount),
            Just(PrincipalPick::OtherAccount)
        ],
        prop_oneof![
            Just(ActionPick::GetObject),
            Just(ActionPick::GetStar),
            Just(ActionPick::Star),
            Just(ActionPick::PutObject)
        ],
        prop_oneof![
            Just(ResourcePick::AllObjects),
            Just(ResourcePick::PublicPrefix),
            Just(ResourcePick::ExactKey),
            Just(ResourcePick::Bucket)
        ],
    )
        .prop_map(|(deny, principal, action, resource)| Stmt {
            deny,
            principal,
            action,
            resource,
        })
}

proptest! {
    #[test]
    fn authorize_read_follows_policy_then_acl(
        statements in proptest::collection::vec(stmt(), 0..5),
        who in prop_oneof![Just(Who::Anonymous), Just(Who::Owner), Just(Who::Other)],
        key in prop_oneof![Just("public/a.iso"), Just("private/b.iso"), Just("c")],
        public_acl in any::<bool>(),
    ) {
        let owner = principal(OWNER);
        let name = BucketName::new("site").unwrap();
        let mut bucket = BucketInfo::new(name.clone(), owner.clone());
        if !statements.is_empty() {
            let policy = BucketPolicy::parse(&json(&statements, key), &name).unwrap();
            bucket.policy = Some(Arc::new(policy));
        }
        let mut object = ObjectInfo::new(ObjectKey::new(key).unwrap(), 10, "e", &owner);
        let canned = if public_acl { CannedAcl::PublicRead } else { CannedAcl::Private };
        object.acl = Acl::canned(canned, &owner, &owner);
        let lookup = ObjectLookup::Found(object);
        let req = TorrentRequest::new("site", key, requester(who));
        let got = authorize_read(&req, &bucket, &lookup);
        let expected = model(&statements, who, key, public_acl);
        prop_assert_eq!(got.is_ok(), expected, "{:?}", got.as_ref().err());
        if let Err(e) = got {
            prop_assert_eq!(e.code(), ErrorCode::AccessDenied);
        }
    }
}

proptest! {
    #[test]
    fn authorize_read_under_block_public_access(
        statements in proptest::collection::vec(stmt(), 0..5),
        who in prop_oneof![Just(Who::Anonymous), Just(Who::Owner), Just(Who::Other)],
        key in prop_oneof![Just("public/a.iso"), Just("private/b.iso"), Just("c")],
        public_acl in any::<bool>(),
        ignore_public_acls in any::<bool>(),
        restrict_public_buckets in any::<bool>(),
        block_puts in any::<bool>(),
    ) {
        let owner = principal(OWNER);
        let name = BucketName::new("site").unwrap();
        let mut bucket = BucketInfo::new(name.clone(), owner.clone());
        if !statements.is_empty() {
            let policy = BucketPolicy::parse(&json(&statements, key), &name).unwrap();
            bucket.policy = Some(Arc::new(policy));
        }
        // BlockPublicAcls and BlockPublicPolicy refuse puts only: they
        // change no read.
        bucket.public_access = PublicAccessBlock {
            block_public_acls: block_puts,
            ignore_public_acls,
            block_public_policy: block_puts,
            restrict_public_buckets,
        };
        let mut object = ObjectInfo::new(ObjectKey::new(key).unwrap(), 10, "e", &owner);
        let canned = if public_acl { CannedAcl::PublicRead } else { CannedAcl::Private };
        object.acl = Acl::canned(canned, &owner, &owner);
        let lookup = ObjectLookup::Found(object);
        let req = TorrentRequest::new("site", key, requester(who));
        let got = authorize_read(&req, &bucket, &lookup);
        let blocks = Blocks { ignore_public_acls, restrict_public_buckets };
        let expected = model_blocked(&statements, who, key, public_acl, blocks);
        prop_assert_eq!(got.is_ok(), expected, "{:?}", got.as_ref().err());
        if let Err(e) = got {
            prop_assert_eq!(e.code(), ErrorCode::AccessDenied);
        }
    }
}
