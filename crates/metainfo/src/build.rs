//! The torrent builder: the plain profile and the AWS S3 profile.

use bytes::Bytes;
use s3torrent_bencode::{Dict, OwnedValue, Value};

use crate::error::{Error, Result};
use crate::hash::Pieces;
use crate::torrent::{Torrent, check_name};
use crate::v2::{PiecesV2, TorrentHashes, TorrentVersion, check_same_data};

/// What a built torrent holds beyond the essentials: the one profile type,
/// which `s3torrent-s3`'s policy re-exports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Amazon S3's torrents (the default, as the S3 policy makes them):
    /// `info` also holds `x-amz-bucket` and `x-amz-key`; the top level holds
    /// exactly `announce`, `announce-list`, `info`, and `url-list` when a web
    /// seed is set (and `piece layers` for v2 and hybrid torrents, which
    /// Amazon S3 itself does not serve). Built with [`TorrentBuilder::aws`].
    #[default]
    Aws,
    /// `info` holds exactly `length`, `name`, `piece length` and `pieces`
    /// (plus `private` and `source` when set), so the info-hash equals what
    /// mktorrent, torf or imdl compute for the same file, name and piece
    /// length. Built with [`TorrentBuilder::plain`].
    Plain,
}

/// The profile with what it needs: the AWS profile's bucket and key.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Layout {
    Plain,
    Aws { bucket: String, key: String },
}

/// Builds canonical torrent bytes from piece hashes.
///
/// The same input always gives the same bytes: there is no creation date
/// unless one is set. [`build`](Self::build) makes v1, v2 (BEP 52) and
/// hybrid torrents of one file from [`TorrentHashes`] (multi-file v2 and
/// hybrid torrents are parsed, never built).
///
/// ```
/// use s3torrent_metainfo::{PieceLength, TorrentBuilder, TorrentHasher, TorrentVersion};
///
/// let mut hasher = TorrentHasher::new(PieceLength::AWS, TorrentVersion::V1);
/// hasher.update(b"Nelson's column");
/// let hashes = hasher.finish();
///
/// let torrent = TorrentBuilder::aws("quotes", "people/Nelson")
///     .tracker("http://tracker.example:6969/announce")
///     .build(&hashes)?;
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
/// let torrent = TorrentBuilder::plain("answers.bin").build(&hashes)?;
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
///     .build(&hashes)?;
/// assert_eq!(v2_only.info_hash_v1(), None);
/// assert_eq!(v2_only.info().v2_files()[0].pieces_root(), hashes.v2().unwrap().pieces_root());
/// # Ok::<(), s3torrent_metainfo::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TorrentBuilder {
    profile: Layout,
    version: Option<TorrentVersion>,
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
        Self::with_profile(Layout::Plain, name.into())
    }

    /// A torrent in the AWS profile for `bucket`/`key`, named after the key
    /// by [`torrent_name`].
    pub fn aws(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        let key = key.into();
        let name = torrent_name(&key);
        Self::with_profile(
            Layout::Aws {
                bucket: bucket.into(),
                key,
            },
            name,
        )
    }

    fn with_profile(profile: Layout, name: String) -> Self {
        TorrentBuilder {
            profile,
            version: None,
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

    /// Sets the BitTorrent version to build. Unless set, a torrent is of
    /// its hashes' version; set, hybrid hashes build a v1 or v2 torrent too.
    pub fn version(mut self, version: TorrentVersion) -> Self {
        self.version = Some(version);
        self
    }

    /// The BitTorrent version this builder makes: `None` for the hashes' own.
    pub fn torrent_version(&self) -> Option<TorrentVersion> {
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
    pub fn private(mut self) -> Self {
        self.private = true;
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
    pub fn profile(&self) -> Profile {
        match self.profile {
            Layout::Plain => Profile::Plain,
            Layout::Aws { .. } => Profile::Aws,
        }
    }

    /// Encodes a torrent and parses it back, so the returned model, its
    /// bytes and its info-hash all come from one canonical encoding.
    ///
    /// The torrent is of the builder's [`version`](Self::version), or, when
    /// none was set, of the hashes' own version ([`TorrentHashes::version`]).
    /// A v1 torrent's `info` holds `length`, `name`, `piece length` and
    /// `pieces`. A v2 torrent's `info` holds `file tree` (one file, named by
    /// the name, with its `length` and `pieces root`), `meta version` 2,
    /// `name` and `piece length`; the top level holds `piece layers`, with
    /// the piece layer of a file of more than one piece (and empty
    /// otherwise, as libtorrent writes it). A hybrid torrent's `info` holds
    /// both.
    ///
    /// Errors: hashes without the kind the version needs (SHA-1 pieces for
    /// v1 and hybrid, SHA-256 for v2 and hybrid), hybrid halves of different
    /// data, a 0-byte object (libtorrent refuses torrents of length 0), a
    /// name that is empty, `.`, `..` or holds `/` or NUL, or an option that
    /// the AWS profile does not have.
    pub fn build(&self, hashes: &TorrentHashes) -> Result<Torrent> {
        Torrent::from_bytes(self.to_bytes(hashes)?)
    }

    /// The canonical bytes [`build`](Self::build) parses.
    pub fn to_bytes(&self, hashes: &TorrentHashes) -> Result<Bytes> {
        let version = self.version.unwrap_or(hashes.version());
        let chosen = hashes.for_version(version).ok_or_else(|| {
            Error::Build(format!(
                "a {version} torrent needs {}, but these hashes are for {}: hash with TorrentVersion::{version:?}",
                match version {
                    TorrentVersion::V1 => "SHA-1 piece hashes",
                    TorrentVersion::V2 => "SHA-256 merkle hashes",
                    TorrentVersion::Hybrid => "SHA-1 and SHA-256 hashes",
                },
                hashes.version(),
            ))
        })?;
        let (v1, v2) = match &chosen {
            TorrentHashes::V1(p) => (Some(p), None),
            TorrentHashes::V2(p) => (None, Some(p)),
            TorrentHashes::Hybrid(a, b) => {
                check_same_data(a, b)?;
                (Some(a), Some(b))
            }
        };
        self.encode(chosen.length(), chosen.piece_length(), v1, v2)
    }

    fn encode(
        &self,
        length: u64,
        piece_length: u64,
        v1: Option<&Pieces>,
        v2: Option<&PiecesV2>,
    ) -> Result<Bytes> {
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
            let root_hash = v2
                .pieces_root()
                .ok_or_else(|| Error::Build("v2 hashes of 0 bytes have no pieces root".into()))?;
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
            Layout::Plain => {
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
            Layout::Aws { bucket, key } => {
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

/// The torrent name for an object key, the one rule for both profiles:
/// `/` (as Amazon S3 did) and NUL become `_`, and a name that would be `.`
/// or `..` becomes `_` or `__`, since those are no file names. Every key
/// then gives a name the builder accepts (an empty key gives an empty name,
/// which it refuses).
///
/// ```
/// use s3torrent_metainfo::torrent_name;
///
/// assert_eq!(torrent_name("photos/2024/a.jpg"), "photos_2024_a.jpg");
/// assert_eq!(torrent_name("a\0b"), "a_b");
/// assert_eq!(torrent_name(".."), "__");
/// assert_eq!(torrent_name("../x"), ".._x");
/// ```
pub fn torrent_name(key: &str) -> String {
    let name: String = key
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    match name.as_str() {
        "." => "_".into(),
        ".." => "__".into(),
        _ => name,
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
