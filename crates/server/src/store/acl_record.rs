//! ACLs as the database keeps them: a typed, versioned record of the grants
//! (the owner is the record's own `owner`), not a canned name parsed back.
//!
//! Records written before version 1 hold a canned ACL's name; they still
//! read, expanded against the owner and the bucket owner as they were
//! written. A record that holds neither is an error, never "private".

use s3torrent_s3::{Acl, CannedAcl, CanonicalId, Grant, Grantee, Permission, Principal};
use serde::{Deserialize, Serialize};

use super::{StoreError, internal};

/// The version [`StoredAcl::from_acl`] writes.
const VERSION: u32 = 1;

/// An ACL field: the grants (version 1), or a canned name from before.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub(crate) enum StoredAcl {
    /// `{"grants": [...], "v": 1}`.
    Grants(AclV1),
    /// A canned ACL's `x-amz-acl` name.
    Canned(String),
}

/// A string is an old canned name, a dictionary the grants: decided on the
/// value's own kind, so that the grants deserialize unbuffered.
impl<'de> Deserialize<'de> for StoredAcl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = StoredAcl;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a canned ACL's name or a dictionary of grants")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<StoredAcl, E> {
                Ok(StoredAcl::Canned(v.to_owned()))
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<StoredAcl, E> {
                std::str::from_utf8(v)
                    .map(|s| StoredAcl::Canned(s.to_owned()))
                    .map_err(|_| E::custom("a canned ACL's name is not UTF-8"))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<StoredAcl, A::Error> {
                AclV1::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(StoredAcl::Grants)
            }
        }
        d.deserialize_any(Either)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct AclV1 {
    v: u32,
    grants: Vec<StoredGrant>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct StoredGrant {
    grantee: StoredGrantee,
    permission: StoredPermission,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
enum StoredGrantee {
    /// A canonical user ID.
    User(String),
    AllUsers,
    AuthenticatedUsers,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
enum StoredPermission {
    Read,
    Write,
    ReadAcp,
    WriteAcp,
    FullControl,
}

impl StoredAcl {
    /// The record of an ACL's grants.
    pub(crate) fn from_acl(acl: &Acl) -> StoredAcl {
        let grants = acl
            .grants
            .iter()
            .map(|g| StoredGrant {
                grantee: match &g.grantee {
                    Grantee::CanonicalUser(id) => StoredGrantee::User(id.to_string()),
                    Grantee::AllUsers => StoredGrantee::AllUsers,
                    Grantee::AuthenticatedUsers | _ => StoredGrantee::AuthenticatedUsers,
                },
                permission: match g.permission {
                    Permission::Read => StoredPermission::Read,
                    Permission::Write => StoredPermission::Write,
                    Permission::ReadAcp => StoredPermission::ReadAcp,
                    Permission::WriteAcp => StoredPermission::WriteAcp,
                    Permission::FullControl => StoredPermission::FullControl,
                },
            })
            .collect();
        StoredAcl::Grants(AclV1 { v: VERSION, grants })
    }

    /// The record of a canned ACL, expanded now.
    pub(crate) fn canned(canned: CannedAcl, owner: &Principal, bucket_owner: &Principal) -> Self {
        StoredAcl::from_acl(&Acl::canned(canned, owner, bucket_owner))
    }

    /// The ACL of a resource owned by `owner` in a bucket owned by
    /// `bucket_owner` (for a bucket, its owner twice).
    pub(crate) fn to_acl(
        &self,
        owner: &Principal,
        bucket_owner: &Principal,
    ) -> Result<Acl, StoreError> {
        match self {
            StoredAcl::Canned(name) => {
                let canned: CannedAcl = name
                    .parse()
                    .map_err(|_| internal(format!("a stored ACL names no canned ACL: {name:?}")))?;
                Ok(Acl::canned(canned, owner, bucket_owner))
            }
            StoredAcl::Grants(v1) => {
                if v1.v != VERSION {
                    return Err(internal(format!("a stored ACL of version {}", v1.v)));
                }
                let mut grants = Vec::with_capacity(v1.grants.len());
                for g in &v1.grants {
                    let grantee = match &g.grantee {
                        StoredGrantee::User(id) => Grantee::CanonicalUser(
                            CanonicalId::new(id.clone())
                                .map_err(|e| internal(format!("a stored ACL: {e}")))?,
                        ),
                        StoredGrantee::AllUsers => Grantee::AllUsers,
                        StoredGrantee::AuthenticatedUsers => Grantee::AuthenticatedUsers,
                    };
                    let permission = match g.permission {
                        StoredPermission::Read => Permission::Read,
                        StoredPermission::Write => Permission::Write,
                        StoredPermission::ReadAcp => Permission::ReadAcp,
                        StoredPermission::WriteAcp => Permission::WriteAcp,
                        StoredPermission::FullControl => Permission::FullControl,
                    };
                    grants.push(Grant::new(grantee, permission));
                }
                Ok(Acl {
                    owner: owner.clone(),
                    grants,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use s3torrent_bencode as bencode;
    use s3torrent_s3::AccountId;

    use super::*;

    fn alice() -> Principal {
        Principal::new(
            CanonicalId::new("alice").unwrap(),
            AccountId::new("111122223333").unwrap(),
        )
    }

    #[test]
    fn grants_round_trip_and_old_canned_records_read() {
        let owner = alice();
        let mut acl = Acl::canned(CannedAcl::PublicReadWrite, &owner, &owner);
        acl.grants
            .push(Grant::new(Grantee::AuthenticatedUsers, Permission::ReadAcp));
        let bytes = bencode::to_vec(&StoredAcl::from_acl(&acl)).unwrap();
        let back: StoredAcl = bencode::from_bytes(&bytes).unwrap();
        assert_eq!(back.to_acl(&owner, &owner).unwrap(), acl);

        let old: StoredAcl = bencode::from_bytes(b"11:public-read").unwrap();
        assert_eq!(
            old.to_acl(&owner, &owner).unwrap(),
            Acl::canned(CannedAcl::PublicRead, &owner, &owner)
        );
        let junk: StoredAcl = bencode::from_bytes(b"4:junk").unwrap();
        assert!(junk.to_acl(&owner, &owner).is_err());
    }
}
