//! The torrent policy: what torrents look like and which objects get one.

use s3torrent_metainfo::{PieceLength, TorrentVersion};

use crate::model::{BucketName, ObjectKey};

/// How a torrent is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TorrentProfile {
    /// As Amazon S3 made them: `x-amz-bucket` and `x-amz-key` in `info`, the
    /// tracker in both `announce` and `announce-list`.
    #[default]
    Aws,
    /// Plain: `info` holds only `length`, `name`, `piece length` and `pieces`,
    /// so the info-hash matches mktorrent's for the same bytes.
    Plain,
}

/// How the piece length is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PieceLengthPolicy {
    /// Always this length (S3 used 262144).
    Fixed(PieceLength),
    /// [`PieceLength::auto`] from the object's size.
    Auto,
}

/// How the object's URL names the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Addressing {
    /// `http://endpoint/bucket/key`.
    #[default]
    Path,
    /// `http://bucket.endpoint/key`.
    VirtualHosted,
}

/// Where web seeds point: an endpoint that serves the objects by GET.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebSeed {
    /// The endpoint's base URL, such as `http://127.0.0.1:9000` (no bucket).
    pub endpoint: String,
    /// Path-style or virtual-hosted-style URLs.
    pub addressing: Addressing,
}

impl WebSeed {
    /// The object's URL, with the bucket and every key segment
    /// percent-encoded (all but RFC 3986's unreserved characters), so that
    /// spaces, `+`, `%`, `#`, `?` and UTF-8 survive. A key's trailing `/` is
    /// written `%2F`: BEP 19 clients append the torrent's name to a web seed
    /// that ends in `/`.
    ///
    /// ```
    /// use s3torrent_s3::{Addressing, BucketName, ObjectKey, WebSeed};
    ///
    /// let b = BucketName::new("quotes")?;
    /// let k = ObjectKey::new("dir/a b+c%#?é")?;
    /// let path = WebSeed { endpoint: "http://127.0.0.1:9000/".into(), addressing: Addressing::Path };
    /// assert_eq!(path.object_url(&b, &k), "http://127.0.0.1:9000/quotes/dir/a%20b%2Bc%25%23%3F%C3%A9");
    /// let vhost = WebSeed { endpoint: "https://s3.example.com".into(), addressing: Addressing::VirtualHosted };
    /// assert_eq!(vhost.object_url(&b, &ObjectKey::new("x/")?), "https://quotes.s3.example.com/x%2F");
    /// # Ok::<(), s3torrent_s3::S3Error>(())
    /// ```
    pub fn object_url(&self, bucket: &BucketName, key: &ObjectKey) -> String {
        let endpoint = self.endpoint.trim_end_matches('/');
        let mut url = match self.addressing {
            Addressing::Path => format!("{endpoint}/{}/", bucket.as_str()),
            Addressing::VirtualHosted => match endpoint.split_once("://") {
                Some((scheme, host)) => format!("{scheme}://{}.{host}/", bucket.as_str()),
                None => format!("{}.{endpoint}/", bucket.as_str()),
            },
        };
        let (body, trailing_slash) = match key.as_str().strip_suffix('/') {
            Some(body) => (body, true),
            None => (key.as_str(), false),
        };
        for (i, segment) in body.split('/').enumerate() {
            if i > 0 {
                url.push('/');
            }
            percent_encode_into(&mut url, segment.as_bytes());
        }
        if trailing_slash {
            url.push_str("%2F");
        }
        url
    }
}

pub(crate) fn percent_encode_into(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Which torrents the service makes, and for which objects.
///
/// ```
/// use s3torrent_s3::{TorrentPolicy, TorrentProfile};
///
/// let mut policy = TorrentPolicy::default();
/// assert_eq!(policy.profile, TorrentProfile::Aws);
/// assert_eq!(policy.max_object_size, 5_368_709_120);
/// policy.trackers.push("http://tracker.example:6969/announce".into());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TorrentPolicy {
    /// AWS-faithful (the default) or plain.
    pub profile: TorrentProfile,
    /// The piece length (default: S3's 262144).
    pub piece_length: PieceLengthPolicy,
    /// Trackers, each in a tier of its own (default: none).
    pub trackers: Vec<String>,
    /// The largest object that gets a torrent (default: S3's 5368709120).
    pub max_object_size: u64,
    /// Web seeds pointing at the object on this endpoint (default: none).
    pub web_seed: Option<WebSeed>,
    /// Whether `?torrent&versionId=…` is served (default: yes).
    pub allow_version_id: bool,
    /// v1 (the default, as S3 made them), v2 or hybrid (BEP 52). v2 and
    /// hybrid torrents carry the whole piece layer, so they are larger:
    /// 32 bytes per piece more than v1's 20.
    pub version: TorrentVersion,
}

impl Default for TorrentPolicy {
    fn default() -> Self {
        TorrentPolicy {
            profile: TorrentProfile::Aws,
            piece_length: PieceLengthPolicy::Fixed(PieceLength::AWS),
            trackers: Vec::new(),
            max_object_size: Self::AWS_MAX_OBJECT_SIZE,
            web_seed: None,
            allow_version_id: true,
            version: TorrentVersion::V1,
        }
    }
}

impl TorrentPolicy {
    /// 5 GiB: S3's limit for torrents.
    pub const AWS_MAX_OBJECT_SIZE: u64 = 5_368_709_120;

    /// A stable fingerprint of everything that shapes a torrent's bytes, so
    /// a persistent cache never serves a torrent made under other settings.
    pub fn fingerprint(&self) -> u64 {
        // FNV-1a over a fixed description: stable across builds and releases.
        let mut description = format!(
            "{:?}|{:?}|{:?}|{:?}",
            self.profile, self.piece_length, self.trackers, self.web_seed
        );
        // Appended only when not v1, so that v1 torrents cached before the
        // version existed keep their keys.
        if self.version != TorrentVersion::V1 {
            description.push_str(&format!("|{}", self.version));
        }
        description.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// The piece length for an object of `size` bytes.
    pub fn piece_length_for(&self, size: u64) -> PieceLength {
        match self.piece_length {
            PieceLengthPolicy::Fixed(p) => p,
            PieceLengthPolicy::Auto => PieceLength::auto(size),
        }
    }

    /// The web-seed URL of an object, if web seeds are on.
    pub fn web_seed_url(&self, bucket: &BucketName, key: &ObjectKey) -> Option<String> {
        self.web_seed.as_ref().map(|w| w.object_url(bucket, key))
    }
}
