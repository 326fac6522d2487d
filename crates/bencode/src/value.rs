//! The value tree, generic over the byte-string type that holds its strings.

use std::cmp::Ordering;
use std::fmt;

use bytes::Bytes;

/// A bencode value whose byte strings borrow from the decoded input (zero copy).
pub type BorrowedValue<'a> = Value<&'a [u8]>;

/// A bencode value whose byte strings are reference-counted [`Bytes`].
///
/// Decoding with [`Decoder::decode_bytes`](crate::Decoder::decode_bytes)
/// shares the input buffer instead of copying it.
pub type OwnedValue = Value<Bytes>;

/// One bencode value: an integer, a byte string, a list or a dictionary.
///
/// `B` is the type that holds byte strings: `&[u8]` for [`BorrowedValue`],
/// [`Bytes`] for [`OwnedValue`].
///
/// A value produced by a decoder remembers its raw bytes exactly as they
/// stood in the input ([`Value::raw`]); this is what an info-hash is computed
/// over. A value built by hand has no raw bytes. Equality compares contents
/// only, never the raw bytes, so a dictionary decoded leniently from unsorted
/// input equals the same dictionary built in sorted order.
#[derive(Clone)]
pub struct Value<B> {
    kind: Kind<B>,
    raw: Option<B>,
}

/// What a [`Value`] holds.
#[derive(Clone)]
pub enum Kind<B> {
    /// `i…e`
    Int(i64),
    /// `N:…`
    Bytes(B),
    /// `l…e`
    List(Vec<Value<B>>),
    /// `d…e`
    Dict(Dict<B>),
}

impl<B> Value<B> {
    pub(crate) fn with_raw(kind: Kind<B>, raw: B) -> Self {
        Value {
            kind,
            raw: Some(raw),
        }
    }

    /// An integer.
    pub fn int(i: i64) -> Self {
        Kind::Int(i).into()
    }

    /// A byte string.
    pub fn bytes(b: impl Into<B>) -> Self {
        Kind::Bytes(b.into()).into()
    }

    /// A list.
    pub fn list(items: Vec<Value<B>>) -> Self {
        Kind::List(items).into()
    }

    /// A dictionary.
    pub fn dict(dict: Dict<B>) -> Self {
        Kind::Dict(dict).into()
    }

    /// What the value holds.
    pub fn kind(&self) -> &Kind<B> {
        &self.kind
    }

    /// What the value holds, mutably. Changing it forgets the raw bytes.
    pub fn kind_mut(&mut self) -> &mut Kind<B> {
        self.raw = None;
        &mut self.kind
    }

    /// What the value holds, by value.
    pub fn into_kind(self) -> Kind<B> {
        self.kind
    }

    /// The value's bytes exactly as they stood in the decoded input, from its
    /// first byte (`i`, `l`, `d` or the length's first digit) to its last.
    /// `None` for a value built by hand or changed since.
    pub fn raw(&self) -> Option<&B> {
        self.raw.as_ref()
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self.kind {
            Kind::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The list's items, if this is a list.
    pub fn as_list(&self) -> Option<&[Value<B>]> {
        match &self.kind {
            Kind::List(items) => Some(items),
            _ => None,
        }
    }

    /// The dictionary, if this is one.
    pub fn as_dict(&self) -> Option<&Dict<B>> {
        match &self.kind {
            Kind::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// Maps every byte string (and the raw bytes) through `f`, keeping the shape.
    pub fn map_bytes<'s, C>(&'s self, f: &mut impl FnMut(&'s B) -> C) -> Value<C> {
        let kind = match &self.kind {
            Kind::Int(i) => Kind::Int(*i),
            Kind::Bytes(b) => Kind::Bytes(f(b)),
            Kind::List(items) => Kind::List(items.iter().map(|v| v.map_bytes(f)).collect()),
            Kind::Dict(d) => Kind::Dict(Dict {
                entries: d
                    .entries
                    .iter()
                    .map(|(k, v)| (f(k), v.map_bytes(f)))
                    .collect(),
                order: d.order.clone(),
            }),
        };
        Value {
            kind,
            raw: self.raw.as_ref().map(f),
        }
    }
}

impl<B: AsRef<[u8]>> Value<B> {
    /// The byte string, if this is one.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Bytes(b) => Some(b.as_ref()),
            _ => None,
        }
    }

    /// The byte string as UTF-8, if this is a byte string holding valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
    }

    /// Looks `key` up, if this is a dictionary.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<&Value<B>> {
        self.as_dict()?.get(key)
    }

    /// A copy that owns its bytes.
    pub fn to_owned_value(&self) -> OwnedValue {
        self.map_bytes(&mut |b| Bytes::copy_from_slice(b.as_ref()))
    }

    /// A borrowed view of this value.
    pub fn as_borrowed(&self) -> BorrowedValue<'_> {
        self.map_bytes(&mut |b| b.as_ref())
    }
}

impl<'a> BorrowedValue<'a> {
    /// Converts to an [`OwnedValue`] that shares `backing` wherever a byte
    /// string lies inside it (as it does when `self` was decoded from
    /// `backing`), and copies otherwise.
    pub fn to_owned_in(&self, backing: &Bytes) -> OwnedValue {
        let base = backing.as_ptr() as usize;
        let end = base + backing.len();
        self.map_bytes(&mut |b: &&'a [u8]| {
            let start = b.as_ptr() as usize;
            if start >= base && start + b.len() <= end {
                backing.slice(start - base..start - base + b.len())
            } else {
                Bytes::copy_from_slice(b)
            }
        })
    }
}

impl<B> From<Kind<B>> for Value<B> {
    fn from(kind: Kind<B>) -> Self {
        Value { kind, raw: None }
    }
}

impl<B> From<i64> for Value<B> {
    fn from(i: i64) -> Self {
        Value::int(i)
    }
}

impl<'a> From<&'a [u8]> for BorrowedValue<'a> {
    fn from(b: &'a [u8]) -> Self {
        Value::bytes(b)
    }
}

impl<'a> From<&'a str> for BorrowedValue<'a> {
    fn from(s: &'a str) -> Self {
        Value::bytes(s.as_bytes())
    }
}

impl From<Bytes> for OwnedValue {
    fn from(b: Bytes) -> Self {
        Value::bytes(b)
    }
}

impl<B: AsRef<[u8]>> PartialEq for Value<B> {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

impl<B: AsRef<[u8]>> Eq for Value<B> {}

impl<B: AsRef<[u8]>> PartialEq for Kind<B> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Kind::Int(a), Kind::Int(b)) => a == b,
            (Kind::Bytes(a), Kind::Bytes(b)) => a.as_ref() == b.as_ref(),
            (Kind::List(a), Kind::List(b)) => a == b,
            (Kind::Dict(a), Kind::Dict(b)) => a == b,
            _ => false,
        }
    }
}

impl<B: AsRef<[u8]>> Eq for Kind<B> {}

impl<B: AsRef<[u8]>> fmt::Debug for Value<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl<B: AsRef<[u8]>> fmt::Debug for Kind<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Int(i) => write!(f, "{i}"),
            Kind::Bytes(b) => write!(f, "b\"{}\"", b.as_ref().escape_ascii()),
            Kind::List(items) => f.debug_list().entries(items).finish(),
            Kind::Dict(d) => d.fmt(f),
        }
    }
}

/// A dictionary: byte-string keys, each at most once.
///
/// A dictionary built by hand, or decoded in strict mode, keeps its keys in
/// raw-byte order. One decoded in lenient mode keeps the input's order, which
/// may not be sorted ([`Dict::is_sorted`]); the encoder sorts on output.
///
/// Lookups take O(log n) either way: an unsorted dictionary keeps, beside
/// its entries, their indexes in key order (4 bytes an entry, made once
/// when decoded), so that hostile input with many keys in any order costs
/// no linear search per lookup.
#[derive(Clone)]
pub struct Dict<B> {
    entries: Vec<(B, Value<B>)>,
    /// `None` when `entries` are sorted; else the entries' indexes in key order.
    order: Option<Vec<u32>>,
}

impl<B> Default for Dict<B> {
    fn default() -> Self {
        Dict {
            entries: Vec::new(),
            order: None,
        }
    }
}

impl<B> Dict<B> {
    /// An empty dictionary.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn from_decoded(entries: Vec<(B, Value<B>)>, sorted: bool) -> Self
    where
        B: AsRef<[u8]>,
    {
        let mut dict = Dict {
            entries,
            order: None,
        };
        if !sorted {
            dict.reindex();
        }
        dict
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the entries are in raw-byte key order.
    pub fn is_sorted(&self) -> bool {
        self.order.is_none()
    }

    /// The entries in their stored order (sorted unless decoded leniently from unsorted input).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&B, &Value<B>)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl<B: AsRef<[u8]>> Dict<B> {
    /// Sorts the key-order index of unsorted entries. Entries beyond
    /// `u32::MAX` cannot be decoded (the token limit is far below), so a
    /// dictionary that large is sorted in place instead.
    fn reindex(&mut self) {
        let Ok(n) = u32::try_from(self.entries.len()) else {
            self.order = None;
            self.entries.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
            return;
        };
        let mut order: Vec<u32> = (0..n).collect();
        order.sort_unstable_by(|&a, &b| {
            self.entries[a as usize]
                .0
                .as_ref()
                .cmp(self.entries[b as usize].0.as_ref())
        });
        self.order = Some(order);
    }

    /// The entry's index, or (sorted only) where it would go.
    fn find(&self, key: &[u8]) -> Result<usize, usize> {
        match &self.order {
            None => self.entries.binary_search_by(|(k, _)| k.as_ref().cmp(key)),
            Some(order) => order
                .binary_search_by(|&i| self.entries[i as usize].0.as_ref().cmp(key))
                .map(|at| order[at] as usize)
                .map_err(|_| self.entries.len()),
        }
    }

    /// Looks a key up.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<&Value<B>> {
        self.find(key.as_ref()).ok().map(|i| &self.entries[i].1)
    }

    /// Whether the key is present.
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> bool {
        self.find(key.as_ref()).is_ok()
    }

    /// Sets `key` to `value`, returning the value it replaces. Sorts the
    /// dictionary first if it was not sorted.
    pub fn insert(&mut self, key: B, value: Value<B>) -> Option<Value<B>> {
        self.sort();
        match self.find(key.as_ref()) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: impl AsRef<[u8]>) -> Option<Value<B>> {
        let i = self.find(key.as_ref()).ok()?;
        let removed = self.entries.remove(i).1;
        if let Some(order) = &mut self.order {
            // Drop `i` from the index and shift the indexes after it.
            let i = i as u32;
            order.retain(|&j| j != i);
            order.iter_mut().filter(|j| **j > i).for_each(|j| *j -= 1);
        }
        Some(removed)
    }

    /// Puts the entries in raw-byte key order.
    pub fn sort(&mut self) {
        if self.order.take().is_some() {
            self.entries.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        }
    }

    /// The entries in raw-byte key order, whatever the stored order.
    pub fn sorted_entries(&self) -> Vec<(&B, &Value<B>)> {
        match &self.order {
            None => self.iter().collect(),
            Some(order) => order
                .iter()
                .map(|&i| {
                    let (k, v) = &self.entries[i as usize];
                    (k, v)
                })
                .collect(),
        }
    }
}

impl<B: AsRef<[u8]>> FromIterator<(B, Value<B>)> for Dict<B> {
    /// Collects entries; a later duplicate key replaces an earlier one.
    fn from_iter<I: IntoIterator<Item = (B, Value<B>)>>(iter: I) -> Self {
        let mut entries: Vec<(B, Value<B>)> = iter.into_iter().collect();
        // Stable sort, then keep the last of each run of equal keys.
        entries.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        let mut out: Vec<(B, Value<B>)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match out.last_mut() {
                Some(last) if last.0.as_ref().cmp(entry.0.as_ref()) == Ordering::Equal => {
                    *last = entry
                }
                _ => out.push(entry),
            }
        }
        Dict {
            entries: out,
            order: None,
        }
    }
}

impl<B: AsRef<[u8]>> PartialEq for Dict<B> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .sorted_entries()
                .into_iter()
                .zip(other.sorted_entries())
                .all(|((ka, va), (kb, vb))| ka.as_ref() == kb.as_ref() && va == vb)
    }
}

impl<B: AsRef<[u8]>> Eq for Dict<B> {}

impl<B: AsRef<[u8]>> fmt::Debug for Dict<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(k, v)| (k.as_ref().escape_ascii().to_string(), v)),
            )
            .finish()
    }
}
