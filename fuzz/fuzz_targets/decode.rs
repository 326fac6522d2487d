//! Fuzzes the bencode decoders with arbitrary bytes.
//!
//! Neither decoder may panic, and what they accept must hold together:
//!
//! - strict: re-encoding gives back the input byte for byte, every value's
//!   `raw()` is its own canonical encoding, the top-level `raw()` is the whole
//!   input, and serde (`from_bytes` / `to_vec` through `Value`) agrees;
//! - lenient: accepts everything strict accepts, with an equal value; the
//!   top-level `raw()` is exactly the consumed prefix; every value's `raw()`
//!   decodes (leniently) to that value; the re-encoding strictly decodes to an
//!   equal value, and equals the consumed prefix exactly when that prefix is
//!   canonical.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use s3torrent_bencode::{BorrowedValue, Decoder, Kind, from_bytes, to_vec};

fuzz_target!(|data: &[u8]| {
    let strict = Decoder::strict().decode(data);
    let lenient = Decoder::lenient().decode_prefix(data);

    if let Ok(value) = &strict {
        check_strict(data, value);
        let (lenient_value, end) = lenient
            .as_ref()
            .expect("lenient decoding accepts what strict decoding accepts");
        assert_eq!(*end, data.len());
        assert_eq!(lenient_value, value);
    }

    if let Ok((value, end)) = &lenient {
        check_lenient(&data[..*end], value);
        // `decode` agrees with `decode_prefix` in lenient mode.
        let whole = Decoder::lenient()
            .decode(data)
            .expect("lenient decode accepts what decode_prefix accepts");
        assert_eq!(&whole, value);
    }
});

fn check_strict(data: &[u8], value: &BorrowedValue<'_>) {
    assert_eq!(value.raw().copied(), Some(data), "raw() is the whole input");
    let encoded = value.to_vec();
    assert_eq!(encoded, data, "strict input re-encodes byte for byte");
    assert_eq!(value.encoded_len(), data.len());
    each_value(value, &mut |v| {
        assert_eq!(
            v.raw().copied(),
            Some(&v.to_vec()[..]),
            "raw() is canonical"
        );
    });

    // The Bytes-sharing decoder gives the same value.
    let owned = Decoder::strict()
        .decode_bytes(&Bytes::copy_from_slice(data))
        .expect("decode_bytes accepts what decode accepts");
    assert_eq!(owned.as_borrowed(), *value);

    // serde through the value tree agrees with the decoder and the encoder.
    let via_serde: BorrowedValue<'_> =
        from_bytes(data).expect("from_bytes::<Value> accepts what decode accepts");
    assert_eq!(&via_serde, value);
    assert_eq!(to_vec(value).expect("a value serializes"), data);
}

fn check_lenient(prefix: &[u8], value: &BorrowedValue<'_>) {
    assert_eq!(
        value.raw().copied(),
        Some(prefix),
        "raw() is the consumed input"
    );
    each_value(value, &mut |v| {
        let raw = v.raw().copied().expect("a decoded value has raw bytes");
        let again = Decoder::lenient()
            .decode(raw)
            .expect("a value's raw bytes decode on their own");
        assert_eq!(again.raw().copied(), Some(raw));
        assert_eq!(&again, v);
    });

    let encoded = value.to_vec();
    assert_eq!(value.encoded_len(), encoded.len());
    let canonical = Decoder::strict()
        .decode(&encoded)
        .expect("the re-encoding is canonical");
    assert_eq!(&canonical, value);
    assert_eq!(canonical.to_vec(), encoded, "re-encoding is idempotent");

    let prefix_is_canonical = Decoder::strict().decode(prefix).is_ok();
    assert_eq!(
        encoded == prefix,
        prefix_is_canonical,
        "re-encoding changes the input exactly when it is not canonical"
    );
}

/// Calls `f` on `value` and on every value inside it (dictionary values, not keys).
fn each_value<'a>(value: &BorrowedValue<'a>, f: &mut impl FnMut(&BorrowedValue<'a>)) {
    f(value);
    match value.kind() {
        Kind::Int(_) | Kind::Bytes(_) => {}
        Kind::List(items) => items.iter().for_each(|v| each_value(v, f)),
        Kind::Dict(d) => d.iter().for_each(|(_, v)| each_value(v, f)),
    }
}
