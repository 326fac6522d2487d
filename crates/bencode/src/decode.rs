//! The decoders: strict (canonical only) and lenient (for third-party torrents).

use std::cmp::Ordering;
use std::collections::HashSet;

use bytes::Bytes;

use crate::error::{Error, ErrorKind, Result};
use crate::value::{BorrowedValue, Dict, Kind, OwnedValue, Value};

/// How strictly a [`Decoder`] reads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// Only canonical bencode: sorted, unique dictionary keys, canonical
    /// integers and lengths, nothing after the value. Re-encoding a strictly
    /// decoded value gives back the input byte for byte.
    Strict,
    /// For torrents written by other tools: dictionary keys may come in any
    /// order and bytes may follow the top-level value. Everything else is as
    /// strict: duplicate keys and malformed tokens are errors.
    Lenient,
}

/// A bencode decoder with its limits.
///
/// ```
/// use s3torrent_bencode::{Decoder, ErrorKind};
///
/// let v = Decoder::strict().decode(b"d3:cow3:mooe")?;
/// assert_eq!(v.get("cow").and_then(|v| v.as_str()), Some("moo"));
///
/// // Unsorted keys: an error in strict mode, accepted in lenient mode.
/// let unsorted = b"d1:bi1e1:ai2ee";
/// let err = Decoder::strict().decode(unsorted).unwrap_err();
/// assert_eq!((err.kind(), err.offset()), (&ErrorKind::UnsortedKey, Some(7)));
/// assert!(Decoder::lenient().decode(unsorted).is_ok());
///
/// // Depth is limited, so hostile nesting is an error, not a stack overflow.
/// let deep = "l".repeat(200_000);
/// let err = Decoder::strict().decode(deep.as_bytes()).unwrap_err();
/// assert_eq!(err.kind(), &ErrorKind::DepthLimit(100));
/// # Ok::<(), s3torrent_bencode::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decoder {
    mode: Mode,
    max_depth: usize,
    max_tokens: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::strict()
    }
}

impl Decoder {
    /// The default nesting limit, libtorrent's.
    pub const DEFAULT_MAX_DEPTH: usize = 100;
    /// The highest nesting limit that can be set. Values nest on the call
    /// stack when they are decoded, encoded and dropped; measured, 256 levels
    /// fit in well under 1 MiB of stack even in debug builds, so any thread
    /// with Rust's default 2 MiB stack is safe. (1024 levels did not fit.)
    pub const MAX_DEPTH_CAP: usize = 256;
    /// The default limit on the number of values in one input.
    pub const DEFAULT_MAX_TOKENS: usize = 4_000_000;

    /// A strict decoder with the default limits.
    pub fn strict() -> Self {
        Decoder {
            mode: Mode::Strict,
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_tokens: Self::DEFAULT_MAX_TOKENS,
        }
    }

    /// A lenient decoder with the default limits.
    pub fn lenient() -> Self {
        Decoder {
            mode: Mode::Lenient,
            ..Self::strict()
        }
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Sets the mode.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The nesting limit: how many lists and dictionaries may enclose one another.
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// Sets the nesting limit, capped at [`Decoder::MAX_DEPTH_CAP`].
    pub fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth.min(Self::MAX_DEPTH_CAP);
        self
    }

    /// The limit on values (integers, strings, lists, dictionaries, keys) in one input.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Sets the limit on values in one input. Memory use is bounded by this
    /// limit and by the input's length, never by lengths the input claims.
    pub fn with_max_tokens(mut self, tokens: usize) -> Self {
        self.max_tokens = tokens;
        self
    }

    /// Decodes one value; the byte strings borrow from `input`.
    pub fn decode<'a>(&self, input: &'a [u8]) -> Result<BorrowedValue<'a>> {
        let (value, end) = self.decode_prefix(input)?;
        if end != input.len() && self.mode == Mode::Strict {
            return Err(Error::at(ErrorKind::TrailingBytes, end));
        }
        Ok(value)
    }

    /// Decodes the value at the start of `input` and returns it with the
    /// offset just past it, in either mode ignoring what follows.
    pub fn decode_prefix<'a>(&self, input: &'a [u8]) -> Result<(BorrowedValue<'a>, usize)> {
        let mut parser = Parser {
            input,
            pos: 0,
            strict: self.mode == Mode::Strict,
            max_depth: self.max_depth,
            max_tokens: self.max_tokens,
            tokens: 0,
        };
        let value = parser.value(0)?;
        Ok((value, parser.pos))
    }

    /// Decodes one value whose byte strings share `input`'s buffer.
    pub fn decode_bytes(&self, input: &Bytes) -> Result<OwnedValue> {
        Ok(self.decode(input)?.to_owned_in(input))
    }
}

/// Decodes one value with the strict decoder and its default limits.
///
/// ```
/// let v = s3torrent_bencode::decode(b"li42e4:spame")?;
/// assert_eq!(v.as_list().unwrap()[0].as_int(), Some(42));
/// assert_eq!(v.raw().copied(), Some(&b"li42e4:spame"[..]));
/// # Ok::<(), s3torrent_bencode::Error>(())
/// ```
pub fn decode(input: &[u8]) -> Result<BorrowedValue<'_>> {
    Decoder::strict().decode(input)
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    strict: bool,
    max_depth: usize,
    max_tokens: usize,
    tokens: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Result<u8> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(Error::at(ErrorKind::UnexpectedEof, self.pos))
    }

    fn count_token(&mut self) -> Result<()> {
        if self.tokens == self.max_tokens {
            return Err(Error::at(ErrorKind::TokenLimit(self.max_tokens), self.pos));
        }
        self.tokens += 1;
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<BorrowedValue<'a>> {
        let start = self.pos;
        let kind = match self.peek()? {
            b'i' => {
                self.count_token()?;
                Kind::Int(self.int()?)
            }
            b'0'..=b'9' => {
                self.count_token()?;
                Kind::Bytes(self.string()?)
            }
            b'l' => {
                self.open(depth)?;
                let mut items = Vec::new();
                while self.peek()? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Kind::List(items)
            }
            b'd' => {
                self.open(depth)?;
                Kind::Dict(self.dict(depth)?)
            }
            other => return Err(Error::at(ErrorKind::InvalidToken(other), start)),
        };
        Ok(Value::with_raw(kind, &self.input[start..self.pos]))
    }

    /// Steps over the `l` or `d` that opens a container at `depth`.
    fn open(&mut self, depth: usize) -> Result<()> {
        if depth >= self.max_depth {
            return Err(Error::at(ErrorKind::DepthLimit(self.max_depth), self.pos));
        }
        self.count_token()?;
        self.pos += 1;
        Ok(())
    }

    fn dict(&mut self, depth: usize) -> Result<Dict<&'a [u8]>> {
        let mut entries: Vec<(&'a [u8], BorrowedValue<'a>)> = Vec::new();
        // Lenient mode, once a key is out of order: every key so far, so that
        // a duplicate is caught where it stands.
        let mut seen: Option<HashSet<&'a [u8]>> = None;
        while self.peek()? != b'e' {
            let key_at = self.pos;
            if !self.peek()?.is_ascii_digit() {
                return Err(Error::at(ErrorKind::KeyNotString, key_at));
            }
            self.count_token()?;
            let key = self.string()?;
            let duplicate = if let Some(seen) = &mut seen {
                !seen.insert(key)
            } else if let Some((prev, _)) = entries.last() {
                match (*prev).cmp(key) {
                    Ordering::Less => false,
                    Ordering::Equal => true,
                    Ordering::Greater if self.strict => {
                        return Err(Error::at(ErrorKind::UnsortedKey, key_at));
                    }
                    Ordering::Greater => {
                        let mut keys: HashSet<&'a [u8]> = entries.iter().map(|(k, _)| *k).collect();
                        let fresh = keys.insert(key);
                        seen = Some(keys);
                        !fresh
                    }
                }
            } else {
                false
            };
            if duplicate {
                return Err(Error::at(ErrorKind::DuplicateKey, key_at));
            }
            if self.peek()? == b'e' {
                return Err(Error::at(ErrorKind::MissingValue, self.pos));
            }
            let value = self.value(depth + 1)?;
            entries.push((key, value));
        }
        self.pos += 1;
        Ok(Dict::from_decoded(entries, seen.is_none()))
    }

    fn int(&mut self) -> Result<i64> {
        self.pos += 1; // 'i'
        let number_at = self.pos;
        let negative = self.peek()? == b'-';
        if negative {
            self.pos += 1;
        }
        let digits_at = self.pos;
        let mut value: i64 = 0;
        loop {
            let b = self.peek()?;
            match b {
                b'0'..=b'9' => {
                    // `i-03e` is -3 with a leading zero; `i-0e` is caught below.
                    if self.pos > digits_at && self.input[digits_at] == b'0' {
                        return Err(Error::at(ErrorKind::IntegerLeadingZero, number_at));
                    }
                    let digit = i64::from(b - b'0');
                    value = value
                        .checked_mul(10)
                        .and_then(|v| {
                            if negative {
                                v.checked_sub(digit)
                            } else {
                                v.checked_add(digit)
                            }
                        })
                        .ok_or(Error::at(ErrorKind::IntegerOverflow, number_at))?;
                    self.pos += 1;
                }
                b'e' => break,
                other => return Err(Error::at(ErrorKind::InvalidInteger(other), self.pos)),
            }
        }
        if self.pos == digits_at {
            return Err(Error::at(ErrorKind::EmptyInteger, self.pos));
        }
        if negative && value == 0 {
            return Err(Error::at(ErrorKind::NegativeZero, number_at));
        }
        self.pos += 1; // 'e'
        Ok(value)
    }

    fn string(&mut self) -> Result<&'a [u8]> {
        let length_at = self.pos;
        let mut declared: u64 = 0;
        loop {
            let b = self.peek()?;
            match b {
                b'0'..=b'9' => {
                    if self.pos > length_at && self.input[length_at] == b'0' {
                        return Err(Error::at(ErrorKind::LengthLeadingZero, length_at));
                    }
                    declared = declared
                        .saturating_mul(10)
                        .saturating_add(u64::from(b - b'0'));
                    self.pos += 1;
                }
                b':' => break,
                other => return Err(Error::at(ErrorKind::InvalidLength(other), self.pos)),
            }
        }
        self.pos += 1; // ':'
        let remaining = self.input.len() - self.pos;
        // Checked against what is really there before anything is taken.
        if declared > remaining as u64 {
            return Err(Error::at(
                ErrorKind::StringPastEnd {
                    declared,
                    remaining,
                },
                length_at,
            ));
        }
        let start = self.pos;
        self.pos += declared as usize;
        Ok(&self.input[start..self.pos])
    }
}
