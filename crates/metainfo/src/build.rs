//! The torrent builder: the plain profile and the AWS S3 profile.

use bytes::Bytes;
use s3torrent_bencode::{Dict, OwnedValue, Value};

use crate::error::{Error, Result};
use crate::hash::Pieces;
use crate::torrent::{Torrent, check_name};

/// What a built torrent holds beyond the essentials.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Profile {
    /// `info` holds exactly `length`, `name`, `piece length` and `pieces`
    /// (plus `private` and `source` when set), so the info-hash equals what
    /// mktorrent, torf or imdl compute for the same file, name and piece length.
    Plain,
    /// Amazon S3's torrents: `info` also holds `x-amz-bucket` and `x-amz-key`;
    /// the top level holds exactly `announce`, `announce-list`, `info`, and
    /// `url-list` when a web seed is set.
    Aws {
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
    },
}

/// Builds canonical torrent bytes from piece hashes.
///
/// The same input always gives the same bytes: there is no creation date
/// unless one is set.
///
/// ```
/// use s3torrent_metainfo::{PieceHasher, PieceLength, TorrentBuilder};
///
/// let mut hasher = PieceHasher::new(PieceLength::AWS);
/// hasher.update(b"Nelson's column");
/// let pieces = hasher.finish();
///
/// let torrent = TorrentBuilder::aws("quotes", "people/Nelson")
///     .tracker("http://tracker.example:6969/announce")
///     .build(&pieces)?;
/// assert_eq!(torrent.info().name(), "people_Nelson");
/// assert_eq!(torrent.info().aws_key(), Some("people/Nelson"));
/// assert_eq!(torrent.announce(), Some("http://tracker.example:6969/announce"));
/// assert!(torrent.magnet().starts_with("magnet:?xt=urn:btih:"));
/// # Ok::<(), s3torrent_metainfo::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TorrentBuilder {
    profile: Profile,
    name: String,
    tiers: Vec<Vec<String>>,
    web_seeds: Vec<String>,
    private: bool,
    source: Option<String>,
    comment: Option<String>,
    created_by: Option<String>,
    creation_date: Option<i64>,
}

impl TorrentBuilder {
    /// A plain torrent named `name`.
    pub fn plain(name: impl Into<String>) -> Self {
        Self::with_profile(Profile::Plain, name.into())
    }

    /// A torrent in the AWS profile for `bucket`/`key`, named after the key
    /// with every `/` replaced by `_`.
    pub fn aws(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        let key = key.into();
        let name = key.replace('/', "_");
        Self::with_profile(
            Profile::Aws {
                bucket: bucket.into(),
                key,
            },
            name,
        )
    }

    fn with_profile(profile: Profile, name: String) -> Self {
        TorrentBuilder {
            profile,
            name,
            tiers: Vec::new(),
            web_seeds: Vec::new(),
            private: false,
            source: None,
            comment: None,
            created_by: None,
            creation_date: None,
        }
    }

    /// Replaces the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Adds a tracker in a tier of its own. The first tracker is also `announce`.
    pub fn tracker(mut self, url: impl Into<String>) -> Self {
        self.tiers.push(vec![url.into()]);
        self
    }

    /// Adds a tier of trackers (BEP 12).
    pub fn tracker_tier(mut self, urls: Vec<String>) -> Self {
        if !urls.is_empty() {
            self.tiers.push(urls);
        }
        self
    }

    /// Adds a web seed (BEP 19). One is written as a string, several as a list.
    pub fn web_seed(mut self, url: impl Into<String>) -> Self {
        self.web_seeds.push(url.into());
        self
    }

    /// Sets `info.private` (BEP 27). Plain profile only.
    pub fn private(mut self, private: bool) -> Self {
        self.private = private;
        self
    }

    /// Sets `info.source`. Plain profile only.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets `comment`. Plain profile only.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Sets `created by`. Plain profile only.
    pub fn created_by(mut self, created_by: impl Into<String>) -> Self {
        self.created_by = Some(created_by.into());
        self
    }

    /// Sets `creation date` (seconds since the Unix epoch). Plain profile
    /// only; without it the output is reproducible.
    pub fn creation_date(mut self, seconds: i64) -> Self {
        self.creation_date = Some(seconds);
        self
    }

    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Encodes the torrent and parses it back, so the returned model, its
    /// bytes and its info-hash all come from one canonical encoding.
    ///
    /// Errors: a 0-byte object (libtorrent refuses torrents of length 0), a
    /// name that is empty, `.`, `..` or holds `/` or NUL, or an option that
    /// the AWS profile does not have.
    pub fn build(&self, pieces: &Pieces) -> Result<Torrent> {
        Torrent::from_bytes(self.to_bytes(pieces)?)
    }

    /// The canonical torrent bytes.
    pub fn to_bytes(&self, pieces: &Pieces) -> Result<Bytes> {
        if pieces.length() == 0 {
            return Err(Error::Build(
                "a 0-byte object has no torrent: BitTorrent clients refuse torrents of length 0"
                    .into(),
            ));
        }
        check_name(&self.name, "name").map_err(|e| Error::Build(e.to_string()))?;
        let mut info = Dict::new();
        put_int(&mut info, "length", pieces.length())?;
        put_str(&mut info, "name", &self.name);
        put_int(&mut info, "piece length", pieces.piece_length())?;
        info.insert(
            Bytes::from_static(b"pieces"),
            Value::bytes(Bytes::copy_from_slice(pieces.as_bytes())),
        );
        let mut root = Dict::new();
        match &self.profile {
            Profile::Plain => {
                if self.private {
                    put_int(&mut info, "private", 1)?;
                }
                if let Some(s) = &self.source {
                    put_str(&mut info, "source", s);
                }
                if let Some(c) = &self.comment {
                    put_str(&mut root, "comment", c);
                }
                if let Some(c) = &self.created_by {
                    put_str(&mut root, "created by", c);
                }
                if let Some(d) = self.creation_date {
                    root.insert(Bytes::from_static(b"creation date"), Value::int(d));
                }
            }
            Profile::Aws { bucket, key } => {
                let extras = [
                    ("private", self.private),
                    ("source", self.source.is_some()),
                    ("comment", self.comment.is_some()),
                    ("created by", self.created_by.is_some()),
                    ("creation date", self.creation_date.is_some()),
                ];
                if let Some((field, _)) = extras.iter().find(|(_, set)| *set) {
                    return Err(Error::Build(format!(
                        "`{field}` is not part of the AWS profile"
                    )));
                }
                put_str(&mut info, "x-amz-bucket", bucket);
                put_str(&mut info, "x-amz-key", key);
            }
        }
        if let Some(first) = self.tiers.first().and_then(|t| t.first()) {
            put_str(&mut root, "announce", first);
            let tiers = self
                .tiers
                .iter()
                .map(|tier| Value::list(tier.iter().map(|u| str_value(u)).collect()))
                .collect();
            root.insert(Bytes::from_static(b"announce-list"), Value::list(tiers));
        }
        match self.web_seeds.as_slice() {
            [] => {}
            [one] => put_str(&mut root, "url-list", one),
            many => {
                let list = many.iter().map(|u| str_value(u)).collect();
                root.insert(Bytes::from_static(b"url-list"), Value::list(list));
            }
        }
        root.insert(Bytes::from_static(b"info"), Value::dict(info));
        Ok(Value::dict(root).to_vec().into())
    }
}

fn str_value(s: &str) -> OwnedValue {
    Value::bytes(Bytes::copy_from_slice(s.as_bytes()))
}

fn put_str(dict: &mut Dict<Bytes>, key: &'static str, s: &str) {
    dict.insert(Bytes::from_static(key.as_bytes()), str_value(s));
}

fn put_int(dict: &mut Dict<Bytes>, key: &'static str, n: u64) -> Result<()> {
    let n = i64::try_from(n).map_err(|_| Error::Build(format!("`{key}` {n} exceeds i64")))?;
    dict.insert(Bytes::from_static(key.as_bytes()), Value::int(n));
    Ok(())
}
