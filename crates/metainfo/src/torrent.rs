//! The torrent model, parsed leniently from a `.torrent` file's bytes.

use std::ops::Range;

use bytes::Bytes;
use s3torrent_bencode::{Decoder, Kind, OwnedValue, Value};

use crate::error::{Error, Result};
use crate::infohash::InfoHash;
use crate::magnet::magnet_uri;

/// The decoder limits used for torrent files: lenient (third-party torrents
/// have unsorted keys), libtorrent's nesting limit, and a token limit that
/// allows about a million files.
pub fn torrent_decoder() -> Decoder {
    Decoder::lenient()
        .with_max_depth(Decoder::DEFAULT_MAX_DEPTH)
        .with_max_tokens(Decoder::DEFAULT_MAX_TOKENS)
}

/// A parsed torrent: the file's bytes, its info-hash, and its fields.
///
/// The info-hash is the SHA-1 of the `info` dictionary's bytes exactly as they
/// stand in the file, never of a re-encoding. Keys this model does not know
/// are kept: [`Torrent::value`] holds the whole decoded document.
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
    announce: Option<String>,
    announce_list: Vec<Vec<String>>,
    web_seeds: Vec<String>,
    comment: Option<String>,
    created_by: Option<String>,
    creation_date: Option<i64>,
    info: Info,
}

/// The `info` dictionary: what the info-hash identifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    name: String,
    piece_length: u64,
    pieces: Bytes,
    files: Files,
    private: bool,
    source: Option<String>,
    aws_bucket: Option<String>,
    aws_key: Option<String>,
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
    /// `piece length`, a missing, empty, `.`, `..` or `/`- or NUL-holding
    /// name, or an `announce-list` that is not a list of lists of strings.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Result<Self> {
        let bytes: Bytes = bytes.into();
        let value = torrent_decoder().decode_bytes(&bytes)?;
        let root = value
            .as_dict()
            .ok_or_else(|| Error::field("(top level)", "not a dictionary"))?;
        let info_value = root
            .get("info")
            .ok_or_else(|| Error::field("info", "missing"))?;
        let info_raw = info_value
            .raw()
            .expect("decoded values keep their raw bytes");
        let start = info_raw.as_ptr() as usize - bytes.as_ptr() as usize;
        let info_range = start..start + info_raw.len();
        let info_hash = InfoHash::of_info_bytes(info_raw);
        let info = Info::from_value(info_value)?;

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
            announce,
            announce_list,
            web_seeds,
            comment,
            created_by,
            creation_date,
            info,
        })
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

    /// The v1 info-hash.
    pub fn info_hash(&self) -> InfoHash {
        self.info_hash
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
    pub fn trackers(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let from_list = self.announce_list.iter().flatten().map(String::as_str);
        let all: Vec<&str> = if self.announce_list.is_empty() {
            self.announce.iter().map(String::as_str).collect()
        } else {
            from_list.collect()
        };
        for t in all {
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out
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

    /// The magnet URI: info-hash, name, trackers and web seeds.
    pub fn magnet(&self) -> String {
        let trackers = self.trackers();
        let seeds: Vec<&str> = self.web_seeds.iter().map(String::as_str).collect();
        magnet_uri(&self.info_hash, Some(&self.info.name), &trackers, &seeds)
    }
}

impl Info {
    fn from_value(v: &OwnedValue) -> Result<Self> {
        if v.as_dict().is_none() {
            return Err(Error::field("info", "not a dictionary"));
        }
        let name = string(v, "name", "info.name")?;
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
        let private = match v.get("private") {
            None => false,
            Some(p) => match p.as_int() {
                Some(i) => i == 1,
                None => return Err(Error::field("info.private", "not an integer")),
            },
        };
        Ok(Info {
            name,
            piece_length,
            pieces,
            files,
            private,
            source: opt_string(v, "source", "info.source")?,
            aws_bucket: opt_string(v, "x-amz-bucket", "info.x-amz-bucket")?,
            aws_key: opt_string(v, "x-amz-key", "info.x-amz-key")?,
        })
    }

    /// `name`: the file's name, or the folder's for several files.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `piece length` in bytes.
    pub fn piece_length(&self) -> u64 {
        self.piece_length
    }

    /// `pieces`: the concatenated 20-byte SHA-1 hashes.
    pub fn pieces(&self) -> &[u8] {
        &self.pieces
    }

    /// The number of pieces.
    pub fn piece_count(&self) -> u64 {
        self.pieces.len() as u64 / 20
    }

    /// The hash of piece `index`.
    pub fn piece_hash(&self, index: u64) -> Option<[u8; 20]> {
        let start = usize::try_from(index).ok()?.checked_mul(20)?;
        self.pieces.get(start..start + 20)?.try_into().ok()
    }

    /// The file layout.
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
