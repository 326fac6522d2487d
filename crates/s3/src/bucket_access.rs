//! What a bucket's object ownership and Block Public Access settings make
//! of ACLs and policies: which ACL grants still count, the ACL (and so the
//! owner) of an object a request writes, which ACLs and policies may be
//! set, and whether the bucket's policy is public.
//!
//! Every decision of this crate ([`authorize_read`](crate::authorize_read),
//! and so [`decide`](crate::decide)) asks these, and a host asks them for
//! the requests it decides itself (writes, listings, ACL operations).

use crate::acl::{Acl, CannedAcl, Grant, Grantee, ObjectOwnership, Permission};
use crate::bucket_policy::BucketPolicy;
use crate::error::{ErrorCode, Result, S3Error};
use crate::info::BucketInfo;
use crate::model::Requester;

/// The ACL a write (PutObject, CopyObject, CreateMultipartUpload) asks for
/// in its headers, the grants resolved by the host (which knows its users).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskedAcl {
    /// No `x-amz-acl` and no `x-amz-grant-*` header.
    Unspecified,
    /// `x-amz-acl`.
    Canned(CannedAcl),
    /// The grants of the `x-amz-grant-*` headers.
    Grants(Vec<Grant>),
}

impl BucketInfo {
    /// Whether `acl` (the bucket's, or one of its objects') grants
    /// `requester` the `permission`, as this bucket's settings let ACLs
    /// count: not at all with ACLs disabled (`BucketOwnerEnforced`), and
    /// without its public grants under `IgnorePublicAcls`. Owners' rights
    /// that do not come from grants are the caller's to add.
    ///
    /// ```
    /// use s3torrent_s3::*;
    ///
    /// let owner = Principal::new(CanonicalId::new("alice")?, AccountId::new("111122223333")?);
    /// let mut bucket = BucketInfo::new(BucketName::new("pub")?, owner.clone());
    /// let acl = Acl::canned(CannedAcl::PublicRead, &owner, &owner);
    /// assert!(bucket.acl_allows(&acl, &Requester::Anonymous, Permission::Read));
    /// bucket.public_access.ignore_public_acls = true;
    /// assert!(!bucket.acl_allows(&acl, &Requester::Anonymous, Permission::Read));
    /// // The owner's own grant is not public.
    /// assert!(bucket.acl_allows(&acl, &Requester::Authenticated(owner), Permission::Read));
    /// # Ok::<(), S3Error>(())
    /// ```
    pub fn acl_allows(&self, acl: &Acl, requester: &Requester, permission: Permission) -> bool {
        if self.ownership.acls_disabled() {
            return false;
        }
        let ignore_public = self.public_access.ignore_public_acls;
        acl.grants.iter().any(|g| {
            !(ignore_public && g.grantee.is_public())
                && g.permission.allows(permission)
                && g.grantee.covers(requester)
        })
    }

    /// An object's ACL as it applies in this bucket: with ACLs disabled,
    /// the bucket owner owns every object, with `FULL_CONTROL` and no other
    /// grant (what GetObjectAcl answers), whoever wrote it and whatever ACL
    /// it was given before; otherwise `stored` itself.
    pub fn effective_object_acl(&self, stored: Acl) -> Acl {
        if self.ownership.acls_disabled() {
            Acl::canned(CannedAcl::Private, &self.owner, &self.owner)
        } else {
            stored
        }
    }

    /// The ACL, and so the owner, of an object `writer` writes asking for
    /// `asked`:
    ///
    /// - ACLs disabled (`BucketOwnerEnforced`): only no ACL or
    ///   `bucket-owner-full-control` (as a canned ACL, or as grants of
    ///   `FULL_CONTROL` to the bucket owner alone) is accepted, else
    ///   `AccessControlListNotSupported` (400); the object is the bucket
    ///   owner's, `private`;
    /// - `BucketOwnerPreferred`: with the canned `bucket-owner-full-control`
    ///   the object is the bucket owner's; otherwise the writer's;
    /// - `ObjectWriter` (and a bucket without ownership controls): the
    ///   writer's. An anonymous writer's object is always the bucket
    ///   owner's.
    ///
    /// Under `BlockPublicAcls` a public ACL is refused with `AccessDenied`
    /// (403).
    ///
    /// ```
    /// use s3torrent_s3::*;
    ///
    /// let alice = Principal::new(CanonicalId::new("alice")?, AccountId::new("111122223333")?);
    /// let bob = Principal::new(CanonicalId::new("bob")?, AccountId::new("444455556666")?);
    /// let mut bucket = BucketInfo::new(BucketName::new("shared")?, alice.clone());
    /// let writer = Requester::Authenticated(bob.clone());
    /// let full = AskedAcl::Canned(CannedAcl::BucketOwnerFullControl);
    /// assert_eq!(bucket.new_object_acl(&writer, full.clone())?.owner, bob);
    /// bucket.ownership = ObjectOwnership::BucketOwnerPreferred;
    /// assert_eq!(bucket.new_object_acl(&writer, full)?.owner, alice);
    /// bucket.ownership = ObjectOwnership::BucketOwnerEnforced;
    /// let private = AskedAcl::Canned(CannedAcl::Private);
    /// let err = bucket.new_object_acl(&writer, private).unwrap_err();
    /// assert_eq!(err.code(), ErrorCode::AccessControlListNotSupported);
    /// # Ok::<(), S3Error>(())
    /// ```
    pub fn new_object_acl(&self, writer: &Requester, asked: AskedAcl) -> Result<Acl> {
        if self.ownership.acls_disabled() {
            let bucket_owner_full_control = match &asked {
                AskedAcl::Unspecified | AskedAcl::Canned(CannedAcl::BucketOwnerFullControl) => true,
                AskedAcl::Canned(_) => false,
                AskedAcl::Grants(grants) => grants.iter().all(|g| {
                    g.permission == Permission::FullControl
                        && matches!(&g.grantee, Grantee::CanonicalUser(id) if *id == self.owner.canonical_id)
                }),
            };
            if !bucket_owner_full_control {
                return Err(S3Error::new(ErrorCode::AccessControlListNotSupported, ""));
            }
            return Ok(Acl::canned(CannedAcl::Private, &self.owner, &self.owner));
        }
        let owner = match (writer.principal(), &asked) {
            (None, _) => &self.owner,
            (Some(_), AskedAcl::Canned(CannedAcl::BucketOwnerFullControl))
                if self.ownership == ObjectOwnership::BucketOwnerPreferred =>
            {
                &self.owner
            }
            (Some(p), _) => p,
        };
        let acl = match asked {
            AskedAcl::Unspecified => Acl::canned(CannedAcl::Private, owner, &self.owner),
            AskedAcl::Canned(canned) => Acl::canned(canned, owner, &self.owner),
            AskedAcl::Grants(grants) => Acl {
                owner: owner.clone(),
                grants,
            },
        };
        self.check_public_acl(&acl)?;
        Ok(acl)
    }

    /// Whether PutBucketAcl or PutObjectAcl may set `acl` here: not with
    /// ACLs disabled (`AccessControlListNotSupported`, 400), and not a
    /// public one under `BlockPublicAcls` (`AccessDenied`, 403).
    pub fn check_acl_put(&self, acl: &Acl) -> Result<()> {
        if self.ownership.acls_disabled() {
            return Err(S3Error::new(ErrorCode::AccessControlListNotSupported, ""));
        }
        self.check_public_acl(acl)
    }

    /// `BlockPublicAcls`: `AccessDenied` for a public ACL.
    fn check_public_acl(&self, acl: &Acl) -> Result<()> {
        if self.public_access.block_public_acls && acl.is_public() {
            return Err(S3Error::with_message(
                ErrorCode::AccessDenied,
                "Access Denied: the bucket's Block Public Access settings refuse public ACLs",
                "",
            ));
        }
        Ok(())
    }

    /// Whether PutBucketPolicy may set `policy` here: not a public one
    /// under `BlockPublicPolicy` (`AccessDenied`, 403).
    pub fn check_policy_put(&self, policy: &BucketPolicy) -> Result<()> {
        if self.public_access.block_public_policy && policy.is_public() {
            return Err(S3Error::with_message(
                ErrorCode::AccessDenied,
                "Access Denied: the bucket's Block Public Access settings refuse public policies",
                "",
            ));
        }
        Ok(())
    }

    /// GetBucketPolicyStatus's `IsPublic`: whether the bucket's policy is
    /// public and in force as such (not under `RestrictPublicBuckets`,
    /// which confines it to the owner's account); `None` without a policy.
    pub fn policy_is_public(&self) -> Option<bool> {
        self.policy
            .as_ref()
            .map(|p| p.is_public() && !self.public_access.restrict_public_buckets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucket_policy::PolicyVerdict;
    use crate::info::PublicAccessBlock;
    use crate::model::{AccountId, BucketName, CanonicalId, Principal};
    use std::sync::Arc;

    fn user(id: &str, account: &str) -> Principal {
        Principal::new(
            CanonicalId::new(id).unwrap(),
            AccountId::new(account).unwrap(),
        )
    }

    /// (settings, ownership, canned ACL asked, writer is the bucket owner)
    /// → the answer's code, or the owner's canonical ID.
    #[test]
    fn new_object_acls_by_ownership_and_block_public_acls() {
        use CannedAcl::*;
        use ObjectOwnership::*;
        let alice = user("alice", "111122223333");
        let bob = user("bob", "444455556666");
        let blocked = PublicAccessBlock {
            block_public_acls: true,
            ..PublicAccessBlock::default()
        };
        let none = PublicAccessBlock::default();
        for (settings, ownership, asked, writer, expect) in [
            (none, ObjectWriter, None, Some(&bob), "bob"),
            (
                none,
                ObjectWriter,
                Some(BucketOwnerFullControl),
                Some(&bob),
                "bob",
            ),
            (none, ObjectWriter, Some(PublicRead), None, "alice"),
            (
                none,
                BucketOwnerPreferred,
                Some(BucketOwnerFullControl),
                Some(&bob),
                "alice",
            ),
            (none, BucketOwnerPreferred, Some(Private), Some(&bob), "bob"),
            (none, BucketOwnerPreferred, None, Some(&bob), "bob"),
            (none, BucketOwnerEnforced, None, Some(&bob), "alice"),
            (
                none,
                BucketOwnerEnforced,
                Some(BucketOwnerFullControl),
                Some(&bob),
                "alice",
            ),
            (
                none,
                BucketOwnerEnforced,
                Some(Private),
                Some(&bob),
                "AccessControlListNotSupported",
            ),
            (
                none,
                BucketOwnerEnforced,
                Some(PublicRead),
                Some(&alice),
                "AccessControlListNotSupported",
            ),
            (
                blocked,
                ObjectWriter,
                Some(PublicRead),
                Some(&bob),
                "AccessDenied",
            ),
            (
                blocked,
                ObjectWriter,
                Some(AuthenticatedRead),
                Some(&bob),
                "AccessDenied",
            ),
            (
                blocked,
                ObjectWriter,
                Some(PublicReadWrite),
                None,
                "AccessDenied",
            ),
            (blocked, ObjectWriter, Some(Private), Some(&bob), "bob"),
            (
                blocked,
                ObjectWriter,
                Some(BucketOwnerRead),
                Some(&bob),
                "bob",
            ),
            (blocked, BucketOwnerEnforced, None, Some(&bob), "alice"),
        ] {
            let mut bucket = BucketInfo::new(BucketName::new("b-1").unwrap(), alice.clone());
            bucket.ownership = ownership;
            bucket.public_access = settings;
            let writer = writer.map_or(Requester::Anonymous, |p| {
                Requester::Authenticated(p.clone())
            });
            let asked = asked.map_or(AskedAcl::Unspecified, AskedAcl::Canned);
            let got = match bucket.new_object_acl(&writer, asked.clone()) {
                Ok(acl) => acl.owner.canonical_id.to_string(),
                Err(e) => e.code().as_str().to_owned(),
            };
            assert_eq!(
                got, expect,
                "{settings:?} {ownership:?} {asked:?} {writer:?}"
            );
        }
        // Grants of FULL_CONTROL to the bucket owner are
        // bucket-owner-full-control spelled out; anything more is an ACL.
        let mut bucket = BucketInfo::new(BucketName::new("b-1").unwrap(), alice.clone());
        bucket.ownership = BucketOwnerEnforced;
        let to =
            |p: &Principal, perm| Grant::new(Grantee::CanonicalUser(p.canonical_id.clone()), perm);
        let writer = Requester::Authenticated(bob.clone());
        assert!(
            bucket
                .new_object_acl(
                    &writer,
                    AskedAcl::Grants(vec![to(&alice, Permission::FullControl)])
                )
                .is_ok()
        );
        for grants in [
            vec![to(&alice, Permission::Read)],
            vec![
                to(&alice, Permission::FullControl),
                to(&bob, Permission::FullControl),
            ],
        ] {
            let err = bucket
                .new_object_acl(&writer, AskedAcl::Grants(grants))
                .unwrap_err();
            assert_eq!(err.code(), ErrorCode::AccessControlListNotSupported);
        }
    }

    #[test]
    fn acls_count_unless_disabled_or_public_and_ignored() {
        let alice = user("alice", "111122223333");
        let bob = user("bob", "444455556666");
        let mut acl = Acl::canned(CannedAcl::AuthenticatedRead, &alice, &alice);
        acl.grants.push(Grant::new(
            Grantee::CanonicalUser(bob.canonical_id.clone()),
            Permission::WriteAcp,
        ));
        let signed = Requester::Authenticated(bob.clone());
        let ignored = PublicAccessBlock {
            ignore_public_acls: true,
            ..PublicAccessBlock::default()
        };
        // (ownership, settings, permission) → whether bob is granted it.
        for (ownership, settings, permission, allowed) in [
            (
                ObjectOwnership::ObjectWriter,
                PublicAccessBlock::default(),
                Permission::Read,
                true,
            ),
            (
                ObjectOwnership::ObjectWriter,
                ignored,
                Permission::Read,
                false,
            ),
            (
                ObjectOwnership::ObjectWriter,
                ignored,
                Permission::WriteAcp,
                true,
            ),
            (
                ObjectOwnership::BucketOwnerPreferred,
                ignored,
                Permission::WriteAcp,
                true,
            ),
            (
                ObjectOwnership::BucketOwnerEnforced,
                PublicAccessBlock::default(),
                Permission::Read,
                false,
            ),
            (
                ObjectOwnership::BucketOwnerEnforced,
                PublicAccessBlock::default(),
                Permission::WriteAcp,
                false,
            ),
        ] {
            let mut bucket = BucketInfo::new(BucketName::new("b-1").unwrap(), alice.clone());
            bucket.ownership = ownership;
            bucket.public_access = settings;
            assert_eq!(
                bucket.acl_allows(&acl, &signed, permission),
                allowed,
                "{ownership:?} {settings:?} {permission:?}"
            );
        }
    }

    #[test]
    fn restrict_public_buckets_confines_a_public_policy_to_the_owners_account() {
        let alice = user("alice", "111122223333");
        let alice_colleague = user("carol", "111122223333");
        let bob = user("bob", "444455556666");
        let name = BucketName::new("b-1").unwrap();
        let public = BucketPolicy::parse(
            r#"{"Statement":[
                {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b-1/*"},
                {"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b-1/*"},
                {"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b-1/secret"}]}"#,
            &name,
        )
        .unwrap();
        let named = BucketPolicy::parse(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b-1/*"}}"#,
            &name,
        )
        .unwrap();
        let anonymous = Requester::Anonymous;
        let bob = Requester::Authenticated(bob);
        let colleague = Requester::Authenticated(alice_colleague);
        // (policy, restrict, who, action, key) → verdict.
        use PolicyVerdict::*;
        for (policy, restrict, who, action, key, verdict) in [
            (&public, false, &anonymous, "s3:GetObject", "a", Allow),
            (&public, true, &anonymous, "s3:GetObject", "a", NoOpinion),
            (&public, true, &colleague, "s3:GetObject", "a", Allow),
            (&public, true, &anonymous, "s3:GetObject", "secret", Deny),
            // Delegation to a named account is blocked too while the
            // policy is public ...
            (&public, false, &bob, "s3:PutObject", "a", Allow),
            (&public, true, &bob, "s3:PutObject", "a", NoOpinion),
            // ... and stands in a policy that is not public.
            (&named, true, &bob, "s3:PutObject", "a", Allow),
        ] {
            let mut bucket = BucketInfo::new(name.clone(), alice.clone());
            bucket.policy = Some(Arc::new(policy.clone()));
            bucket.public_access.restrict_public_buckets = restrict;
            assert_eq!(
                bucket.policy_verdict(who, action, Some(key), &Default::default()),
                verdict,
                "{restrict} {who:?} {action} {key}"
            );
        }
        let mut bucket = BucketInfo::new(name.clone(), alice);
        assert_eq!(bucket.policy_is_public(), None);
        bucket.policy = Some(Arc::new(public.clone()));
        assert_eq!(bucket.policy_is_public(), Some(true));
        bucket.public_access.restrict_public_buckets = true;
        assert_eq!(bucket.policy_is_public(), Some(false));
        bucket.policy = Some(Arc::new(named));
        assert_eq!(bucket.policy_is_public(), Some(false));
    }

    #[test]
    fn blocked_puts() {
        let alice = user("alice", "111122223333");
        let name = BucketName::new("b-1").unwrap();
        let public = BucketPolicy::parse(
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b-1/*"}}"#,
            &name,
        )
        .unwrap();
        let mut bucket = BucketInfo::new(name, alice.clone());
        let public_acl = Acl::canned(CannedAcl::PublicRead, &alice, &alice);
        let private_acl = Acl::canned(CannedAcl::Private, &alice, &alice);
        assert!(bucket.check_policy_put(&public).is_ok());
        assert!(bucket.check_acl_put(&public_acl).is_ok());
        bucket.public_access = PublicAccessBlock::ALL;
        assert_eq!(
            bucket.check_policy_put(&public).unwrap_err().code(),
            ErrorCode::AccessDenied
        );
        assert_eq!(
            bucket.check_acl_put(&public_acl).unwrap_err().code(),
            ErrorCode::AccessDenied
        );
        assert!(bucket.check_acl_put(&private_acl).is_ok());
        bucket.ownership = ObjectOwnership::BucketOwnerEnforced;
        assert_eq!(
            bucket.check_acl_put(&private_acl).unwrap_err().code(),
            ErrorCode::AccessControlListNotSupported
        );
        // Every object is the bucket owner's, FULL_CONTROL only.
        let bob = user("bob", "444455556666");
        let bobs = Acl::canned(CannedAcl::PublicReadWrite, &bob, &alice);
        assert_eq!(
            bucket.effective_object_acl(bobs),
            Acl::canned(CannedAcl::Private, &alice, &alice)
        );
    }
}
