//! `WebSeed::object_url` with awkward keys, in both addressing styles: the
//! expected URLs are written out by hand (UTF-8 bytes percent-encoded with
//! uppercase hex), and every URL, split on `/` after the bucket and decoded
//! segment by segment with the small decoder here, gives back its key.

use proptest::prelude::*;
use s3torrent_s3::{Addressing, BucketName, ObjectKey, WebSeed};

fn path(endpoint: &str) -> WebSeed {
    WebSeed {
        endpoint: endpoint.into(),
        addressing: Addressing::Path,
    }
}

fn vhost(endpoint: &str) -> WebSeed {
    WebSeed {
        endpoint: endpoint.into(),
        addressing: Addressing::VirtualHosted,
    }
}

fn url(seed: &WebSeed, key: &str) -> String {
    seed.object_url(
        &BucketName::new("quotes").unwrap(),
        &ObjectKey::new(key).unwrap(),
    )
}

/// Percent-decodes one segment; `None` on a malformed escape or bad UTF-8.
fn decode(segment: &str) -> Option<String> {
    let b = segment.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The key back from a URL, given everything up to and including the `/`
/// after the bucket.
fn key_back(url: &str, prefix: &str) -> String {
    let rest = url
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{url} does not start with {prefix}"));
    rest.split('/')
        .map(|s| decode(s).unwrap_or_else(|| panic!("bad escape in {url}")))
        .collect::<Vec<_>>()
        .join("/")
}

/// (key, path after the bucket), written by hand.
const CASES: &[(&str, &str)] = &[
    ("plain.txt", "plain.txt"),
    ("a b", "a%20b"),
    ("a+b", "a%2Bb"),
    ("100%", "100%25"),
    ("%2F", "%252F"),
    ("a#b", "a%23b"),
    ("a?b", "a%3Fb"),
    ("a&b=c", "a%26b%3Dc"),
    ("q?x=1&y=2#frag", "q%3Fx%3D1%26y%3D2%23frag"),
    ("café", "caf%C3%A9"),
    ("日本", "%E6%97%A5%E6%9C%AC"),
    ("日本/é.bin", "%E6%97%A5%E6%9C%AC/%C3%A9.bin"),
    ("😀", "%F0%9F%98%80"),
    ("a//b", "a//b"),
    ("/a", "/a"),
    ("//a", "//a"),
    ("dir/", "dir%2F"),
    ("dir/sub/", "dir/sub%2F"),
    ("a//", "a/%2F"),
    ("/", "%2F"),
    ("//", "/%2F"),
    ("..", ".."),
    ("../x", "../x"),
    ("a/../b", "a/../b"),
    ("a/./b", "a/./b"),
    (".", "."),
    ("-._~", "-._~"),
    ("AZaz09", "AZaz09"),
    ("!$'()*,;:@", "%21%24%27%28%29%2A%2C%3B%3A%40"),
    ("a\\b", "a%5Cb"),
    ("tab\there", "tab%09here"),
    ("new\nline", "new%0Aline"),
    ("\"<>[]{}|^`", "%22%3C%3E%5B%5D%7B%7D%7C%5E%60"),
    ("x\u{7f}", "x%7F"),
];

#[test]
fn path_style() {
    for endpoint in ["http://127.0.0.1:9000", "http://127.0.0.1:9000/"] {
        let seed = path(endpoint);
        for (key, encoded) in CASES {
            let got = url(&seed, key);
            assert_eq!(
                got,
                format!("http://127.0.0.1:9000/quotes/{encoded}"),
                "key {key:?}"
            );
            assert_eq!(key_back(&got, "http://127.0.0.1:9000/quotes/"), *key);
        }
    }
}

#[test]
fn virtual_hosted_style() {
    for endpoint in ["https://s3.example.com", "https://s3.example.com/"] {
        let seed = vhost(endpoint);
        for (key, encoded) in CASES {
            let got = url(&seed, key);
            assert_eq!(
                got,
                format!("https://quotes.s3.example.com/{encoded}"),
                "key {key:?}"
            );
            assert_eq!(key_back(&got, "https://quotes.s3.example.com/"), *key);
        }
    }
}

#[test]
fn whole_urls_written_out() {
    let p = path("http://127.0.0.1:9000/");
    let v = vhost("https://s3.eu-west-1.amazonaws.com");
    assert_eq!(
        url(&p, "photos/2024/summer holiday+café #1?.jpg"),
        "http://127.0.0.1:9000/quotes/photos/2024/summer%20holiday%2Bcaf%C3%A9%20%231%3F.jpg"
    );
    assert_eq!(
        url(&v, "photos/2024/summer holiday+café #1?.jpg"),
        "https://quotes.s3.eu-west-1.amazonaws.com/photos/2024/summer%20holiday%2Bcaf%C3%A9%20%231%3F.jpg"
    );
    assert_eq!(url(&p, "dir/"), "http://127.0.0.1:9000/quotes/dir%2F");
    assert_eq!(
        url(&v, "dir/"),
        "https://quotes.s3.eu-west-1.amazonaws.com/dir%2F"
    );
    assert_eq!(url(&p, "/a"), "http://127.0.0.1:9000/quotes//a");
    assert_eq!(
        url(&v, "a//b"),
        "https://quotes.s3.eu-west-1.amazonaws.com/a//b"
    );
    assert_eq!(
        url(&p, "../etc/passwd"),
        "http://127.0.0.1:9000/quotes/../etc/passwd"
    );
    assert_eq!(
        url(&v, "日本/データ"),
        "https://quotes.s3.eu-west-1.amazonaws.com/%E6%97%A5%E6%9C%AC/%E3%83%87%E3%83%BC%E3%82%BF"
    );
}

#[test]
fn endpoints() {
    // Every trailing slash goes; a path prefix stays.
    assert_eq!(url(&path("http://h:1//"), "k"), "http://h:1/quotes/k");
    assert_eq!(
        url(&path("http://gateway.example/s3/"), "a b"),
        "http://gateway.example/s3/quotes/a%20b"
    );
    assert_eq!(
        url(&vhost("http://gateway.example/s3"), "a b"),
        "http://quotes.gateway.example/s3/a%20b"
    );
    // No scheme: the bucket still goes in front of the host.
    assert_eq!(
        url(&vhost("s3.example.com/"), "k"),
        "quotes.s3.example.com/k"
    );
    assert_eq!(url(&path("s3.example.com"), "k"), "s3.example.com/quotes/k");
    // Dotted bucket names are kept as they are.
    let dotted = BucketName::new("my.data.bucket").unwrap();
    let key = ObjectKey::new("x y").unwrap();
    assert_eq!(
        vhost("https://s3.example.com").object_url(&dotted, &key),
        "https://my.data.bucket.s3.example.com/x%20y"
    );
    assert_eq!(
        path("https://s3.example.com").object_url(&dotted, &key),
        "https://s3.example.com/my.data.bucket/x%20y"
    );
}

#[test]
fn the_longest_key() {
    let key = "é".repeat(512);
    assert_eq!(key.len(), 1024);
    let got = url(&path("http://h"), &key);
    assert_eq!(got, format!("http://h/quotes/{}", "%C3%A9".repeat(512)));
    assert_eq!(key_back(&got, "http://h/quotes/"), key);
}

#[test]
fn the_decoder_itself() {
    assert_eq!(decode("a%20b%2F%C3%A9").as_deref(), Some("a b/é"));
    assert_eq!(decode("%e6%97%a5").as_deref(), Some("日"));
    assert_eq!(decode("%2"), None);
    assert_eq!(decode("%zz"), None);
    assert_eq!(decode("%FF"), None);
}

proptest! {
    #[test]
    fn any_key_round_trips(key in "\\PC{1,40}|[/a. %?#+]{1,12}", vhosted in any::<bool>()) {
        let (seed, prefix) = if vhosted {
            (vhost("https://s3.example.com/"), "https://quotes.s3.example.com/")
        } else {
            (path("http://127.0.0.1:9000"), "http://127.0.0.1:9000/quotes/")
        };
        let got = url(&seed, &key);
        let rest = got.strip_prefix(prefix).unwrap();
        // Only unreserved characters, escapes and separators after the bucket.
        prop_assert!(
            rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%/".contains(&b)),
            "{}", got
        );
        // Never a trailing `/`, which BEP 19 clients would append the name to.
        prop_assert!(!got.ends_with('/'), "{}", got);
        prop_assert_eq!(key_back(&got, prefix), key);
    }
}
