//! Differential tests against `serde_bencode` 0.2.4 as the oracle: the same
//! documents decode to the same structure and the same structures encode to
//! the same bytes, through the value trees and through derived types. Where
//! `serde_bencode` accepts non-canonical input, tests pin down both
//! behaviours: it is wrong there, and we refuse.

use crate::common;

use std::collections::HashMap;

use common::{M, arb_dict_model, arb_model, reference_encode, to_value};
use proptest::collection::vec;
use proptest::prelude::*;
use s3torrent_bencode::{Decoder, ErrorKind, Kind, Value, decode, from_bytes, to_vec};
use serde::{Deserialize, Serialize};
use serde_bencode::value::Value as Sb;

/// Our value, in the oracle's value type.
fn to_sb<B: AsRef<[u8]>>(v: &Value<B>) -> Sb {
    match v.kind() {
        Kind::Int(i) => Sb::Int(*i),
        Kind::Bytes(b) => Sb::Bytes(b.as_ref().to_vec()),
        Kind::List(items) => Sb::List(items.iter().map(to_sb).collect()),
        Kind::Dict(d) => Sb::Dict(
            d.iter()
                .map(|(k, v)| (k.as_ref().to_vec(), to_sb(v)))
                .collect(),
        ),
    }
}

/// The model, in the oracle's value type (without going through our crate).
fn model_to_sb(m: &M) -> Sb {
    match m {
        M::Int(i) => Sb::Int(*i),
        M::Bytes(b) => Sb::Bytes(b.clone()),
        M::List(items) => Sb::List(items.iter().map(model_to_sb).collect()),
        M::Dict(d) => Sb::Dict(
            d.iter()
                .map(|(k, v)| (k.clone(), model_to_sb(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

proptest! {
    /// The same canonical document decodes to the same structure with both.
    #[test]
    fn same_structure_when_decoding(m in arb_model()) {
        let doc = reference_encode(&m);
        let oracle: Sb = serde_bencode::from_bytes(&doc).unwrap();
        for d in [Decoder::strict(), Decoder::lenient()] {
            let ours = d.decode(&doc).unwrap();
            prop_assert_eq!(&to_sb(&ours), &oracle);
        }
        // Through our serde deserializer into the oracle's own value type.
        let via_serde: Sb = from_bytes(&doc).unwrap();
        prop_assert_eq!(&via_serde, &oracle);
    }

    /// The same structure encodes to the same bytes with both, whichever
    /// encoder and whichever value type.
    #[test]
    fn same_bytes_when_encoding(m in arb_model()) {
        let sb = model_to_sb(&m);
        let oracle = serde_bencode::to_bytes(&sb).unwrap();
        let v = to_value(&m);
        prop_assert_eq!(&v.to_vec(), &oracle);
        prop_assert_eq!(&to_vec(&v).unwrap(), &oracle);
        // Our serializer over the oracle's value (a HashMap, in any order).
        prop_assert_eq!(&to_vec(&sb).unwrap(), &oracle);
        // And the oracle's serializer over our value.
        prop_assert_eq!(&serde_bencode::to_bytes(&v).unwrap(), &oracle);
    }

    /// Whatever our strict decoder accepts, the oracle reads the same way
    /// (we accept a subset of what it does).
    #[test]
    fn strict_accepts_a_subset_of_the_oracle(input in vec(
        prop::sample::select(vec![
            &b"i0e"[..], b"i5e", b"i-5e", b"0:", b"1:a", b"1:b", b"2:ab", b"l", b"d", b"e", b"e",
        ]),
        0..14,
    ).prop_map(|t| t.concat())) {
        if let Ok(ours) = decode(&input) {
            let oracle: Sb = serde_bencode::from_bytes(&input).unwrap();
            prop_assert_eq!(to_sb(&ours), oracle);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Dictionaries at the top, as torrents are.
    #[test]
    fn dictionaries_agree(m in arb_dict_model()) {
        let doc = reference_encode(&m);
        let oracle: Sb = serde_bencode::from_bytes(&doc).unwrap();
        prop_assert_eq!(to_sb(&decode(&doc).unwrap()), oracle.clone());
        prop_assert_eq!(serde_bencode::to_bytes(&oracle).unwrap(), doc);
    }
}

// ---- derived types ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Torrent {
    announce: String,
    #[serde(rename = "announce-list")]
    announce_list: Option<Vec<Vec<String>>>,
    comment: Option<String>,
    #[serde(rename = "created by")]
    created_by: Option<String>,
    #[serde(rename = "creation date")]
    creation_date: Option<i64>,
    info: Info,
    #[serde(rename = "url-list", default, skip_serializing_if = "Vec::is_empty")]
    url_list: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Info {
    name: String,
    #[serde(rename = "piece length")]
    piece_length: u64,
    #[serde(with = "serde_bytes")]
    pieces: Vec<u8>,
    length: Option<u64>,
    files: Option<Vec<FileEntry>>,
    private: Option<bool>,
    #[serde(rename = "root hash", default, with = "serde_bytes")]
    root_hash: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FileEntry {
    length: u64,
    path: Vec<String>,
    #[serde(default, with = "serde_bytes")]
    md5sum: Option<Vec<u8>>,
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z ./-]{0,12}", any::<String>()]
}

/// Integers bencode can hold (an `i64`): serde_bencode writes a larger `u64`
/// too, as a number no canonical decoder can read back.
fn arb_len() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..100_000, 0..=i64::MAX as u64]
}

fn arb_file() -> impl Strategy<Value = FileEntry> {
    (
        arb_len(),
        vec(arb_text(), 0..4),
        proptest::option::of(vec(any::<u8>(), 0..16)),
    )
        .prop_map(|(length, path, md5sum)| FileEntry {
            length,
            path,
            md5sum,
        })
}

fn arb_info() -> impl Strategy<Value = Info> {
    (
        arb_text(),
        arb_len(),
        vec(any::<u8>(), 0..60),
        proptest::option::of(arb_len()),
        proptest::option::of(vec(arb_file(), 0..4)),
        proptest::option::of(any::<bool>()),
        proptest::option::of(vec(any::<u8>(), 0..32)),
    )
        .prop_map(
            |(name, piece_length, pieces, length, files, private, root_hash)| Info {
                name,
                piece_length,
                pieces,
                length,
                files,
                private,
                root_hash,
            },
        )
}

fn arb_torrent() -> impl Strategy<Value = Torrent> {
    (
        arb_text(),
        proptest::option::of(vec(vec(arb_text(), 0..3), 0..3)),
        proptest::option::of(arb_text()),
        proptest::option::of(arb_text()),
        proptest::option::of(any::<i64>()),
        arb_info(),
        vec(arb_text(), 0..3),
    )
        .prop_map(
            |(announce, announce_list, comment, created_by, creation_date, info, url_list)| {
                Torrent {
                    announce,
                    announce_list,
                    comment,
                    created_by,
                    creation_date,
                    info,
                    url_list,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A derived struct round-trips through our serde, and our bytes are the
    /// oracle's bytes, which are canonical (our strict decoder takes them
    /// back unchanged).
    #[test]
    fn derived_struct_matches_the_oracle(t in arb_torrent()) {
        let ours = to_vec(&t).unwrap();
        let oracle = serde_bencode::to_bytes(&t).unwrap();
        prop_assert_eq!(&ours, &oracle);
        prop_assert_eq!(decode(&oracle).unwrap().to_vec(), oracle.clone());
        let back: Torrent = from_bytes(&ours).unwrap();
        prop_assert_eq!(&back, &t);
        // The oracle reads our bytes as the same document.
        let ours_as_sb: Sb = serde_bencode::from_bytes(&ours).unwrap();
        prop_assert_eq!(to_sb(&decode(&ours).unwrap()), ours_as_sb);
    }
}

#[test]
fn derived_struct_by_hand() {
    let t = Torrent {
        announce: "http://t/a".into(),
        announce_list: Some(vec![vec!["http://t/a".into()], vec![]]),
        comment: None,
        created_by: Some("me".into()),
        creation_date: Some(-1),
        info: Info {
            name: "a b".into(),
            piece_length: 16384,
            pieces: b"\x00\xffxy".to_vec(),
            length: None,
            files: Some(vec![
                FileEntry {
                    length: 5,
                    path: vec!["d".into(), "f.txt".into()],
                    md5sum: None,
                },
                FileEntry {
                    length: 0,
                    path: vec![],
                    md5sum: Some(b"\x01".to_vec()),
                },
            ]),
            private: Some(true),
            root_hash: None,
        },
        url_list: vec![],
    };
    // Written out by hand: keys sorted by raw bytes ("announce" <
    // "announce-list" < "created by" < "creation date" < "info"; inside info
    // "files" < "name" < "piece length" < "pieces" < "private"), None and the
    // empty url-list left out.
    let expected: &[u8] = b"d8:announce10:http://t/a13:announce-listll10:http://t/aelee\
        10:created by2:me13:creation datei-1e\
        4:infod5:filesld6:lengthi5e4:pathl1:d5:f.txteed6:lengthi0e6:md5sum1:\x014:pathleee\
        4:name3:a b12:piece lengthi16384e6:pieces4:\x00\xffxy7:privatei1eee";
    assert_eq!(to_vec(&t).unwrap(), expected);
    assert_eq!(serde_bencode::to_bytes(&t).unwrap(), expected);
    assert_eq!(from_bytes::<Torrent>(expected).unwrap(), t);
}

// ---- where serde_bencode is wrong ----

/// Asserts that our strict decoder refuses `input` with `kind` at `offset`.
fn we_refuse(input: &[u8], kind: ErrorKind, offset: usize) {
    let e = decode(input).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (&kind, Some(offset)), "{e}");
    let e = from_bytes::<Sb>(input).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (&kind, Some(offset)), "{e}");
}

/// `i-0e`: negative zero is not canonical (BEP 3), serde_bencode reads it as 0.
#[test]
fn negative_zero() {
    assert_eq!(serde_bencode::from_bytes::<i64>(b"i-0e").unwrap(), 0);
    we_refuse(b"i-0e", ErrorKind::NegativeZero, 1);
}

/// `i03e`: a leading zero is not canonical, serde_bencode reads it as 3.
#[test]
fn integer_leading_zero() {
    assert_eq!(serde_bencode::from_bytes::<i64>(b"i03e").unwrap(), 3);
    we_refuse(b"i03e", ErrorKind::IntegerLeadingZero, 1);
}

/// `i+3e`: bencode integers have no plus sign, serde_bencode reads it as 3.
#[test]
fn integer_plus_sign() {
    assert_eq!(serde_bencode::from_bytes::<i64>(b"i+3e").unwrap(), 3);
    we_refuse(b"i+3e", ErrorKind::InvalidInteger(b'+'), 1);
}

/// `03:abc`: a string length with a leading zero, read by serde_bencode as 3.
#[test]
fn length_leading_zero() {
    assert_eq!(
        serde_bencode::from_bytes::<Sb>(b"03:abc").unwrap(),
        Sb::Bytes(b"abc".to_vec())
    );
    we_refuse(b"03:abc", ErrorKind::LengthLeadingZero, 0);
}

/// Unsorted keys: serde_bencode accepts them silently, so re-encoding its
/// value changes the bytes (and any info-hash over them). We refuse them in
/// strict mode and read them, as the same dictionary, in lenient mode.
#[test]
fn unsorted_keys() {
    let input = b"d1:bi1e1:ai2ee";
    let oracle: Sb = serde_bencode::from_bytes(input).unwrap();
    let expected = Sb::Dict(HashMap::from([
        (b"a".to_vec(), Sb::Int(2)),
        (b"b".to_vec(), Sb::Int(1)),
    ]));
    assert_eq!(oracle, expected);
    assert_eq!(serde_bencode::to_bytes(&oracle).unwrap(), b"d1:ai2e1:bi1ee");
    we_refuse(input, ErrorKind::UnsortedKey, 7);
    let lenient = Decoder::lenient().decode(input).unwrap();
    assert_eq!(to_sb(&lenient), expected);
}

/// Duplicate keys: serde_bencode keeps the last value; which value a
/// torrent "has" is then up to the reader. We refuse, in both modes.
#[test]
fn duplicate_keys() {
    let input = b"d1:ai1e1:ai2ee";
    let oracle: Sb = serde_bencode::from_bytes(input).unwrap();
    assert_eq!(
        oracle,
        Sb::Dict(HashMap::from([(b"a".to_vec(), Sb::Int(2))]))
    );
    we_refuse(input, ErrorKind::DuplicateKey, 7);
    let e = Decoder::lenient().decode(input).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (&ErrorKind::DuplicateKey, Some(7)));
}

/// Trailing bytes: serde_bencode stops after the first value and ignores
/// the rest. Strict mode refuses; lenient mode reads the first value.
#[test]
fn trailing_bytes() {
    assert_eq!(serde_bencode::from_bytes::<i64>(b"i1ei2e").unwrap(), 1);
    we_refuse(b"i1ei2e", ErrorKind::TrailingBytes, 3);
    assert_eq!(
        Decoder::lenient().decode(b"i1ei2e").unwrap().as_int(),
        Some(1)
    );
}

/// A `u64` above `i64::MAX`: serde_bencode writes it, as an integer that
/// no bencode reader with 64-bit signed integers (ours, libtorrent's) can
/// read back. We refuse to write it.
#[test]
fn u64_above_i64_max() {
    let written = serde_bencode::to_bytes(&u64::MAX).unwrap();
    assert_eq!(written, b"i18446744073709551615e");
    let e = decode(&written).unwrap_err();
    assert_eq!(
        (e.kind(), e.offset()),
        (&ErrorKind::IntegerOverflow, Some(1))
    );
    assert!(to_vec(&u64::MAX).is_err());
    assert_eq!(
        to_vec(&(i64::MAX as u64)).unwrap(),
        serde_bencode::to_bytes(&(i64::MAX as u64)).unwrap()
    );
}
