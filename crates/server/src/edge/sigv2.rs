//! SigV2-signed requests to a bucket alone, as botocore signs them.
//!
//! A path-style request to a bucket (`PUT /photos`, `GET /photos?cors`)
//! goes on the wire without a trailing slash, but botocore's SigV2 signer
//! (and so boto3 and aws-cli with `signature_version = s3`) signs the
//! resource `/photos/`, where s3s canonicalizes the path as sent,
//! `/photos`: every such request failed with `SignatureDoesNotMatch`
//! (requests on objects were signed over their path and passed). The
//! front asks [`bucket_path_as_signed`] before s3s sees the request: when
//! the signature is the one over `/bucket/`, the path becomes `/bucket/`
//! (the same bucket to s3s's router), and s3s checks the signature again
//! over it, so this only chooses between the two spellings of the path;
//! it never lets a request through on its own.

use http::Request;
use sha1::{Digest, Sha1};

/// The query parameters SigV2 signs (the subresources), in the sorted order
/// the canonical resource lists them.
const SUBRESOURCES: [&str; 35] = [
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// The most bytes of headers and query read to build a string to sign
/// (a request past it is left to s3s as it is).
const MAX_SIGNED_BYTES: usize = 16 * 1024;

/// For a SigV2-signed, path-style request to a bucket alone (`/bucket`,
/// one segment, no trailing slash; `host_names_bucket` false) whose
/// signature is the one over the resource `/bucket/`: that path,
/// `/bucket/`, with the query kept. `None` for any other request (SigV4,
/// anonymous, an object's path, a signature over `/bucket`, an access key
/// `secret_of` does not know).
pub(crate) fn bucket_path_as_signed<B>(
    req: &Request<B>,
    host_names_bucket: bool,
    secret_of: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let path = req.uri().path();
    let bucket = path.strip_prefix('/')?;
    if host_names_bucket || bucket.is_empty() || bucket.contains('/') {
        return None;
    }
    let query = req.uri().query().unwrap_or_default();
    if query.len() > MAX_SIGNED_BYTES {
        return None;
    }
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    // Header auth (`Authorization: AWS KEY:SIGNATURE`), or a presigned URL.
    let (access_key, signature, date) = match header("authorization") {
        Some(auth) => {
            let (key, signature) = auth.strip_prefix("AWS ")?.split_once(':')?;
            let date = if req.headers().contains_key("x-amz-date") {
                ""
            } else {
                header("date").unwrap_or_default()
            };
            (key.to_owned(), signature.to_owned(), date.to_owned())
        }
        None => (
            param("AWSAccessKeyId")?.to_owned(),
            param("Signature")?.to_owned(),
            param("Expires")?.to_owned(),
        ),
    };
    let secret = secret_of(&access_key)?;
    let mut sts = String::with_capacity(256);
    sts.push_str(req.method().as_str());
    sts.push('\n');
    for name in ["content-md5", "content-type"] {
        sts.push_str(header(name).unwrap_or_default());
        sts.push('\n');
    }
    sts.push_str(&date);
    sts.push('\n');
    let mut amz: Vec<(&str, Vec<&str>)> = Vec::new();
    for (name, value) in req.headers() {
        let name = name.as_str();
        if !name.starts_with("x-amz-") {
            continue;
        }
        let value = value.to_str().ok()?.trim();
        match amz.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => amz.push((name, vec![value])),
        }
    }
    amz.sort_by(|a, b| a.0.cmp(b.0));
    for (name, values) in amz {
        sts.push_str(name);
        sts.push(':');
        sts.push_str(&values.join(","));
        sts.push('\n');
    }
    sts.push('/');
    sts.push_str(bucket);
    sts.push('/');
    let mut first = true;
    for sub in SUBRESOURCES {
        if let Some(v) = param(sub) {
            sts.push(if first { '?' } else { '&' });
            first = false;
            sts.push_str(sub);
            if !v.is_empty() {
                sts.push('=');
                sts.push_str(v);
            }
        }
    }
    if sts.len() > MAX_SIGNED_BYTES {
        return None;
    }
    let expected = base64_simd::STANDARD.encode_to_string(hmac_sha1(secret.as_bytes(), &sts));
    if !constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        return None;
    }
    Some(match req.uri().query() {
        Some(q) => format!("{path}/?{q}"),
        None => format!("{path}/"),
    })
}

/// HMAC-SHA1 (RFC 2104), SigV2's MAC.
fn hmac_sha1(key: &[u8], message: &str) -> [u8; 20] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.map(|b| b ^ byte);
    let mut inner = Sha1::new();
    inner.update(pad(0x36));
    inner.update(message.as_bytes());
    let mut outer = Sha1::new();
    outer.update(pad(0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A query parameter percent-decoded (`+` stays itself; a bad escape
/// stays as sent).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2202's HMAC-SHA1 test cases 1, 2 and 6 (a key longer than a
    /// block).
    #[test]
    fn hmac_sha1_vectors() {
        let hex = |b: [u8; 20]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(
            hex(hmac_sha1(&[0x0b; 20], "Hi There")),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        );
        assert_eq!(
            hex(hmac_sha1(b"Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hex(hmac_sha1(
                &[0xaa; 80],
                "Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
    }

    /// AWS's documented SigV2 example (GetBucketAcl, virtual-hosted in
    /// the documentation: here path-style, the resource the same): the
    /// signature over `/awsexamplebucket1/?acl`, as AWS gives it.
    #[test]
    fn the_slash_is_chosen_only_for_the_signature_over_it() {
        let secret = |k: &str| {
            (k == "AKIAIOSFODNN7EXAMPLE").then(|| "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into())
        };
        let req = |path: &str, signature: &str| {
            Request::get(path)
                .header("date", "Tue, 27 Mar 2007 19:44:46 +0000")
                .header(
                    "authorization",
                    format!("AWS AKIAIOSFODNN7EXAMPLE:{signature}"),
                )
                .body(())
                .unwrap()
        };
        let signed = "82ZHiFIjc+WbcwFKGUVEQspPn+0=";
        assert_eq!(
            bucket_path_as_signed(&req("/awsexamplebucket1?acl", signed), false, secret).as_deref(),
            Some("/awsexamplebucket1/?acl")
        );
        // Another signature, an object, a virtual-hosted request, an
        // unknown key: left as they are.
        for (path, signature, vhost) in [
            (
                "/awsexamplebucket1?acl",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                false,
            ),
            ("/awsexamplebucket1/?acl", signed, false),
            ("/awsexamplebucket1/x?acl", signed, false),
            ("/awsexamplebucket1?acl", signed, true),
            ("/?acl", signed, false),
        ] {
            assert_eq!(
                bucket_path_as_signed(&req(path, signature), vhost, secret),
                None,
                "{path}"
            );
        }
        let unknown = |_: &str| None;
        assert_eq!(
            bucket_path_as_signed(&req("/awsexamplebucket1?acl", signed), false, unknown),
            None
        );
    }

    /// Hostile requests: bad escapes, huge queries, odd authorization
    /// values; nothing panics and nothing is rewritten.
    #[test]
    fn hostile_requests() {
        let secret = |_: &str| Some("s".to_owned());
        for (path, auth) in [
            ("/b?%zz=%&%", "AWS k:sig"),
            ("/b", "AWS "),
            ("/b", "AWS4-HMAC-SHA256 Credential=x"),
            ("/b", "AWS k"),
        ] {
            let r = Request::get(path)
                .header("authorization", auth)
                .body(())
                .unwrap();
            assert_eq!(bucket_path_as_signed(&r, false, secret), None, "{path}");
        }
        let long = format!("/b?{}", "a=1&".repeat(MAX_SIGNED_BYTES / 3));
        let r = Request::get(long.as_str())
            .header("authorization", "AWS k:sig")
            .body(())
            .unwrap();
        assert_eq!(bucket_path_as_signed(&r, false, secret), None);
        assert_eq!(decode("a%2Fb%zz%4"), "a/b%zz%4");
    }
}
