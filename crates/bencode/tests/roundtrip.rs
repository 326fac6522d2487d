//! Round-trip properties: generated value trees against a reference encoder
//! written from the spec (see `common`), raw spans, buffer sharing, random
//! and mutated input, and lenient decoding of shuffled dictionaries.

use crate::common;

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use common::{M, arb_model, encode_string, model_of, reference_encode, to_value};
use proptest::collection::vec;
use proptest::prelude::*;
use s3torrent_bencode::{BorrowedValue, Decoder, ErrorKind, Kind, OwnedValue, decode};

/// Whether `part` lies inside `whole` (by address).
fn lies_inside(part: &[u8], whole: &[u8]) -> bool {
    let (p, w) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    p >= w && p + part.len() <= w + whole.len()
}

/// `part`'s offset in `whole`, by address.
fn offset_in(part: &[u8], whole: &[u8]) -> usize {
    assert!(lies_inside(part, whole));
    part.as_ptr() as usize - whole.as_ptr() as usize
}

proptest! {
    /// (a) decode(encode(v)) == v; the encoding is the reference encoding;
    /// the decoded value's raw bytes are the whole input.
    #[test]
    fn encode_then_decode(m in arb_model()) {
        let v = to_value(&m);
        let bytes = v.to_vec();
        prop_assert_eq!(&bytes, &reference_encode(&m));
        prop_assert_eq!(v.encoded_len(), bytes.len());
        let mut buf = BytesMut::new();
        v.encode_into(&mut buf);
        prop_assert_eq!(&buf[..], &bytes[..]);
        prop_assert!(v.raw().is_none());

        let d = decode(&bytes).unwrap();
        prop_assert_eq!(model_of(&d), m.clone());
        prop_assert_eq!(&d, &v.as_borrowed());
        prop_assert_eq!(d.raw().copied(), Some(&bytes[..]));

        let owned = Decoder::strict().decode_bytes(&Bytes::from(bytes.clone())).unwrap();
        prop_assert_eq!(&owned, &v);
        prop_assert_eq!(owned.raw().map(|b| &b[..]), Some(&bytes[..]));
    }

    /// (b) canonical bytes re-encode to themselves, in both modes.
    #[test]
    fn canonical_bytes_are_a_fixed_point(m in arb_model()) {
        let b = reference_encode(&m);
        for d in [Decoder::strict(), Decoder::lenient()] {
            let v = d.decode(&b).unwrap();
            prop_assert_eq!(v.to_vec(), b.clone());
            prop_assert_eq!(v.to_owned_value().to_vec(), b.clone());
        }
    }

    /// (c) every value's raw bytes stand where they should in the input and
    /// decode on their own to an equal value.
    #[test]
    fn raw_spans_are_exact(m in arb_model()) {
        let input = reference_encode(&m);
        let v = decode(&input).unwrap();
        check_spans(&input, &v);
    }

    /// (d) decode_bytes shares the input buffer: every byte string, key and
    /// raw span of the result points into it.
    #[test]
    fn decode_bytes_shares_the_buffer(m in arb_model()) {
        let input = Bytes::from(reference_encode(&m));
        let v = Decoder::strict().decode_bytes(&input).unwrap();
        prop_assert_eq!(model_of(&v), m);
        check_shared(&input, &v);
    }

    /// (f) a document whose dictionaries are shuffled decodes leniently to
    /// the sorted value and re-encodes canonically; strict mode refuses it
    /// at the first key out of order.
    #[test]
    fn lenient_reads_shuffled_dictionaries(m in arb_model(), seed in any::<u64>()) {
        check_shuffled(&m, seed)?;
    }

    /// (f) again, with a dictionary at the top that has several entries.
    #[test]
    fn lenient_reads_a_shuffled_top_dictionary(
        entries in proptest::collection::btree_map(common::arb_key(), arb_model(), 2..10),
        seed in any::<u64>(),
    ) {
        check_shuffled(&M::Dict(entries), seed)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// (e) random input never panics, and whatever the strict decoder
    /// accepts re-encodes to the input byte for byte.
    #[test]
    fn arbitrary_bytes(input in arb_hostile_bytes()) {
        check_arbitrary(&input);
    }
}

fn check_spans(input: &[u8], v: &BorrowedValue<'_>) {
    let raw = *v.raw().expect("a decoded value has raw bytes");
    let start = offset_in(raw, input);
    // The span decodes on its own to an equal value (and, being canonical,
    // re-encodes to itself).
    let again = decode(raw).unwrap();
    assert_eq!(&again, v);
    assert_eq!(again.to_vec(), raw);
    match v.kind() {
        Kind::Int(i) => assert_eq!(raw, format!("i{i}e").as_bytes()),
        Kind::Bytes(b) => {
            let mut expected = Vec::new();
            encode_string(b, &mut expected);
            assert_eq!(raw, &expected[..]);
            assert_eq!(offset_in(b, input), start + raw.len() - b.len());
        }
        Kind::List(items) => {
            assert_eq!(raw[0], b'l');
            let mut at = start + 1;
            for item in items {
                let item_raw = *item.raw().unwrap();
                assert_eq!(offset_in(item_raw, input), at);
                at += item_raw.len();
                check_spans(input, item);
            }
            assert_eq!(input[at], b'e');
            assert_eq!(at + 1, start + raw.len());
        }
        Kind::Dict(d) => {
            assert_eq!(raw[0], b'd');
            let mut at = start + 1;
            for (k, item) in d.iter() {
                // The key: `<len>:<key>` right here, its bytes borrowed in place.
                let mut key = Vec::new();
                encode_string(k, &mut key);
                assert_eq!(&input[at..at + key.len()], &key[..]);
                at += key.len();
                assert_eq!(offset_in(k, input), at - k.len());
                // The value right after it.
                let item_raw = *item.raw().unwrap();
                assert_eq!(offset_in(item_raw, input), at);
                at += item_raw.len();
                check_spans(input, item);
            }
            assert_eq!(input[at], b'e');
            assert_eq!(at + 1, start + raw.len());
        }
    }
}

fn check_shared(input: &Bytes, v: &OwnedValue) {
    let raw = v.raw().expect("a decoded value has raw bytes");
    assert!(lies_inside(raw, input));
    let non_empty_inside = |b: &Bytes| b.is_empty() || lies_inside(b, input);
    match v.kind() {
        Kind::Int(_) => {}
        Kind::Bytes(b) => assert!(non_empty_inside(b)),
        Kind::List(items) => items.iter().for_each(|i| check_shared(input, i)),
        Kind::Dict(d) => {
            for (k, item) in d.iter() {
                assert!(non_empty_inside(k));
                check_shared(input, item);
            }
        }
    }
}

#[test]
fn decode_bytes_shares_a_known_buffer() {
    let input = Bytes::from_static(b"d4:name5:hello6:piecesl3:abc0:ee");
    let v = Decoder::strict().decode_bytes(&input).unwrap();
    let name = match v.get("name").unwrap().kind() {
        Kind::Bytes(b) => b.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(&name[..], b"hello");
    assert_eq!(offset_in(&name, &input), 9);
    let pieces = v.get("pieces").unwrap();
    assert_eq!(offset_in(pieces.raw().unwrap(), &input), 22);
    assert_eq!(pieces.raw().map(|b| &b[..]), Some(&b"l3:abc0:e"[..]));
    // Dropping the input handle leaves the shared bytes alive.
    drop(input);
    assert_eq!(v.to_vec(), b"d4:name5:hello6:piecesl3:abc0:ee");
}

/// Random bytes: uniform, over bencode's own alphabet (so that structure
/// forms), and valid documents with a few bytes changed, inserted or removed.
fn arb_hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let alphabet = prop::sample::select(b"ilde0123456789:-:eex".to_vec());
    // Whole tokens, canonical or not, so that near-valid documents (with
    // unsorted or repeated keys, stray `e`s, bad integers) come up often.
    let token = prop::sample::select(vec![
        &b"i0e"[..],
        b"i7e",
        b"i-1e",
        b"i03e",
        b"i-0e",
        b"0:",
        b"1:a",
        b"1:b",
        b"2:ab",
        b"01:a",
        b"l",
        b"d",
        b"e",
        b"e",
        b"e",
    ]);
    prop_oneof![
        vec(any::<u8>(), 0..64),
        vec(alphabet, 0..64),
        vec(token, 0..16).prop_map(|tokens| tokens.concat()),
        (
            arb_model(),
            vec((any::<usize>(), any::<u8>(), 0u8..3), 1..4)
        )
            .prop_map(|(m, edits)| {
                let mut b = reference_encode(&m);
                for (at, byte, op) in edits {
                    let at = at % (b.len() + 1);
                    match op {
                        0 if at < b.len() => b[at] = byte,
                        1 => b.insert(at, byte),
                        _ if at < b.len() => {
                            b.remove(at);
                        }
                        _ => b.push(byte),
                    }
                }
                b
            }),
    ]
}

fn check_arbitrary(input: &[u8]) {
    match decode(input) {
        Ok(v) => {
            assert_eq!(v.to_vec(), input, "strict accepted a non-canonical input");
            assert_eq!(v.raw().copied(), Some(input));
            let owned = Decoder::strict()
                .decode_bytes(&Bytes::copy_from_slice(input))
                .unwrap();
            assert_eq!(owned.to_vec(), input);
        }
        Err(e) => {
            let offset = e.offset().expect("decoding errors have an offset");
            assert!(offset <= input.len(), "{e} past the end of {}", input.len());
        }
    }
    match Decoder::lenient().decode_prefix(input) {
        Ok((v, end)) => {
            assert!(end <= input.len());
            assert_eq!(v.raw().copied(), Some(&input[..end]));
            // What lenient mode accepts has a canonical form the strict
            // decoder takes back as the same value.
            let canonical = v.to_vec();
            let again = decode(&canonical).unwrap();
            assert_eq!(again, v);
            assert!(Decoder::lenient().decode(input).is_ok());
        }
        Err(e) => assert!(e.offset().unwrap() <= input.len()),
    }
}

/// A small deterministic generator for the shuffles (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Encodes `m` with every dictionary's entries shuffled; returns the bytes
/// and the offset of the first key that sorts before the key preceding it.
fn encode_shuffled(m: &M, rng: &mut Rng, out: &mut Vec<u8>, first_unsorted: &mut Option<usize>) {
    match m {
        M::Int(_) | M::Bytes(_) => out.extend_from_slice(&reference_encode(m)),
        M::List(items) => {
            out.push(b'l');
            for item in items {
                encode_shuffled(item, rng, out, first_unsorted);
            }
            out.push(b'e');
        }
        M::Dict(d) => {
            out.push(b'd');
            let mut entries: Vec<(&Vec<u8>, &M)> = d.iter().collect();
            rng.shuffle(&mut entries);
            let mut previous: Option<&Vec<u8>> = None;
            for (k, v) in entries {
                if previous.is_some_and(|p| p > k) && first_unsorted.is_none() {
                    *first_unsorted = Some(out.len());
                }
                previous = Some(k);
                encode_string(k, out);
                encode_shuffled(v, rng, out, first_unsorted);
            }
            out.push(b'e');
        }
    }
}

fn check_shuffled(m: &M, seed: u64) -> Result<(), TestCaseError> {
    let mut rng = Rng(seed | 1);
    let mut shuffled = Vec::new();
    let mut first_unsorted = None;
    encode_shuffled(m, &mut rng, &mut shuffled, &mut first_unsorted);
    let canonical = reference_encode(m);

    let v = Decoder::lenient().decode(&shuffled).unwrap();
    prop_assert_eq!(model_of(&v), m.clone());
    prop_assert_eq!(&v, &decode(&canonical).unwrap());
    prop_assert_eq!(v.to_vec(), canonical.clone());
    prop_assert_eq!(v.raw().copied(), Some(&shuffled[..]));
    if let (Kind::Dict(d), M::Dict(sorted)) = (v.kind(), m) {
        // Lookups work on the unsorted dictionary too.
        for (k, value) in sorted {
            prop_assert_eq!(d.get(k).map(model_of), Some(value.clone()));
        }
        let keys: Vec<&[u8]> = d.iter().map(|(k, _)| *k).collect();
        let sorted_keys: Vec<&[u8]> = sorted.keys().map(Vec::as_slice).collect();
        prop_assert_eq!(d.is_sorted(), keys == sorted_keys);
    }

    match (decode(&shuffled), first_unsorted) {
        (Ok(strict), None) => prop_assert_eq!(strict.to_vec(), shuffled.clone()),
        (Err(e), Some(at)) => {
            prop_assert_eq!(e.kind(), &ErrorKind::UnsortedKey);
            prop_assert_eq!(e.offset(), Some(at));
        }
        (got, expected) => prop_assert!(
            false,
            "strict gave {:?}, expected unsorted at {:?}",
            got,
            expected
        ),
    }
    Ok(())
}

#[test]
fn shuffled_dictionary_by_hand() {
    let mut sorted = BTreeMap::new();
    for (k, v) in [
        (&b"a"[..], 1),
        (b"ab", 2),
        (b"b", 3),
        (b"", 4),
        (b"\xff", 5),
    ] {
        sorted.insert(k.to_vec(), M::Int(v));
    }
    let input = b"d1:bi3e1:\xffi5e2:abi2e0:i4e1:ai1ee";
    let v = Decoder::lenient().decode(input).unwrap();
    assert_eq!(model_of(&v), M::Dict(sorted));
    assert!(!v.as_dict().unwrap().is_sorted());
    assert_eq!(v.to_vec(), b"d0:i4e1:ai1e2:abi2e1:bi3e1:\xffi5ee");
    let e = decode(input).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (&ErrorKind::UnsortedKey, Some(13)));
}
