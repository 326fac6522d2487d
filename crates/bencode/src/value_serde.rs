//! `Serialize` and `Deserialize` for the value tree, so that a [`Value`] can
//! stand anywhere in a derived type (for example to keep unknown keys).

use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::value::{Dict, Kind, Value};

impl<B: AsRef<[u8]>> Serialize for Value<B> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.kind() {
            Kind::Int(i) => s.serialize_i64(*i),
            Kind::Bytes(b) => s.serialize_bytes(b.as_ref()),
            Kind::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Kind::Dict(d) => {
                let mut map = s.serialize_map(Some(d.len()))?;
                for (k, v) in d.iter() {
                    map.serialize_entry(&AsBytes(k.as_ref()), v)?;
                }
                map.end()
            }
        }
    }
}

/// Serializes a byte slice as bytes, not as a sequence.
struct AsBytes<'a>(&'a [u8]);

impl Serialize for AsBytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// The byte-string types a [`Value`] can be deserialized into.
trait DeBytes<'de>: Sized + AsRef<[u8]> {
    /// From bytes that live as long as the input.
    fn borrowed(b: &'de [u8]) -> Self;
    /// From bytes that do not outlive the call; `None` if that is impossible.
    fn transient(b: &[u8]) -> Option<Self>;
}

impl<'de: 'a, 'a> DeBytes<'de> for &'a [u8] {
    fn borrowed(b: &'de [u8]) -> Self {
        b
    }
    fn transient(_: &[u8]) -> Option<Self> {
        None
    }
}

impl<'de> DeBytes<'de> for Bytes {
    fn borrowed(b: &'de [u8]) -> Self {
        Bytes::copy_from_slice(b)
    }
    fn transient(b: &[u8]) -> Option<Self> {
        Some(Bytes::copy_from_slice(b))
    }
}

struct ValueVisitor<B>(PhantomData<B>);

impl<'de, B: DeBytes<'de>> ValueVisitor<B> {
    fn transient<E: de::Error>(b: &[u8]) -> Result<Value<B>, E> {
        B::transient(b).map(Value::bytes).ok_or_else(|| {
            E::custom("a borrowed bencode value needs bytes borrowed from the input")
        })
    }
}

impl<'de, B: DeBytes<'de>> Visitor<'de> for ValueVisitor<B> {
    type Value = Value<B>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a bencode value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value<B>, E> {
        Ok(Value::int(i64::from(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value<B>, E> {
        Ok(Value::int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value<B>, E> {
        i64::try_from(v)
            .map(Value::int)
            .map_err(|_| E::custom("integer does not fit in a bencode i64"))
    }

    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Value<B>, E> {
        Ok(Value::bytes(B::borrowed(v)))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Value<B>, E> {
        self.visit_borrowed_bytes(v.as_bytes())
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value<B>, E> {
        Self::transient(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value<B>, E> {
        Self::transient(v.as_bytes())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<B>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueSeed::<B>(PhantomData))? {
            items.push(item);
        }
        Ok(Value::list(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<B>, A::Error> {
        let mut dict = Dict::new();
        while let Some(key) = map.next_key_seed(ValueSeed::<B>(PhantomData))? {
            let Kind::Bytes(key) = key.into_kind() else {
                return Err(de::Error::custom("dictionary key is not a byte string"));
            };
            let value = map.next_value_seed(ValueSeed::<B>(PhantomData))?;
            if dict.insert(key, value).is_some() {
                return Err(de::Error::custom("duplicate dictionary key"));
            }
        }
        Ok(Value::dict(dict))
    }
}

struct ValueSeed<B>(PhantomData<B>);

impl<'de, B: DeBytes<'de>> de::DeserializeSeed<'de> for ValueSeed<B> {
    type Value = Value<B>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value<B>, D::Error> {
        d.deserialize_any(ValueVisitor(PhantomData))
    }
}

/// Borrows from the input, so a `BorrowedValue<'a>` can be a field of a
/// derived type with `#[serde(borrow)]`.
impl<'de: 'a, 'a> Deserialize<'de> for Value<&'a [u8]> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor(PhantomData))
    }
}

impl<'de> Deserialize<'de> for Value<Bytes> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor(PhantomData))
    }
}
