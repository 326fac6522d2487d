//! The decision honours grants, not only canned ACLs: a grant to one
//! canonical user, to a group, of READ, READ_ACP or FULL_CONTROL; and the
//! `x-amz-grant-*` header parser. Expected answers are written out here.

use s3torrent_s3::{
    AccountId, Acl, BucketInfo, BucketName, CanonicalId, Grant, Grantee, GranteeName, ObjectInfo,
    ObjectKey, ObjectLookup, ObjectOwnership, Permission, Principal, Requester, TorrentPolicy,
    TorrentRequest, decide, parse_grant_header,
};

fn principal(canonical: &str, account: &str) -> Principal {
    Principal::new(
        CanonicalId::new(canonical).unwrap(),
        AccountId::new(account).unwrap(),
    )
}

/// The code of `decide` for `who` reading an object with these grants
/// ("ok" for a plan).
fn answer(who: &Requester, grants: Vec<Grant>, ownership: ObjectOwnership) -> &'static str {
    let owner = principal("owner", "111122223333");
    let mut bucket = BucketInfo::new(BucketName::new("bkt").unwrap(), owner.clone());
    bucket.ownership = ownership;
    let mut object = ObjectInfo::new(ObjectKey::new("k").unwrap(), 10, "etag", &owner);
    object.acl = Acl {
        owner: owner.clone(),
        grants,
    };
    let req = TorrentRequest::new("bkt", "k", who.clone());
    match decide(
        &req,
        Some(&bucket),
        &ObjectLookup::Found(object),
        &TorrentPolicy::default(),
    ) {
        Ok(_) => "ok",
        Err(e) => e.code().as_str(),
    }
}

#[test]
fn grants_decide_reads() {
    let bob = Requester::Authenticated(principal("bob", "444455556666"));
    let carol = Requester::Authenticated(principal("carol", "777788889999"));
    let anonymous = Requester::Anonymous;
    let to = |grantee: Grantee, p: Permission| vec![Grant::new(grantee, p)];
    let bob_id = || Grantee::CanonicalUser(CanonicalId::new("bob").unwrap());
    let rows: Vec<(&Requester, Vec<Grant>, &str)> = vec![
        (&bob, to(bob_id(), Permission::Read), "ok"),
        (&carol, to(bob_id(), Permission::Read), "AccessDenied"),
        (&anonymous, to(bob_id(), Permission::Read), "AccessDenied"),
        (&bob, to(bob_id(), Permission::FullControl), "ok"),
        (&bob, to(bob_id(), Permission::ReadAcp), "AccessDenied"),
        (&bob, to(bob_id(), Permission::Write), "AccessDenied"),
        (
            &carol,
            to(Grantee::AuthenticatedUsers, Permission::Read),
            "ok",
        ),
        (
            &anonymous,
            to(Grantee::AuthenticatedUsers, Permission::Read),
            "AccessDenied",
        ),
        (&anonymous, to(Grantee::AllUsers, Permission::Read), "ok"),
        (&anonymous, vec![], "AccessDenied"),
    ];
    for (who, grants, expected) in rows {
        let what = format!("{who:?} {grants:?}");
        assert_eq!(
            answer(who, grants, ObjectOwnership::ObjectWriter),
            expected,
            "{what}"
        );
    }
    // With ACLs disabled, a grant gives nothing.
    assert_eq!(
        answer(
            &bob,
            to(bob_id(), Permission::Read),
            ObjectOwnership::BucketOwnerEnforced
        ),
        "AccessDenied"
    );
}

#[test]
fn grant_headers_parse_as_s3_writes_them() {
    let all = "http://acs.amazonaws.com/groups/global/AllUsers";
    assert_eq!(
        parse_grant_header(&format!(
            "id=\"abc\", uri=\"{all}\",emailAddress=\"x@example.com\""
        ))
        .unwrap(),
        [
            GranteeName::Id("abc".into()),
            GranteeName::Uri(all.into()),
            GranteeName::EmailAddress("x@example.com".into()),
        ]
    );
    assert_eq!(
        parse_grant_header("ID=abc").unwrap(),
        [GranteeName::Id("abc".into())]
    );
    for bad in [
        "",
        "abc",
        "id=",
        "id=\"abc",
        "name=\"abc\"",
        "id=\"a\" junk",
        "id=\"a\",",
    ] {
        assert!(parse_grant_header(bad).is_err(), "{bad:?}");
    }
    let long = format!("id=\"{}\"", "a".repeat(10_000));
    assert!(parse_grant_header(&long).is_err());
    assert_eq!(Grantee::from_group_uri(all), Some(Grantee::AllUsers));
    assert_eq!(Grantee::from_group_uri("http://example.com/"), None);
    assert_eq!(
        Permission::from_name("WRITE_ACP"),
        Some(Permission::WriteAcp)
    );
    assert_eq!(Permission::from_name("write_acp"), None);
}
