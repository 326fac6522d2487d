//! Access control lists, canned ACLs and object ownership.

use crate::error::{ErrorCode, Result, S3Error};
use crate::model::{CanonicalId, Principal, Requester};

/// Who a grant is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Grantee {
    /// One canonical user.
    CanonicalUser(CanonicalId),
    /// `http://acs.amazonaws.com/groups/global/AllUsers`: everyone, anonymous too.
    AllUsers,
    /// `http://acs.amazonaws.com/groups/global/AuthenticatedUsers`: anyone who signs.
    AuthenticatedUsers,
}

impl Grantee {
    /// The group URI S3 writes for a group grantee.
    pub const ALL_USERS_URI: &'static str = "http://acs.amazonaws.com/groups/global/AllUsers";
    /// The group URI for authenticated users.
    pub const AUTHENTICATED_USERS_URI: &'static str =
        "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

    /// The group a group URI names (`AllUsers`, `AuthenticatedUsers`).
    pub fn from_group_uri(uri: &str) -> Option<Grantee> {
        match uri {
            Grantee::ALL_USERS_URI => Some(Grantee::AllUsers),
            Grantee::AUTHENTICATED_USERS_URI => Some(Grantee::AuthenticatedUsers),
            _ => None,
        }
    }

    /// The URI of a group grantee; `None` for a user.
    pub fn group_uri(&self) -> Option<&'static str> {
        match self {
            Grantee::AllUsers => Some(Grantee::ALL_USERS_URI),
            Grantee::AuthenticatedUsers => Some(Grantee::AUTHENTICATED_USERS_URI),
            Grantee::CanonicalUser(_) => None,
        }
    }

    /// Whether S3 counts a grant to this grantee as public (the
    /// `AllUsers` and `AuthenticatedUsers` groups): what Block Public
    /// Access blocks and ignores.
    pub fn is_public(&self) -> bool {
        matches!(self, Grantee::AllUsers | Grantee::AuthenticatedUsers)
    }

    /// Whether the grant covers this requester.
    pub fn covers(&self, requester: &Requester) -> bool {
        match (self, requester) {
            (Grantee::AllUsers, _) => true,
            (Grantee::AuthenticatedUsers, Requester::Authenticated(_)) => true,
            (Grantee::CanonicalUser(id), Requester::Authenticated(p)) => *id == p.canonical_id,
            _ => false,
        }
    }
}

/// What a grant allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read the object (or list the bucket).
    Read,
    /// Write (buckets: create and delete objects).
    Write,
    /// Read the ACL.
    ReadAcp,
    /// Write the ACL.
    WriteAcp,
    /// All of the above.
    FullControl,
}

impl Permission {
    /// All of them, in the order S3 documents them.
    pub const ALL: [Permission; 5] = [
        Permission::FullControl,
        Permission::Write,
        Permission::WriteAcp,
        Permission::Read,
        Permission::ReadAcp,
    ];

    /// The permission `<Permission>` names (`READ`, `WRITE`, `READ_ACP`,
    /// `WRITE_ACP`, `FULL_CONTROL`), if it is one.
    pub fn from_name(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The name S3 writes in `<Permission>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "READ",
            Permission::Write => "WRITE",
            Permission::ReadAcp => "READ_ACP",
            Permission::WriteAcp => "WRITE_ACP",
            Permission::FullControl => "FULL_CONTROL",
        }
    }

    /// Whether a grant of `self` allows `wanted`.
    pub fn allows(self, wanted: Permission) -> bool {
        self == Permission::FullControl || self == wanted
    }
}

/// One grant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grant {
    /// Who.
    pub grantee: Grantee,
    /// What.
    pub permission: Permission,
}

impl Grant {
    /// A grant.
    pub fn new(grantee: Grantee, permission: Permission) -> Self {
        Grant {
            grantee,
            permission,
        }
    }
}

/// An access control list: the resource's owner and its grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// The owner.
    pub owner: Principal,
    /// The grants.
    pub grants: Vec<Grant>,
}

impl Acl {
    /// Whether the grants allow `requester` the `permission`.
    pub fn allows(&self, requester: &Requester, permission: Permission) -> bool {
        self.grants
            .iter()
            .any(|g| g.permission.allows(permission) && g.grantee.covers(requester))
    }

    /// The ACL a canned ACL expands to, for an object owned by `owner` in a
    /// bucket owned by `bucket_owner`. For a bucket, pass its owner twice.
    pub fn canned(canned: CannedAcl, owner: &Principal, bucket_owner: &Principal) -> Acl {
        let user = |p: &Principal| Grantee::CanonicalUser(p.canonical_id.clone());
        let mut grants = vec![Grant::new(user(owner), Permission::FullControl)];
        match canned {
            CannedAcl::Private => {}
            CannedAcl::PublicRead => grants.push(Grant::new(Grantee::AllUsers, Permission::Read)),
            CannedAcl::PublicReadWrite => {
                grants.push(Grant::new(Grantee::AllUsers, Permission::Read));
                grants.push(Grant::new(Grantee::AllUsers, Permission::Write));
            }
            CannedAcl::AuthenticatedRead => {
                grants.push(Grant::new(Grantee::AuthenticatedUsers, Permission::Read))
            }
            CannedAcl::BucketOwnerRead if bucket_owner != owner => {
                grants.push(Grant::new(user(bucket_owner), Permission::Read))
            }
            CannedAcl::BucketOwnerFullControl if bucket_owner != owner => {
                grants.push(Grant::new(user(bucket_owner), Permission::FullControl))
            }
            CannedAcl::BucketOwnerRead | CannedAcl::BucketOwnerFullControl => {}
        }
        Acl {
            owner: owner.clone(),
            grants,
        }
    }

    /// Whether anyone at all, anonymous included, may read.
    pub fn is_public_read(&self) -> bool {
        self.allows(&Requester::Anonymous, Permission::Read)
    }

    /// Whether S3 counts the ACL as public: it grants any permission to
    /// the `AllUsers` or `AuthenticatedUsers` group.
    ///
    /// ```
    /// use s3torrent_s3::*;
    ///
    /// let owner = Principal::new(CanonicalId::new("alice")?, AccountId::new("111122223333")?);
    /// assert!(Acl::canned(CannedAcl::AuthenticatedRead, &owner, &owner).is_public());
    /// assert!(!Acl::canned(CannedAcl::BucketOwnerFullControl, &owner, &owner).is_public());
    /// # Ok::<(), S3Error>(())
    /// ```
    pub fn is_public(&self) -> bool {
        self.grants.iter().any(|g| g.grantee.is_public())
    }

    /// Whether every grant is to the owner: what a bucket's ACL must be
    /// before its ACLs can be disabled.
    pub fn grants_only_owner(&self) -> bool {
        self.grants.iter().all(
            |g| matches!(&g.grantee, Grantee::CanonicalUser(id) if *id == self.owner.canonical_id),
        )
    }
}

/// A grantee as a request names it (an `x-amz-grant-*` header or an
/// `AccessControlPolicy`), before the host resolves it to a [`Grantee`]:
/// only the host knows its users and their email addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GranteeName {
    /// `id="…"`: a canonical user ID.
    Id(String),
    /// `uri="…"`: a group.
    Uri(String),
    /// `emailAddress="…"`.
    EmailAddress(String),
}

/// The longest `x-amz-grant-*` value [`parse_grant_header`] reads.
pub const MAX_GRANT_HEADER: usize = 8 * 1024;

/// Parses an `x-amz-grant-read`, `-write`, `-read-acp`, `-write-acp` or
/// `-full-control` header: comma-separated `type="value"` pairs where the
/// type is `id`, `uri` or `emailAddress` (any case; the quotes may be left
/// out), as in `id="79a5…", uri="http://acs.amazonaws.com/groups/global/AllUsers"`.
/// Linear in the value; `InvalidArgument` naming the offending pair for
/// anything else, an empty value or one longer than [`MAX_GRANT_HEADER`].
///
/// ```
/// use s3torrent_s3::{GranteeName, parse_grant_header};
///
/// let names = parse_grant_header(r#"id="abc", uri=http://acs.amazonaws.com/groups/global/AllUsers"#)?;
/// assert_eq!(names[0], GranteeName::Id("abc".into()));
/// assert!(parse_grant_header("nobody").is_err());
/// # Ok::<(), s3torrent_s3::S3Error>(())
/// ```
pub fn parse_grant_header(value: &str) -> Result<Vec<GranteeName>> {
    let bad = |what: &str| {
        S3Error::with_message(
            ErrorCode::InvalidArgument,
            format!("Invalid grant header: {what}"),
            "",
        )
    };
    if value.len() > MAX_GRANT_HEADER {
        return Err(bad("the value is too long"));
    }
    let mut out = Vec::new();
    let mut rest = value.trim();
    if rest.is_empty() {
        return Err(bad("no grantee"));
    }
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| bad(&format!("{rest:?} is not type=\"value\"")))?;
        let name = name.trim();
        let after = after.trim_start();
        let (text, tail) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted
                    .find('"')
                    .ok_or_else(|| bad(&format!("an unclosed quote after {name}=")))?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => match after.find(',') {
                Some(end) => (after[..end].trim_end(), &after[end..]),
                None => (after.trim_end(), ""),
            },
        };
        if text.is_empty() {
            return Err(bad(&format!("an empty {name}")));
        }
        let text = text.to_owned();
        out.push(if name.eq_ignore_ascii_case("id") {
            GranteeName::Id(text)
        } else if name.eq_ignore_ascii_case("uri") {
            GranteeName::Uri(text)
        } else if name.eq_ignore_ascii_case("emailAddress") {
            GranteeName::EmailAddress(text)
        } else {
            return Err(bad(&format!("unknown grantee type {name:?}")));
        });
        let tail = tail.trim_start();
        rest = match tail.strip_prefix(',') {
            Some(next) if next.trim().is_empty() => return Err(bad("a trailing comma")),
            Some(next) => next.trim_start(),
            None if tail.is_empty() => "",
            None => return Err(bad(&format!("{tail:?} after a grantee"))),
        };
    }
    Ok(out)
}

/// S3's canned ACLs, as `x-amz-acl` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CannedAcl {
    /// `private`: the owner has full control; nobody else has access.
    Private,
    /// `public-read`: and everyone may read.
    PublicRead,
    /// `public-read-write`: and everyone may read and write.
    PublicReadWrite,
    /// `authenticated-read`: and any signed request may read.
    AuthenticatedRead,
    /// `bucket-owner-read`: and the bucket owner may read.
    BucketOwnerRead,
    /// `bucket-owner-full-control`: and the bucket owner has full control.
    BucketOwnerFullControl,
}

impl CannedAcl {
    /// All of them.
    pub const ALL: [CannedAcl; 6] = [
        CannedAcl::Private,
        CannedAcl::PublicRead,
        CannedAcl::PublicReadWrite,
        CannedAcl::AuthenticatedRead,
        CannedAcl::BucketOwnerRead,
        CannedAcl::BucketOwnerFullControl,
    ];

    /// The `x-amz-acl` value.
    pub fn as_str(self) -> &'static str {
        match self {
            CannedAcl::Private => "private",
            CannedAcl::PublicRead => "public-read",
            CannedAcl::PublicReadWrite => "public-read-write",
            CannedAcl::AuthenticatedRead => "authenticated-read",
            CannedAcl::BucketOwnerRead => "bucket-owner-read",
            CannedAcl::BucketOwnerFullControl => "bucket-owner-full-control",
        }
    }
}

impl std::str::FromStr for CannedAcl {
    type Err = S3Error;

    fn from_str(s: &str) -> Result<Self> {
        CannedAcl::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                S3Error::with_message(
                    ErrorCode::InvalidArgument,
                    format!("{s:?} is not a canned ACL"),
                    "",
                )
            })
    }
}

/// A bucket's object ownership setting (S3 Object Ownership). A bucket
/// without ownership controls behaves as [`ObjectOwnership::ObjectWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ObjectOwnership {
    /// ACLs apply; the writer owns the objects it writes.
    #[default]
    ObjectWriter,
    /// ACLs apply; objects written with `bucket-owner-full-control` belong to the bucket owner.
    BucketOwnerPreferred,
    /// ACLs are disabled: grants are ignored and the bucket owner's account
    /// owns and controls every object (S3's default for new buckets since 2023).
    BucketOwnerEnforced,
}

impl ObjectOwnership {
    /// All of them.
    pub const ALL: [ObjectOwnership; 3] = [
        ObjectOwnership::ObjectWriter,
        ObjectOwnership::BucketOwnerPreferred,
        ObjectOwnership::BucketOwnerEnforced,
    ];

    /// The name S3 writes (`x-amz-object-ownership`, `<ObjectOwnership>`).
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectOwnership::ObjectWriter => "ObjectWriter",
            ObjectOwnership::BucketOwnerPreferred => "BucketOwnerPreferred",
            ObjectOwnership::BucketOwnerEnforced => "BucketOwnerEnforced",
        }
    }

    /// Whether the bucket's ACLs are disabled (`BucketOwnerEnforced`).
    pub fn acls_disabled(self) -> bool {
        self == ObjectOwnership::BucketOwnerEnforced
    }

    /// Whether a bucket whose ACL is `acl` may have this setting: with ACLs
    /// disabled, the bucket's ACL must grant nobody but its owner, else
    /// `InvalidBucketAclWithObjectOwnership` (400), at CreateBucket as at
    /// PutBucketOwnershipControls.
    ///
    /// ```
    /// use s3torrent_s3::*;
    ///
    /// let owner = Principal::new(CanonicalId::new("alice")?, AccountId::new("111122223333")?);
    /// let public = Acl::canned(CannedAcl::PublicRead, &owner, &owner);
    /// let err = ObjectOwnership::BucketOwnerEnforced.check_bucket_acl(&public).unwrap_err();
    /// assert_eq!(err.code(), ErrorCode::InvalidBucketAclWithObjectOwnership);
    /// assert!(ObjectOwnership::BucketOwnerPreferred.check_bucket_acl(&public).is_ok());
    /// # Ok::<(), S3Error>(())
    /// ```
    pub fn check_bucket_acl(self, acl: &Acl) -> Result<()> {
        if self.acls_disabled() && !acl.grants_only_owner() {
            return Err(S3Error::new(
                ErrorCode::InvalidBucketAclWithObjectOwnership,
                "",
            ));
        }
        Ok(())
    }
}

impl std::str::FromStr for ObjectOwnership {
    type Err = S3Error;

    /// `InvalidArgument` for a name that is none of the three.
    fn from_str(s: &str) -> Result<Self> {
        ObjectOwnership::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| {
                S3Error::with_message(
                    ErrorCode::InvalidArgument,
                    format!("{s:?} is not an object ownership setting"),
                    "",
                )
            })
    }
}
