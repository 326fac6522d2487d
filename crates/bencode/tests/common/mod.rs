//! Shared by the property tests: a model of bencode values that owes nothing
//! to the crate under test, its proptest strategy, and a reference encoder
//! written from the spec (BEP 3).

#![allow(dead_code)]

use std::collections::BTreeMap;

use bytes::Bytes;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use s3torrent_bencode::{Dict, Kind, OwnedValue, Value};

/// A bencode value, as the test sees it. A `BTreeMap<Vec<u8>, _>` keeps its
/// keys in raw-byte order, which is bencode's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum M {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<M>),
    Dict(BTreeMap<Vec<u8>, M>),
}

/// Dictionary keys: anything (empty, non-UTF-8), plus keys over a tiny
/// alphabet so that prefixes, equal-but-for-one-byte keys and bytes either
/// side of 0x80 (signedness) come up often.
pub(crate) fn arb_key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..8),
        vec(
            prop::sample::select(vec![b'a', b'b', 0x00, 0x7f, 0x80, 0xff]),
            0..4
        ),
    ]
}

pub(crate) fn arb_int() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        -1000i64..1000,
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0),
    ]
}

pub(crate) fn arb_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => vec(any::<u8>(), 0..24),
        1 => vec(any::<u8>(), 100..140),
    ]
}

/// Trees up to 5 levels deep, about 100 nodes at most.
pub(crate) fn arb_model() -> impl Strategy<Value = M> {
    let leaf = prop_oneof![arb_int().prop_map(M::Int), arb_bytes().prop_map(M::Bytes)];
    leaf.prop_recursive(5, 100, 8, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..8).prop_map(M::List),
            btree_map(arb_key(), inner, 0..8).prop_map(M::Dict),
        ]
    })
}

/// Dictionaries only, at the top.
pub(crate) fn arb_dict_model() -> impl Strategy<Value = M> {
    btree_map(arb_key(), arb_model(), 0..10).prop_map(M::Dict)
}

/// The canonical encoding, from the spec: `i<decimal>e`, `<len>:<bytes>`,
/// `l…e`, and `d…e` with keys in raw-byte order.
pub(crate) fn reference_encode(m: &M) -> Vec<u8> {
    let mut out = Vec::new();
    encode_to(m, &mut out);
    out
}

pub(crate) fn encode_string(b: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(b);
}

fn encode_to(m: &M, out: &mut Vec<u8>) {
    match m {
        M::Int(i) => out.extend_from_slice(format!("i{i}e").as_bytes()),
        M::Bytes(b) => encode_string(b, out),
        M::List(items) => {
            out.push(b'l');
            items.iter().for_each(|item| encode_to(item, out));
            out.push(b'e');
        }
        M::Dict(d) => {
            out.push(b'd');
            for (k, v) in d {
                encode_string(k, out);
                encode_to(v, out);
            }
            out.push(b'e');
        }
    }
}

/// Builds the crate's value for a model. Dictionaries are filled by
/// `insert` in reverse key order, so the crate must sort them itself.
pub(crate) fn to_value(m: &M) -> OwnedValue {
    match m {
        M::Int(i) => Value::int(*i),
        M::Bytes(b) => Value::bytes(Bytes::from(b.clone())),
        M::List(items) => Value::list(items.iter().map(to_value).collect()),
        M::Dict(d) => {
            let mut dict = Dict::new();
            for (k, v) in d.iter().rev() {
                assert!(dict.insert(Bytes::from(k.clone()), to_value(v)).is_none());
            }
            Value::dict(dict)
        }
    }
}

/// Reads a crate value back into the model, refusing duplicate keys.
pub(crate) fn model_of<B: AsRef<[u8]>>(v: &Value<B>) -> M {
    match v.kind() {
        Kind::Int(i) => M::Int(*i),
        Kind::Bytes(b) => M::Bytes(b.as_ref().to_vec()),
        Kind::List(items) => M::List(items.iter().map(model_of).collect()),
        Kind::Dict(d) => {
            let mut out = BTreeMap::new();
            for (k, v) in d.iter() {
                let previous = out.insert(k.as_ref().to_vec(), model_of(v));
                assert!(previous.is_none(), "duplicate key in a decoded dictionary");
            }
            M::Dict(out)
        }
    }
}
