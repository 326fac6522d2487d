//! The model of an S3 listing that the listing tests compare pages with.

use std::collections::BTreeSet;

/// What a whole listing of `keys` holds, as S3 defines it: the keys after
/// `start_after` that start with `prefix`, each either itself (in the
/// first set) or rolled up into a common prefix (the second set): the
/// prefix, then what follows it up to and including the first
/// `delimiter`.
///
/// ```
/// use std::collections::BTreeSet;
///
/// let keys: BTreeSet<String> = ["a/1", "a/2", "b", "c/d/e"].map(str::to_owned).into();
/// let (contents, prefixes) = s3torrent_testkit::listing(&keys, "", Some("/"), "");
/// assert_eq!(contents, ["b".to_owned()].into());
/// assert_eq!(prefixes, ["a/".to_owned(), "c/".to_owned()].into());
/// ```
pub fn listing(
    keys: &BTreeSet<String>,
    prefix: &str,
    delimiter: Option<&str>,
    start_after: &str,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut contents, mut prefixes) = (BTreeSet::new(), BTreeSet::new());
    for key in keys {
        let Some(rest) = key.strip_prefix(prefix) else {
            continue;
        };
        if key.as_str() <= start_after {
            continue;
        }
        match delimiter.and_then(|d| rest.find(d).map(|i| (d, i))) {
            Some((d, i)) => {
                prefixes.insert(format!("{prefix}{}", &rest[..i + d.len()]));
            }
            None => {
                contents.insert(key.clone());
            }
        }
    }
    (contents, prefixes)
}
