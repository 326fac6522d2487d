//! Bucket policies: S3's JSON policy language, parsed with limits and
//! evaluated for one request (sans-IO: the request's facts are arguments).

use serde_json::Value;

use crate::error::{ErrorCode, Result, S3Error};
use crate::model::{BucketName, Requester};

/// The largest policy S3 accepts: 20 KiB.
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

/// The most statements read from one policy.
const MAX_STATEMENTS: usize = 256;

/// The most values in one list (actions, resources, principals, condition
/// values).
const MAX_VALUES: usize = 256;

/// What a policy says of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyVerdict {
    /// A statement denies it: it is refused, whatever ACLs grant.
    Deny,
    /// A statement allows it (and none denies it).
    Allow,
    /// No statement applies: ACLs decide.
    NoOpinion,
}

/// A bucket policy (`PutBucketPolicy`), kept with its text as sent.
///
/// What is evaluated: `Effect` (`Allow`, `Deny`; an explicit deny wins),
/// `Principal` and `NotPrincipal` (`*`, `{"AWS": "*"}`, account IDs and
/// `arn:aws:iam::ACCOUNT:root`/`:user/…` ARNs, `{"CanonicalUser": ID}`),
/// `Action` and `NotAction` (`s3:GetObject`, wildcards `*` and `?`, case
/// does not matter), `Resource` and `NotResource` (`arn:aws:s3:::bucket`,
/// `arn:aws:s3:::bucket/key`, wildcards), and `Condition` with the
/// operators `StringEquals`, `StringNotEquals`, `StringLike`,
/// `StringNotLike`, `Bool` and `Null` over the keys the host gives (the
/// `…IfExists` forms too). A statement with any other condition operator
/// never allows and always denies: a policy we cannot read in full fails
/// closed.
///
/// ```
/// use s3torrent_s3::{BucketName, BucketPolicy, PolicyVerdict, ConditionContext, Requester};
///
/// let bucket = BucketName::new("pub").unwrap();
/// let policy = BucketPolicy::parse(
///     r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",
///         "Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}]}"#,
///     &bucket,
/// )?;
/// let anyone = Requester::Anonymous;
/// let none = ConditionContext::new();
/// assert_eq!(
///     policy.evaluate(&anyone, "s3:GetObject", "arn:aws:s3:::pub/a.iso", &none),
///     PolicyVerdict::Allow
/// );
/// assert_eq!(
///     policy.evaluate(&anyone, "s3:PutObject", "arn:aws:s3:::pub/a.iso", &none),
///     PolicyVerdict::NoOpinion
/// );
/// assert!(policy.is_public());
/// # Ok::<(), s3torrent_s3::S3Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketPolicy {
    text: String,
    statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// A list that names what a statement covers, or what it excludes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope<T> {
    Only(Vec<T>),
    AllBut(Vec<T>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PrincipalName {
    Anyone,
    Account(String),
    Canonical(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    operator: Operator,
    set: SetQualifier,
    if_exists: bool,
    key: String,
    values: Vec<String>,
    /// Whether it holds only for requests from fixed sources or principals
    /// (see [`pins`]): a statement with such a condition is not public.
    pins: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    Bool,
    Null,
    Unknown,
}

impl Operator {
    /// Whether it is the negation of a matching operator (`StringNotEquals`
    /// holds for a value that `StringEquals` does not match).
    fn negated(&self) -> bool {
        matches!(
            self,
            Operator::StringNotEquals
                | Operator::StringNotEqualsIgnoreCase
                | Operator::StringNotLike
        )
    }

    /// Whether the request's `value` matches one of the condition's
    /// `values` under the operator's positive form (`StringEquals` for
    /// `StringNotEquals`).
    fn matches(&self, values: &[String], value: &str) -> bool {
        match self {
            Operator::StringEquals | Operator::StringNotEquals => values.iter().any(|x| x == value),
            Operator::StringEqualsIgnoreCase
            | Operator::StringNotEqualsIgnoreCase
            | Operator::Bool => values.iter().any(|x| x.eq_ignore_ascii_case(value)),
            Operator::StringLike | Operator::StringNotLike => values.iter().any(|x| glob(x, value)),
            Operator::Null | Operator::Unknown => false,
        }
    }
}

/// How a condition treats a key with several values in the request
/// (`s3:RequestObjectTagKeys`): the `ForAllValues:` and `ForAnyValue:`
/// prefixes of its operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetQualifier {
    /// No prefix: a positive operator holds if any value matches, a
    /// negated one if none does.
    Single,
    /// `ForAllValues:`: every value of the request satisfies the operator
    /// (and so does a request without the key).
    ForAllValues,
    /// `ForAnyValue:`: at least one value of the request does.
    ForAnyValue,
}

/// The most keys a [`ConditionContext`] holds (a host gives a handful:
/// request headers, a request's and an object's tags); past it, no
/// condition is known to hold or not.
pub const MAX_CONTEXT_KEYS: usize = 128;

/// The facts of one request that a policy's conditions test, by condition
/// key (`aws:Referer`, `s3:x-amz-acl`, `s3:ExistingObjectTag/team`, …):
/// the host collects them, the evaluator only reads them. Keys are
/// case-insensitive, as in IAM (tag keys within them too); a key may have
/// several values (`s3:RequestObjectTagKeys`), which `ForAllValues:` and
/// `ForAnyValue:` conditions test as a set. At most [`MAX_CONTEXT_KEYS`]
/// keys: past that, every condition counts as unknown (a statement with
/// one never allows and always denies); setting a key again replaces its
/// values.
///
/// ```
/// use s3torrent_s3::ConditionContext;
///
/// let mut context = ConditionContext::from([("s3:x-amz-acl", "public-read")]);
/// context.set_request_object_tags([("team", "web"), ("tier", "1")]);
/// assert_eq!(context.values("S3:X-AMZ-ACL"), Some(&["public-read".to_owned()][..]));
/// assert_eq!(context.values("s3:RequestObjectTag/team"), Some(&["web".to_owned()][..]));
/// assert_eq!(context.values("s3:RequestObjectTagKeys").map(<[String]>::len), Some(2));
/// assert_eq!(context.values("s3:ExistingObjectTag/team"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConditionContext {
    /// Lower-case key, values.
    keys: Vec<(String, Vec<String>)>,
    /// Whether a key was refused for want of room: then no condition is
    /// known to hold or not (a statement with one never allows, and always
    /// denies), so that a dropped key cannot slip past a `Deny`.
    overflowed: bool,
}

impl ConditionContext {
    /// An empty context: no key is present.
    pub fn new() -> Self {
        ConditionContext::default()
    }

    /// Sets `key` to the one value `value`.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.set_values(key, [value.into()])
    }

    /// Sets `key` to `values` (none: the key is absent).
    pub fn set_values<V: Into<String>>(
        &mut self,
        key: &str,
        values: impl IntoIterator<Item = V>,
    ) -> &mut Self {
        let key = key.to_ascii_lowercase();
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        self.keys.retain(|(k, _)| *k != key);
        if !values.is_empty() {
            if self.keys.len() < MAX_CONTEXT_KEYS {
                self.keys.push((key, values));
            } else {
                self.overflowed = true;
            }
        }
        self
    }

    /// The tags of the object a request acts on, as
    /// `s3:ExistingObjectTag/<key>`.
    pub fn set_existing_object_tags<'a>(
        &mut self,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> &mut Self {
        for (k, v) in tags {
            self.set(&format!("s3:ExistingObjectTag/{k}"), v);
        }
        self
    }

    /// The tags a request sets (`x-amz-tagging`, a PutObjectTagging body),
    /// as `s3:RequestObjectTag/<key>` and the set `s3:RequestObjectTagKeys`.
    pub fn set_request_object_tags<'a>(
        &mut self,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> &mut Self {
        let mut keys = Vec::new();
        for (k, v) in tags {
            self.set(&format!("s3:RequestObjectTag/{k}"), v);
            keys.push(k.to_owned());
        }
        self.set_values("s3:RequestObjectTagKeys", keys)
    }

    /// The values of `key` (case-insensitive), if the request has it.
    pub fn values(&self, key: &str) -> Option<&[String]> {
        self.keys
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_slice())
    }
}

impl<K: AsRef<str>, V: Into<String>, const N: usize> From<[(K, V); N]> for ConditionContext {
    fn from(pairs: [(K, V); N]) -> Self {
        let mut context = ConditionContext::new();
        for (k, v) in pairs {
            context.set(k.as_ref(), v);
        }
        context
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    effect: Effect,
    principals: Scope<PrincipalName>,
    actions: Scope<String>,
    resources: Scope<String>,
    conditions: Vec<Condition>,
}

fn malformed(message: &str, bucket: &BucketName) -> S3Error {
    S3Error::with_message(ErrorCode::MalformedPolicy, message, bucket.as_str())
}

/// A string or a list of strings, as the policy language allows.
fn strings(v: &Value, what: &str, bucket: &BucketName) -> Result<Vec<String>> {
    let bad = || malformed(&format!("Policy has an invalid {what}"), bucket);
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() && items.len() <= MAX_VALUES => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                Value::Bool(b) => Ok(b.to_string()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(bad()),
            })
            .collect(),
        Value::Bool(b) => Ok(vec![b.to_string()]),
        Value::Number(n) => Ok(vec![n.to_string()]),
        _ => Err(bad()),
    }
}

fn principals(v: &Value, bucket: &BucketName) -> Result<Vec<PrincipalName>> {
    let bad = || malformed("Invalid principal in policy", bucket);
    if v.as_str() == Some("*") {
        return Ok(vec![PrincipalName::Anyone]);
    }
    let Value::Object(map) = v else {
        return Err(bad());
    };
    let mut out = Vec::new();
    for (kind, names) in map {
        for name in strings(names, "principal", bucket).map_err(|_| bad())? {
            out.push(match kind.as_str() {
                "AWS" if name == "*" => PrincipalName::Anyone,
                "AWS" => {
                    let account = match name.strip_prefix("arn:aws:iam::") {
                        Some(rest) => rest.split(':').next().unwrap_or_default().to_owned(),
                        None => name.clone(),
                    };
                    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(bad());
                    }
                    PrincipalName::Account(account)
                }
                "CanonicalUser" => PrincipalName::Canonical(name),
                _ => return Err(bad()),
            });
        }
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// One of a pair of keys (`Action`/`NotAction` …): exactly one must be there.
fn pick<'a>(
    statement: &'a serde_json::Map<String, Value>,
    key: &str,
    not_key: &str,
    bucket: &BucketName,
) -> Result<(bool, &'a Value)> {
    match (statement.get(key), statement.get(not_key)) {
        (Some(v), None) => Ok((false, v)),
        (None, Some(v)) => Ok((true, v)),
        (None, None) => Err(malformed(&format!("Missing required field {key}"), bucket)),
        (Some(_), Some(_)) => Err(malformed(
            &format!("Policy has both {key} and {not_key}"),
            bucket,
        )),
    }
}

fn scope<T>(negated: bool, items: Vec<T>) -> Scope<T> {
    if negated {
        Scope::AllBut(items)
    } else {
        Scope::Only(items)
    }
}

fn conditions(v: Option<&Value>, bucket: &BucketName) -> Result<Vec<Condition>> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let bad = || malformed("Policy has an invalid condition", bucket);
    let Value::Object(ops) = v else {
        return Err(bad());
    };
    let mut out = Vec::new();
    for (op, keys) in ops {
        let (set, op) = if let Some(rest) = op.strip_prefix("ForAllValues:") {
            (SetQualifier::ForAllValues, rest)
        } else if let Some(rest) = op.strip_prefix("ForAnyValue:") {
            (SetQualifier::ForAnyValue, rest)
        } else {
            (SetQualifier::Single, op.as_str())
        };
        let (name, if_exists) = match op.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (op, false),
        };
        let operator = match name {
            "StringEquals" => Operator::StringEquals,
            "StringNotEquals" => Operator::StringNotEquals,
            "StringEqualsIgnoreCase" => Operator::StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => Operator::StringNotEqualsIgnoreCase,
            "StringLike" => Operator::StringLike,
            "StringNotLike" => Operator::StringNotLike,
            "Bool" => Operator::Bool,
            "Null" => Operator::Null,
            _ => Operator::Unknown,
        };
        let Value::Object(keys) = keys else {
            return Err(bad());
        };
        for (key, values) in keys {
            let key = key.to_ascii_lowercase();
            let values = strings(values, "condition", bucket)?;
            out.push(Condition {
                operator: operator.clone(),
                set,
                if_exists,
                pins: set == SetQualifier::Single && !if_exists && pins(name, &key, &values),
                key,
                values,
            });
        }
    }
    Ok(out)
}

/// The condition keys whose fixed values make a statement non-public, as
/// S3 defines a public policy (lower case).
const PINNING_KEYS: [&str; 12] = [
    "aws:sourceip",
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceowner",
    "aws:sourceaccount",
    "aws:userid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
];

/// Whether a condition (`operator` without `IfExists`, its lower-case
/// `key` and values) holds only for fixed sources or principals: a
/// matching operator, one of [`PINNING_KEYS`], and values without
/// wildcards; for `aws:SourceIp`, ranges no broader than /8 (IPv4) or /32
/// (IPv6). Negated operators and `…IfExists` pin nothing.
fn pins(operator: &str, key: &str, values: &[String]) -> bool {
    let matching = matches!(
        operator,
        "StringEquals" | "StringEqualsIgnoreCase" | "StringLike" | "ArnEquals" | "ArnLike"
    ) || (operator == "IpAddress" && key == "aws:sourceip");
    matching
        && PINNING_KEYS.contains(&key)
        && values.iter().all(|v| {
            !v.is_empty() && !v.contains(['*', '?']) && (key != "aws:sourceip" || narrow_cidr(v))
        })
}

/// Whether an `aws:SourceIp` value is an address, or a CIDR range of at
/// least /8 (IPv4) or /32 (IPv6).
fn narrow_cidr(value: &str) -> bool {
    let (addr, prefix) = match value.split_once('/') {
        Some((a, p)) => match p.parse::<u8>() {
            Ok(p) => (a, Some(p)),
            Err(_) => return false,
        },
        None => (value, None),
    };
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => prefix.is_none_or(|p| (8..=32).contains(&p)),
        Ok(std::net::IpAddr::V6(_)) => prefix.is_none_or(|p| (32..=128).contains(&p)),
        Err(_) => false,
    }
}

impl BucketPolicy {
    /// Parses and checks `text` as a policy of `bucket`: at most
    /// [`MAX_POLICY_BYTES`], JSON with a `Statement` (one or a list), each
    /// with `Effect`, one of `Principal`/`NotPrincipal`, `Action`/`NotAction`
    /// (`s3:` actions or `*`), `Resource`/`NotResource` (ARNs of this bucket
    /// and its objects). Anything else is S3's `MalformedPolicy` naming the
    /// problem.
    pub fn parse(text: &str, bucket: &BucketName) -> Result<BucketPolicy> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(malformed("Policies must be no more than 20 KB", bucket));
        }
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| malformed(&format!("This policy contains invalid Json: {e}"), bucket))?;
        let list = match doc.get("Statement") {
            Some(Value::Array(list)) => list.clone(),
            Some(one @ Value::Object(_)) => vec![one.clone()],
            _ => return Err(malformed("Missing required field Statement", bucket)),
        };
        if list.is_empty() || list.len() > MAX_STATEMENTS {
            return Err(malformed("Policy has an invalid Statement", bucket));
        }
        let mut statements = Vec::with_capacity(list.len());
        for s in &list {
            let Value::Object(s) = s else {
                return Err(malformed("Policy has an invalid Statement", bucket));
            };
            let effect = match s.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                _ => return Err(malformed("Policy has an invalid Effect", bucket)),
            };
            let (not_p, p) = pick(s, "Principal", "NotPrincipal", bucket)?;
            let (not_a, a) = pick(s, "Action", "NotAction", bucket)?;
            let (not_r, r) = pick(s, "Resource", "NotResource", bucket)?;
            let actions = strings(a, "action", bucket)?;
            if !actions
                .iter()
                .all(|a| a == "*" || a.to_ascii_lowercase().starts_with("s3:"))
            {
                return Err(malformed("Policy has invalid action", bucket));
            }
            let resources = strings(r, "resource", bucket)?;
            let arn = format!("arn:aws:s3:::{}", bucket.as_str());
            let objects = format!("{arn}/");
            if !resources.iter().all(|r| {
                r == "*"
                    || r == &arn
                    || r.strip_prefix(&arn)
                        .is_some_and(|rest| rest.starts_with('/'))
                    || (r.starts_with("arn:aws:s3:::")
                        && (glob(r, &arn) || matches_some_with_prefix(r, &objects)))
            }) {
                return Err(malformed("Policy has invalid resource", bucket));
            }
            statements.push(Statement {
                effect,
                principals: scope(not_p, principals(p, bucket)?),
                actions: scope(not_a, actions),
                resources: scope(not_r, resources),
                conditions: conditions(s.get("Condition"), bucket)?,
            });
        }
        Ok(BucketPolicy {
            text: text.to_owned(),
            statements,
        })
    }

    /// The policy as it was sent (what `GetBucketPolicy` answers).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What the policy says of `requester` doing `action` (`s3:GetObject`)
    /// on `resource` (`arn:aws:s3:::bucket/key`), with the condition keys
    /// the host knows of the request and its object (see
    /// [`ConditionContext`]).
    pub fn evaluate(
        &self,
        requester: &Requester,
        action: &str,
        resource: &str,
        context: &ConditionContext,
    ) -> PolicyVerdict {
        let mut verdict = PolicyVerdict::NoOpinion;
        for s in &self.statements {
            let applies = covers(&s.principals, |p| principal_matches(p, requester))
                && covers(&s.actions, |a| glob_ci(a, action))
                && covers(&s.resources, |r| glob(r, resource));
            if !applies {
                continue;
            }
            let conditions = conditions_hold(&s.conditions, context);
            match (&s.effect, conditions) {
                (Effect::Deny, Holds::Yes | Holds::Unknown) => return PolicyVerdict::Deny,
                (Effect::Allow, Holds::Yes) => verdict = PolicyVerdict::Allow,
                _ => {}
            }
        }
        verdict
    }

    /// Whether S3 counts the policy as public (`GetBucketPolicyStatus`'s
    /// `IsPublic`, what Block Public Access's `BlockPublicPolicy` refuses
    /// and `RestrictPublicBuckets` restricts): a statement allows any action
    /// to anyone (`"Principal": "*"`, or a `NotPrincipal`) unless one of its
    /// conditions pins the request to fixed values of the keys S3 names:
    /// `aws:SourceIp` (a range no broader than /8, or /32 for IPv6),
    /// `aws:SourceArn`, `aws:SourceVpc`, `aws:SourceVpce`,
    /// `aws:SourceOwner`, `aws:SourceAccount`, `aws:userid`,
    /// `aws:PrincipalAccount`, `aws:PrincipalArn`, `aws:PrincipalOrgID`,
    /// `s3:DataAccessPointArn` or `s3:DataAccessPointAccount`, with an
    /// equality or `Like` operator and no wildcard. A condition on anything
    /// else (`s3:prefix`, say) leaves the statement public.
    ///
    /// ```
    /// use s3torrent_s3::{BucketName, BucketPolicy};
    ///
    /// let bucket = BucketName::new("pub")?;
    /// let with = |condition: &str| {
    ///     BucketPolicy::parse(&format!(
    ///         r#"{{"Statement":{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",
    ///             "Resource":"arn:aws:s3:::pub/*","Condition":{condition}}}}}"#
    ///     ), &bucket)
    /// };
    /// assert!(with(r#"{"StringLike":{"s3:prefix":"public/*"}}"#)?.is_public());
    /// assert!(!with(r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#)?.is_public());
    /// assert!(with(r#"{"IpAddress":{"aws:SourceIp":"0.0.0.0/1"}}"#)?.is_public());
    /// # Ok::<(), s3torrent_s3::S3Error>(())
    /// ```
    pub fn is_public(&self) -> bool {
        self.statements.iter().any(|s| {
            s.effect == Effect::Allow
                && !s.conditions.iter().any(|c| c.pins)
                && match &s.principals {
                    Scope::Only(p) => p.contains(&PrincipalName::Anyone),
                    Scope::AllBut(_) => true,
                }
        })
    }
}

fn covers<T>(scope: &Scope<T>, matches: impl Fn(&T) -> bool) -> bool {
    match scope {
        Scope::Only(items) => items.iter().any(&matches),
        Scope::AllBut(items) => !items.iter().any(&matches),
    }
}

fn principal_matches(p: &PrincipalName, requester: &Requester) -> bool {
    match (p, requester.principal()) {
        (PrincipalName::Anyone, _) => true,
        (PrincipalName::Account(a), Some(who)) => who.account_id.as_str() == a,
        (PrincipalName::Canonical(c), Some(who)) => who.canonical_id.as_str() == c,
        (_, None) => false,
    }
}

enum Holds {
    Yes,
    No,
    /// An operator we do not evaluate.
    Unknown,
}

/// Whether every condition holds for `context`, as IAM evaluates them: a
/// key absent from the request satisfies `…IfExists`, `ForAllValues:` and
/// the negated operators (`StringNotEquals`, `StringNotLike`), and no
/// other; `Null` tests the absence itself.
fn conditions_hold(conditions: &[Condition], context: &ConditionContext) -> Holds {
    if context.overflowed && !conditions.is_empty() {
        return Holds::Unknown;
    }
    for c in conditions {
        let present = context.values(&c.key);
        let op = &c.operator;
        let holds = match (op, present) {
            (Operator::Unknown, _) => return Holds::Unknown,
            (Operator::Null, v) => {
                let absent = v.is_none();
                c.values.iter().any(|x| (x == "true") == absent)
            }
            (_, None) => match c.set {
                _ if c.if_exists => true,
                SetQualifier::ForAllValues => true,
                SetQualifier::ForAnyValue => false,
                SetQualifier::Single => op.negated(),
            },
            // One value satisfies a negated operator when its positive form
            // does not match it.
            (_, Some(vs)) => {
                let satisfies = |v: &String| op.matches(&c.values, v) != op.negated();
                match c.set {
                    SetQualifier::ForAllValues => vs.iter().all(satisfies),
                    SetQualifier::ForAnyValue => vs.iter().any(satisfies),
                    SetQualifier::Single if op.negated() => vs.iter().all(satisfies),
                    SetQualifier::Single => vs.iter().any(satisfies),
                }
            }
        };
        if !holds {
            return Holds::No;
        }
    }
    Holds::Yes
}

/// `*` matches any run of characters, `?` any one; linear in practice
/// (the classic two-pointer match with one backtrack point).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == b'?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == b'*')
}

/// Whether `pattern` (with `*` and `?`) matches at least one string that
/// starts with `prefix`: whether some state of the pattern is reachable
/// after reading `prefix` (what remains of a pattern always matches
/// something). Time: `prefix` × `pattern`, memory: `pattern`.
fn matches_some_with_prefix(pattern: &str, prefix: &str) -> bool {
    let p = pattern.as_bytes();
    // `states[i]`: the first `i` bytes of the pattern can match what was read.
    let mut states = vec![false; p.len() + 1];
    states[0] = true;
    let close = |states: &mut Vec<bool>| {
        for i in 0..p.len() {
            if states[i] && p[i] == b'*' {
                states[i + 1] = true;
            }
        }
    };
    close(&mut states);
    for &c in prefix.as_bytes() {
        let mut next = vec![false; p.len() + 1];
        for i in 0..p.len() {
            if states[i] {
                match p[i] {
                    b'*' => next[i] = true,
                    b'?' => next[i + 1] = true,
                    x if x == c => next[i + 1] = true,
                    _ => {}
                }
            }
        }
        close(&mut next);
        if !next.contains(&true) {
            return false;
        }
        states = next;
    }
    true
}

fn glob_ci(pattern: &str, text: &str) -> bool {
    glob(&pattern.to_ascii_lowercase(), &text.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccountId, CanonicalId, Principal};

    fn bucket() -> BucketName {
        BucketName::new("pub").unwrap()
    }

    fn user(account: &str) -> Requester {
        Requester::Authenticated(Principal::new(
            CanonicalId::new("c".repeat(64)).unwrap(),
            AccountId::new(account).unwrap(),
        ))
    }

    #[test]
    fn globs() {
        for (p, t, m) in [
            ("*", "", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbb", false),
            ("a?c", "abc", true),
            ("arn:aws:s3:::pub/*", "arn:aws:s3:::pub/x/y", true),
            ("arn:aws:s3:::pub/*", "arn:aws:s3:::pub", false),
            ("*a*a*a*a*b", &"a".repeat(5000), false),
        ] {
            assert_eq!(glob(p, t), m, "{p} {t}");
        }
    }

    #[test]
    fn hostile_policies_are_malformed() {
        let b = bucket();
        for (text, message) in [
            ("", "invalid Json"),
            ("{}", "Missing required field Statement"),
            (r#"{"Statement":[]}"#, "invalid Statement"),
            (r#"{"Statement":[1]}"#, "invalid Statement"),
            (
                r#"{"Statement":{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}}"#,
                "invalid Effect",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}}"#,
                "Missing required field Principal",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"ec2:Run","Resource":"arn:aws:s3:::pub/*"}}"#,
                "invalid action",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}}"#,
                "invalid resource",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}}"#,
                "Invalid principal",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","NotAction":"s3:PutObject","Resource":"arn:aws:s3:::pub/*"}}"#,
                "both Action and NotAction",
            ),
        ] {
            let err = BucketPolicy::parse(text, &b).unwrap_err();
            assert_eq!(err.code(), ErrorCode::MalformedPolicy, "{text}");
            assert!(err.message().contains(message), "{text}: {}", err.message());
        }
        let big = format!("{{\"Statement\":\"{}\"}}", "x".repeat(MAX_POLICY_BYTES));
        assert!(BucketPolicy::parse(&big, &b).is_err());
        let deep = "[".repeat(100_000);
        assert!(BucketPolicy::parse(&deep, &b).is_err());
    }

    #[test]
    fn an_explicit_deny_wins_and_principals_match_accounts() {
        let b = bucket();
        let policy = BucketPolicy::parse(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Principal":{"AWS":"*"},"Action":["s3:Get*"],"Resource":"arn:aws:s3:::pub/*"},
                {"Effect":"Deny","Principal":{"AWS":["arn:aws:iam::111122223333:root"]},"Action":"s3:GetObject","Resource":["arn:aws:s3:::pub/secret/*"]},
                {"Effect":"Deny","NotPrincipal":{"AWS":"444455556666"},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::pub/*"}
            ]}"#,
            &b,
        )
        .unwrap();
        let alice = user("111122223333");
        let carol = user("444455556666");
        let obj = "arn:aws:s3:::pub/secret/x";
        assert_eq!(
            policy.evaluate(&alice, "s3:GetObject", obj, &ConditionContext::new()),
            PolicyVerdict::Deny
        );
        assert_eq!(
            policy.evaluate(&carol, "S3:GETOBJECT", obj, &ConditionContext::new()),
            PolicyVerdict::Allow
        );
        assert_eq!(
            policy.evaluate(
                &Requester::Anonymous,
                "s3:GetObjectAcl",
                "arn:aws:s3:::pub/a",
                &ConditionContext::new()
            ),
            PolicyVerdict::Allow
        );
        assert_eq!(
            policy.evaluate(
                &Requester::Anonymous,
                "s3:DeleteObject",
                "arn:aws:s3:::pub/a",
                &ConditionContext::new()
            ),
            PolicyVerdict::Deny
        );
        assert_eq!(
            policy.evaluate(
                &carol,
                "s3:DeleteObject",
                "arn:aws:s3:::pub/a",
                &ConditionContext::new()
            ),
            PolicyVerdict::NoOpinion
        );
        assert_eq!(
            policy.evaluate(
                &carol,
                "s3:ListBucket",
                "arn:aws:s3:::pub",
                &ConditionContext::new()
            ),
            PolicyVerdict::NoOpinion
        );
    }

    #[test]
    fn conditions_over_the_request_and_unknown_operators_fail_closed() {
        let b = bucket();
        let policy = BucketPolicy::parse(
            r#"{"Statement":[
                {"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::pub","Condition":{"StringLike":{"s3:prefix":"public/*"}}},
                {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}
            ]}"#,
            &b,
        )
        .unwrap();
        let anyone = Requester::Anonymous;
        let list = |prefix: &str| {
            policy.evaluate(
                &anyone,
                "s3:ListBucket",
                "arn:aws:s3:::pub",
                &ConditionContext::from([("s3:prefix", prefix)]),
            )
        };
        assert_eq!(list("public/a"), PolicyVerdict::Allow);
        assert_eq!(list("private/"), PolicyVerdict::NoOpinion);
        assert_eq!(
            policy.evaluate(
                &anyone,
                "s3:ListBucket",
                "arn:aws:s3:::pub",
                &ConditionContext::new()
            ),
            PolicyVerdict::NoOpinion
        );
        // An operator we do not evaluate never allows.
        assert_eq!(
            policy.evaluate(
                &anyone,
                "s3:GetObject",
                "arn:aws:s3:::pub/a",
                &ConditionContext::new()
            ),
            PolicyVerdict::NoOpinion
        );
        // Anyone may list `public/`: S3 counts that as public (a condition
        // on `s3:prefix` pins no source).
        assert!(policy.is_public());
        let deny = BucketPolicy::parse(
            r#"{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::pub/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}"#,
            &b,
        )
        .unwrap();
        assert_eq!(
            deny.evaluate(
                &anyone,
                "s3:GetObject",
                "arn:aws:s3:::pub/a",
                &ConditionContext::from([("aws:SecureTransport", "false")])
            ),
            PolicyVerdict::Deny
        );
        assert_eq!(
            deny.evaluate(
                &anyone,
                "s3:GetObject",
                "arn:aws:s3:::pub/a",
                &ConditionContext::from([("aws:SecureTransport", "true")])
            ),
            PolicyVerdict::NoOpinion
        );
    }

    /// S3's "public" over conditions: which pin a `Principal: "*"`
    /// statement to fixed sources (values written here from S3's
    /// definition of a public policy).
    #[test]
    fn which_conditions_make_a_statement_non_public() {
        let b = bucket();
        for (condition, public) in [
            ("", true),
            (
                r#","Condition":{"StringLike":{"s3:prefix":"public/*"}}"#,
                true,
            ),
            (
                r#","Condition":{"Bool":{"aws:SecureTransport":"true"}}"#,
                true,
            ),
            (
                r#","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/32"}}"#,
                false,
            ),
            (
                r#","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
                false,
            ),
            (
                r#","Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.7"}}"#,
                false,
            ),
            (
                r#","Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/1"}}"#,
                true,
            ),
            (
                r#","Condition":{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}"#,
                false,
            ),
            (
                r#","Condition":{"IpAddress":{"aws:SourceIp":"2001:db8::/16"}}"#,
                true,
            ),
            (
                r#","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
                true,
            ),
            (
                r#","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}"#,
                false,
            ),
            (
                r#","Condition":{"StringEquals":{"aws:SourceAccount":"1111*"}}"#,
                true,
            ),
            (
                r#","Condition":{"StringEqualsIfExists":{"aws:SourceAccount":"111122223333"}}"#,
                true,
            ),
            (
                r#","Condition":{"StringNotEquals":{"aws:SourceAccount":"111122223333"}}"#,
                true,
            ),
            (
                r#","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:cloudfront::111122223333:distribution/E1"}}"#,
                false,
            ),
            (
                r#","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}"#,
                false,
            ),
            (
                r#","Condition":{"StringEquals":{"AWS:SourceVpce":"vpce-1a2b3c4d"}}"#,
                false,
            ),
        ] {
            let text = format!(
                r#"{{"Statement":{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"{condition}}}}}"#
            );
            let policy = BucketPolicy::parse(&text, &b).unwrap();
            assert_eq!(policy.is_public(), public, "{condition}");
        }
        // Named accounts are not public; a Deny never is; NotPrincipal is.
        for (statement, public) in [
            (
                r#""Effect":"Allow","Principal":{"AWS":"111122223333"}"#,
                false,
            ),
            (r#""Effect":"Deny","Principal":"*""#, false),
            (
                r#""Effect":"Allow","NotPrincipal":{"AWS":"111122223333"}"#,
                true,
            ),
        ] {
            let text = format!(
                r#"{{"Statement":{{{statement},"Action":"s3:*","Resource":"arn:aws:s3:::pub/*"}}}}"#
            );
            let policy = BucketPolicy::parse(&text, &b).unwrap();
            assert_eq!(policy.is_public(), public, "{statement}");
        }
    }
}
