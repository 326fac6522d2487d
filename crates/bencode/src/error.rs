//! The crate's one error type.

use std::fmt;

/// What went wrong while decoding, encoding or (de)serializing bencode.
///
/// Every decoding error carries the byte offset at which the input became
/// invalid; see [`Error::offset`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended inside a value.
    #[error("unexpected end of input")]
    UnexpectedEof,
    /// A byte that cannot start a value (`i`, `l`, `d` or a digit) stood where a value was expected.
    #[error("unexpected byte {} where a value should start", Byte(*.0))]
    InvalidToken(u8),
    /// `ie`, `i-e`: an integer with no digits.
    #[error("integer has no digits")]
    EmptyInteger,
    /// `i03e`: an integer with a leading zero.
    #[error("integer has a leading zero")]
    IntegerLeadingZero,
    /// `i-0e`: negative zero.
    #[error("integer is negative zero")]
    NegativeZero,
    /// `i+3e`, `i1x`: a byte that is not a digit inside an integer.
    #[error("unexpected byte {} inside an integer", Byte(*.0))]
    InvalidInteger(u8),
    /// The integer does not fit in an `i64`.
    #[error("integer does not fit in 64 bits")]
    IntegerOverflow,
    /// `03:abc`: a string length with a leading zero.
    #[error("string length has a leading zero")]
    LengthLeadingZero,
    /// `3abc`: a byte other than a digit or `:` in a string length.
    #[error("unexpected byte {} inside a string length", Byte(*.0))]
    InvalidLength(u8),
    /// The string's declared length runs past the end of the input.
    #[error("string length {declared} runs past the end of the input ({remaining} bytes remain)")]
    StringPastEnd {
        /// The declared length (saturated at `u64::MAX`).
        declared: u64,
        /// The bytes that remain after the `:`.
        remaining: usize,
    },
    /// A dictionary key that is not a byte string.
    #[error("dictionary key is not a byte string")]
    KeyNotString,
    /// A dictionary key with no value before the closing `e`.
    #[error("dictionary key has no value")]
    MissingValue,
    /// Strict mode: a dictionary key that sorts before the key preceding it.
    #[error("dictionary keys are not in sorted order")]
    UnsortedKey,
    /// A dictionary key that appears twice.
    #[error("duplicate dictionary key")]
    DuplicateKey,
    /// Strict mode: bytes after the top-level value.
    #[error("trailing bytes after the value")]
    TrailingBytes,
    /// Lists and dictionaries nest deeper than the decoder's limit.
    #[error("nesting deeper than the limit of {0}")]
    DepthLimit(usize),
    /// The input holds more values than the decoder's limit.
    #[error("more values than the limit of {0}")]
    TokenLimit(usize),
    /// A message from serde or from a type's (de)serialize implementation.
    #[error("{0}")]
    Custom(String),
}

/// Shows a byte as a character when it is printable ASCII, else as hex.
struct Byte(u8);

impl fmt::Display for Byte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "'{}'", self.0 as char)
        } else {
            write!(f, "0x{:02x}", self.0)
        }
    }
}

/// An error with its kind and, where known, the byte offset in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    offset: Option<usize>,
}

impl Error {
    pub(crate) fn at(kind: ErrorKind, offset: usize) -> Self {
        Error {
            kind,
            offset: Some(offset),
        }
    }

    pub(crate) fn custom(msg: impl fmt::Display, offset: Option<usize>) -> Self {
        Error {
            kind: ErrorKind::Custom(msg.to_string()),
            offset,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The byte offset in the input where it went wrong, when there is an input.
    pub fn offset(&self) -> Option<usize> {
        self.offset
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(offset) => write!(f, "{} at byte {offset}", self.kind),
            None => self.kind.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl serde::ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::custom(msg, None)
    }
}

impl serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::custom(msg, None)
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
