//! How a listing is presented, as pure functions over a sorted sequence of
//! `(key, entry)` pairs, wherever the entries come from: one page of
//! ListObjects (v1), ListObjectsV2 or ListObjectVersions, with prefixes,
//! delimiters, markers, common prefixes and `encoding-type=url`.
//!
//! The rules, as S3 applies them:
//! - a key is listed if it starts with the prefix and sorts after the
//!   marker (`marker`, `start-after`, the continuation token or
//!   `key-marker`);
//! - with a delimiter, a key whose rest after the prefix holds the
//!   delimiter rolls up into the common prefix ending at its first
//!   delimiter; a common prefix takes one slot, however many keys it holds;
//!   a common prefix equal to the marker was listed already (it is what
//!   `NextMarker` says after a page that ended on it), so its keys are
//!   skipped;
//! - a page holds at most `max` entries (keys and common prefixes); it is
//!   truncated when another entry follows. `max` 0 is an empty page that is
//!   not truncated, as S3 answers.

use s3s::{S3Result, s3_error};

/// One listed page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page<T> {
    /// The keys listed themselves, in order, with their entries.
    pub(crate) contents: Vec<(String, T)>,
    /// The common prefixes, in order.
    pub(crate) prefixes: Vec<String>,
    /// Whether more entries follow.
    pub(crate) truncated: bool,
    /// The last entry of the page, key or common prefix: where the next
    /// page starts after (ListObjects' `NextMarker`, ListObjectVersions'
    /// `NextKeyMarker`, the key in ListObjectsV2's token). A common prefix
    /// as the marker skips its keys, so no page repeats one.
    pub(crate) last_entry: Option<String>,
}

impl<T> Page<T> {
    /// Keys and common prefixes on the page.
    pub(crate) fn count(&self) -> usize {
        self.contents.len() + self.prefixes.len()
    }
}

/// What a page wants from its source after an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// The next key.
    Next,
    /// The first key that does not start with this common prefix (its
    /// keys roll up into it and are not needed).
    SkipPrefix(String),
    /// Nothing more: the page is complete.
    Stop,
}

/// What to list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query<'a> {
    pub(crate) prefix: &'a str,
    /// `None` for no delimiter (an empty one is none too: see [`delimiter`]).
    pub(crate) delimiter: Option<&'a str>,
    /// Only keys after this one.
    pub(crate) after: &'a str,
    pub(crate) max: usize,
}

/// The delimiter a request names: an empty `delimiter=` is no delimiter.
pub(crate) fn delimiter(given: Option<&str>) -> Option<&str> {
    given.filter(|d| !d.is_empty())
}

/// The common prefix that rolls `key` up: the prefix and what follows up to
/// and including the first delimiter after it, if there is one.
pub(crate) fn common_prefix<'k>(
    key: &'k str,
    prefix: &str,
    delimiter: Option<&str>,
) -> Option<&'k str> {
    let d = delimiter?;
    let rest = key.strip_prefix(prefix)?;
    rest.find(d).map(|i| &key[..prefix.len() + i + d.len()])
}

/// Builds one page from entries pushed in key order (each key once), for
/// sources that visit their entries (a range scan that can seek past a
/// common prefix) rather than iterate.
pub(crate) struct PageBuilder<'q, T> {
    q: Query<'q>,
    page: Page<T>,
}

impl<'q, T> PageBuilder<'q, T> {
    pub(crate) fn new(q: Query<'q>) -> Self {
        PageBuilder {
            q,
            page: Page {
                contents: Vec::new(),
                prefixes: Vec::new(),
                truncated: false,
                last_entry: None,
            },
        }
    }

    /// Takes the next entry and says what the page wants next (the entry
    /// that shows the page is truncated is not on it).
    pub(crate) fn push(&mut self, key: &str, entry: T) -> Step {
        let (q, page) = (self.q, &mut self.page);
        if q.max == 0 {
            return Step::Stop;
        }
        if !key.starts_with(q.prefix) || key <= q.after {
            return Step::Next;
        }
        let common = common_prefix(key, q.prefix, q.delimiter);
        if let Some(p) = common
            && (p == q.after || page.prefixes.last().map(String::as_str) == Some(p))
        {
            // Listed already, on this page or as the marker.
            return Step::SkipPrefix(p.to_owned());
        }
        if page.count() == q.max {
            page.truncated = true;
            return Step::Stop;
        }
        match common {
            Some(p) => {
                page.last_entry = Some(p.to_owned());
                page.prefixes.push(p.to_owned());
                Step::SkipPrefix(p.to_owned())
            }
            None => {
                page.last_entry = Some(key.to_owned());
                page.contents.push((key.to_owned(), entry));
                Step::Next
            }
        }
    }

    pub(crate) fn finish(self) -> Page<T> {
        self.page
    }
}

#[cfg(test)]
/// One page of `entries` (sorted by key, each key once), honouring
/// [`Step::SkipPrefix`] by passing over the keys it names.
pub(crate) fn page<T>(entries: impl IntoIterator<Item = (String, T)>, q: Query<'_>) -> Page<T> {
    let mut builder = PageBuilder::new(q);
    let mut skip: Option<String> = None;
    for (key, entry) in entries {
        if skip.as_ref().is_some_and(|p| key.starts_with(p.as_str())) {
            continue;
        }
        match builder.push(&key, entry) {
            Step::Next => skip = None,
            Step::SkipPrefix(p) => skip = Some(p),
            Step::Stop => break,
        }
    }
    builder.finish()
}

/// `max-keys` as S3 takes it: absent is 1000, above 1000 is 1000, negative
/// is `InvalidArgument`.
pub(crate) fn max_keys(given: Option<i32>) -> S3Result<usize> {
    match given {
        None => Ok(1000),
        Some(n) if n < 0 => Err(s3_error!(
            InvalidArgument,
            "Argument maxKeys must be an integer between 0 and 2147483647"
        )),
        Some(n) => Ok(usize::try_from(n).unwrap_or(1000).min(1000)),
    }
}

/// `encoding-type`: absent, or `url` (then keys, prefixes, delimiters and
/// markers in the answer are URL-encoded); anything else is
/// `InvalidArgument`, as S3 answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// As they are (XML-escaped).
    Plain,
    /// `encoding-type=url`.
    Url,
}

impl Encoding {
    pub(crate) fn of(given: Option<&s3s::dto::EncodingType>) -> S3Result<Encoding> {
        match given.map(|e| e.as_str()) {
            None => Ok(Encoding::Plain),
            Some(e) if e.eq_ignore_ascii_case("url") => Ok(Encoding::Url),
            Some(_) => Err(s3_error!(
                InvalidArgument,
                "Invalid Encoding Method specified in Request"
            )),
        }
    }

    /// `text` as the answer carries it.
    pub(crate) fn apply(self, text: &str) -> String {
        match self {
            Encoding::Plain => text.to_owned(),
            Encoding::Url => url_encode(text),
        }
    }

    pub(crate) fn apply_opt(self, text: Option<&str>) -> Option<String> {
        text.map(|t| self.apply(t))
    }
}

/// URL-encodes as S3 does for `encoding-type=url`: RFC 3986's unreserved
/// characters and `/` stay, a space is `+`, every other byte is `%XX`.
pub(crate) fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
    out
}

/// A ListObjectsV2 continuation token: the hex of the last key a page
/// consumed, so that any key makes a token that survives XML and URLs.
pub(crate) fn token_of(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The key a continuation token names, else `InvalidArgument` as S3 answers
/// a token it did not make.
pub(crate) fn key_of_token(token: &str) -> S3Result<String> {
    let bad = || {
        s3_error!(
            InvalidArgument,
            "The continuation token provided is incorrect"
        )
    };
    let b = token.as_bytes();
    if !b.len().is_multiple_of(2) || b.len() > 2 * 1024 {
        return Err(bad());
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut bytes = Vec::with_capacity(b.len() / 2);
    for pair in b.chunks(2) {
        match (digit(pair[0]), digit(pair[1])) {
            (Some(h), Some(l)) => bytes.push(h << 4 | l),
            _ => return Err(bad()),
        }
    }
    String::from_utf8(bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(keys: &[&str]) -> Vec<(String, ())> {
        keys.iter().map(|k| ((*k).to_owned(), ())).collect()
    }

    fn q<'a>(prefix: &'a str, delimiter: Option<&'a str>, after: &'a str, max: usize) -> Query<'a> {
        Query {
            prefix,
            delimiter,
            after,
            max,
        }
    }

    #[test]
    fn a_marker_that_is_a_common_prefix_skips_its_keys() {
        let keys = entries(&["a", "dir/x", "dir/y", "e"]);
        let p = page(keys.clone(), q("", Some("/"), "", 2));
        assert_eq!(p.prefixes, ["dir/"]);
        assert!(p.truncated);
        assert_eq!(p.last_entry.as_deref(), Some("dir/"));
        let next = page(keys, q("", Some("/"), "dir/", 2));
        let listed: Vec<&str> = next.contents.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            (listed, next.prefixes.len(), next.truncated),
            (vec!["e"], 0, false)
        );
    }

    /// Paging on after each page's last entry (v1's NextMarker, V2's
    /// token) lists what one unbounded listing lists, each entry once, for
    /// every page size.
    #[test]
    fn pages_join_to_the_whole_listing() {
        let mut keys = entries(&[
            "a", "a/b", "a/b/c", "a/c", "a//d", "a0", "b/", "b/x", "b/y/z", "c", "d/e/f",
        ]);
        keys.sort();
        for prefix in ["", "a", "a/", "b/"] {
            for delimiter in [None, Some("/"), Some("b")] {
                let whole = page(keys.clone(), q(prefix, delimiter, "", 1000));
                assert!(!whole.truncated);
                let want: (Vec<String>, Vec<String>) = (
                    whole.contents.iter().map(|(k, _)| k.clone()).collect(),
                    whole.prefixes.clone(),
                );
                for max in 1..6 {
                    let mut got: (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
                    let mut after = String::new();
                    for _ in 0..keys.len() + 1 {
                        let p = page(keys.clone(), q(prefix, delimiter, &after, max));
                        got.0.extend(p.contents.iter().map(|(k, _)| k.clone()));
                        got.1.extend(p.prefixes.iter().cloned());
                        if !p.truncated {
                            break;
                        }
                        assert_eq!(p.count(), max);
                        after = p.last_entry.unwrap();
                    }
                    assert_eq!(got, want, "{prefix:?} {delimiter:?} {max}");
                }
            }
        }
        // Not vacuous: with "/" at the top, a/ and b/ and d/ roll up.
        let top = page(keys, q("", Some("/"), "", 1000));
        assert_eq!(top.prefixes, ["a/", "b/", "d/"]);
    }

    #[test]
    fn max_zero_is_empty_and_not_truncated() {
        let p = page(entries(&["a"]), q("", None, "", 0));
        assert_eq!((p.count(), p.truncated), (0, false));
    }

    #[test]
    fn url_encoding_and_tokens() {
        assert_eq!(url_encode("a b+c/ü&\u{1}"), "a+b%2Bc/%C3%BC%26%01");
        for key in ["", "a", "ü/\u{1}<&>"] {
            assert_eq!(key_of_token(&token_of(key)).unwrap(), key);
        }
        assert!(key_of_token("xyz").is_err() && key_of_token("ff").is_err());
    }
}
