//! Cross-origin resource sharing, as S3 does it: a bucket's rules
//! (Put/Get/DeleteBucketCors, in `ops::cors`), the preflight `OPTIONS`
//! request, and the headers of a request that carries `Origin`.
//!
//! A request matches a rule when its `Origin` is one of the rule's
//! `AllowedOrigin`s (each may hold one `*`, which stands for any run of
//! characters), its method (for a preflight, its
//! `Access-Control-Request-Method`) is one of the rule's `AllowedMethod`s,
//! and, for a preflight, every header named in `Access-Control-Request-Headers`
//! is covered by an `AllowedHeader` (compared without case, one `*` each).
//! The first rule that matches answers; a preflight that none matches is
//! refused with 403 `AccessForbidden`, and another request is answered as
//! it would be without `Origin` (no CORS header), as S3 does.
//!
//! The rules, their checks and their matching live here, apart from the
//! listener's side ([`crate::cross_origin`]), so that the store, which
//! keeps them, imports nothing that imports it.

use std::sync::Arc;

use http::HeaderValue;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, HeaderMap,
    VARY,
};
use serde::{Deserialize, Serialize};

/// The most rules a bucket's configuration holds (S3's limit).
pub(crate) const MAX_RULES: usize = 100;

/// The largest configuration PutBucketCors takes, in bytes of its XML
/// (S3's limit).
pub(crate) const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// The longest rule ID (S3's limit).
pub(crate) const MAX_ID_LEN: usize = 255;

/// What `Vary` says on an answer a rule matched: the answer depends on
/// these request headers.
const VARY_VALUE: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/// A method a rule may allow: the five S3 knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum CorsMethod {
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "PUT")]
    Put,
    #[serde(rename = "HEAD")]
    Head,
    #[serde(rename = "POST")]
    Post,
    #[serde(rename = "DELETE")]
    Delete,
}

impl CorsMethod {
    /// The method named exactly so (S3 takes upper case only).
    pub(crate) fn parse(name: &str) -> Option<CorsMethod> {
        Some(match name {
            "GET" => CorsMethod::Get,
            "PUT" => CorsMethod::Put,
            "HEAD" => CorsMethod::Head,
            "POST" => CorsMethod::Post,
            "DELETE" => CorsMethod::Delete,
            _ => return None,
        })
    }

    /// Its name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CorsMethod::Get => "GET",
            CorsMethod::Put => "PUT",
            CorsMethod::Head => "HEAD",
            CorsMethod::Post => "POST",
            CorsMethod::Delete => "DELETE",
        }
    }
}

/// One rule, as PutBucketCors gave it (checked then) and GetBucketCors
/// gives it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CorsRule {
    #[serde(default)]
    pub(crate) id: Option<String>,
    pub(crate) methods: Vec<CorsMethod>,
    pub(crate) origins: Vec<String>,
    #[serde(default)]
    pub(crate) headers: Vec<String>,
    #[serde(default)]
    pub(crate) expose: Vec<String>,
    #[serde(default, rename = "max age")]
    pub(crate) max_age: Option<u32>,
}

/// A bucket's CORS configuration: its rules, in order (the first that
/// matches answers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CorsConfig {
    pub(crate) rules: Vec<CorsRule>,
}

/// Why a configuration is refused: S3's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// Not what the schema allows (no rules, too many, a rule without
    /// methods or origins, a negative max age): `MalformedXML`.
    Malformed(String),
    /// A value S3 refuses: `InvalidRequest`.
    Request(String),
    /// An ID that is too long: `InvalidArgument`.
    Argument(String),
}

/// A rule as PutBucketCors's XML gives it, before it is checked.
#[derive(Debug, Default)]
pub(crate) struct RuleInput {
    pub(crate) id: Option<String>,
    pub(crate) methods: Vec<String>,
    pub(crate) origins: Vec<String>,
    pub(crate) headers: Vec<String>,
    pub(crate) expose: Vec<String>,
    pub(crate) max_age: Option<i32>,
}

impl CorsConfig {
    /// Checks rules as S3 does and keeps them as given.
    pub(crate) fn new(rules: Vec<RuleInput>) -> Result<CorsConfig, Invalid> {
        if rules.is_empty() {
            return Err(Invalid::Malformed(
                "the configuration has no CORSRule".into(),
            ));
        }
        if rules.len() > MAX_RULES {
            return Err(Invalid::Malformed(format!(
                "the configuration has {} rules; at most {MAX_RULES} are allowed",
                rules.len()
            )));
        }
        let rules = rules
            .into_iter()
            .map(CorsRule::new)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CorsConfig { rules })
    }

    /// The first rule that allows `origin` to do `method`, sending every
    /// header of `request_headers` (a preflight's
    /// `Access-Control-Request-Headers`, comma-separated).
    pub(crate) fn matching(
        &self,
        origin: &str,
        method: &str,
        request_headers: Option<&str>,
    ) -> Option<&CorsRule> {
        let method = CorsMethod::parse(method)?;
        self.rules.iter().find(|rule| {
            rule.methods.contains(&method)
                && rule.origins.iter().any(|o| wildcard(o, origin, false))
                && requested(request_headers).all(|h| {
                    rule.headers
                        .iter()
                        .any(|allowed| wildcard(allowed, &h, true))
                })
        })
    }
}

impl CorsRule {
    fn new(input: RuleInput) -> Result<CorsRule, Invalid> {
        if input.methods.is_empty() || input.origins.is_empty() {
            return Err(Invalid::Malformed(
                "every CORSRule needs an AllowedMethod and an AllowedOrigin".into(),
            ));
        }
        let methods = input
            .methods
            .iter()
            .map(|m| {
                CorsMethod::parse(m).ok_or_else(|| {
                    Invalid::Request(format!(
                        "Found unsupported HTTP method in CORS config. Unsupported method is {m}"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for origin in &input.origins {
            if origin.matches('*').count() > 1 {
                return Err(Invalid::Request(format!(
                    "AllowedOrigin \"{origin}\" can not have more than one wildcard."
                )));
            }
        }
        for header in &input.headers {
            if header.matches('*').count() > 1 {
                return Err(Invalid::Request(format!(
                    "AllowedHeader \"{header}\" can not have more than one wildcard."
                )));
            }
            if !header.bytes().all(|b| b == b'*' || is_token(b)) {
                return Err(Invalid::Request(format!(
                    "AllowedHeader \"{header}\" contains invalid character."
                )));
            }
        }
        for header in &input.expose {
            if header.is_empty() || !header.bytes().all(is_token) {
                return Err(Invalid::Request(format!(
                    "ExposeHeader \"{header}\" contains invalid character."
                )));
            }
        }
        if input
            .id
            .as_ref()
            .is_some_and(|id| id.chars().count() > MAX_ID_LEN)
        {
            return Err(Invalid::Argument(format!(
                "The ID of a CORSRule may be at most {MAX_ID_LEN} characters long."
            )));
        }
        let max_age = match input.max_age {
            None => None,
            Some(secs) => Some(
                u32::try_from(secs)
                    .map_err(|_| Invalid::Malformed("MaxAgeSeconds must not be negative".into()))?,
            ),
        };
        Ok(CorsRule {
            id: input.id,
            methods,
            origins: input.origins,
            headers: input.headers,
            expose: input.expose,
            max_age,
        })
    }

    /// Gives `headers` this rule's answer to a request from `origin`: the
    /// origin allowed (`*` when the rule allows any origin, else the
    /// request's own, with credentials), the methods, the exposed headers,
    /// the max age and `Vary`; for a preflight, the requested headers too.
    pub(crate) fn answer(
        &self,
        headers: &mut HeaderMap,
        origin: &HeaderValue,
        request_headers: Option<&str>,
    ) {
        if self.origins.iter().any(|o| o == "*") {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        } else {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        let methods: Vec<&str> = self.methods.iter().map(|m| m.as_str()).collect();
        insert_list(headers, ACCESS_CONTROL_ALLOW_METHODS, &methods);
        let asked: Vec<String> = requested(request_headers).collect();
        insert_list(headers, ACCESS_CONTROL_ALLOW_HEADERS, &asked);
        insert_list(headers, ACCESS_CONTROL_EXPOSE_HEADERS, &self.expose);
        if let Some(secs) = self.max_age {
            headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(secs));
        }
        headers.insert(VARY, HeaderValue::from_static(VARY_VALUE));
    }
}

/// Sets `name` to `values` joined by `, `, unless there are none (or the
/// join is no header value, which checked rules never make).
fn insert_list<S: AsRef<str>>(headers: &mut HeaderMap, name: http::HeaderName, values: &[S]) {
    if values.is_empty() {
        return;
    }
    let joined = values
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(v) = HeaderValue::from_str(&joined) {
        headers.insert(name, v);
    }
}

/// The header names of an `Access-Control-Request-Headers` value, trimmed
/// and lower-cased, empty ones left out.
fn requested(value: Option<&str>) -> impl Iterator<Item = String> + '_ {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_ascii_lowercase)
}

/// Whether `b` may be part of a header name (RFC 9110's `tchar`).
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'+-.^_`|~".contains(&b)
}

/// Whether `text` matches `pattern`, whose one `*` (if any) stands for any
/// run of characters, possibly empty; ASCII case is ignored when `fold`.
fn wildcard(pattern: &str, text: &str, fold: bool) -> bool {
    let same = |a: &[u8], b: &[u8]| {
        if fold {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    match pattern.split_once('*') {
        None => same(p, t),
        Some((head, tail)) => {
            t.len() >= head.len() + tail.len()
                && same(&t[..head.len()], head.as_bytes())
                && same(&t[t.len() - tail.len()..], tail.as_bytes())
        }
    }
}

/// A bucket's CORS state, as the store finds it.
#[derive(Debug, Clone)]
pub(crate) enum CorsLookup {
    /// No such bucket.
    NoSuchBucket,
    /// The bucket has no CORS configuration.
    NotConfigured,
    /// The bucket's rules.
    Rules(Arc<CorsConfig>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(methods: &[&str], origins: &[&str], headers: &[&str]) -> RuleInput {
        RuleInput {
            methods: methods.iter().map(|s| (*s).to_owned()).collect(),
            origins: origins.iter().map(|s| (*s).to_owned()).collect(),
            headers: headers.iter().map(|s| (*s).to_owned()).collect(),
            ..RuleInput::default()
        }
    }

    #[test]
    fn wildcards_stand_for_any_run() {
        assert!(wildcard("*", "https://a.example", false));
        assert!(wildcard(
            "https://*.example.com",
            "https://a.b.example.com",
            false
        ));
        assert!(!wildcard(
            "https://*.example.com",
            "http://a.example.com",
            false
        ));
        assert!(!wildcard(
            "https://*.example.com",
            "https://example.com",
            false
        ));
        assert!(wildcard("http://a*", "http://a", false));
        // Origins keep their case; headers do not.
        assert!(!wildcard("https://A.example", "https://a.example", false));
        assert!(wildcard("X-Amz-*", "x-amz-date", true));
        assert!(!wildcard("x-amz-*", "content-type", true));
    }

    #[test]
    fn the_first_rule_that_matches_answers() {
        let config = CorsConfig::new(vec![
            rule(
                &["PUT"],
                &["https://*.example.com"],
                &["x-amz-*", "content-type"],
            ),
            rule(&["GET", "HEAD"], &["*"], &[]),
        ])
        .expect("valid");
        let put = config.matching(
            "https://app.example.com",
            "PUT",
            Some("Content-Type, X-Amz-Date"),
        );
        assert_eq!(put.map(|r| r.methods.clone()), Some(vec![CorsMethod::Put]));
        // A header no AllowedHeader covers: no rule.
        assert!(
            config
                .matching("https://app.example.com", "PUT", Some("x-custom"))
                .is_none()
        );
        // Headers asked of a rule without AllowedHeader: no match.
        assert!(
            config
                .matching("https://x.test", "GET", Some("range"))
                .is_none()
        );
        assert!(config.matching("https://x.test", "GET", None).is_some());
        assert!(config.matching("https://x.test", "DELETE", None).is_none());
        assert!(config.matching("https://x.test", "get", None).is_none());
    }

    #[test]
    fn s3_refuses_what_it_refuses() {
        assert!(matches!(
            CorsConfig::new(vec![]),
            Err(Invalid::Malformed(_))
        ));
        let too_many = (0..=MAX_RULES)
            .map(|_| rule(&["GET"], &["*"], &[]))
            .collect();
        assert!(matches!(
            CorsConfig::new(too_many),
            Err(Invalid::Malformed(_))
        ));
        assert_eq!(
            CorsConfig::new(vec![rule(&["MYMETHOD"], &["*"], &[])]),
            Err(Invalid::Request(
                "Found unsupported HTTP method in CORS config. Unsupported method is MYMETHOD"
                    .into()
            ))
        );
        assert!(matches!(
            CorsConfig::new(vec![rule(&["GET"], &["http://*.*.example"], &[])]),
            Err(Invalid::Request(_))
        ));
        assert!(matches!(
            CorsConfig::new(vec![rule(&["GET"], &[], &[])]),
            Err(Invalid::Malformed(_))
        ));
        assert!(matches!(
            CorsConfig::new(vec![rule(&["GET"], &["*"], &["bad header"])]),
            Err(Invalid::Request(_))
        ));
        let mut long_id = rule(&["GET"], &["*"], &[]);
        long_id.id = Some("i".repeat(MAX_ID_LEN + 1));
        assert!(matches!(
            CorsConfig::new(vec![long_id]),
            Err(Invalid::Argument(_))
        ));
    }

    #[test]
    fn an_answer_carries_the_rule() {
        let mut r = rule(&["GET", "PUT"], &["https://a.test"], &["*"]);
        r.expose = vec!["ETag".into(), "x-amz-request-id".into()];
        r.max_age = Some(3000);
        let config = CorsConfig::new(vec![r]).expect("valid");
        let matched = config
            .matching("https://a.test", "PUT", Some("X-Amz-Date,content-type"))
            .expect("matches");
        let mut headers = HeaderMap::new();
        matched.answer(
            &mut headers,
            &HeaderValue::from_static("https://a.test"),
            Some("X-Amz-Date,content-type"),
        );
        let get = |n: http::HeaderName| headers.get(n).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            get(ACCESS_CONTROL_ALLOW_ORIGIN).as_deref(),
            Some("https://a.test")
        );
        assert_eq!(
            get(ACCESS_CONTROL_ALLOW_CREDENTIALS).as_deref(),
            Some("true")
        );
        assert_eq!(
            get(ACCESS_CONTROL_ALLOW_METHODS).as_deref(),
            Some("GET, PUT")
        );
        assert_eq!(
            get(ACCESS_CONTROL_ALLOW_HEADERS).as_deref(),
            Some("x-amz-date, content-type")
        );
        assert_eq!(
            get(ACCESS_CONTROL_EXPOSE_HEADERS).as_deref(),
            Some("ETag, x-amz-request-id")
        );
        assert_eq!(get(ACCESS_CONTROL_MAX_AGE).as_deref(), Some("3000"));
        assert_eq!(get(VARY).as_deref(), Some(VARY_VALUE));
    }

    #[test]
    fn rules_survive_the_store_encoding() {
        let mut r = rule(&["GET"], &["*"], &["x-AMZ-*"]);
        r.id = Some("public reads".into());
        r.max_age = Some(0);
        let config =
            CorsConfig::new(vec![r, rule(&["DELETE"], &["https://a"], &[])]).expect("valid");
        let bytes = s3torrent_bencode::to_vec(&config).expect("encodes");
        let back: CorsConfig = s3torrent_bencode::from_bytes(&bytes).expect("decodes");
        assert_eq!(back, config);
    }
}
