//! PostObject: a browser form's upload. s3s parses the form, checks its
//! policy (expiration, conditions, `content-length-range`) and its V2 or V4
//! signature, and answers as the form asks (`success_action_redirect`,
//! `success_action_status`); the upload itself is PutObject's, under the
//! same ACL and policy rules (an unsigned form writes as the anonymous
//! requester). What is left here is what S3 answers besides.

use http::{HeaderValue, Method};
use s3s::S3Response;
use s3s::dto;

/// Whether a PutObject came as one or as a form.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Form {
    /// A PutObject.
    Put,
    /// A PostObject: the form's fields as a PutObject.
    Post,
}

impl Form {
    /// A POST reaches PutObject only as a form (s3s routes it so).
    pub(crate) fn of(method: &Method) -> Form {
        if *method == Method::POST {
            Form::Post
        } else {
            Form::Put
        }
    }

    /// The answer to the upload. A form's gets, as S3 gives it, the ETag
    /// and version in headers, and the ETag quoted where s3s writes it into
    /// the answer (the `etag` of the redirect's query, `ETag` of the 201
    /// answer's `PostResponse`).
    pub(crate) fn answer(self, mut out: dto::PutObjectOutput) -> S3Response<dto::PutObjectOutput> {
        if self == Form::Put {
            return S3Response::new(out);
        }
        let quoted = out.e_tag.as_ref().map(|e| format!("\"{}\"", e.value()));
        let mut headers = http::HeaderMap::new();
        if let Some(q) = &quoted {
            if let Ok(v) = HeaderValue::from_str(q) {
                headers.insert(http::header::ETAG, v);
            }
            out.e_tag = Some(dto::ETag::Strong(q.clone()));
        }
        if let Some(v) = out
            .version_id
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert("x-amz-version-id", v);
        }
        let mut answer = S3Response::new(out);
        answer.headers = headers;
        answer
    }
}

/// The most bytes of an error answer read to tell a failed policy
/// condition ([`failed_condition`]); s3s's error answers are far smaller.
pub(crate) const MAX_REFUSAL_BYTES: usize = 16 * 1024;

/// Whether s3s's answer to a form (`status`, its XML `body`) is a policy
/// condition the form failed: s3s answers `InvalidPolicyDocument` (400)
/// for it, S3 answers `AccessDenied` (403) with "Invalid according to
/// Policy: Policy Condition failed". The message to give then (s3s's,
/// after S3's words), unescaped. A policy that could not be read stays
/// s3s's 400, as S3 answers one.
pub(crate) fn failed_condition(status: u16, body: &[u8]) -> Option<String> {
    if status != 400 || body.len() > MAX_REFUSAL_BYTES {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let between = |open: &str, close: &str| {
        let start = text.find(open)? + open.len();
        let end = start + text[start..].find(close)?;
        Some(&text[start..end])
    };
    if between("<Code>", "</Code>")? != "InvalidPolicyDocument" {
        return None;
    }
    let message = between("<Message>", "</Message>").unwrap_or_default();
    let message = message
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    let condition =
        message.starts_with("Policy condition ") || message.starts_with("Bucket in form field ");
    condition.then(|| format!("Invalid according to Policy: Policy Condition failed: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// s3s's refusals as it words them, and hostile bodies.
    #[test]
    fn failed_conditions_and_the_rest() {
        let refusal = |code: &str, message: &str| {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
            )
        };
        let failed = refusal(
            "InvalidPolicyDocument",
            "Policy condition &apos;eq&apos; for field &apos;x-amz-meta-foo&apos; failed: expected &apos;&apos;, got &apos;barclamp&apos;",
        );
        assert_eq!(
            failed_condition(400, failed.as_bytes()).as_deref(),
            Some(
                "Invalid according to Policy: Policy Condition failed: Policy condition 'eq' for field 'x-amz-meta-foo' failed: expected '', got 'barclamp'"
            )
        );
        let bucket = refusal(
            "InvalidPolicyDocument",
            "Bucket in form field &apos;a&apos; does not match bucket in URL &apos;b&apos;",
        );
        assert!(failed_condition(400, bucket.as_bytes()).is_some());
        for (status, body) in [
            (
                400,
                refusal("InvalidPolicyDocument", "failed to parse POST policy"),
            ),
            (400, refusal("InvalidArgument", "Policy condition x")),
            (403, failed.clone()),
            (400, "<Code>InvalidPolicyDocument".to_owned()),
            (400, "\u{0}\u{ff}".to_owned()),
            (400, format!("{failed}{}", " ".repeat(MAX_REFUSAL_BYTES))),
        ] {
            assert_eq!(
                failed_condition(status, body.as_bytes()),
                None,
                "{body:.80}"
            );
        }
        assert_eq!(failed_condition(400, b"\xff\xfe"), None);
    }
}
