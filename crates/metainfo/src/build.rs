//! The torrent builder: the plain profile and the AWS S3 profile.

use bytes::Bytes;
use s3torrent_bencode::{Dict, OwnedValue, Value};

use crate::error::{Error, Result};
use crate::hash::Pieces;
use crate::torrent::{Torrent, check_name};
use crate::v2::{PiecesV2, TorrentHashes, TorrentVersion};

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
    /// `url-list` when a web seed is set (and `piece layers` for v2 and
    /// hybrid torrents, which Amazon S3 itself does not serve).
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
/// unless one is set. [`build`](Self::build) makes v1 torrents from
/// [`Pieces`]; with [`version`](Self::version) set to v2 or hybrid,
/// [`build_hashes`](Self::build_hashes) makes BEP 52 torrents of one file
/// from [`TorrentHashes`] (multi-file v2 and hybrid torrents are not built).
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
///
/// A hybrid torrent, hashed in one pass:
///
/// ```
/// use s3torrent_metainfo::{PieceLength, TorrentBuilder, TorrentHasher, TorrentVersion};
///
/// let mut hasher = TorrentHasher::new(PieceLength::MIN, TorrentVersion::Hybrid);
/// hasher.update(&[42u8; 50_000]);
/// let hashes = hasher.finish();
///
/// let torrent = TorrentBuilder::plain("answers.bin")
///     .version(TorrentVersion::Hybrid)
///     .build_hashes(&hashes)?;
/// assert_eq!(torrent.version(), TorrentVersion::Hybrid);
/// assert_eq!(torrent.info().length(), 50_000);
/// let v2 = torrent.info_hash_v2().expect("a v2 info-hash");
/// assert_eq!(v2.to_hex().len(), 64);
/// assert!(torrent.magnet().starts_with("magnet:?xt=urn:btih:"));
/// assert!(torrent.magnet().contains(&format!("&xt=urn:btmh:1220{v2}")));
///
/// // The same hashes build the v2-only torrent too.
/// let v2_only = TorrentBuilder::plain("answers.bin")
///     .version(TorrentVersion::V2)
///     .build_hashes(&hashes)?;
/// assert_eq!(v2_only.info_hash_v1(), None);
/// assert_eq!(v2_only.info().v2_files()[0].pieces_root(), hashes.v2().unwrap().pieces_root());
/// # Ok::<(), s3torrent_metainfo::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TorrentBuilder {
    profile: Profile,
    version: TorrentVersion,
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
            version: TorrentVersion::V1,
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

    /// Sets the BitTorrent version to build ([`TorrentVersion::V1`] unless set).
    /// v2 and hybrid torrents are built with [`build_hashes`](Self::build_hashes).
    pub fn version(mut self, version: TorrentVersion) -> Self {
        self.version = version;
        self
    }

    /// The BitTorrent version this builder makes.
    pub fn torrent_version(&self) -> TorrentVersion {
        self.version
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

    /// Encodes a v1 torrent and parses it back, so the returned model, its
    /// bytes and its info-hash all come from one canonical encoding.
    ///
    /// Errors: a version other than v1 (use [`build_hashes`](Self::build_hashes)),
    /// a 0-byte object (libtorrent refuses torrents of length 0), a name that
    /// is empty, `.`, `..` or holds `/` or NUL, or an option that the AWS
    /// profile does not have.
    pub fn build(&self, pieces: &Pieces) -> Result<Torrent> {
        Torrent::from_bytes(self.to_bytes(pieces)?)
    }

    /// The canonical bytes of a v1 torrent.
    pub fn to_bytes(&self, pieces: &Pieces) -> Result<Bytes> {
        if self.version != TorrentVersion::V1 {
            return Err(Error::Build(format!(
                "a {} torrent needs SHA-256 hashes: hash with TorrentHasher or \
                 hash_source_versioned and call build_hashes",
                self.version
            )));
        }
        self.encode(Some(pieces), None)
    }

    /// Encodes a torrent of the builder's [`version`](Self::version) and
    /// parses it back, as [`build`](Self::build) does.
    ///
    /// A v2 torrent's `info` holds `file tree` (one file, named by the name,
    /// with its `length` and `pieces root`), `meta version` 2, `name` and
    /// `piece length`; the top level holds `piece layers`, with the piece
    /// layer of a file of more than one piece (and empty otherwise, as
    /// libtorrent writes it). A hybrid torrent's `info` also holds `length`
    /// and `pieces`. v1 torrents are byte-identical to [`build`](Self::build)'s.
    ///
    /// Errors: those of `build`, and hashes without the kind the version
    /// needs (SHA-1 pieces for v1 and hybrid, SHA-256 for v2 and hybrid).
    pub fn build_hashes(&self, hashes: &TorrentHashes) -> Result<Torrent> {
        Torrent::from_bytes(self.to_bytes_hashes(hashes)?)
    }

    /// The canonical bytes of a torrent of the builder's version.
    pub fn to_bytes_hashes(&self, hashes: &TorrentHashes) -> Result<Bytes> {
        let missing = |what: &str| {
            Error::Build(format!(
                "a {} torrent needs {what}, but these hashes are for {}: hash with TorrentVersion::{:?}",
                self.version,
                hashes.version(),
                self.version
            ))
        };
        let v1 = match (self.version.has_v1(), hashes.v1()) {
            (true, None) => return Err(missing("SHA-1 piece hashes")),
            (true, Some(p)) => Some(p),
            (false, _) => None,
        };
        let v2 = match (self.version.has_v2(), hashes.v2()) {
            (true, None) => return Err(missing("SHA-256 merkle hashes")),
            (true, Some(p)) => Some(p),
            (false, _) => None,
        };
        self.encode(v1, v2)
    }

    fn encode(&self, v1: Option<&Pieces>, v2: Option<&PiecesV2>) -> Result<Bytes> {
        let (length, piece_length) = match (v1, v2) {
            (Some(p), _) => (p.length(), p.piece_length()),
            (None, Some(p)) => (p.length(), p.piece_length()),
            (None, None) => unreachable!("the version has v1 or v2"),
        };
        if length == 0 {
            return Err(Error::Build(
                "a 0-byte object has no torrent: BitTorrent clients refuse torrents of length 0"
                    .into(),
            ));
        }
        check_name(&self.name, "name").map_err(|e| Error::Build(e.to_string()))?;
        let mut info = Dict::new();
        put_str(&mut info, "name", &self.name);
        put_int(&mut info, "piece length", piece_length)?;
        if let Some(pieces) = v1 {
            put_int(&mut info, "length", pieces.length())?;
            info.insert(
                Bytes::from_static(b"pieces"),
                Value::bytes(Bytes::copy_from_slice(pieces.as_bytes())),
            );
        }
        let mut root = Dict::new();
        if let Some(v2) = v2 {
            let root_hash = v2.pieces_root().expect("a file of at least 1 byte");
            let mut file = Dict::new();
            put_int(&mut file, "length", v2.length())?;
            file.insert(
                Bytes::from_static(b"pieces root"),
                Value::bytes(Bytes::copy_from_slice(&root_hash)),
            );
            let mut node = Dict::new();
            node.insert(Bytes::new(), Value::dict(file));
            let mut tree = Dict::new();
            tree.insert(
                Bytes::copy_from_slice(self.name.as_bytes()),
                Value::dict(node),
            );
            info.insert(Bytes::from_static(b"file tree"), Value::dict(tree));
            put_int(&mut info, "meta version", 2)?;
            let mut layers = Dict::new();
            if !v2.piece_layer().is_empty() {
                layers.insert(
                    Bytes::copy_from_slice(&root_hash),
                    Value::bytes(Bytes::copy_from_slice(v2.piece_layer())),
                );
            }
            root.insert(Bytes::from_static(b"piece layers"), Value::dict(layers));
        }
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
