//! Targeted serde tests: borrowing, options, booleans, integer ranges,
//! floats, enums, `Value` fields, error offsets, strictness and the
//! serializer's refusals. Expected bytes are written out by hand.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_bytes::ByteBuf;

use s3torrent_bencode::{
    BorrowedValue, Decoder, ErrorKind, OwnedValue, decode, from_bytes, from_bytes_with, from_value,
    to_vec,
};

/// `part`'s offset in `whole`, asserting that it lies inside.
fn offset_in(part: &[u8], whole: &[u8]) -> usize {
    let (p, w) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    assert!(
        p >= w && p + part.len() <= w + whole.len(),
        "{:?} does not borrow from the input",
        part.escape_ascii().to_string()
    );
    p - w
}

fn is_custom(e: &s3torrent_bencode::Error) -> bool {
    matches!(e.kind(), ErrorKind::Custom(_))
}

// ---- borrowing ----

#[derive(Debug, Deserialize)]
struct Borrowed<'a> {
    #[serde(borrow)]
    cow: Cow<'a, str>,
    #[serde(with = "serde_bytes")]
    data: &'a [u8],
    list: Vec<&'a str>,
    name: &'a str,
    raw: &'a [u8],
}

#[test]
fn borrowed_fields_point_into_the_input() {
    let input: &[u8] =
        b"d3:cow3:moo4:data3:\x00\x01\x024:listl1:x2:yye4:name5:hello3:raw2:\xff\xfee";
    let b: Borrowed<'_> = from_bytes(input).unwrap();
    assert!(matches!(b.cow, Cow::Borrowed("moo")));
    assert_eq!(offset_in(b.cow.as_bytes(), input), 8);
    assert_eq!(b.data, b"\x00\x01\x02");
    assert_eq!(offset_in(b.data, input), 19);
    assert_eq!(b.list, ["x", "yy"]);
    assert_eq!(offset_in(b.list[0].as_bytes(), input), 31);
    assert_eq!(offset_in(b.list[1].as_bytes(), input), 34);
    assert_eq!(b.name, "hello");
    assert_eq!(offset_in(b.name.as_bytes(), input), 45);
    assert_eq!(b.raw, b"\xff\xfe");
    assert_eq!(offset_in(b.raw, input), 57);

    let s: &str = from_bytes(b"3:abc").unwrap();
    assert_eq!(s, "abc");
}

#[test]
fn str_field_refuses_non_utf8() {
    #[derive(Debug, Deserialize)]
    struct S<'a> {
        #[allow(dead_code)]
        name: &'a str,
    }
    let e = from_bytes::<S<'_>>(b"d4:name2:\xff\xfee").unwrap_err();
    assert!(is_custom(&e), "{e:?}");
    assert_eq!(e.offset(), Some(7));
}

// ---- options ----

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Opts {
    a: Option<i64>,
    b: i64,
    c: Option<String>,
}

#[test]
fn none_fields_are_left_out() {
    let none = Opts {
        a: None,
        b: 1,
        c: None,
    };
    assert_eq!(to_vec(&none).unwrap(), b"d1:bi1ee");
    assert_eq!(from_bytes::<Opts>(b"d1:bi1ee").unwrap(), none);

    let some = Opts {
        a: Some(0),
        b: 1,
        c: Some(String::new()),
    };
    assert_eq!(to_vec(&some).unwrap(), b"d1:ai0e1:bi1e1:c0:e");
    assert_eq!(from_bytes::<Opts>(b"d1:ai0e1:bi1e1:c0:e").unwrap(), some);

    let map = BTreeMap::from([("a", None), ("b", Some(1)), ("c", None)]);
    assert_eq!(to_vec(&map).unwrap(), b"d1:bi1ee");
}

#[test]
fn none_and_unit_have_no_bencode_form() {
    for e in [
        to_vec(&None::<i32>).unwrap_err(),
        to_vec(&()).unwrap_err(),
        to_vec(&vec![Some(1), None]).unwrap_err(),
        to_vec(&((), 1)).unwrap_err(),
    ] {
        assert!(is_custom(&e), "{e:?}");
        assert_eq!(e.offset(), None);
    }
    assert_eq!(to_vec(&Some(3)).unwrap(), b"i3e");
    assert_eq!(to_vec(&vec![Some(1), Some(2)]).unwrap(), b"li1ei2ee");
}

// ---- booleans ----

#[test]
fn bool_is_i0e_or_i1e() {
    assert_eq!(to_vec(&true).unwrap(), b"i1e");
    assert_eq!(to_vec(&false).unwrap(), b"i0e");
    assert!(from_bytes::<bool>(b"i1e").unwrap());
    assert!(!from_bytes::<bool>(b"i0e").unwrap());
    for bad in [&b"i2e"[..], b"i-1e", b"1:1", b"le"] {
        let e = from_bytes::<bool>(bad).unwrap_err();
        assert!(is_custom(&e), "{e:?}");
        assert_eq!(e.offset(), Some(0));
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Flags {
        private: bool,
    }
    assert_eq!(to_vec(&Flags { private: true }).unwrap(), b"d7:privatei1ee");
    let e = from_bytes::<Flags>(b"d7:privatei2ee").unwrap_err();
    assert_eq!(e.offset(), Some(10));
}

// ---- integers ----

#[test]
fn integers_outside_i64_are_errors() {
    assert_eq!(
        to_vec(&(i64::MAX as u64)).unwrap(),
        b"i9223372036854775807e"
    );
    assert_eq!(to_vec(&i64::MIN).unwrap(), b"i-9223372036854775808e");
    assert_eq!(
        to_vec(&(i64::MIN as i128)).unwrap(),
        b"i-9223372036854775808e"
    );
    for e in [
        to_vec(&(i64::MAX as u64 + 1)).unwrap_err(),
        to_vec(&u64::MAX).unwrap_err(),
        to_vec(&(i64::MAX as u128 + 1)).unwrap_err(),
        to_vec(&(i64::MIN as i128 - 1)).unwrap_err(),
    ] {
        assert!(is_custom(&e), "{e:?}");
    }

    assert_eq!(from_bytes::<u8>(b"i255e").unwrap(), 255);
    assert_eq!(
        from_bytes::<u64>(b"i9223372036854775807e").unwrap(),
        i64::MAX as u64
    );
    let e = from_bytes::<u8>(b"i256e").unwrap_err();
    assert_eq!(e.offset(), Some(0));
    let e = from_bytes::<Vec<u64>>(b"li1ei-1ee").unwrap_err();
    assert!(is_custom(&e), "{e:?}");
    assert_eq!(e.offset(), Some(4));
    let e = from_bytes::<u64>(b"i18446744073709551615e").unwrap_err();
    assert_eq!(
        (e.kind(), e.offset()),
        (&ErrorKind::IntegerOverflow, Some(1))
    );
}

#[test]
fn floats_are_errors() {
    assert!(is_custom(&to_vec(&1.5f64).unwrap_err()));
    assert!(is_custom(&to_vec(&0f32).unwrap_err()));
    assert!(is_custom(&to_vec(&vec![1.0f64]).unwrap_err()));

    #[derive(Serialize)]
    struct Ratio {
        r: f64,
    }
    assert!(to_vec(&Ratio { r: 0.5 }).is_err());

    let e = from_bytes::<f64>(b"i1e").unwrap_err();
    assert_eq!(e.offset(), Some(0));
    assert!(from_bytes::<f32>(b"3:1.5").is_err());
}

// ---- enums ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum E {
    Unit,
    New(i64),
    Tuple(i64, String),
    Struct { b: String, a: i64 },
}

#[test]
fn enums_round_trip() {
    let cases: [(E, &[u8]); 4] = [
        (E::Unit, b"4:Unit"),
        (E::New(5), b"d3:Newi5ee"),
        (E::Tuple(1, "x".into()), b"d5:Tupleli1e1:xee"),
        (
            E::Struct {
                b: "x".into(),
                a: 1,
            },
            b"d6:Structd1:ai1e1:b1:xee",
        ),
    ];
    for (value, bytes) in &cases {
        assert_eq!(&to_vec(value).unwrap(), bytes);
        assert_eq!(&from_bytes::<E>(bytes).unwrap(), value);
        // Whatever we write is canonical.
        assert_eq!(decode(bytes).unwrap().to_vec(), *bytes);
    }

    let all: Vec<E> = cases.iter().map(|(v, _)| v.clone()).collect();
    let bytes = to_vec(&all).unwrap();
    assert_eq!(
        bytes,
        b"l4:Unitd3:Newi5eed5:Tupleli1e1:xeed6:Structd1:ai1e1:b1:xeee"
    );
    assert_eq!(from_bytes::<Vec<E>>(&bytes).unwrap(), all);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        e: E,
        f: Option<E>,
    }
    let h = Holder {
        e: E::New(-2),
        f: Some(E::Unit),
    };
    assert_eq!(to_vec(&h).unwrap(), b"d1:ed3:Newi-2ee1:f4:Unite");
    assert_eq!(
        from_bytes::<Holder>(b"d1:ed3:Newi-2ee1:f4:Unite").unwrap(),
        h
    );
}

#[test]
fn enum_errors() {
    // An unknown variant; a dictionary of two entries; a unit variant with a
    // payload; a newtype variant without one.
    for (bad, offset) in [
        (&b"4:Nope"[..], 0),
        (b"d3:Newi1e4:Uniti1ee", 0),
        (b"d4:Uniti1ee", 7),
        (b"3:New", 0),
        (b"i1e", 0),
    ] {
        let e = from_bytes::<E>(bad).unwrap_err();
        assert!(is_custom(&e), "{e:?}");
        assert_eq!(e.offset(), Some(offset), "{}: {e}", bad.escape_ascii());
    }
}

// ---- Value fields ----

#[derive(Debug, Serialize, Deserialize)]
struct Doc<'a> {
    name: String,
    #[serde(borrow)]
    extra: BorrowedValue<'a>,
    other: OwnedValue,
}

#[test]
fn value_fields_keep_unknown_data() {
    let input: &[u8] = b"d5:extrad0:i-1e1:xli1e2:\xff\xfed1:zleeee4:name1:n5:otherli0e0:ee";
    let doc: Doc<'_> = from_bytes(input).unwrap();
    assert_eq!(doc.name, "n");
    assert_eq!(
        doc.extra.get("x").and_then(|x| x.as_list()).map(<[_]>::len),
        Some(3)
    );
    assert_eq!(doc.extra.get("").and_then(|x| x.as_int()), Some(-1));
    assert_eq!(to_vec(&doc).unwrap(), input);
    // Borrowed values' strings borrow from the input.
    let x = doc.extra.get("x").unwrap().as_list().unwrap();
    assert_eq!(offset_in(x[1].as_bytes().unwrap(), input), 24);
}

#[test]
fn value_at_the_top() {
    let input: &[u8] = b"d1:ai1e1:bl0:i2eee";
    let owned: OwnedValue = from_bytes(input).unwrap();
    assert_eq!(owned, decode(input).unwrap().to_owned_value());
    assert_eq!(to_vec(&owned).unwrap(), input);
    let borrowed: BorrowedValue<'_> = from_bytes(input).unwrap();
    assert_eq!(to_vec(&borrowed).unwrap(), input);
}

#[test]
fn flattened_map_of_values_keeps_unknown_keys() {
    #[derive(Debug, Serialize, Deserialize)]
    struct Known {
        name: String,
        #[serde(flatten)]
        rest: BTreeMap<ByteBuf, OwnedValue>,
    }
    let input: &[u8] = b"d1:ai1e4:name1:n1:zl1:ye2:\xff\xffdee";
    let k: Known = from_bytes(input).unwrap();
    assert_eq!(k.name, "n");
    assert_eq!(k.rest.len(), 3);
    assert_eq!(to_vec(&k).unwrap(), input);
}

#[test]
fn unknown_fields_are_skipped_unless_denied() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct A {
        a: i64,
    }
    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        #[allow(dead_code)]
        a: i64,
    }
    let input = b"d1:ai1e1:zd1:xleee";
    assert_eq!(from_bytes::<A>(input).unwrap(), A { a: 1 });
    let e = from_bytes::<Strict>(input).unwrap_err();
    assert!(is_custom(&e));
    assert_eq!(e.offset(), Some(0));
}

// ---- error offsets ----

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Typed {
    a: i64,
    b: Vec<i64>,
    c: Option<Inner>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Inner {
    y: String,
}

#[test]
fn type_errors_point_at_the_offending_value() {
    for (input, offset) in [
        // `b`'s second item is a string: `3:xyz` at 14.
        (&b"d1:ai1e1:bli1e3:xyzee"[..], 14),
        // `a` is a string: `3:xyz` at 4.
        (b"d1:a3:xyz1:blee", 4),
        // `b` is a dictionary: `de` at 10.
        (b"d1:ai1e1:bdee", 10),
        // `c.y` is an integer: `i5e` at 19.
        (b"d1:ai1e1:ble1:cd1:yi5eee", 19),
        // `c` lacks `y`: the dictionary at 15.
        (b"d1:ai1e1:ble1:cdee", 15),
        // The whole thing is a list: at 0.
        (b"le", 0),
        // `a` is missing: the dictionary at 0.
        (b"d1:blee", 0),
    ] {
        let e = from_bytes::<Typed>(input).unwrap_err();
        assert!(is_custom(&e), "{e:?}");
        assert_eq!(e.offset(), Some(offset), "{}: {e}", input.escape_ascii());
        assert!(
            e.to_string().ends_with(&format!(" at byte {offset}")),
            "{e}"
        );
    }
}

#[test]
fn tuples_and_newtypes() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Id(i64);
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Pair(String, i64);
    assert_eq!(to_vec(&Id(5)).unwrap(), b"i5e");
    assert_eq!(from_bytes::<Id>(b"i5e").unwrap(), Id(5));
    assert_eq!(to_vec(&Pair("a".into(), 1)).unwrap(), b"l1:ai1ee");
    assert_eq!(
        from_bytes::<Pair>(b"l1:ai1ee").unwrap(),
        Pair("a".into(), 1)
    );
    assert_eq!(to_vec(&'é').unwrap(), b"2:\xc3\xa9");
    assert_eq!(from_bytes::<char>(b"2:\xc3\xa9").unwrap(), 'é');
    // Too many or too few items for a tuple.
    let e = from_bytes::<(i64, i64)>(b"li1ei2ei3ee").unwrap_err();
    assert_eq!(e.offset(), Some(0));
    let e = from_bytes::<(i64, i64)>(b"li1ee").unwrap_err();
    assert_eq!(e.offset(), Some(0));
}

// ---- strictness ----

#[derive(Debug, PartialEq, Deserialize)]
struct Ab {
    a: i64,
    b: i64,
}

#[test]
fn from_bytes_is_strict() {
    for (input, kind, offset) in [
        (&b"d1:ai03e1:bi1ee"[..], ErrorKind::IntegerLeadingZero, 5),
        (b"d1:ai-0e1:bi1ee", ErrorKind::NegativeZero, 5),
        (b"d01:ai1e1:bi1ee", ErrorKind::LengthLeadingZero, 1),
        (b"d1:bi1e1:ai2ee", ErrorKind::UnsortedKey, 7),
        (b"d1:ai1e1:ai2ee", ErrorKind::DuplicateKey, 7),
        (b"d1:ai1e1:bi2eei0e", ErrorKind::TrailingBytes, 14),
        (b"d1:ai1e1:bi2e", ErrorKind::UnexpectedEof, 13),
    ] {
        let e = from_bytes::<Ab>(input).unwrap_err();
        assert_eq!((e.kind(), e.offset()), (&kind, Some(offset)));
    }
}

#[test]
fn from_bytes_with_uses_the_decoders_mode_and_limits() {
    let lenient = Decoder::lenient();
    assert_eq!(
        from_bytes_with::<Ab>(&lenient, b"d1:bi1e1:ai2ee").unwrap(),
        Ab { a: 2, b: 1 }
    );
    assert_eq!(
        from_bytes_with::<Ab>(&lenient, b"d1:ai1e1:bi2eei0e").unwrap(),
        Ab { a: 1, b: 2 }
    );
    let e = from_bytes_with::<Ab>(&lenient, b"d1:bi1e1:ai2e1:bi3ee").unwrap_err();
    assert_eq!((e.kind(), e.offset()), (&ErrorKind::DuplicateKey, Some(13)));
    let shallow = Decoder::strict().with_max_depth(1);
    let e = from_bytes_with::<Vec<Vec<i64>>>(&shallow, b"lli1eee").unwrap_err();
    assert_eq!((e.kind(), e.offset()), (&ErrorKind::DepthLimit(1), Some(1)));
    let few = Decoder::strict().with_max_tokens(2);
    let e = from_bytes_with::<Vec<i64>>(&few, b"li1ei2ee").unwrap_err();
    assert_eq!((e.kind(), e.offset()), (&ErrorKind::TokenLimit(2), Some(4)));
}

#[test]
fn from_value_reads_a_decoded_value() {
    let input = b"d1:ai1e1:bi2ee";
    let v = decode(input).unwrap();
    assert_eq!(from_value::<Ab>(&v).unwrap(), Ab { a: 1, b: 2 });
    // Offsets are relative to the value's own bytes.
    let v = decode(b"li0ed1:ai1e1:b1:xee").unwrap();
    let inner = &v.as_list().unwrap()[1];
    let e = from_value::<Ab>(inner).unwrap_err();
    assert_eq!(e.offset(), Some(10));
}

// ---- the serializer's refusals ----

/// Writes the same key twice.
struct Twice;

impl Serialize for Twice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("a", &1)?;
        map.serialize_entry("b", &2)?;
        map.serialize_entry("a", &3)?;
        map.end()
    }
}

#[test]
fn duplicate_keys_on_serialize_are_errors() {
    let e = to_vec(&Twice).unwrap_err();
    assert!(is_custom(&e), "{e:?}");
    assert_eq!(e.offset(), None);

    // A struct field and a flattened map entry with the same name.
    #[derive(Serialize)]
    struct Clash {
        a: i64,
        #[serde(flatten)]
        rest: BTreeMap<String, i64>,
    }
    let clash = Clash {
        a: 1,
        rest: BTreeMap::from([("a".to_string(), 2)]),
    };
    assert!(is_custom(&to_vec(&clash).unwrap_err()));

    // A str key and a bytes key with the same bytes.
    struct StrAndBytes;
    impl Serialize for StrAndBytes {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(None)?;
            map.serialize_entry("k", &1)?;
            map.serialize_entry(&ByteBuf::from(b"k".to_vec()), &2)?;
            map.end()
        }
    }
    assert!(is_custom(&to_vec(&StrAndBytes).unwrap_err()));

    // A key whose value is None is left out, so it clashes with nothing.
    struct NoneThenSome;
    impl Serialize for NoneThenSome {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(None)?;
            map.serialize_entry("k", &None::<i64>)?;
            map.serialize_entry("k", &Some(2))?;
            map.end()
        }
    }
    assert_eq!(to_vec(&NoneThenSome).unwrap(), b"d1:ki2ee");
}

#[test]
fn map_keys_must_be_strings() {
    assert!(is_custom(&to_vec(&BTreeMap::from([(1, 2)])).unwrap_err()));
    assert!(is_custom(
        &to_vec(&BTreeMap::from([(vec![1u8], 2)])).unwrap_err()
    ));
    assert_eq!(
        to_vec(&BTreeMap::from([
            (ByteBuf::from(vec![0xffu8]), 2),
            (ByteBuf::from(vec![]), 1)
        ]))
        .unwrap(),
        b"d0:i1e1:\xffi2ee"
    );
    assert_eq!(
        to_vec(&BTreeMap::from([('b', 1), ('a', 2)])).unwrap(),
        b"d1:ai2e1:bi1ee"
    );
}

#[test]
fn struct_keys_are_sorted_by_raw_bytes() {
    #[derive(Serialize)]
    struct Keys {
        #[serde(rename = "pieces")]
        p: i64,
        #[serde(rename = "piece length")]
        pl: i64,
        #[serde(rename = "Z")]
        z: i64,
        #[serde(rename = "")]
        empty: i64,
    }
    let k = Keys {
        p: 1,
        pl: 2,
        z: 3,
        empty: 4,
    };
    assert_eq!(
        to_vec(&k).unwrap(),
        b"d0:i4e1:Zi3e12:piece lengthi2e6:piecesi1ee"
    );
}
