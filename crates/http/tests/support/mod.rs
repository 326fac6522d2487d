//! What the adapter's tests share: an in-memory object source, and a strict
//! checker of the S3 error documents.

#![allow(dead_code)] // each test file uses a different subset

use std::collections::BTreeMap;

use s3torrent_s3::{
    AccountId, Acl, BucketInfo, BucketName, CannedAcl, CanonicalId, ObjectInfo, ObjectKey,
    ObjectLookup, ObjectSource, Principal, ReadAt, Result,
};

/// The owner of everything in [`Memory::demo`].
pub(crate) fn owner() -> Principal {
    Principal::new(
        CanonicalId::new("alice").unwrap(),
        AccountId::new("111122223333").unwrap(),
    )
}

/// Buckets and objects in memory.
#[derive(Default)]
pub(crate) struct Memory {
    pub(crate) buckets: BTreeMap<String, BucketInfo>,
    pub(crate) objects: BTreeMap<(String, String), (ObjectInfo, Vec<u8>)>,
}

impl Memory {
    /// Bucket `demo` (public-read, so missing keys are 404), with a public
    /// `hello.txt`, a private `secret.txt` and whatever `keys` name
    /// (public, content "data of KEY").
    pub(crate) fn demo(keys: &[&str]) -> Memory {
        let owner = owner();
        let mut m = Memory::default();
        let mut bucket = BucketInfo::new(BucketName::new("demo").unwrap(), owner.clone());
        bucket.acl = Acl::canned(CannedAcl::PublicRead, &owner, &owner);
        m.buckets.insert("demo".into(), bucket);
        m.put("demo", "hello.txt", b"hello world\n", CannedAcl::PublicRead);
        m.put("demo", "secret.txt", b"top secret\n", CannedAcl::Private);
        for k in keys {
            m.put(
                "demo",
                k,
                format!("data of {k}").as_bytes(),
                CannedAcl::PublicRead,
            );
        }
        m
    }

    /// Adds an object.
    pub(crate) fn put(
        &mut self,
        bucket: &str,
        key: &str,
        data: &[u8],
        acl: CannedAcl,
    ) -> &mut ObjectInfo {
        let owner = owner();
        let mut info = ObjectInfo::new(
            ObjectKey::new(key).unwrap(),
            data.len() as u64,
            format!("etag-{}", data.len()),
            &owner,
        );
        info.acl = Acl::canned(acl, &owner, &owner);
        let slot = self
            .objects
            .entry((bucket.into(), key.into()))
            .or_insert((info.clone(), Vec::new()));
        *slot = (info, data.to_vec());
        &mut slot.0
    }
}

impl ObjectSource for Memory {
    fn bucket(&self, bucket: &BucketName) -> Result<Option<BucketInfo>> {
        Ok(self.buckets.get(bucket.as_str()).cloned())
    }

    fn object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        version_id: Option<&str>,
    ) -> Result<ObjectLookup> {
        let found = self
            .objects
            .get(&(bucket.as_str().into(), key.as_str().into()));
        Ok(match (found, version_id) {
            (None, _) => ObjectLookup::NoSuchKey,
            (Some((info, _)), Some(v)) if info.version_id.as_deref() != Some(v) => {
                ObjectLookup::NoSuchVersion
            }
            (Some((info, _)), _) => ObjectLookup::Found(info.clone()),
        })
    }

    fn open(
        &self,
        bucket: &BucketName,
        object: &ObjectInfo,
    ) -> Result<Box<dyn ReadAt + Send + Sync + '_>> {
        let (_, data) = &self.objects[&(bucket.as_str().into(), object.key.as_str().into())];
        Ok(Box::new(data.as_slice()))
    }
}

/// The texts of an S3 error document, checked strictly against XML 1.0:
/// the declaration, `<Error>` holding exactly Code, Message, Resource,
/// RequestId and HostId in that order, each holding character data only,
/// every character one XML 1.0 allows, `<` never bare, `&` only in the
/// predefined entities or a character reference, no `]]>`. Panics otherwise.
pub(crate) fn parse_error_xml(body: &[u8]) -> [String; 5] {
    let doc = std::str::from_utf8(body).expect("UTF-8");
    let rest = doc
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .expect("the XML declaration");
    let rest = rest.trim_start_matches(['\n', '\r', ' ', '\t']);
    let mut rest = rest.strip_prefix("<Error>").expect("<Error>");
    let mut texts: [String; 5] = Default::default();
    for (i, tag) in ["Code", "Message", "Resource", "RequestId", "HostId"]
        .iter()
        .enumerate()
    {
        rest = rest
            .strip_prefix(&format!("<{tag}>"))
            .unwrap_or_else(|| panic!("<{tag}> in {doc:?}"));
        let end = rest
            .find('<')
            .unwrap_or_else(|| panic!("</{tag}> in {doc:?}"));
        texts[i] = unescape_char_data(&rest[..end]);
        rest = rest[end..]
            .strip_prefix(&format!("</{tag}>"))
            .unwrap_or_else(|| panic!("</{tag}> in {doc:?}"));
    }
    assert_eq!(rest, "</Error>", "nothing after the document in {doc:?}");
    texts
}

fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn unescape_char_data(raw: &str) -> String {
    assert!(!raw.contains("]]>"), "]]> in character data: {raw:?}");
    assert!(
        !raw.contains('>'),
        "a bare > in {raw:?} (legal, but the escaper escapes it)"
    );
    let mut out = String::new();
    let mut chars = raw.char_indices();
    while let Some((i, c)) = chars.next() {
        assert!(xml_char(c), "{c:?} is not an XML 1.0 character, in {raw:?}");
        if c != '&' {
            // A literal CR would be normalised away by a parser.
            assert_ne!(c, '\r', "a literal CR in {raw:?}");
            out.push(c);
            continue;
        }
        let end = raw[i..]
            .find(';')
            .unwrap_or_else(|| panic!("an unterminated reference in {raw:?}"))
            + i;
        let name = &raw[i + 1..end];
        let decoded = match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = name.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16)
                } else if let Some(dec) = name.strip_prefix('#') {
                    dec.parse()
                } else {
                    panic!("unknown entity &{name}; in {raw:?}")
                }
                .unwrap_or_else(|_| panic!("bad character reference &{name}; in {raw:?}"));
                let c = char::from_u32(code).expect("a character");
                assert!(xml_char(c), "&{name}; is no XML 1.0 character");
                c
            }
        };
        out.push(decoded);
        while chars.next().is_some_and(|(j, _)| j < end) {}
    }
    out
}
