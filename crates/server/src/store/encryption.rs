//! Server-side encryption in the store: new data keys sealed under their
//! master keys, and the readers that decipher an object version's file.

use super::*;
use s3torrent_s3::{ErrorCode, S3Error};

use crate::sse::{CustomerKey, DataKey, Envelope, Mode, ObjectReader, SseError, Target};

/// Why an SSE-C object's key was refused.
fn needs_key() -> SseError {
    SseError::InvalidRequest(
        "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.".to_owned(),
    )
}

impl Store {
    /// A fresh data key for an object encrypted as `target`, and its
    /// envelope (the data key sealed under the master key).
    pub(crate) fn new_data_key(&self, target: &Target) -> Result<(DataKey, Envelope), SseError> {
        let data = DataKey::random()?;
        let envelope = match target {
            Target::S3 => Envelope::seal(Mode::S3, &data, &*self.keys.sse_s3()?)?,
            Target::Kms(id) => {
                let master = self.keys.kms(id)?;
                Envelope::seal(Mode::Kms { key_id: id.clone() }, &data, &master)?
            }
            Target::Customer(c) => {
                let mut salt = [0u8; 16];
                getrandom::fill(&mut salt).map_err(|e| SseError::Random(e.to_string()))?;
                let mode = Mode::Customer {
                    salt,
                    fingerprint: crate::sse::fingerprint(&salt, &c.key),
                };
                Envelope::seal(mode, &data, &c.key)?
            }
        };
        Ok((data, envelope))
    }

    /// Checks that a KMS key exists in the key ring (before a body is read).
    pub(crate) fn check_kms_key(&self, id: &str) -> Result<(), SseError> {
        self.keys.kms(id).map(drop)
    }

    /// The data key of `envelope`, opened with its master key: the store's
    /// for SSE-S3 and SSE-KMS, the customer's (`customer`, which must be
    /// the one it was written with) for SSE-C.
    pub(crate) fn open_data_key(
        &self,
        envelope: &Envelope,
        customer: Option<&CustomerKey>,
    ) -> Result<DataKey, SseError> {
        match &envelope.mode {
            Mode::S3 => envelope.open(&*self.keys.sse_s3_to_read()?),
            Mode::Kms { key_id } => envelope.open(&*self.keys.kms(key_id)?),
            Mode::Customer { .. } => {
                let c = customer.ok_or_else(needs_key)?;
                if !envelope.customer_matches(&c.key) {
                    return Err(SseError::InvalidRequest(
                        "The provided encryption parameters did not match the ones used originally (x-amz-server-side-encryption-customer-key).".to_owned(),
                    ));
                }
                envelope.open(&c.key)
            }
        }
    }

    /// [`Store::open_data_key`] if it reads no file: the master key is in
    /// memory already, or is the customer's; `None` if it would read one
    /// (the caller then asks [`Store::open_data_key`] on a blocking
    /// thread).
    pub(crate) fn open_data_key_now(
        &self,
        envelope: &Envelope,
        customer: Option<&CustomerKey>,
    ) -> Option<Result<DataKey, SseError>> {
        let master = match &envelope.mode {
            Mode::S3 => self.keys.held_sse_s3()?,
            Mode::Kms { key_id } => self.keys.held_kms(key_id)?,
            Mode::Customer { .. } => return Some(self.open_data_key(envelope, customer)),
        };
        Some(envelope.open(&master))
    }

    /// The plaintext reader of the version `meta` describes, whose file is
    /// `file`; an SSE-C object needs its customer's key.
    pub(crate) fn reader(
        &self,
        file: fs::File,
        meta: &ObjectMeta,
        customer: Option<&CustomerKey>,
    ) -> Result<ObjectReader, SseError> {
        match &meta.sse {
            None => Ok(ObjectReader::plain(file)),
            Some(envelope) => Ok(ObjectReader::encrypted(
                file,
                self.open_data_key(envelope, customer)?,
            )),
        }
    }
}

impl From<SseError> for StoreError {
    fn from(e: SseError) -> StoreError {
        let code = match &e {
            SseError::InvalidArgument(_) | SseError::NoSuchKmsKey(_) => ErrorCode::InvalidArgument,
            SseError::InvalidRequest(_) => ErrorCode::InvalidRequest,
            _ => ErrorCode::InternalError,
        };
        StoreError::Refused {
            source: S3Error::with_message(code, e.to_string(), ""),
        }
    }
}

/// A bucket's default encryption (PutBucketEncryption), applied to new
/// objects whose request asks for none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredDefault", into = "StoredDefault")]
pub(crate) enum DefaultEncryption {
    /// SSE-S3.
    S3,
    /// SSE-KMS with this key (none: refused at write time, as this server
    /// has no AWS managed key).
    Kms(Option<String>),
}

#[derive(Serialize, Deserialize)]
struct StoredDefault {
    algorithm: String,
    #[serde(rename = "key id", default, skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
}

impl From<DefaultEncryption> for StoredDefault {
    fn from(d: DefaultEncryption) -> StoredDefault {
        match d {
            DefaultEncryption::S3 => StoredDefault {
                algorithm: "AES256".to_owned(),
                key_id: None,
            },
            DefaultEncryption::Kms(key_id) => StoredDefault {
                algorithm: "aws:kms".to_owned(),
                key_id,
            },
        }
    }
}

impl TryFrom<StoredDefault> for DefaultEncryption {
    type Error = String;

    fn try_from(s: StoredDefault) -> Result<DefaultEncryption, String> {
        match s.algorithm.as_str() {
            "AES256" => Ok(DefaultEncryption::S3),
            "aws:kms" => Ok(DefaultEncryption::Kms(s.key_id)),
            other => Err(format!("a bucket's default encryption {other:?}")),
        }
    }
}

impl Store {
    /// The bucket's default encryption, if it has one: from the bucket
    /// memo when it holds the bucket (every write empties the memo, so
    /// Put/DeleteBucketEncryption's commit is seen by the next read).
    pub(crate) fn bucket_encryption(
        &self,
        bucket: &BucketName,
    ) -> Result<Option<DefaultEncryption>, StoreError> {
        Ok(self.bucket_row(bucket)?.and_then(|r| r.encryption))
    }

    /// Put/DeleteBucketEncryption.
    pub(crate) fn set_bucket_encryption(
        &self,
        bucket: &BucketName,
        default: Option<DefaultEncryption>,
    ) -> Result<(), StoreError> {
        self.update_bucket(bucket, |meta| meta.encryption = default)
    }
}
