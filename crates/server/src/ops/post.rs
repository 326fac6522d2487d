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
