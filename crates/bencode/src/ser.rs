//! serde serialization straight to canonical bencode.

use serde::ser::{self, Serialize};

use crate::encode::{write_bytes, write_int};
use crate::error::{Error, Result};

/// Serializes `value` to canonical bencode.
///
/// Structs and maps become dictionaries with their keys sorted by raw bytes;
/// `None` fields are left out; `bool` is `i0e`/`i1e`. Byte strings are
/// written as strings when the type serializes them as bytes: use
/// [`bytes::Bytes`], `serde_bytes`, or this crate's [`Value`](crate::Value)
/// (a plain `Vec<u8>` is a sequence to serde, and becomes a list of integers).
/// Floats and integers outside `i64` are errors.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Info<'a> {
///     name: &'a str,
///     #[serde(rename = "piece length")]
///     piece_length: u32,
///     length: u64,
///     private: Option<bool>,
/// }
///
/// let info = Info { name: "a.txt", piece_length: 16384, length: 5, private: None };
/// assert_eq!(
///     s3torrent_bencode::to_vec(&info)?,
///     b"d6:lengthi5e4:name5:a.txt12:piece lengthi16384ee",
/// );
/// # Ok::<(), s3torrent_bencode::Error>(())
/// ```
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    value.serialize(&mut Serializer { out: &mut out })?;
    if out.is_empty() {
        return Err(Error::custom(
            "a unit or None value has no bencode form",
            None,
        ));
    }
    Ok(out)
}

/// Writes one value; writes nothing at all for `None` and unit, which the
/// containers then leave out (struct fields) or refuse (list items).
struct Serializer<'o> {
    out: &'o mut Vec<u8>,
}

fn err(msg: &str) -> Error {
    Error::custom(msg, None)
}

fn to_i64<T: TryInto<i64>>(v: T) -> Result<i64> {
    v.try_into()
        .map_err(|_| err("integer does not fit in a bencode i64"))
}

/// Serializes `value` on its own, for a container to place.
fn encode_one<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    value.serialize(&mut Serializer { out: &mut out })?;
    Ok(out)
}

impl<'s, 'o> ser::Serializer for &'s mut Serializer<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ListSer<'s, 'o>;
    type SerializeTuple = ListSer<'s, 'o>;
    type SerializeTupleStruct = ListSer<'s, 'o>;
    type SerializeTupleVariant = ListSer<'s, 'o>;
    type SerializeMap = DictSer<'s, 'o>;
    type SerializeStruct = DictSer<'s, 'o>;
    type SerializeStructVariant = DictSer<'s, 'o>;

    fn serialize_bool(self, v: bool) -> Result<()> {
        write_int(self.out, i64::from(v));
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<()> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<()> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<()> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<()> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<()> {
        self.serialize_i64(to_i64(v)?)
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.serialize_i64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<()> {
        self.serialize_i64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<()> {
        self.serialize_i64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<()> {
        self.serialize_i64(to_i64(v)?)
    }
    fn serialize_u128(self, v: u128) -> Result<()> {
        self.serialize_i64(to_i64(v)?)
    }
    fn serialize_f32(self, _: f32) -> Result<()> {
        Err(err("bencode has no floating-point numbers"))
    }
    fn serialize_f64(self, _: f64) -> Result<()> {
        Err(err("bencode has no floating-point numbers"))
    }
    fn serialize_char(self, v: char) -> Result<()> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        self.serialize_bytes(v.as_bytes())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        write_bytes(self.out, v);
        Ok(())
    }
    fn serialize_none(self) -> Result<()> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<()> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<()> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<()> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<()> {
        let mut dict = DictSer::new(self, None);
        ser::SerializeStruct::serialize_field(&mut dict, variant, value)?;
        ser::SerializeStruct::end(dict)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<ListSer<'s, 'o>> {
        Ok(ListSer::new(self, None))
    }
    fn serialize_tuple(self, len: usize) -> Result<ListSer<'s, 'o>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<ListSer<'s, 'o>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<ListSer<'s, 'o>> {
        Ok(ListSer::new(self, Some(variant)))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<DictSer<'s, 'o>> {
        Ok(DictSer::new(self, None))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<DictSer<'s, 'o>> {
        Ok(DictSer::new(self, None))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<DictSer<'s, 'o>> {
        Ok(DictSer::new(self, Some(variant)))
    }
}

/// Opens `d<variant>` around an enum variant's payload.
fn open_variant(out: &mut Vec<u8>, variant: Option<&str>) {
    if let Some(name) = variant {
        out.push(b'd');
        write_bytes(out, name.as_bytes());
    }
}

fn close_variant(out: &mut Vec<u8>, variant: Option<&str>) {
    if variant.is_some() {
        out.push(b'e');
    }
}

struct ListSer<'s, 'o> {
    ser: &'s mut Serializer<'o>,
    variant: Option<&'static str>,
}

impl<'s, 'o> ListSer<'s, 'o> {
    fn new(ser: &'s mut Serializer<'o>, variant: Option<&'static str>) -> Self {
        open_variant(ser.out, variant);
        ser.out.push(b'l');
        ListSer { ser, variant }
    }

    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let before = self.ser.out.len();
        value.serialize(&mut *self.ser)?;
        if self.ser.out.len() == before {
            return Err(err("a list item cannot be a unit or None value"));
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        self.ser.out.push(b'e');
        close_variant(self.ser.out, self.variant);
        Ok(())
    }
}

impl ser::SerializeSeq for ListSer<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.item(value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTuple for ListSer<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.item(value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for ListSer<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.item(value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for ListSer<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.item(value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

/// Collects encoded entries, then writes them sorted by key.
struct DictSer<'s, 'o> {
    ser: &'s mut Serializer<'o>,
    variant: Option<&'static str>,
    entries: Vec<(Vec<u8>, Vec<u8>)>,
    pending_key: Option<Vec<u8>>,
}

impl<'s, 'o> DictSer<'s, 'o> {
    fn new(ser: &'s mut Serializer<'o>, variant: Option<&'static str>) -> Self {
        DictSer {
            ser,
            variant,
            entries: Vec::new(),
            pending_key: None,
        }
    }

    fn entry(&mut self, key: Vec<u8>, value: Vec<u8>) {
        // A None or unit value leaves its key out.
        if !value.is_empty() {
            self.entries.push((key, value));
        }
    }

    fn finish(mut self) -> Result<()> {
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = self.entries.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::custom(
                format_args!(
                    "duplicate dictionary key {:?}",
                    w[0].0.escape_ascii().to_string()
                ),
                None,
            ));
        }
        let out = &mut *self.ser.out;
        open_variant(out, self.variant);
        out.push(b'd');
        for (k, v) in &self.entries {
            write_bytes(out, k);
            out.extend_from_slice(v);
        }
        out.push(b'e');
        close_variant(out, self.variant);
        Ok(())
    }
}

impl ser::SerializeMap for DictSer<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.pending_key = Some(key.serialize(KeySer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| err("map value without a key"))?;
        let value = encode_one(value)?;
        self.entry(key, value);
        Ok(())
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStruct for DictSer<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        let value = encode_one(value)?;
        self.entry(key.as_bytes().to_vec(), value);
        Ok(())
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for DictSer<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

/// Dictionary keys: byte strings, strings and chars only.
struct KeySer;

fn key_err<T>() -> Result<T> {
    Err(err("dictionary keys must be strings or byte strings"))
}

impl ser::Serializer for KeySer {
    type Ok = Vec<u8>;
    type Error = Error;
    type SerializeSeq = ser::Impossible<Vec<u8>, Error>;
    type SerializeTuple = ser::Impossible<Vec<u8>, Error>;
    type SerializeTupleStruct = ser::Impossible<Vec<u8>, Error>;
    type SerializeTupleVariant = ser::Impossible<Vec<u8>, Error>;
    type SerializeMap = ser::Impossible<Vec<u8>, Error>;
    type SerializeStruct = ser::Impossible<Vec<u8>, Error>;
    type SerializeStructVariant = ser::Impossible<Vec<u8>, Error>;

    fn serialize_str(self, v: &str) -> Result<Vec<u8>> {
        Ok(v.as_bytes().to_vec())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Vec<u8>> {
        Ok(v.to_vec())
    }
    fn serialize_char(self, v: char) -> Result<Vec<u8>> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<Vec<u8>> {
        self.serialize_str(v)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Vec<u8>> {
        v.serialize(self)
    }
    fn serialize_bool(self, _: bool) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_i8(self, _: i8) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_i16(self, _: i16) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_i32(self, _: i32) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_i64(self, _: i64) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_u8(self, _: u8) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_u16(self, _: u16) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_u32(self, _: u32) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_u64(self, _: u64) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_f32(self, _: f32) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_f64(self, _: f64) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_none(self) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_unit(self) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Vec<u8>> {
        key_err()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        key_err()
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        key_err()
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        key_err()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        key_err()
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        key_err()
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        key_err()
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        key_err()
    }
}
