//! Server-side encryption in the S3 operations: what a write asks for
//! (its headers, else the bucket's default encryption), what a read must
//! bring (an SSE-C object's key), what answers echo, and
//! Put/Get/DeleteBucketEncryption. The cipher and the keys are
//! `crate::sse`'s; the sealed data key is the object record's.

use http::{HeaderMap, HeaderValue};
use s3s::dto;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use s3torrent_s3::BucketName;

use super::Server;
use crate::sse::{Asked, CustomerKey, DataKey, Envelope, Mode, SseError, Target};
use crate::store::{DefaultEncryption, Store};

/// Over which transports SSE-C keys are taken: S3 takes them over HTTPS
/// only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CustomerKeys {
    /// Taken from a request that came over TLS (see [`Transport`]),
    /// refused over plain HTTP as S3 refuses them.
    SecureOnly,
    /// Taken over any transport: `--allow-sse-c-over-http` says plain
    /// HTTP is fine (loopback, tests).
    AnyTransport,
}

/// How a request came to the server, as `aws:SecureTransport` has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// Over TLS: the S3 listener's own, or, from a `--trusted-proxy`, the
    /// proxy's, as its `X-Forwarded-Proto` or `Forwarded: proto=` says.
    Secure,
    /// Over plain HTTP.
    Plain,
}

impl Transport {
    /// How `req` came: the front marks a request that came over TLS
    /// (`front::SecureTransport`).
    pub(crate) fn of<T>(req: &S3Request<T>) -> Transport {
        if req
            .extensions
            .get::<crate::edge::front::SecureTransport>()
            .is_some()
        {
            Transport::Secure
        } else {
            Transport::Plain
        }
    }
}

/// `x-amz-server-side-encryption` on a request that takes none (GET,
/// HEAD, UploadPart): S3's 400.
fn not_for_reads() -> s3s::S3Error {
    s3_error!(
        InvalidArgument,
        "x-amz-server-side-encryption header is not supported for this operation."
    )
}

/// What answers say of an object's encryption.
#[derive(Debug, Clone, Default)]
pub(super) struct Echo {
    sse: Option<&'static str>,
    kms_key_id: Option<String>,
    customer_md5: Option<String>,
}

impl Echo {
    /// The encryption `envelope` records, and the customer's key MD5 for
    /// an SSE-C object (from the request that brought the key).
    pub(super) fn of(envelope: Option<&Envelope>, customer: Option<&CustomerKey>) -> Echo {
        let Some(e) = envelope else {
            return Echo::default();
        };
        Echo {
            sse: e.mode.header(),
            kms_key_id: match &e.mode {
                Mode::Kms { key_id } => Some(key_id.clone()),
                _ => None,
            },
            customer_md5: match &e.mode {
                Mode::Customer { .. } => customer.map(|c| c.md5.clone()),
                _ => None,
            },
        }
    }

    /// Writes the `x-amz-server-side-encryption*` headers.
    pub(super) fn write(&self, headers: &mut HeaderMap) {
        let mut put = |name: &'static str, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        };
        if let Some(s) = self.sse {
            put("x-amz-server-side-encryption", s);
        }
        if let Some(k) = &self.kms_key_id {
            put("x-amz-server-side-encryption-aws-kms-key-id", k);
        }
        if let Some(m) = &self.customer_md5 {
            put("x-amz-server-side-encryption-customer-algorithm", "AES256");
            put("x-amz-server-side-encryption-customer-key-md5", m);
        }
    }

    /// `answer` with the headers written.
    pub(super) fn answer<T>(&self, mut answer: S3Response<T>) -> S3Response<T> {
        self.write(&mut answer.headers);
        answer
    }
}

/// An SSE-C or SSE-KMS object's ETag: 32 hex digits that are not the
/// plaintext's MD5 (S3's are not either), a digest of it and the sealed
/// data key, unique to the write.
pub(super) fn opaque_etag(md5: &str, envelope: Option<&Envelope>) -> String {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    h.update(b"s3torrent sse etag\0");
    h.update(md5.as_bytes());
    if let Some(e) = envelope {
        h.update(e.digest_input());
    }
    crate::store::hex(&h.finalize())
}

/// A part's ETag in an upload encrypted as `envelope` says: the MD5 of its
/// plaintext for SSE-S3 and plain uploads, else opaque (the same bytes
/// uploaded again to the same upload get the same ETag).
pub(super) fn part_etag(md5: &str, envelope: Option<&Envelope>) -> String {
    match envelope.map(|e| &e.mode) {
        Some(Mode::Customer { .. } | Mode::Kms { .. }) => opaque_etag(md5, envelope),
        _ => md5.to_owned(),
    }
}

/// The SSE-C key that a request's three customer-key fields give, if
/// any (checked: `InvalidArgument`, naming the headers by `prefix`).
pub(super) fn customer_key_of(
    (algorithm, key, md5): (Option<&String>, Option<&String>, Option<&String>),
    prefix: &str,
) -> S3Result<Option<CustomerKey>> {
    crate::sse::customer_key(
        (
            algorithm.map(String::as_str),
            key.map(String::as_str),
            md5.map(String::as_str),
        ),
        prefix,
    )
    .map_err(|e| e.to_s3())
}

/// The SSE-C key of an s3s input: its
/// `x-amz-server-side-encryption-customer-*` fields (`customer_of!(input)`),
/// or its `x-amz-copy-source-server-side-encryption-customer-*` ones
/// (`customer_of!(input, copy_source)`).
macro_rules! customer_of {
    ($input:expr) => {
        $crate::ops::encryption::customer_key_of(
            (
                $input.sse_customer_algorithm.as_ref(),
                $input.sse_customer_key.as_ref(),
                $input.sse_customer_key_md5.as_ref(),
            ),
            "x-amz-server-side-encryption-customer",
        )
    };
    ($input:expr, copy_source) => {
        $crate::ops::encryption::customer_key_of(
            (
                $input.copy_source_sse_customer_algorithm.as_ref(),
                $input.copy_source_sse_customer_key.as_ref(),
                $input.copy_source_sse_customer_key_md5.as_ref(),
            ),
            "x-amz-copy-source-server-side-encryption-customer",
        )
    };
}
pub(super) use customer_of;

/// What an s3s write input's encryption fields ask ([`asked`]).
macro_rules! asked_of {
    ($input:expr) => {
        $crate::ops::encryption::asked(
            $input.server_side_encryption.as_ref(),
            $input.ssekms_key_id.as_ref(),
            (
                $input.sse_customer_algorithm.as_ref(),
                $input.sse_customer_key.as_ref(),
                $input.sse_customer_key_md5.as_ref(),
            ),
        )
    };
}
pub(super) use asked_of;

/// What a write's headers ask (PutObject, CopyObject,
/// CreateMultipartUpload).
pub(super) fn asked(
    sse: Option<&dto::ServerSideEncryption>,
    kms_key_id: Option<&String>,
    customer: (Option<&String>, Option<&String>, Option<&String>),
) -> S3Result<Asked> {
    crate::sse::asked(
        sse.map(|s| s.as_str()),
        kms_key_id.map(String::as_str),
        (
            customer.0.map(String::as_str),
            customer.1.map(String::as_str),
            customer.2.map(String::as_str),
        ),
    )
    .map_err(|e| e.to_s3())
}

/// A read (GET, HEAD, UploadPart, ...) that carries
/// `x-amz-server-side-encryption` or its KMS key ID: S3's 400.
pub(super) fn refuse_write_headers(headers: &HeaderMap) -> S3Result<()> {
    if headers.contains_key("x-amz-server-side-encryption")
        || headers.contains_key("x-amz-server-side-encryption-aws-kms-key-id")
    {
        return Err(not_for_reads());
    }
    Ok(())
}

/// Whether a read brings what the object's encryption needs: an SSE-C
/// object its customer's key (400 `InvalidRequest` without it or with
/// another), any other object no customer key.
pub(super) fn check_key(
    envelope: Option<&Envelope>,
    customer: Option<&CustomerKey>,
) -> S3Result<()> {
    match (envelope.map(|e| (&e.mode, e)), customer) {
        (Some((Mode::Customer { .. }, e)), Some(c)) if e.customer_matches(&c.key) => Ok(()),
        (Some((Mode::Customer { .. }, _)), Some(_)) => Err(s3_error!(
            InvalidRequest,
            "The provided encryption parameters did not match the ones used originally."
        )),
        (Some((Mode::Customer { .. }, _)), None) => Err(s3_error!(
            InvalidRequest,
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."
        )),
        (_, Some(_)) => Err(s3_error!(
            InvalidRequest,
            "The encryption parameters are not applicable to this object."
        )),
        (_, None) => Ok(()),
    }
}

impl Server {
    /// SSE-C from a request that came over plain HTTP is refused (400
    /// `InvalidRequest`, as S3 says it) unless `--allow-sse-c-over-http`.
    pub(super) fn check_customer_transport(
        &self,
        transport: Transport,
        key: Option<&CustomerKey>,
    ) -> S3Result<()> {
        if key.is_some()
            && transport == Transport::Plain
            && self.customer_keys == CustomerKeys::SecureOnly
        {
            return Err(s3_error!(
                InvalidRequest,
                "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection."
            ));
        }
        Ok(())
    }

    /// [`Server::stored`] for a store call that may fail as encryption
    /// does (a key's file read, a customer key that does not open the
    /// object): on a blocking thread, its error as S3 answers it.
    pub(super) async fn sse_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, SseError> + Send + 'static,
    ) -> S3Result<T> {
        let store = std::sync::Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| s3_error!(InternalError, "{e}"))?
            .map_err(|e| e.to_s3())
    }

    /// A new object's data key, sealed as `target` says (a KMS key's
    /// first use reads its file); none without a target.
    pub(super) async fn sealed_key(
        &self,
        target: Option<Target>,
    ) -> S3Result<Option<(DataKey, Envelope)>> {
        match target {
            Some(t) => self
                .sse_blocking(move |s| s.new_data_key(&t))
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    /// How a new object of `bucket` is encrypted: as its request asks,
    /// else as the bucket's default encryption says; none for neither. A
    /// KMS key is checked to exist before any body is read; a customer
    /// key is refused from a request that came over plain HTTP
    /// ([`Server::check_customer_transport`]).
    pub(super) async fn write_target(
        &self,
        bucket: &BucketName,
        asked: Asked,
        transport: Transport,
    ) -> S3Result<Option<Target>> {
        let target = match asked {
            Asked::Customer(c) => {
                self.check_customer_transport(transport, Some(&c))?;
                Some(Target::Customer(c))
            }
            Asked::S3 => Some(Target::S3),
            Asked::Kms(Some(id)) => Some(Target::Kms(id)),
            asked @ (Asked::Kms(None) | Asked::Nothing) => {
                // From the bucket memo on this thread when it holds the
                // bucket (the request's checks have just read it), else
                // from the database on a blocking one.
                let default = if self.store.bucket_memoized(bucket) {
                    self.store
                        .bucket_encryption(bucket)
                        .map_err(super::to_s3s)?
                } else {
                    let b = bucket.clone();
                    self.stored(move |s| s.bucket_encryption(&b)).await?
                };
                match (asked, default) {
                    (Asked::Kms(None), Some(DefaultEncryption::Kms(Some(id)))) => {
                        Some(Target::Kms(id))
                    }
                    (Asked::Kms(None), _) | (_, Some(DefaultEncryption::Kms(None))) => {
                        return Err(s3_error!(
                            InvalidArgument,
                            "Server Side Encryption with KMS needs a key ID (x-amz-server-side-encryption-aws-kms-key-id): this server has no AWS managed key."
                        ));
                    }
                    (_, Some(DefaultEncryption::Kms(Some(id)))) => Some(Target::Kms(id)),
                    (_, Some(DefaultEncryption::S3)) => Some(Target::S3),
                    (_, None) => None,
                }
            }
        };
        if let Some(Target::Kms(id)) = &target {
            let id = id.clone();
            self.sse_blocking(move |s| s.check_kms_key(&id)).await?;
        }
        Ok(target)
    }

    pub(super) async fn put_bucket_encryption_(
        &self,
        req: S3Request<dto::PutBucketEncryptionInput>,
    ) -> S3Result<S3Response<dto::PutBucketEncryptionOutput>> {
        let (bucket, _) = self
            .bucket_for_settings(&req, &req.input.bucket, "s3:PutEncryptionConfiguration")
            .await?;
        let malformed = || {
            s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema: \
                 ServerSideEncryptionConfiguration takes one Rule with ApplyServerSideEncryptionByDefault"
            )
        };
        let rules = &req.input.server_side_encryption_configuration.rules;
        let [rule] = rules.as_slice() else {
            return Err(malformed());
        };
        let by_default = rule
            .apply_server_side_encryption_by_default
            .as_ref()
            .ok_or_else(malformed)?;
        let default = match (
            by_default.sse_algorithm.as_str(),
            by_default.kms_master_key_id.clone(),
        ) {
            ("AES256", None) => DefaultEncryption::S3,
            ("AES256", Some(_)) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms"
                ));
            }
            ("aws:kms", id) => DefaultEncryption::Kms(id),
            (other, _) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "The SSEAlgorithm {other:?} is not supported (AES256 or aws:kms)."
                ));
            }
        };
        self.stored(move |s| s.set_bucket_encryption(&bucket, Some(default)))
            .await?;
        Ok(S3Response::new(dto::PutBucketEncryptionOutput::default()))
    }

    pub(super) async fn get_bucket_encryption_(
        &self,
        req: S3Request<dto::GetBucketEncryptionInput>,
    ) -> S3Result<S3Response<dto::GetBucketEncryptionOutput>> {
        let (bucket, _) = self
            .bucket_for_settings(&req, &req.input.bucket, "s3:GetEncryptionConfiguration")
            .await?;
        let default = self.stored(move |s| s.bucket_encryption(&bucket)).await?;
        let Some(default) = default else {
            return Err(s3_error!(
                ServerSideEncryptionConfigurationNotFoundError,
                "The server side encryption configuration was not found"
            ));
        };
        let (algorithm, key) = match default {
            DefaultEncryption::S3 => ("AES256", None),
            DefaultEncryption::Kms(id) => ("aws:kms", id),
        };
        Ok(S3Response::new(dto::GetBucketEncryptionOutput {
            server_side_encryption_configuration: Some(dto::ServerSideEncryptionConfiguration {
                rules: vec![dto::ServerSideEncryptionRule {
                    apply_server_side_encryption_by_default: Some(
                        dto::ServerSideEncryptionByDefault {
                            sse_algorithm: dto::ServerSideEncryption::from(algorithm.to_owned()),
                            kms_master_key_id: key,
                        },
                    ),
                    bucket_key_enabled: Some(false),
                }],
            }),
        }))
    }

    pub(super) async fn delete_bucket_encryption_(
        &self,
        req: S3Request<dto::DeleteBucketEncryptionInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketEncryptionOutput>> {
        let (bucket, _) = self
            .bucket_for_settings(&req, &req.input.bucket, "s3:PutEncryptionConfiguration")
            .await?;
        self.stored(move |s| s.set_bucket_encryption(&bucket, None))
            .await?;
        Ok(S3Response::new(dto::DeleteBucketEncryptionOutput::default()))
    }
}
