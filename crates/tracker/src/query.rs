//! Query strings: splitting into parameters and strict percent-decoding.
//!
//! A query is `name=value` pairs joined by `&`, each side percent-encoded.
//! Decoding is strict: every `%` is followed by two hexadecimal digits, and
//! only visible ASCII stands unencoded. `+` is a literal `+` (RFC 3986), as
//! BitTorrent clients percent-encode every byte they mean.

use crate::error::{Error, Result, shown};

/// One `name=value` pair, both still percent-encoded, with the offset of
/// each in the query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawParam<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) name_at: usize,
    pub(crate) value: &'a [u8],
    pub(crate) value_at: usize,
}

/// The parameters of `query` in order, skipping empty segments (`a=1&&b=2`,
/// a trailing `&`). A segment without `=` has an empty value.
pub(crate) fn params(query: &[u8]) -> impl Iterator<Item = RawParam<'_>> {
    let mut at = 0usize;
    query.split(|&b| b == b'&').filter_map(move |segment| {
        let start = at;
        at += segment.len() + 1;
        if segment.is_empty() {
            return None;
        }
        let (name, value, value_at) = match segment.iter().position(|&b| b == b'=') {
            Some(eq) => {
                let (name, rest) = segment.split_at(eq);
                (name, rest.get(1..).unwrap_or_default(), start + eq + 1)
            }
            None => (segment, &segment[segment.len()..], start + segment.len()),
        };
        Some(RawParam {
            name,
            name_at: start,
            value,
            value_at,
        })
    })
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Checks that every byte of the query may stand there unencoded (visible
/// ASCII, `!` to `~`), so a later decoding only has `%` to worry about.
pub(crate) fn check_bytes(query: &[u8]) -> Result<()> {
    match query
        .iter()
        .position(|&b| !(b'!'..=b'~').contains(&b) || b == b'#')
    {
        Some(offset) => Err(Error::UnencodedByte {
            byte: query[offset],
            offset,
        }),
        None => Ok(()),
    }
}

/// Percent-decodes `raw` (found at byte `at` of the query), calling `sink`
/// with each decoded byte; `param` names the parameter in an error.
pub(crate) fn decode(
    raw: &[u8],
    at: usize,
    param: impl FnOnce() -> String,
    mut sink: impl FnMut(u8),
) -> Result<()> {
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'%' {
            let hi = raw.get(i + 1).copied().and_then(hex_digit);
            let lo = raw.get(i + 2).copied().and_then(hex_digit);
            match (hi, lo) {
                (Some(hi), Some(lo)) => sink(hi << 4 | lo),
                _ => {
                    return Err(Error::PercentEncoding {
                        param: param(),
                        offset: at + i,
                    });
                }
            }
            i += 3;
        } else {
            sink(b);
            i += 1;
        }
    }
    Ok(())
}

/// A decoded parameter name, when it is short enough to be one we know
/// (longer names are decoded, to check them, but kept as unknown).
pub(crate) struct Name {
    buf: [u8; 16],
    len: usize,
}

impl Name {
    pub(crate) fn decode(p: &RawParam<'_>) -> Result<Name> {
        let mut name = Name {
            buf: [0; 16],
            len: 0,
        };
        decode(
            p.name,
            p.name_at,
            || "a parameter name".to_owned(),
            |b| {
                if let Some(slot) = name.buf.get_mut(name.len) {
                    *slot = b;
                }
                name.len = name.len.saturating_add(1);
            },
        )?;
        Ok(name)
    }

    /// The decoded name, or `None` when it is too long to be one we know.
    pub(crate) fn known(&self) -> Option<&[u8]> {
        self.buf.get(..self.len)
    }
}

/// Checks the value of a parameter we do not read (strictness applies to
/// the whole query).
pub(crate) fn check_unknown(p: &RawParam<'_>) -> Result<()> {
    decode(p.value, p.value_at, || shown(p.name, 32), |_| {})
}

/// Decodes into an array of `N` bytes; also returns the decoded length,
/// which may be more than `N` (the bytes past `N` are counted, not kept).
fn decode_array<const N: usize>(p: &RawParam<'_>, param: &'static str) -> Result<([u8; N], usize)> {
    let mut out = [0u8; N];
    let mut len = 0usize;
    decode(
        p.value,
        p.value_at,
        || param.to_owned(),
        |b| {
            if let Some(slot) = out.get_mut(len) {
                *slot = b;
            }
            len = len.saturating_add(1);
        },
    )?;
    Ok((out, len))
}

/// Decodes exactly `N` bytes, or says how many there were.
pub(crate) fn decode_fixed<const N: usize>(
    p: &RawParam<'_>,
    param: &'static str,
) -> Result<[u8; N]> {
    let (out, len) = decode_array::<N>(p, param)?;
    if len != N {
        return Err(Error::Length {
            param,
            expected: N,
            got: len,
        });
    }
    Ok(out)
}

/// Decodes into a vector (never longer than the raw value).
pub(crate) fn decode_vec(p: &RawParam<'_>, param: &'static str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(p.value.len());
    decode(p.value, p.value_at, || param.to_owned(), |b| out.push(b))?;
    Ok(out)
}

/// Decodes a decimal `u64`: digits only (leading zeros allowed), at least one.
pub(crate) fn decode_u64(p: &RawParam<'_>, param: &'static str) -> Result<u64> {
    let mut n: Option<u64> = Some(0);
    let mut digits = 0usize;
    decode(
        p.value,
        p.value_at,
        || param.to_owned(),
        |b| {
            digits += 1;
            n = match b {
                b'0'..=b'9' => n
                    .and_then(|n| n.checked_mul(10))
                    .and_then(|n| n.checked_add(u64::from(b - b'0'))),
                _ => None,
            };
        },
    )?;
    match n {
        Some(n) if digits > 0 => Ok(n),
        _ => Err(Error::Number { param }),
    }
}

/// Decodes a value that must be one of a few short words; `None` when it is
/// longer than `N` bytes.
pub(crate) fn decode_word<const N: usize>(
    p: &RawParam<'_>,
    param: &'static str,
) -> Result<Option<([u8; N], usize)>> {
    let (out, len) = decode_array::<N>(p, param)?;
    Ok((len <= N).then_some((out, len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(q: &str) -> Vec<(String, String, usize, usize)> {
        params(q.as_bytes())
            .map(|p| {
                (
                    String::from_utf8_lossy(p.name).into_owned(),
                    String::from_utf8_lossy(p.value).into_owned(),
                    p.name_at,
                    p.value_at,
                )
            })
            .collect()
    }

    #[test]
    fn splits_with_offsets() {
        assert_eq!(
            all("a=1&&bc=&d&e=x=y&"),
            vec![
                ("a".into(), "1".into(), 0, 2),
                ("bc".into(), "".into(), 5, 8),
                ("d".into(), "".into(), 9, 10),
                ("e".into(), "x=y".into(), 11, 13),
            ]
        );
        assert!(all("").is_empty());
        assert!(all("&&&").is_empty());
    }

    #[test]
    fn decodes_strictly() {
        let p = params(b"x=%41%6a+").next().unwrap();
        assert_eq!(decode_vec(&p, "x").unwrap(), b"Aj+");
        let p = params(b"x=%4").next().unwrap();
        assert_eq!(
            decode_vec(&p, "x").unwrap_err(),
            Error::PercentEncoding {
                param: "x".into(),
                offset: 2
            }
        );
        let p = params(b"xy=a%zz").next().unwrap();
        assert_eq!(
            decode_vec(&p, "x").unwrap_err(),
            Error::PercentEncoding {
                param: "x".into(),
                offset: 4
            }
        );
        assert_eq!(
            check_bytes(b"a=b c").unwrap_err(),
            Error::UnencodedByte {
                byte: b' ',
                offset: 3
            }
        );
    }

    #[test]
    fn numbers() {
        let n = |q: &str| decode_u64(&params(q.as_bytes()).next().unwrap(), "n");
        assert_eq!(n("n=0").unwrap(), 0);
        assert_eq!(n("n=007").unwrap(), 7);
        assert_eq!(n("n=%31%32").unwrap(), 12);
        assert_eq!(n("n=18446744073709551615").unwrap(), u64::MAX);
        assert!(n("n=18446744073709551616").is_err());
        assert!(n("n=").is_err());
        assert!(n("n=-1").is_err());
        assert!(n("n=+1").is_err());
        assert!(n("n=1a").is_err());
    }
}
