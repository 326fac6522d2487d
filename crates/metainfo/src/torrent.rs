//! The torrent model, parsed leniently from a `.torrent` file's bytes.

use std::ops::Range;

use bytes::Bytes;
use s3torrent_bencode::{Decoder, Kind, OwnedValue, Value};

use crate::error::{Error, Result};
use crate::infohash::{InfoHash, InfoHashV2};
use crate::magnet::{magnet_uri, magnet_uri_v2};
use crate::merkle::BLOCK;
use crate::v2::{TorrentVersion, check_layer};

/// The decoder limits used for torrent files: lenient (third-party torrents
/// have unsorted keys), libtorrent's nesting limit, and a token limit that
/// allows about a million files.
pub fn torrent_decoder() -> Decoder {
    Decoder::lenient()
        .with_max_depth(Decoder::DEFAULT_MAX_DEPTH)
        .with_max_tokens(Decoder::DEFAULT_MAX_TOKENS)
}

/// A parsed torrent: the file's bytes, its info-hashes, and its fields.
///
/// The info-hashes are the SHA-1 (v1) and SHA-256 (v2) of the `info`
/// dictionary's bytes exactly as they stand in the file, never of a
/// re-encoding. Keys this model does not know are kept: [`Torrent::value`]
/// holds the whole decoded document.
///
/// v1, v2 (BEP 52, `meta version` 2) and hybrid torrents are read, with one
/// file or several. A v2 or hybrid torrent's `piece layers` are checked
/// against each file's `pieces root`, and a hybrid torrent's v1 and v2 keys
/// must describe the same files.
///
/// ```
/// use s3torrent_metainfo::Torrent;
///
/// // Keys out of order, as some tools write them: parsed leniently, and the
/// // info-hash covers the info bytes as written.
/// let file = b"d4:infod4:name5:a.txt6:lengthi3e12:piece lengthi16384e\
///              6:pieces20:aaaaaaaaaaaaaaaaaaaae8:announce8:http://te";
/// let t = Torrent::from_bytes(&file[..])?;
/// assert_eq!(t.info().name(), "a.txt");
/// assert_eq!(t.info().length(), 3);
/// assert_eq!(t.trackers(), vec!["http://t"]);
/// assert_eq!(t.info_bytes(), &file[7..file.len() - 21]);
/// # Ok::<(), s3torrent_metainfo::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Torrent {
    bytes: Bytes,
    value: OwnedValue,
    info_range: Range<usize>,
    info_hash: InfoHash,
    info_hash_v2: Option<InfoHashV2>,
    announce: Option<String>,
    announce_list: Vec<Vec<String>>,
    web_seeds: Vec<String>,
    comment: Option<String>,
    created_by: Option<String>,
    creation_date: Option<i64>,
    info: Info,
    warnings: Vec<Warning>,
}

/// Something a torrent holds that the parser read anyway, the way
/// BitTorrent clients read it, as real servers emit such torrents.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// `info.name` holds `/` (Ceph RGW 16.2 names a torrent after its object
    /// key, `dir/magic.gif`). It is read as libtorrent 2.1 reads it, every
    /// `/` dropped (`dirmagic.gif`), so it names one file in the target
    /// folder; [`Info::name`] is that name.
    NameWithSlash {
        /// The name as written.
        original: String,
    },
    /// Bytes follow the top-level dictionary; they are ignored (the strict
    /// decoder refuses them with `TrailingBytes`).
    TrailingBytes {
        /// Where they start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::NameWithSlash { original } => write!(
                f,
                "`info.name` {original:?} contains `/`: read as libtorrent reads it, without the `/`"
            ),
            Warning::TrailingBytes { offset, count } => write!(
                f,
                "{count} bytes after the top-level dictionary, from byte {offset}, ignored"
            ),
        }
    }
}

/// The `info` dictionary: what the info-hash identifies.
///
/// For v2 and hybrid torrents it also holds each file's piece layer, taken
/// from the top-level `piece layers` and checked against the file's
/// `pieces root`, so that [`Verifier`](crate::Verifier) and
/// [`verify_source`](crate::verify_source) can check v2 data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    version: TorrentVersion,
    name: String,
    piece_length: u64,
    pieces: Bytes,
    files: Files,
    v2_files: Vec<V2File>,
    private: bool,
    source: Option<String>,
    aws_bucket: Option<String>,
    aws_key: Option<String>,
    /// The name as written, when it held `/` (taken for a [`Warning`]).
    original_name: Option<String>,
}

/// Whether a torrent holds one file (`length`) or several (`files`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Files {
    /// A single file of this many bytes, named by `info.name`.
    Single {
        /// The file's length.
        length: u64,
    },
    /// Several files, in a folder named by `info.name`.
    Multiple(Vec<FileEntry>),
}

/// One file of a v2 or hybrid torrent's `file tree` (BEP 52).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V2File {
    path: Vec<String>,
    length: u64,
    pieces_root: Option<[u8; 32]>,
    piece_layer: Bytes,
}

impl V2File {
    /// The path in the file tree: for a single-file torrent, its name; for
    /// several files, the components below the torrent's folder.
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// The length in bytes.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// The root of the file's SHA-256 merkle tree; `None` for a 0-byte file.
    pub fn pieces_root(&self) -> Option<[u8; 32]> {
        self.pieces_root
    }

    /// The file's piece layer (32 bytes per piece), checked against its
    /// pieces root, for a file larger than one piece; empty otherwise.
    pub fn piece_layer(&self) -> &[u8] {
        &self.piece_layer
    }
}

/// One file of a multi-file torrent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    /// Length in bytes.
    pub length: u64,
    /// Path components below the torrent's folder.
    pub path: Vec<String>,
}

impl Torrent {
    /// Parses a torrent file (lenient bencode, then the fields validated).
    ///
    /// Errors name the field: `info.pieces` not a multiple of 20 or
    /// inconsistent with the length, a negative or zero length, a bad
    /// `piece length`, a missing, empty, `.`, `..` or NUL-holding name (or
    /// one that is such once its `/` are dropped), a file path component that
    /// is empty, `.`, `..` or holds `/` or NUL, or an `announce-list` that is
    /// not a list of lists of strings. What real servers emit and clients
    /// read is read with a [`Warning`] instead: a `/` in the name, bytes
    /// after the top-level dictionary.
    ///
    /// For v2 and hybrid torrents (`info.meta version` 2; other versions
    /// are refused): a missing or malformed `info.file tree`, a piece length
    /// that is not a power of two of at least 16 KiB, a file larger than a
    /// piece without its layer in `piece layers`, a layer that does not hash
    /// up to its `pieces root` (all named `piece layers`), and, for hybrid
    /// torrents, v1 keys that do not describe the same files (names and
    /// lengths, pad files aside) as the file tree. libtorrent loads a torrent
    /// without `piece layers` (it fetches them from peers); this parser does
    /// not, as such a torrent cannot be verified or seeded.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Result<Self> {
        let bytes: Bytes = bytes.into();
        let (value, end) = torrent_decoder().decode_prefix(&bytes)?;
        let value = value.to_owned_in(&bytes);
        let mut warnings = Vec::new();
        if end < bytes.len() {
            warnings.push(Warning::TrailingBytes {
                offset: end,
                count: bytes.len() - end,
            });
        }
        let root = value
            .as_dict()
            .ok_or_else(|| Error::field("(top level)", "not a dictionary"))?;
        let info_value = root
            .get("info")
            .ok_or_else(|| Error::field("info", "missing"))?;
        let info_raw = info_value
            .raw()
            .ok_or_else(|| Error::field("info", "no raw bytes (not decoded from input)"))?;
        let start = info_raw.as_ptr() as usize - bytes.as_ptr() as usize;
        let info_range = start..start + info_raw.len();
        let mut info = Info::from_value(info_value)?;
        if let Some(original) = info.original_name.take() {
            warnings.insert(0, Warning::NameWithSlash { original });
        }
        let info_hash_v2 = info
            .version
            .has_v2()
            .then(|| InfoHashV2::of_info_bytes(info_raw));
        let info_hash = match info_hash_v2 {
            Some(v2) if !info.version.has_v1() => v2.truncated(),
            _ => InfoHash::of_info_bytes(info_raw),
        };
        if info.version.has_v2() {
            let layers = match value.get("piece layers") {
                None => None,
                Some(l) => Some(
                    l.as_dict()
                        .ok_or_else(|| Error::field("piece layers", "not a dictionary"))?,
                ),
            };
            info.attach_layers(layers)?;
        }

        let announce = opt_string(&value, "announce", "announce")?;
        let announce_list = match value.get("announce-list") {
            None => Vec::new(),
            Some(v) => parse_tiers(v)?,
        };
        let web_seeds = match value.get("url-list") {
            None => Vec::new(),
            Some(v) => parse_url_list(v)?,
        };
        let comment = opt_string(&value, "comment", "comment")?;
        let created_by = opt_string(&value, "created by", "created by")?;
        let creation_date = match value.get("creation date") {
            None => None,
            Some(v) => Some(
                v.as_int()
                    .ok_or_else(|| Error::field("creation date", "not an integer"))?,
            ),
        };
        Ok(Torrent {
            bytes,
            value,
            info_range,
            info_hash,
            info_hash_v2,
            announce,
            announce_list,
            web_seeds,
            comment,
            created_by,
            creation_date,
            info,
            warnings,
        })
    }

    /// What the parser read leniently, in the file's order: a `/` in the
    /// name, bytes after the top-level dictionary. Empty for every torrent
    /// this crate builds.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The file's bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The whole decoded document, unknown keys included.
    pub fn value(&self) -> &OwnedValue {
        &self.value
    }

    /// The `info` dictionary's raw bytes, as hashed.
    pub fn info_bytes(&self) -> &[u8] {
        &self.bytes[self.info_range.clone()]
    }

    /// A 20-byte info-hash that names a swarm of the torrent: the v1
    /// info-hash (SHA-1 of the `info` bytes) when the torrent has v1 keys
    /// (v1 and hybrid), and for a v2-only torrent the v2 info-hash truncated
    /// to 20 bytes, what v2 peers announce to trackers and the DHT.
    ///
    /// For a hybrid torrent this differs from libtorrent's deprecated
    /// `torrent_info::info_hash()`, which prefers the truncated v2 hash; use
    /// [`info_hash_v1`](Self::info_hash_v1) and
    /// [`info_hash_v2`](Self::info_hash_v2) to be explicit.
    pub fn info_hash(&self) -> InfoHash {
        self.info_hash
    }

    /// The v1 info-hash, SHA-1 of the `info` bytes; `None` for a v2-only torrent.
    pub fn info_hash_v1(&self) -> Option<InfoHash> {
        self.info.version.has_v1().then_some(self.info_hash)
    }

    /// The v2 info-hash, SHA-256 of the `info` bytes; `None` for a v1 torrent.
    pub fn info_hash_v2(&self) -> Option<InfoHashV2> {
        self.info_hash_v2
    }

    /// Whether the torrent is v1, v2 or hybrid.
    pub fn version(&self) -> TorrentVersion {
        self.info.version
    }

    /// The `info` dictionary.
    pub fn info(&self) -> &Info {
        &self.info
    }

    /// `announce`, the first tracker, if any.
    pub fn announce(&self) -> Option<&str> {
        self.announce.as_deref()
    }

    /// `announce-list` (BEP 12): tiers of trackers, empty tiers dropped.
    pub fn announce_list(&self) -> &[Vec<String>] {
        &self.announce_list
    }

    /// Every tracker once, in order: the `announce-list` tiers when present
    /// (as BEP 12 says clients use them instead of `announce`), else `announce`.
    /// Linear in the number of trackers (a set remembers those seen).
    pub fn trackers(&self) -> Vec<&str> {
        let all: Vec<&str> = if self.announce_list.is_empty() {
            self.announce.iter().map(String::as_str).collect()
        } else {
            self.announce_list
                .iter()
                .flatten()
                .map(String::as_str)
                .collect()
        };
        let mut seen = std::collections::HashSet::with_capacity(all.len());
        all.into_iter().filter(|t| seen.insert(*t)).collect()
    }

    /// `url-list` (BEP 19 web seeds), whether written as one string or a list.
    pub fn web_seeds(&self) -> &[String] {
        &self.web_seeds
    }

    /// `comment`.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// `created by`.
    pub fn created_by(&self) -> Option<&str> {
        self.created_by.as_deref()
    }

    /// `creation date`, seconds since the Unix epoch.
    pub fn creation_date(&self) -> Option<i64> {
        self.creation_date
    }

    /// The magnet URI: info-hash (`btih` for v1, `btmh` for v2, both for
    /// hybrid), name, trackers and web seeds.
    pub fn magnet(&self) -> String {
        let trackers = self.trackers();
        let seeds: Vec<&str> = self.web_seeds.iter().map(String::as_str).collect();
        let name = Some(self.info.name.as_str());
        match &self.info_hash_v2 {
            None => magnet_uri(&self.info_hash, name, &trackers, &seeds),
            Some(v2) => {
                let v1 = self.info_hash_v1();
                magnet_uri_v2(v1.as_ref(), v2, name, &trackers, &seeds)
            }
        }
    }
}

impl Info {
    fn from_value(v: &OwnedValue) -> Result<Self> {
        if v.as_dict().is_none() {
            return Err(Error::field("info", "not a dictionary"));
        }
        let written = string(v, "name", "info.name")?;
        // libtorrent drops every `/` from the name and reads the rest.
        let (name, original_name) = if written.contains('/') {
            (written.replace('/', ""), Some(written))
        } else {
            (written, None)
        };
        check_name(&name, "info.name")?;
        let piece_length = match v.get("piece length") {
            None => return Err(Error::field("info.piece length", "missing")),
            Some(p) => p
                .as_int()
                .ok_or_else(|| Error::field("info.piece length", "not an integer"))?,
        };
        // libtorrent's bounds for v1: positive and below 2^30.
        if piece_length <= 0 || piece_length > (1 << 30) {
            return Err(Error::field(
                "info.piece length",
                format!("{piece_length} is not from 1 to 1073741824"),
            ));
        }
        let piece_length = piece_length as u64;
        let is_v2 = match v.get("meta version") {
            None => false,
            Some(m) => match m.as_int() {
                Some(2) => true,
                Some(n) => {
                    return Err(Error::field(
                        "info.meta version",
                        format!("{n} is not a version this parser reads (2, or absent for v1)"),
                    ));
                }
                None => return Err(Error::field("info.meta version", "not an integer")),
            },
        };
        let private = match v.get("private") {
            None => false,
            Some(p) => match p.as_int() {
                Some(i) => i == 1,
                None => return Err(Error::field("info.private", "not an integer")),
            },
        };
        let mut info = Info {
            version: TorrentVersion::V1,
            name,
            piece_length,
            pieces: Bytes::new(),
            files: Files::Single { length: 0 },
            v2_files: Vec::new(),
            private,
            source: opt_string(v, "source", "info.source")?,
            aws_bucket: opt_string(v, "x-amz-bucket", "info.x-amz-bucket")?,
            aws_key: opt_string(v, "x-amz-key", "info.x-amz-key")?,
            original_name,
        };
        if !is_v2 {
            info.parse_v1(v)?;
            return Ok(info);
        }
        if !piece_length.is_power_of_two() || piece_length < BLOCK as u64 {
            return Err(Error::field(
                "info.piece length",
                format!("{piece_length} is not a power of two of at least 16384, as v2 needs"),
            ));
        }
        let tree = v
            .get("file tree")
            .ok_or_else(|| Error::field("info.file tree", "missing (meta version is 2)"))?;
        info.v2_files = parse_file_tree(tree)?;
        let total = info.v2_files.iter().try_fold(0u64, |acc, f| {
            acc.checked_add(f.length)
                .ok_or_else(|| Error::field("info.file tree", "total length overflows"))
        })?;
        if total == 0 {
            return Err(Error::field(
                "info.file tree",
                "0 bytes: BitTorrent clients refuse torrents with no data",
            ));
        }
        let v2_files = match info.v2_files.as_slice() {
            [one] if one.path.len() == 1 && one.path[0] == info.name => {
                Files::Single { length: one.length }
            }
            files => Files::Multiple(
                files
                    .iter()
                    .map(|f| FileEntry {
                        length: f.length,
                        path: f.path.clone(),
                    })
                    .collect(),
            ),
        };
        if v.get("pieces").is_none() {
            info.version = TorrentVersion::V2;
            info.files = v2_files;
            return Ok(info);
        }
        info.version = TorrentVersion::Hybrid;
        info.parse_v1(v)?;
        info.check_hybrid(v, &v2_files)?;
        Ok(info)
    }

    /// Reads the v1 keys: `length` or `files`, and `pieces`.
    fn parse_v1(&mut self, v: &OwnedValue) -> Result<()> {
        let piece_length = self.piece_length;
        let files = match (v.get("length"), v.get("files")) {
            (Some(l), None) => Files::Single {
                length: length(l, "info.length")?,
            },
            (None, Some(f)) => Files::Multiple(parse_files(f)?),
            (Some(_), Some(_)) => {
                return Err(Error::field(
                    "info.files",
                    "present together with info.length",
                ));
            }
            (None, None) => return Err(Error::field("info.length", "missing (and no info.files)")),
        };
        let total = files.total_length()?;
        if total == 0 {
            return Err(Error::field(
                "info.length",
                "0 bytes: BitTorrent clients refuse torrents with no data",
            ));
        }
        let pieces = match v.get("pieces").map(Value::kind) {
            None => return Err(Error::field("info.pieces", "missing")),
            Some(Kind::Bytes(b)) => b.clone(),
            Some(_) => return Err(Error::field("info.pieces", "not a byte string")),
        };
        if pieces.len() % 20 != 0 {
            return Err(Error::field(
                "info.pieces",
                format!("{} bytes is not a multiple of 20", pieces.len()),
            ));
        }
        let expected = total.div_ceil(piece_length);
        if pieces.len() as u64 / 20 != expected {
            return Err(Error::field(
                "info.pieces",
                format!(
                    "{} piece hashes, but {total} bytes in pieces of {piece_length} make {expected}",
                    pieces.len() / 20
                ),
            ));
        }
        self.files = files;
        self.pieces = pieces;
        Ok(())
    }

    /// A hybrid torrent's v1 files, pad files (BEP 47) aside, must be the
    /// file tree's files, in order, with the same paths and lengths.
    fn check_hybrid(&self, v: &OwnedValue, v2_files: &Files) -> Result<()> {
        let mismatch = |problem: String| {
            Error::field(
                "info.file tree",
                format!("does not describe the same data as the v1 keys: {problem}"),
            )
        };
        match (&self.files, v2_files) {
            (Files::Single { length }, Files::Single { length: v2_length }) => {
                if length != v2_length {
                    return Err(mismatch(format!(
                        "info.length is {length} bytes, the file tree's file {v2_length}"
                    )));
                }
            }
            (Files::Single { .. }, Files::Multiple(_)) => {
                return Err(mismatch(format!(
                    "the v1 keys describe one file named {:?}, the file tree {}",
                    self.name,
                    describe(&self.v2_files)
                )));
            }
            (Files::Multiple(_), Files::Single { .. }) => {
                return Err(mismatch(
                    "info.files describes a folder, the file tree a single file".into(),
                ));
            }
            (Files::Multiple(v1_files), Files::Multiple(v2)) => {
                let pads = pad_flags(v);
                let real: Vec<&FileEntry> = v1_files
                    .iter()
                    .zip(pads.iter().chain(std::iter::repeat(&false)))
                    .filter(|(_, pad)| !**pad)
                    .map(|(f, _)| f)
                    .collect();
                if real.len() != v2.len() {
                    return Err(mismatch(format!(
                        "{} files in info.files (pad files aside), {} in the file tree",
                        real.len(),
                        v2.len()
                    )));
                }
                for (i, (a, b)) in real.iter().zip(v2).enumerate() {
                    if a.path != b.path || a.length != b.length {
                        return Err(mismatch(format!(
                            "file {i} is {:?} of {} bytes in info.files, {:?} of {} bytes in the file tree",
                            a.path.join("/"),
                            a.length,
                            b.path.join("/"),
                            b.length
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// Takes each file's piece layer from `piece layers`, checked against
    /// its pieces root.
    fn attach_layers(&mut self, layers: Option<&s3torrent_bencode::Dict<Bytes>>) -> Result<()> {
        let piece_length = self.piece_length;
        for file in &mut self.v2_files {
            if file.length <= piece_length {
                continue;
            }
            let path = file.path.join("/");
            let Some(root) = file.pieces_root else {
                return Err(Error::field(
                    "info.file tree",
                    format!("{path:?} has data but no pieces root"),
                ));
            };
            let layer = layers.and_then(|d| d.get(root)).ok_or_else(|| {
                Error::field(
                    "piece layers",
                    format!(
                        "no layer for {path:?} ({} bytes, more than one piece of {piece_length})",
                        file.length
                    ),
                )
            })?;
            let bytes = match layer.kind() {
                Kind::Bytes(b) => b.clone(),
                _ => {
                    return Err(Error::field(
                        "piece layers",
                        format!("the layer for {path:?} is not a byte string"),
                    ));
                }
            };
            check_layer(piece_length, file.length, &root, &bytes).map_err(|problem| {
                Error::field("piece layers", format!("the layer for {path:?}: {problem}"))
            })?;
            file.piece_layer = bytes;
        }
        Ok(())
    }

    /// Whether the torrent is v1, v2 or hybrid.
    pub fn version(&self) -> TorrentVersion {
        self.version
    }

    /// The files of the v2 `file tree` in its order, with their pieces roots
    /// and piece layers; empty for a v1 torrent.
    pub fn v2_files(&self) -> &[V2File] {
        &self.v2_files
    }

    /// `name`: the file's name, or the folder's for several files.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `piece length` in bytes.
    pub fn piece_length(&self) -> u64 {
        self.piece_length
    }

    /// `pieces`: the concatenated 20-byte SHA-1 hashes; empty for a v2-only
    /// torrent.
    pub fn pieces(&self) -> &[u8] {
        &self.pieces
    }

    /// The number of pieces: of the v1 `pieces` when the torrent has them,
    /// else (v2-only) of the files, each starting a new piece (BEP 52).
    pub fn piece_count(&self) -> u64 {
        if self.version.has_v1() {
            self.pieces.len() as u64 / 20
        } else {
            self.v2_files
                .iter()
                .map(|f| f.length.div_ceil(self.piece_length))
                .sum()
        }
    }

    /// The v1 SHA-1 hash of piece `index`; `None` for a v2-only torrent.
    pub fn piece_hash(&self, index: u64) -> Option<[u8; 20]> {
        let start = usize::try_from(index).ok()?.checked_mul(20)?;
        self.pieces.get(start..start + 20)?.try_into().ok()
    }

    /// The file layout: the v1 keys' when the torrent has them (with any
    /// pad files), else the file tree's.
    pub fn files(&self) -> &Files {
        &self.files
    }

    /// The total length of the data in bytes.
    pub fn length(&self) -> u64 {
        // Checked when parsed.
        self.files.total_length().unwrap_or(u64::MAX)
    }

    /// `private` (BEP 27).
    pub fn is_private(&self) -> bool {
        self.private
    }

    /// `source`.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// `x-amz-bucket`, in torrents of the AWS profile.
    pub fn aws_bucket(&self) -> Option<&str> {
        self.aws_bucket.as_deref()
    }

    /// `x-amz-key`, in torrents of the AWS profile.
    pub fn aws_key(&self) -> Option<&str> {
        self.aws_key.as_deref()
    }
}

impl Files {
    fn total_length(&self) -> Result<u64> {
        match self {
            Files::Single { length } => Ok(*length),
            Files::Multiple(files) => files.iter().try_fold(0u64, |acc, f| {
                acc.checked_add(f.length)
                    .ok_or_else(|| Error::field("info.files", "total length overflows"))
            }),
        }
    }
}

/// Checks a torrent or file name: not empty, not `.` or `..`, no `/` or NUL.
pub(crate) fn check_name(name: &str, field: &str) -> Result<()> {
    let problem = if name.is_empty() {
        "empty"
    } else if name == "." || name == ".." {
        "`.` and `..` are not names"
    } else if name.contains('/') {
        "contains `/`"
    } else if name.contains('\0') {
        "contains NUL"
    } else {
        return Ok(());
    };
    Err(Error::field(field, problem))
}

fn length(v: &OwnedValue, field: &str) -> Result<u64> {
    let n = v
        .as_int()
        .ok_or_else(|| Error::field(field, "not an integer"))?;
    u64::try_from(n).map_err(|_| Error::field(field, format!("{n} is negative")))
}

fn as_string(v: &OwnedValue, field: &str) -> Result<String> {
    match v.kind() {
        Kind::Bytes(b) => {
            String::from_utf8(b.to_vec()).map_err(|_| Error::field(field, "not valid UTF-8"))
        }
        _ => Err(Error::field(field, "not a string")),
    }
}

fn string(v: &OwnedValue, key: &str, field: &str) -> Result<String> {
    match v.get(key) {
        Some(s) => as_string(s, field),
        None => Err(Error::field(field, "missing")),
    }
}

fn opt_string(v: &OwnedValue, key: &str, field: &str) -> Result<Option<String>> {
    v.get(key).map(|s| as_string(s, field)).transpose()
}

fn parse_tiers(v: &OwnedValue) -> Result<Vec<Vec<String>>> {
    let tiers = v
        .as_list()
        .ok_or_else(|| Error::field("announce-list", "not a list of tiers"))?;
    let mut out = Vec::new();
    for (i, tier) in tiers.iter().enumerate() {
        let urls = tier
            .as_list()
            .ok_or_else(|| Error::field(format!("announce-list[{i}]"), "not a list of trackers"))?;
        let urls = urls
            .iter()
            .enumerate()
            .map(|(j, u)| as_string(u, &format!("announce-list[{i}][{j}]")))
            .collect::<Result<Vec<_>>>()?;
        if !urls.is_empty() {
            out.push(urls);
        }
    }
    Ok(out)
}

fn parse_url_list(v: &OwnedValue) -> Result<Vec<String>> {
    let urls = match v.kind() {
        Kind::Bytes(_) => vec![as_string(v, "url-list")?],
        Kind::List(items) => items
            .iter()
            .enumerate()
            .map(|(i, u)| as_string(u, &format!("url-list[{i}]")))
            .collect::<Result<Vec<_>>>()?,
        _ => return Err(Error::field("url-list", "neither a string nor a list")),
    };
    Ok(urls.into_iter().filter(|u| !u.is_empty()).collect())
}

fn parse_files(v: &OwnedValue) -> Result<Vec<FileEntry>> {
    let items = v
        .as_list()
        .ok_or_else(|| Error::field("info.files", "not a list"))?;
    if items.is_empty() {
        return Err(Error::field("info.files", "empty"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let field = format!("info.files[{i}]");
            if f.as_dict().is_none() {
                return Err(Error::field(field, "not a dictionary"));
            }
            let len = match f.get("length") {
                Some(l) => length(l, &format!("{field}.length"))?,
                None => return Err(Error::field(format!("{field}.length"), "missing")),
            };
            let parts = f
                .get("path")
                .and_then(Value::as_list)
                .ok_or_else(|| Error::field(format!("{field}.path"), "missing or not a list"))?;
            if parts.is_empty() {
                return Err(Error::field(format!("{field}.path"), "empty"));
            }
            let path = parts
                .iter()
                .enumerate()
                .map(|(j, p)| {
                    let pf = format!("{field}.path[{j}]");
                    let s = as_string(p, &pf)?;
                    check_name(&s, &pf)?;
                    Ok(s)
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(FileEntry { length: len, path })
        })
        .collect()
}

fn describe(files: &[V2File]) -> String {
    match files {
        [one] => format!("one file at {:?}", one.path.join("/")),
        many => format!("{} files", many.len()),
    }
}

/// Which entries of `info.files` are pad files: `attr` holding `p` (BEP 47),
/// or, as libtorrent also takes them, a path starting with `.pad`.
fn pad_flags(v: &OwnedValue) -> Vec<bool> {
    let Some(files) = v.get("files").and_then(Value::as_list) else {
        return Vec::new();
    };
    files
        .iter()
        .map(|f| {
            let attr = f.get("attr").and_then(Value::as_bytes).unwrap_or(&[]);
            let first = f
                .get("path")
                .and_then(Value::as_list)
                .and_then(|p| p.first())
                .and_then(Value::as_bytes);
            attr.contains(&b'p') || first == Some(b".pad")
        })
        .collect()
}

/// Reads a v2 `file tree`: nested dictionaries of path components, each file
/// a dictionary with the single key `""` holding `length` and `pieces root`.
fn parse_file_tree(tree: &OwnedValue) -> Result<Vec<V2File>> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    walk_tree(tree, &mut path, &mut out)?;
    Ok(out)
}

fn tree_field(path: &[String], suffix: &str) -> String {
    if path.is_empty() {
        format!("info.file tree{suffix}")
    } else {
        format!("info.file tree[{}]{suffix}", path.join("/"))
    }
}

fn walk_tree(node: &OwnedValue, path: &mut Vec<String>, out: &mut Vec<V2File>) -> Result<()> {
    let dict = node
        .as_dict()
        .ok_or_else(|| Error::field(tree_field(path, ""), "not a dictionary"))?;
    if let Some(file) = dict.get("") {
        if path.is_empty() {
            return Err(Error::field(
                "info.file tree",
                "a file without a name at the top of the tree",
            ));
        }
        if dict.len() != 1 {
            return Err(Error::field(
                tree_field(path, ""),
                "both a file and a directory",
            ));
        }
        out.push(parse_tree_file(file, path)?);
        return Ok(());
    }
    if dict.is_empty() {
        return Err(Error::field(tree_field(path, ""), "an empty directory"));
    }
    // Files are in the tree's order: its keys sorted.
    for (key, child) in dict.sorted_entries() {
        let name = String::from_utf8(key.to_vec())
            .map_err(|_| Error::field(tree_field(path, ""), "a name is not valid UTF-8"))?;
        check_name(&name, &tree_field(path, &format!("[{name:?}]")))?;
        path.push(name);
        walk_tree(child, path, out)?;
        path.pop();
    }
    Ok(())
}

fn parse_tree_file(file: &OwnedValue, path: &[String]) -> Result<V2File> {
    if file.as_dict().is_none() {
        return Err(Error::field(tree_field(path, "[\"\"]"), "not a dictionary"));
    }
    let len = match file.get("length") {
        Some(l) => length(l, &tree_field(path, ".length"))?,
        None => return Err(Error::field(tree_field(path, ".length"), "missing")),
    };
    // A 0-byte file has no pieces root (one written anyway is ignored).
    let pieces_root = if len == 0 {
        None
    } else {
        let field = tree_field(path, ".pieces root");
        let root = file
            .get("pieces root")
            .ok_or_else(|| Error::field(&field, "missing"))?;
        let bytes = root
            .as_bytes()
            .ok_or_else(|| Error::field(&field, "not a byte string"))?;
        Some(
            <[u8; 32]>::try_from(bytes)
                .map_err(|_| Error::field(&field, format!("{} bytes, not 32", bytes.len())))?,
        )
    };
    Ok(V2File {
        path: path.to_vec(),
        length: len,
        pieces_root,
        piece_layer: Bytes::new(),
    })
}
