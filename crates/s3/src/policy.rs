//! The torrent policy: what torrents look like and which objects get one.

use s3torrent_metainfo::{PieceLength, Profile, TorrentVersion, percent_encode_into};

use crate::model::{BucketName, ObjectKey};

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

/// Which torrents the service makes, and for which objects.
///
/// ```
/// use s3torrent_s3::{Profile, TorrentPolicy};
///
/// let mut policy = TorrentPolicy::default();
/// assert_eq!(policy.profile, Profile::Aws);
/// assert_eq!(policy.max_object_size, 5_368_709_120);
/// policy.trackers.push("http://tracker.example:6969/announce".into());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TorrentPolicy {
    /// AWS-faithful (the default) or plain.
    pub profile: Profile,
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
            profile: Profile::Aws,
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
    ///
    /// **Compatibility promise.** The fingerprint is FNV-1a (64 bits) over
    /// [`fingerprint_input`](Self::fingerprint_input), an explicit encoding
    /// of the fields that shape a torrent (profile, piece length, version,
    /// trackers, web seed) under a version tag, never `Debug` output. The
    /// same settings give the same fingerprint in every release, whatever
    /// fields are added to the policy or its types; a release that must
    /// change the encoding changes the version tag, which changes every
    /// fingerprint once (cached torrents are then made again, never served
    /// under the wrong settings). Fields that decide only which objects get
    /// a torrent (`max_object_size`, `allow_version_id`) are not part of it.
    ///
    /// ```
    /// use s3torrent_s3::TorrentPolicy;
    ///
    /// // Pinned: this value is part of the promise (the persistent caches
    /// // of earlier releases hold it).
    /// assert_eq!(TorrentPolicy::default().fingerprint(), 0x229e_c5e5_45a5_409d);
    /// ```
    pub fn fingerprint(&self) -> u64 {
        fnv1a(&self.fingerprint_input())
    }

    /// The bytes [`fingerprint`](Self::fingerprint) hashes: the line
    /// `s3torrent policy 1`, then one line per field, `name=value`, in this
    /// order: `profile` (`aws`, `plain`), `piece length` (the length in
    /// bytes, or `auto`), `version` (`v1`, `v2`, `hybrid`), `trackers` (their
    /// count, then one line `tracker=URL` each), and `web seed` (`none`, or
    /// `path ENDPOINT`, `virtual-hosted ENDPOINT`). Every value is
    /// percent-encoded, so no value can forge a line.
    ///
    /// ```
    /// use s3torrent_s3::{Addressing, TorrentPolicy, WebSeed};
    ///
    /// let mut policy = TorrentPolicy::default();
    /// policy.trackers.push("http://t:6969/announce".into());
    /// policy.web_seed = Some(WebSeed { endpoint: "http://e".into(), addressing: Addressing::Path });
    /// assert_eq!(
    ///     String::from_utf8(policy.fingerprint_input()).unwrap(),
    ///     "s3torrent policy 1\nprofile=aws\npiece length=262144\nversion=v1\ntrackers=1\n\
    ///      tracker=http%3A%2F%2Ft%3A6969%2Fannounce\nweb seed=path%20http%3A%2F%2Fe\n",
    /// );
    /// ```
    pub fn fingerprint_input(&self) -> Vec<u8> {
        let mut out = String::from("s3torrent policy 1\n");
        let mut line = |name: &str, value: &str| {
            out.push_str(name);
            out.push('=');
            percent_encode_into(&mut out, value.as_bytes());
            out.push('\n');
        };
        line(
            "profile",
            match self.profile {
                Profile::Plain => "plain",
                Profile::Aws => "aws",
            },
        );
        line(
            "piece length",
            &match self.piece_length {
                PieceLengthPolicy::Fixed(p) => p.get().to_string(),
                PieceLengthPolicy::Auto => "auto".into(),
            },
        );
        line("version", &self.version.to_string());
        line("trackers", &self.trackers.len().to_string());
        for t in &self.trackers {
            line("tracker", t);
        }
        line(
            "web seed",
            &match &self.web_seed {
                None => "none".into(),
                Some(w) => format!(
                    "{} {}",
                    match w.addressing {
                        Addressing::Path => "path",
                        Addressing::VirtualHosted => "virtual-hosted",
                    },
                    w.endpoint
                ),
            },
        );
        out.into_bytes()
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

/// FNV-1a, 64 bits: stable across builds, platforms and releases.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published FNV-1a test vectors (Fowler, Noll, Vo).
    #[test]
    fn fnv1a_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    /// Every field that shapes a torrent changes the fingerprint; the
    /// others do not.
    #[test]
    fn fingerprint_fields() {
        let base = TorrentPolicy::default();
        let mut changed = Vec::new();
        let mut p = base.clone();
        p.profile = Profile::Plain;
        changed.push(p);
        let mut p = base.clone();
        p.piece_length = PieceLengthPolicy::Auto;
        changed.push(p);
        let mut p = base.clone();
        p.version = TorrentVersion::Hybrid;
        changed.push(p);
        let mut p = base.clone();
        p.trackers.push("http://t/announce".into());
        changed.push(p);
        let mut p = base.clone();
        p.web_seed = Some(WebSeed {
            endpoint: "http://e".into(),
            addressing: Addressing::VirtualHosted,
        });
        changed.push(p);
        for p in &changed {
            assert_ne!(p.fingerprint(), base.fingerprint(), "{p:?}");
        }
        // A tracker holding a line break cannot forge another field.
        let mut forged = base.clone();
        forged.trackers.push("x\nweb seed=none".into());
        let mut two = base.clone();
        two.trackers.push("x".into());
        assert_ne!(forged.fingerprint_input(), two.fingerprint_input());
        let mut p = base.clone();
        p.max_object_size = 1;
        p.allow_version_id = false;
        assert_eq!(p.fingerprint(), base.fingerprint());
    }
}
