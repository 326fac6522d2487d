//! serde deserialization from strictly (or leniently) decoded bencode.
//!
//! The input is first decoded into a [`BorrowedValue`] tree, with the
//! decoder's limits, then the target type is built from that tree. Strings and
//! byte strings can borrow from the input. Errors carry the offset of the
//! value that did not fit the type.

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use crate::decode::Decoder;
use crate::error::{Error, Result};
use crate::value::{BorrowedValue, Kind};

/// Deserializes a `T` from strict, canonical bencode.
///
/// ```
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Info<'a> {
///     name: &'a str,
///     #[serde(rename = "piece length")]
///     piece_length: u32,
///     #[serde(with = "serde_bytes")]
///     pieces: &'a [u8],
///     private: Option<bool>,
/// }
///
/// let info: Info = s3torrent_bencode::from_bytes(b"d4:name1:a12:piece lengthi16384e6:pieces3:xyze")?;
/// assert_eq!(info, Info { name: "a", piece_length: 16384, pieces: b"xyz", private: None });
///
/// // A value of the wrong type is an error at its offset.
/// let err = s3torrent_bencode::from_bytes::<Info>(b"d4:namei1ee").unwrap_err();
/// assert_eq!(err.offset(), Some(7));
/// # Ok::<(), s3torrent_bencode::Error>(())
/// ```
pub fn from_bytes<'de, T: de::Deserialize<'de>>(input: &'de [u8]) -> Result<T> {
    from_bytes_with(&Decoder::strict(), input)
}

/// Deserializes a `T` with the given decoder's mode and limits.
pub fn from_bytes_with<'de, T: de::Deserialize<'de>>(
    decoder: &Decoder,
    input: &'de [u8],
) -> Result<T> {
    let value = decoder.decode(input)?;
    T::deserialize(ValueDe {
        value: &value,
        base: input,
    })
}

/// Deserializes a `T` from an already decoded value.
pub fn from_value<'de, T: de::Deserialize<'de>>(value: &BorrowedValue<'de>) -> Result<T> {
    T::deserialize(ValueDe {
        value,
        base: value.raw().copied().unwrap_or(&[]),
    })
}

#[derive(Clone, Copy)]
struct ValueDe<'v, 'de> {
    value: &'v BorrowedValue<'de>,
    /// The input, for turning a value's raw bytes into an offset.
    base: &'de [u8],
}

impl<'v, 'de> ValueDe<'v, 'de> {
    fn offset(&self) -> Option<usize> {
        let raw = self.value.raw()?;
        let start = raw.as_ptr() as usize;
        let base = self.base.as_ptr() as usize;
        (start >= base && start + raw.len() <= base + self.base.len()).then(|| start - base)
    }

    fn fail(&self, e: Error) -> Error {
        match e.offset() {
            Some(_) => e,
            None => Error::custom(e.kind(), self.offset()),
        }
    }

    fn child(&self, value: &'v BorrowedValue<'de>) -> Self {
        ValueDe {
            value,
            base: self.base,
        }
    }

    fn unexpected(&self) -> de::Unexpected<'v> {
        match self.value.kind() {
            Kind::Int(i) => de::Unexpected::Signed(*i),
            Kind::Bytes(b) => de::Unexpected::Bytes(b),
            Kind::List(_) => de::Unexpected::Seq,
            Kind::Dict(_) => de::Unexpected::Map,
        }
    }

    fn invalid_type(&self, exp: &dyn de::Expected) -> Error {
        self.fail(de::Error::invalid_type(self.unexpected(), exp))
    }

    fn int<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value.kind() {
            Kind::Int(i) => visitor.visit_i64(*i).map_err(|e| self.fail(e)),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value.kind() {
            Kind::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => visitor.visit_borrowed_str(s).map_err(|e| self.fail(e)),
                Err(_) => Err(self.fail(de::Error::invalid_value(
                    de::Unexpected::Bytes(b),
                    &"a UTF-8 string",
                ))),
            },
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value.kind() {
            Kind::Bytes(b) => visitor.visit_borrowed_bytes(b).map_err(|e| self.fail(e)),
            _ => Err(self.invalid_type(&visitor)),
        }
    }
}

macro_rules! ints {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            self.int(visitor)
        }
    )*};
}

impl<'v, 'de> de::Deserializer<'de> for ValueDe<'v, 'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let r = match self.value.kind() {
            Kind::Int(i) => visitor.visit_i64(*i),
            Kind::Bytes(b) => visitor.visit_borrowed_bytes(b),
            Kind::List(_) => return self.deserialize_seq(visitor),
            Kind::Dict(_) => return self.deserialize_map(visitor),
        };
        r.map_err(|e| self.fail(e))
    }

    ints!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
          deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128);

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value.kind() {
            Kind::Int(0) => visitor.visit_bool(false),
            Kind::Int(1) => visitor.visit_bool(true),
            _ => Err(self.fail(de::Error::invalid_value(self.unexpected(), &"i0e or i1e"))),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        Err(self.invalid_type(&visitor))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        Err(self.invalid_type(&visitor))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.str(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.bytes(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        // A present key is Some; an absent one never reaches here.
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value.kind() {
            Kind::List(items) => {
                let mut seq = Seq {
                    de: self,
                    items: items.iter(),
                };
                let out = visitor.visit_seq(&mut seq).map_err(|e| self.fail(e))?;
                match seq.items.len() {
                    0 => Ok(out),
                    _ => Err(self.fail(de::Error::invalid_length(items.len(), &"fewer items"))),
                }
            }
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value.kind() {
            Kind::Dict(d) => {
                let entries: Vec<_> = d.iter().collect();
                let mut map = Map {
                    de: self,
                    entries: entries.into_iter(),
                    value: None,
                };
                visitor.visit_map(&mut map).map_err(|e| self.fail(e))
            }
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.value.kind() {
            Kind::Bytes(_) => visitor.visit_enum(Enum {
                de: self,
                payload: None,
            }),
            Kind::Dict(d) if d.len() == 1 => {
                let (k, v) = d.iter().next().expect("one entry");
                visitor.visit_enum(Enum {
                    de: self,
                    payload: Some((k, self.child(v))),
                })
            }
            _ => Err(self.fail(de::Error::invalid_value(
                self.unexpected(),
                &"a variant name or a one-entry dictionary",
            ))),
        }
        .map_err(|e| self.fail(e))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
}

struct Seq<'v, 'de> {
    de: ValueDe<'v, 'de>,
    items: std::slice::Iter<'v, BorrowedValue<'de>>,
}

impl<'v, 'de> de::SeqAccess<'de> for Seq<'v, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        match self.items.next() {
            Some(v) => seed.deserialize(self.de.child(v)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'v, 'de> {
    de: ValueDe<'v, 'de>,
    entries: std::vec::IntoIter<(&'v &'de [u8], &'v BorrowedValue<'de>)>,
    value: Option<&'v BorrowedValue<'de>>,
}

impl<'v, 'de> de::MapAccess<'de> for Map<'v, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(KeyDe(k)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value> {
        let v = self
            .value
            .take()
            .ok_or_else(|| Error::custom("value without a key", None))?;
        seed.deserialize(self.de.child(v))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A dictionary key: a byte string that reads as a string where asked.
struct KeyDe<'de>(&'de [u8]);

impl<'de> de::Deserializer<'de> for KeyDe<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_bytes(self.0)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match std::str::from_utf8(self.0) {
            Ok(s) => visitor.visit_borrowed_str(s),
            Err(_) => visitor.visit_borrowed_bytes(self.0),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let name = std::str::from_utf8(self.0)
            .map_err(|_| Error::custom("enum key is not UTF-8", None))?;
        visitor.visit_enum(name.into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct ignored_any
    }
}

struct Enum<'v, 'de> {
    de: ValueDe<'v, 'de>,
    /// For `d<variant><payload>e`: the variant name and its payload.
    payload: Option<(&'v &'de [u8], ValueDe<'v, 'de>)>,
}

impl<'v, 'de> de::EnumAccess<'de> for Enum<'v, 'de> {
    type Error = Error;
    type Variant = Variant<'v, 'de>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Variant<'v, 'de>)> {
        let (name, payload) = match (self.payload, self.de.value.kind()) {
            (Some((k, payload)), _) => (*k, Some(payload)),
            (None, Kind::Bytes(b)) => (*b, None),
            (None, _) => return Err(self.de.fail(Error::custom("expected a variant name", None))),
        };
        let tag = seed.deserialize(KeyDe(name))?;
        Ok((
            tag,
            Variant {
                de: self.de,
                payload,
            },
        ))
    }
}

struct Variant<'v, 'de> {
    de: ValueDe<'v, 'de>,
    payload: Option<ValueDe<'v, 'de>>,
}

impl<'v, 'de> Variant<'v, 'de> {
    fn payload(&self) -> Result<ValueDe<'v, 'de>> {
        self.payload
            .ok_or_else(|| self.de.fail(Error::custom("variant has no payload", None)))
    }
}

impl<'v, 'de> de::VariantAccess<'de> for Variant<'v, 'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<()> {
        match self.payload {
            None => Ok(()),
            Some(p) => Err(p.fail(Error::custom("unit variant has a payload", None))),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self.payload()?)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_seq(self.payload()?, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        de::Deserializer::deserialize_map(self.payload()?, visitor)
    }
}
