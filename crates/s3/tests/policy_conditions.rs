//! Bucket-policy conditions over the request's and the object's facts:
//! random statements with random conditions (`StringEquals`,
//! `StringNotEquals`, `StringEqualsIgnoreCase`, `StringLike`,
//! `StringNotLike`, `Null`; the `ForAllValues:`/`ForAnyValue:` prefixes and
//! `…IfExists`) over random request contexts agree with a model written
//! here from IAM's evaluation rules, case by case (a missing key, a key
//! with several values); then a table of S3's condition keys as a host
//! fills them (`s3:ExistingObjectTag/…`, `s3:RequestObjectTag/…`,
//! `s3:RequestObjectTagKeys`, `s3:x-amz-acl`, …), and hostile contexts.

use std::collections::BTreeMap;

use proptest::prelude::*;
use s3torrent_s3::{
    BucketName, BucketPolicy, ConditionContext, MAX_CONTEXT_KEYS, ObjectInfo, PolicyVerdict,
    Requester,
};

const KEYS: [&str; 3] = [
    "s3:x-amz-acl",
    "s3:RequestObjectTagKeys",
    "s3:ExistingObjectTag/team",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Equals,
    NotEquals,
    EqualsIgnoreCase,
    Like,
    NotLike,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Set {
    Single,
    ForAll,
    ForAny,
}

/// One condition: `{"<set><op><IfExists>": {"<key>": [values]}}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Cond {
    set: Set,
    op: Op,
    if_exists: bool,
    key: usize,
    values: Vec<&'static str>,
}

impl Cond {
    fn operator(&self) -> String {
        let set = match self.set {
            Set::Single => "",
            Set::ForAll => "ForAllValues:",
            Set::ForAny => "ForAnyValue:",
        };
        let op = match self.op {
            Op::Equals => "StringEquals",
            Op::NotEquals => "StringNotEquals",
            Op::EqualsIgnoreCase => "StringEqualsIgnoreCase",
            Op::Like => "StringLike",
            Op::NotLike => "StringNotLike",
            Op::Null => "Null",
        };
        let if_exists = if self.if_exists { "IfExists" } else { "" };
        format!("{set}{op}{if_exists}")
    }
}

#[derive(Debug, Clone)]
struct Stmt {
    deny: bool,
    conditions: Vec<Cond>,
}

/// The policy, and the statements as the policy holds them: one
/// condition per operator and key (a JSON object keeps one of each).
fn policy(statements: &[Stmt]) -> (String, Vec<Stmt>) {
    let mut kept = Vec::new();
    let parts: Vec<String> = statements
        .iter()
        .map(|s| {
            let mut by_op: BTreeMap<String, BTreeMap<&str, &Cond>> = BTreeMap::new();
            for c in &s.conditions {
                by_op
                    .entry(c.operator())
                    .or_default()
                    .insert(KEYS[c.key], c);
            }
            kept.push(Stmt {
                deny: s.deny,
                conditions: by_op
                    .values()
                    .flat_map(|keys| keys.values().map(|c| (*c).clone()))
                    .collect(),
            });
            let condition = by_op
                .iter()
                .map(|(op, keys)| {
                    let keys = keys
                        .iter()
                        .map(|(k, c)| {
                            let values: Vec<String> =
                                c.values.iter().map(|v| format!("\"{v}\"")).collect();
                            format!("\"{k}\":[{}]", values.join(","))
                        })
                        .collect::<Vec<_>>()
                        .join(",");
                    format!("\"{op}\":{{{keys}}}")
                })
                .collect::<Vec<_>>()
                .join(",");
            format!(
                r#"{{"Effect":"{}","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*","Condition":{{{condition}}}}}"#,
                if s.deny { "Deny" } else { "Allow" }
            )
        })
        .collect();
    (format!(r#"{{"Statement":[{}]}}"#, parts.join(",")), kept)
}

/// Whether the request's value `v` matches the policy's value `p` under
/// the operator's positive form. Policy values are `a`, `B`, `ab`, `a*`
/// and `*`: a `*` matches any run of characters under `StringLike` only.
fn model_match(op: Op, p: &str, v: &str) -> bool {
    match op {
        Op::Equals | Op::NotEquals => p == v,
        Op::EqualsIgnoreCase => p.eq_ignore_ascii_case(v),
        Op::Like | Op::NotLike => match p.strip_suffix('*') {
            Some(prefix) => v.starts_with(prefix),
            None => p == v,
        },
        Op::Null => unreachable!(),
    }
}

fn negated(op: Op) -> bool {
    matches!(op, Op::NotEquals | Op::NotLike)
}

/// IAM's rules: a key missing from the request satisfies `…IfExists`,
/// `ForAllValues:` and the negated operators, and nothing else; `Null`
/// is `true` exactly when the key is missing. A present key: a value
/// satisfies a negated operator when it matches none of the policy's
/// values, a positive one when it matches one; `ForAllValues:` wants every
/// value of the request to satisfy it, `ForAnyValue:` one; no prefix,
/// one value for a positive operator and all for a negated one.
fn model_holds(c: &Cond, context: &[Vec<&str>; 3]) -> bool {
    let values = &context[c.key];
    if c.op == Op::Null {
        let missing = values.is_empty();
        return c.values.iter().any(|p| (*p == "true") == missing);
    }
    if values.is_empty() {
        return c.if_exists || c.set == Set::ForAll || (c.set == Set::Single && negated(c.op));
    }
    let satisfies = |v: &&str| {
        let matched = c.values.iter().any(|p| model_match(c.op, p, v));
        matched != negated(c.op)
    };
    match c.set {
        Set::ForAll => values.iter().all(satisfies),
        Set::ForAny => values.iter().any(satisfies),
        Set::Single if negated(c.op) => values.iter().all(satisfies),
        Set::Single => values.iter().any(satisfies),
    }
}

fn model(statements: &[Stmt], context: &[Vec<&str>; 3]) -> PolicyVerdict {
    let holds = |s: &Stmt| s.conditions.iter().all(|c| model_holds(c, context));
    if statements.iter().any(|s| s.deny && holds(s)) {
        PolicyVerdict::Deny
    } else if statements.iter().any(|s| !s.deny && holds(s)) {
        PolicyVerdict::Allow
    } else {
        PolicyVerdict::NoOpinion
    }
}

fn cond() -> impl Strategy<Value = Cond> {
    let op = prop_oneof![
        Just(Op::Equals),
        Just(Op::NotEquals),
        Just(Op::EqualsIgnoreCase),
        Just(Op::Like),
        Just(Op::NotLike),
        Just(Op::Null),
    ];
    let set = prop_oneof![Just(Set::Single), Just(Set::ForAll), Just(Set::ForAny)];
    let value = prop_oneof![Just("a"), Just("B"), Just("ab"), Just("a*"), Just("*")];
    let boolean = prop_oneof![Just("true"), Just("false")];
    (
        op,
        set,
        any::<bool>(),
        0..KEYS.len(),
        proptest::collection::vec(value, 1..3),
        boolean,
    )
        .prop_map(|(op, set, if_exists, key, values, boolean)| {
            if op == Op::Null {
                Cond {
                    set: Set::Single,
                    op,
                    if_exists: false,
                    key,
                    values: vec![boolean],
                }
            } else {
                Cond {
                    set,
                    op,
                    if_exists,
                    key,
                    values,
                }
            }
        })
}

fn stmt() -> impl Strategy<Value = Stmt> {
    (any::<bool>(), proptest::collection::vec(cond(), 0..4))
        .prop_map(|(deny, conditions)| Stmt { deny, conditions })
}

fn request_values() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::collection::vec(
        prop_oneof![Just("a"), Just("A"), Just("b"), Just("ab"), Just("x")],
        0..3,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn conditions_follow_iams_rules(
        statements in proptest::collection::vec(stmt(), 1..4),
        acl in request_values(),
        tag_keys in request_values(),
        team in request_values(),
    ) {
        let bucket = BucketName::new("bkt").unwrap();
        let (text, kept) = policy(&statements);
        let policy = BucketPolicy::parse(&text, &bucket).unwrap();
        let mut context = ConditionContext::new();
        context.set_values(KEYS[0], acl.iter().copied());
        context.set_values(KEYS[1], tag_keys.iter().copied());
        context.set_values(KEYS[2], team.iter().copied());
        let got = policy.evaluate(&Requester::Anonymous, "s3:GetObject", "arn:aws:s3:::bkt/k", &context);
        prop_assert_eq!(got, model(&kept, &[acl, tag_keys, team]), "{}", text);
    }
}

fn parse(statement: &str) -> BucketPolicy {
    let bucket = BucketName::new("bkt").unwrap();
    BucketPolicy::parse(&format!(r#"{{"Statement":[{statement}]}}"#), &bucket).unwrap()
}

/// S3's condition keys as a host fills them, each against a statement as
/// AWS's documentation writes it.
#[test]
fn s3_condition_keys() {
    let allow = |condition: &str| {
        parse(&format!(
            r#"{{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::bkt/*","Condition":{condition}}}"#
        ))
    };
    let owner = s3torrent_s3::Principal::new(
        s3torrent_s3::CanonicalId::new("c").unwrap(),
        s3torrent_s3::AccountId::new("111122223333").unwrap(),
    );
    let mut tagged = ObjectInfo::new(s3torrent_s3::ObjectKey::new("k").unwrap(), 1, "e", &owner);
    tagged.tags = vec![
        ("security".into(), "public".into()),
        ("foo".into(), "bar".into()),
    ];
    let mut private = tagged.clone();
    private.tags = vec![("security".into(), "private".into())];
    let untagged = ObjectInfo::new(s3torrent_s3::ObjectKey::new("k").unwrap(), 1, "e", &owner);
    let mut tags_set = ConditionContext::new();
    tags_set.set_request_object_tags([("security", "public"), ("team", "web")]);
    let mut other_tags = ConditionContext::new();
    other_tags.set_request_object_tags([("security", "public"), ("cost", "1")]);
    let none = ConditionContext::new();
    let cases: Vec<(&str, ConditionContext, bool)> = vec![
        (
            r#"{"StringEquals":{"s3:ExistingObjectTag/security":"public"}}"#,
            tagged.with_existing_tags(&none),
            true,
        ),
        (
            r#"{"StringEquals":{"s3:ExistingObjectTag/security":"public"}}"#,
            private.with_existing_tags(&none),
            false,
        ),
        (
            r#"{"StringEquals":{"s3:ExistingObjectTag/security":"public"}}"#,
            untagged.with_existing_tags(&none),
            false,
        ),
        (
            r#"{"StringEquals":{"s3:RequestObjectTag/security":"public"}}"#,
            tags_set.clone(),
            true,
        ),
        (
            r#"{"StringEquals":{"s3:RequestObjectTag/security":"public"}}"#,
            none.clone(),
            false,
        ),
        (
            r#"{"ForAllValues:StringLike":{"s3:RequestObjectTagKeys":["security","team"]}}"#,
            tags_set.clone(),
            true,
        ),
        (
            r#"{"ForAllValues:StringLike":{"s3:RequestObjectTagKeys":["security","team"]}}"#,
            other_tags.clone(),
            false,
        ),
        (
            r#"{"ForAnyValue:StringEquals":{"s3:RequestObjectTagKeys":["cost"]}}"#,
            other_tags,
            true,
        ),
        (
            r#"{"ForAnyValue:StringEquals":{"s3:RequestObjectTagKeys":["cost"]}}"#,
            none.clone(),
            false,
        ),
        (
            r#"{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}"#,
            ConditionContext::from([("s3:x-amz-acl", "bucket-owner-full-control")]),
            true,
        ),
        (
            r#"{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}"#,
            ConditionContext::from([("s3:x-amz-acl", "public-read")]),
            false,
        ),
        (
            r#"{"StringEquals":{"s3:x-amz-grant-full-control":"id=abc"}}"#,
            ConditionContext::from([("S3:X-Amz-Grant-Full-Control", "id=abc")]),
            true,
        ),
        (
            r#"{"StringLike":{"s3:x-amz-copy-source":"src/public/*"}}"#,
            ConditionContext::from([("s3:x-amz-copy-source", "src/private/a")]),
            false,
        ),
        (
            r#"{"StringEquals":{"s3:x-amz-metadata-directive":"COPY"}}"#,
            none.clone(),
            false,
        ),
        (
            r#"{"StringLikeIfExists":{"aws:Referer":"http://www.example.com/*"}}"#,
            none.clone(),
            true,
        ),
        (
            r#"{"StringLikeIfExists":{"aws:Referer":"http://www.example.com/*"}}"#,
            ConditionContext::from([("aws:Referer", "http://example.com")]),
            false,
        ),
        (r#"{"Null":{"s3:x-amz-acl":"true"}}"#, none.clone(), true),
    ];
    for (condition, context, allowed) in cases {
        let got = allow(condition).evaluate(
            &Requester::Anonymous,
            "s3:PutObject",
            "arn:aws:s3:::bkt/k",
            &context,
        );
        let want = if allowed {
            PolicyVerdict::Allow
        } else {
            PolicyVerdict::NoOpinion
        };
        assert_eq!(got, want, "{condition} with {context:?}");
    }
}

/// A context past its limit, or a statement with an operator we do not
/// evaluate: no condition is known, so an Allow never allows and a Deny
/// always denies (a dropped key must not slip past a Deny).
#[test]
fn hostile_contexts_fail_closed() {
    let deny = parse(
        r#"{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::bkt/*","Condition":{"StringLike":{"s3:x-amz-acl":"public*"}}},
           {"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::bkt/*"}"#,
    );
    let mut full = ConditionContext::new();
    for i in 0..MAX_CONTEXT_KEYS {
        full.set(&format!("s3:RequestObjectTag/k{i}"), "v");
    }
    let put = |c: &ConditionContext| {
        deny.evaluate(
            &Requester::Anonymous,
            "s3:PutObject",
            "arn:aws:s3:::bkt/k",
            c,
        )
    };
    assert_eq!(put(&full), PolicyVerdict::Allow);
    full.set("s3:x-amz-acl", "private");
    assert_eq!(put(&full), PolicyVerdict::Deny);
    let unknown = parse(
        r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}"#,
    );
    assert_eq!(
        unknown.evaluate(
            &Requester::Anonymous,
            "s3:GetObject",
            "arn:aws:s3:::bkt/k",
            &ConditionContext::new()
        ),
        PolicyVerdict::NoOpinion
    );
    // Many values, long values: linear, no panic.
    let mut big = ConditionContext::new();
    big.set_values(
        "s3:RequestObjectTagKeys",
        (0..10_000).map(|i| format!("k{i}")),
    );
    big.set("s3:x-amz-acl", "a".repeat(100_000));
    let star = parse(
        r#"{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::bkt/*","Condition":{"ForAllValues:StringLike":{"s3:RequestObjectTagKeys":"k*"},"StringLike":{"s3:x-amz-acl":"*a*a*a*a*b"}}}"#,
    );
    assert_eq!(
        star.evaluate(
            &Requester::Anonymous,
            "s3:PutObject",
            "arn:aws:s3:::bkt/k",
            &big
        ),
        PolicyVerdict::NoOpinion
    );
}

/// Resources that can name this bucket or its objects are accepted, as S3
/// does (`arn:aws:s3:::*/*`); those that cannot are `MalformedPolicy`.
#[test]
fn resources_that_can_name_the_bucket() {
    let bucket = BucketName::new("pub").unwrap();
    for (resource, ok) in [
        ("arn:aws:s3:::*", true),
        ("arn:aws:s3:::*/*", true),
        ("arn:aws:s3:::p*/x", true),
        ("arn:aws:s3:::pu?/*", true),
        ("arn:aws:s3:::pub/*", true),
        ("arn:aws:s3:::pub", true),
        ("arn:aws:s3:::pub*", true),
        ("arn:aws:s3:::other/*", false),
        ("arn:aws:s3:::pubx/*", false),
        ("arn:aws:s3:::p?/*", false),
        ("arn:aws:s3:::*x/*", true),
        ("arn:aws:iam:::*", false),
    ] {
        let text = format!(
            r#"{{"Statement":{{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"{resource}"}}}}"#
        );
        assert_eq!(
            BucketPolicy::parse(&text, &bucket).is_ok(),
            ok,
            "{resource}"
        );
    }
}
