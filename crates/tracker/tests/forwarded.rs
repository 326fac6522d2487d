//! Forwarding headers behind trusted proxies: a hostile table of
//! `X-Forwarded-For`, `X-Forwarded-Proto` and `Forwarded` (malformed,
//! mixed case, quoted, many hops, huge), and a property test of the client
//! address and scheme against a model that walks the hops themselves, not
//! their text.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use s3torrent_tracker::{Scheme, TrustedProxies};

/// 127.0.0.1 and 10.0.0.0/8.
fn proxies() -> TrustedProxies {
    TrustedProxies::new(vec![
        "127.0.0.1".parse().unwrap(),
        "10.0.0.0/8".parse().unwrap(),
    ])
}

const PROXY: &str = "127.0.0.1:7000";

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

/// What a request with `pairs` from the trusted proxy resolves to: the
/// client, and the scheme.
fn resolve(pairs: &[(&'static str, &str)]) -> (SocketAddr, Option<Scheme>) {
    let h = headers(pairs);
    let p = proxies();
    (p.client(sa(PROXY), &h), p.scheme(sa(PROXY), &h))
}

/// Headers, the client and scheme they resolve to, and what the row is.
type Row<'a> = (
    Vec<(&'static str, &'a str)>,
    SocketAddr,
    Option<Scheme>,
    &'static str,
);

#[test]
fn hostile_table() {
    use Scheme::{Http, Https};
    let proxy = sa(PROXY);
    let client = sa("203.0.113.5:7000");
    let many_trusted = |n: usize| vec!["10.0.0.1"; n].join(", ");
    let many_elements = |n: usize| vec!["for=10.0.0.1;proto=http"; n].join(", ");
    let at_limit = format!("203.0.113.5, {}", many_trusted(31));
    let past_limit = format!("203.0.113.5, {}", many_trusted(32));
    let f_at_limit = format!("for=203.0.113.5;proto=https, {}", many_elements(31));
    let f_past_limit = format!("for=203.0.113.5;proto=https, {}", many_elements(32));
    // About 60 KiB, under hyper's 64 KiB head.
    let huge = many_trusted(6_000);
    let huge_garbage = "x".repeat(60_000);
    let huge_forwarded = format!("{}, for=203.0.113.5;proto=https", many_elements(2_500));
    #[rustfmt::skip]
    let table: Vec<Row<'_>> = vec![
        (vec![], proxy, None, "no header"),
        (vec![("x-forwarded-proto", "https")], proxy, Some(Https), "the proxy's own word"),
        (vec![("x-forwarded-proto", "HTTPS")], proxy, Some(Https), "upper case"),
        (vec![("x-forwarded-proto", "HtTp")], proxy, Some(Http), "mixed case"),
        (vec![("x-forwarded-proto", "\"https\"")], proxy, Some(Https), "quoted"),
        (vec![("x-forwarded-proto", "  https  ")], proxy, Some(Https), "spaces"),
        (vec![("x-forwarded-proto", "http, https")], proxy, Some(Https), "the nearest is right-most"),
        (vec![("x-forwarded-proto", "https, http")], proxy, Some(Http), "a forged left value loses"),
        (vec![("x-forwarded-proto", "https"), ("x-forwarded-proto", "http")], proxy, Some(Http), "instances in order"),
        (vec![("x-forwarded-proto", "")], proxy, None, "empty"),
        (vec![("x-forwarded-proto", "https,")], proxy, None, "an empty right-most value"),
        (vec![("x-forwarded-proto", "ftp")], proxy, None, "another scheme"),
        (vec![("x-forwarded-proto", "https;x=1")], proxy, None, "parameters"),
        (vec![("x-forwarded-proto", "htt ps")], proxy, None, "a space inside"),
        (vec![("x-forwarded-proto", "\"https")], proxy, None, "an open quote"),
        (vec![("x-forwarded-proto", "wss")], proxy, None, "a WebSocket scheme"),
        (vec![("x-forwarded-proto", &huge_garbage)], proxy, None, "a huge value"),
        (vec![("x-forwarded-proto", "garbage"), ("forwarded", "for=203.0.113.5;proto=https")], client, None, "X-Forwarded-Proto wins over Forwarded"),
        (vec![("x-forwarded-for", "203.0.113.5"), ("forwarded", "for=198.51.100.1;proto=https")], client, Some(Https), "the address from X-Forwarded-For, the scheme from Forwarded"),
        (vec![("forwarded", "for=203.0.113.5;proto=https")], client, Some(Https), "one element"),
        (vec![("forwarded", "For=203.0.113.5;PROTO=HTTPS")], client, Some(Https), "mixed case"),
        (vec![("forwarded", "for=203.0.113.5 ; proto = https")], client, Some(Https), "spaces"),
        (vec![("forwarded", "proto=https;for=203.0.113.5;by=127.0.0.1;host=s3.example.com")], client, Some(Https), "any order, other parameters"),
        (vec![("forwarded", "for=\"203.0.113.5\";proto=\"https\"")], client, Some(Https), "quoted"),
        (vec![("forwarded", "for=\"[2001:db8::1]:4711\";proto=https")], sa("[2001:db8::1]:4711"), Some(Https), "IPv6 with a port"),
        (vec![("forwarded", "for=203.0.113.5")], client, None, "no proto"),
        (vec![("forwarded", "for=203.0.113.5;proto")], client, None, "proto without a value"),
        (vec![("forwarded", "for=203.0.113.5;proto=https;proto=http")], client, None, "proto twice"),
        (vec![("forwarded", "for=203.0.113.5;for=198.51.100.1;proto=https")], proxy, None, "for twice"),
        (vec![("forwarded", "proto=https")], proxy, None, "no for"),
        (vec![("forwarded", "for=;proto=https")], proxy, None, "an empty for"),
        (vec![("forwarded", "for=unknown;proto=https")], proxy, None, "unknown"),
        (vec![("forwarded", "for=_hidden;proto=https")], proxy, None, "an obfuscated node"),
        (vec![("forwarded", "")], proxy, None, "empty"),
        (vec![("forwarded", ";;;,,,;")], proxy, None, "separators only"),
        (vec![("forwarded", "for=203.0.113.5;proto=https, garbage")], proxy, None, "garbage right of the client"),
        (vec![("forwarded", "for=203.0.113.5;proto=https;by=\"a,b\"")], proxy, None, "a quoted comma is not believed"),
        (vec![("forwarded", "for=198.51.100.1;proto=https, for=203.0.113.5;proto=http")], client, Some(Http), "a forged left element loses"),
        (vec![("forwarded", "for=203.0.113.5;proto=https, for=10.0.0.2;proto=http")], client, Some(Https), "the client's hop, not the one between proxies"),
        (vec![("forwarded", "for=203.0.113.5;proto=https"), ("forwarded", "for=10.0.0.2;proto=http")], client, Some(Https), "elements across instances"),
        (vec![("forwarded", "for=10.0.0.3;proto=https, for=10.0.0.2;proto=http")], sa("10.0.0.3:7000"), Some(Https), "all trusted: the left-most"),
        (vec![("x-forwarded-for", &at_limit)], client, None, "32 hops"),
        (vec![("x-forwarded-for", &past_limit)], proxy, None, "33 hops: not believed"),
        (vec![("forwarded", &f_at_limit)], client, Some(Https), "32 elements"),
        (vec![("forwarded", &f_past_limit)], proxy, None, "33 elements: not believed"),
        (vec![("x-forwarded-for", &huge)], proxy, None, "a huge trusted chain"),
        (vec![("x-forwarded-for", &huge_garbage)], proxy, None, "a huge garbage entry"),
        (vec![("forwarded", &huge_forwarded)], client, Some(Https), "a huge chain whose right-most is the client"),
    ];
    for (pairs, want_client, want_scheme, what) in table {
        assert_eq!(
            resolve(&pairs),
            (want_client, want_scheme),
            "{what}: {pairs:?}"
        );
    }

    // Bytes that are not visible ASCII: not believed.
    let p = proxies();
    for name in ["x-forwarded-proto", "forwarded", "x-forwarded-for"] {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_bytes(b"https\xff").unwrap());
        h.append(
            "forwarded",
            HeaderValue::from_static("for=203.0.113.5;proto=https"),
        );
        let scheme = p.scheme(sa(PROXY), &h);
        let expected = if name == "x-forwarded-for" {
            Some(Https)
        } else {
            None
        };
        assert_eq!(scheme, expected, "{name}");
    }

    // From anyone else, every header is ignored.
    let h = headers(&[
        ("x-forwarded-proto", "https"),
        ("forwarded", "for=203.0.113.5;proto=https"),
        ("x-forwarded-for", "203.0.113.5"),
    ]);
    let stranger = sa("192.0.2.9:5000");
    assert_eq!(p.scheme(stranger, &h), None);
    assert_eq!(p.client(stranger, &h), stranger);
    assert_eq!(TrustedProxies::default().scheme(sa(PROXY), &h), None);
}

/// One hop of a generated chain: whose address it names, and the scheme
/// its element says.
#[derive(Debug, Clone)]
struct Hop {
    addr: SocketAddr,
    proto: Option<Scheme>,
}

fn hop() -> impl Strategy<Value = Hop> {
    let addr = prop_oneof![
        // Trusted.
        (0u8..4, any::<u16>()).prop_map(|(b, p)| SocketAddr::from(([10, 0, 0, b], p))),
        Just(SocketAddr::from(([127, 0, 0, 1], 80))),
        // Untrusted.
        (0u8..4, any::<u16>()).prop_map(|(b, p)| SocketAddr::from(([203, 0, 113, b], p))),
        (0u16..4, any::<u16>())
            .prop_map(|(b, p)| SocketAddr::new(IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, b]), p)),
    ];
    let proto = prop_oneof![
        Just(None),
        Just(Some(Scheme::Http)),
        Just(Some(Scheme::Https))
    ];
    (addr, proto).prop_map(|(addr, proto)| Hop { addr, proto })
}

/// How a chain is written: the case of names and values, quotes, spaces,
/// other parameters, and how many header instances it spreads over.
#[derive(Debug, Clone)]
struct Style {
    upper: bool,
    quote: bool,
    spaces: bool,
    by: bool,
    split_every: usize,
}

fn style() -> impl Strategy<Value = Style> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        1usize..6,
    )
        .prop_map(|(upper, quote, spaces, by, split_every)| Style {
            upper,
            quote,
            spaces,
            by,
            split_every,
        })
}

fn node_text(addr: SocketAddr, style: &Style) -> String {
    let text = match addr.ip() {
        IpAddr::V4(_) => addr.to_string(),
        IpAddr::V6(_) => format!("[{}]:{}", addr.ip(), addr.port()),
    };
    if style.quote || addr.is_ipv6() {
        format!("\"{text}\"")
    } else {
        text
    }
}

/// `Forwarded` for `chain`, written in `style`.
fn forwarded(chain: &[Hop], style: &Style) -> HeaderMap {
    let (sep, comma) = if style.spaces {
        (" ; ", " , ")
    } else {
        (";", ",")
    };
    let elements: Vec<String> = chain
        .iter()
        .map(|h| {
            let mut params = vec![format!(
                "{}={}",
                if style.upper { "FOR" } else { "for" },
                node_text(h.addr, style)
            )];
            if let Some(p) = h.proto {
                let v = match (p, style.upper) {
                    (Scheme::Https, false) => "https",
                    (Scheme::Https, true) => "HTTPS",
                    (Scheme::Http, false) => "http",
                    (Scheme::Http, true) => "HTTP",
                };
                let v = if style.quote {
                    format!("\"{v}\"")
                } else {
                    v.to_owned()
                };
                params.push(format!(
                    "{}={v}",
                    if style.upper { "Proto" } else { "proto" }
                ));
            }
            if style.by {
                params.insert(0, "by=\"[2001:db8::9]\"".to_owned());
            }
            params.join(sep)
        })
        .collect();
    let mut h = HeaderMap::new();
    for group in elements.chunks(style.split_every) {
        h.append(
            "forwarded",
            HeaderValue::from_str(&group.join(comma)).unwrap(),
        );
    }
    h
}

/// `X-Forwarded-For` for `chain` and `X-Forwarded-Proto` for `protos`.
fn x_forwarded(chain: &[Hop], protos: &[Scheme], style: &Style) -> HeaderMap {
    let comma = if style.spaces { " ,  " } else { "," };
    let mut h = HeaderMap::new();
    let nodes: Vec<String> = chain.iter().map(|hop| node_text(hop.addr, style)).collect();
    for group in nodes.chunks(style.split_every) {
        h.append(
            "x-forwarded-for",
            HeaderValue::from_str(&group.join(comma)).unwrap(),
        );
    }
    let protos: Vec<&str> = protos
        .iter()
        .map(|p| match p {
            Scheme::Http => "http",
            Scheme::Https => "https",
        })
        .collect();
    for group in protos.chunks(style.split_every) {
        h.append(
            "x-forwarded-proto",
            HeaderValue::from_str(&group.join(comma)).unwrap(),
        );
    }
    h
}

/// The model: which hop is the client (its index), walking from the
/// right over trusted ones, at most 32; `None` when it is the socket.
fn model_pick(chain: &[Hop]) -> Option<usize> {
    let trusted = |a: SocketAddr| match a.ip() {
        IpAddr::V4(v4) => v4.octets()[0] == 10 || v4.octets() == [127, 0, 0, 1],
        IpAddr::V6(_) => false,
    };
    let walked = chain.len().min(32);
    let first_untrusted = (chain.len() - walked..chain.len())
        .rev()
        .find(|&i| !trusted(chain[i].addr));
    match first_untrusted {
        Some(i) => Some(i),
        None if chain.len() > 32 => None,
        None if chain.is_empty() => None,
        None => Some(0),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn forwarded_matches_the_model(chain in prop::collection::vec(hop(), 0..40), style in style()) {
        let p = proxies();
        let h = forwarded(&chain, &style);
        let proxy = sa(PROXY);
        let picked = model_pick(&chain);
        let client = picked.map_or(proxy, |i| chain[i].addr);
        prop_assert_eq!(p.client(proxy, &h), client);
        prop_assert_eq!(p.scheme(proxy, &h), picked.and_then(|i| chain[i].proto));
        // From an untrusted socket: nothing believed.
        let stranger = sa("198.51.100.3:9");
        prop_assert_eq!(p.client(stranger, &h), stranger);
        prop_assert_eq!(p.scheme(stranger, &h), None);
    }

    #[test]
    fn x_forwarded_matches_the_model(
        chain in prop::collection::vec(hop(), 1..40),
        protos in prop::collection::vec(
            prop_oneof![Just(Scheme::Http), Just(Scheme::Https)], 0..4),
        style in style(),
    ) {
        let p = proxies();
        let h = x_forwarded(&chain, &protos, &style);
        let proxy = sa(PROXY);
        let client = model_pick(&chain).map_or(proxy, |i| chain[i].addr);
        prop_assert_eq!(p.client(proxy, &h), client);
        prop_assert_eq!(p.scheme(proxy, &h), protos.last().copied());
    }

    /// Arbitrary header text never panics, and from an untrusted socket
    /// is never believed.
    #[test]
    fn arbitrary_text_never_panics(
        values in prop::collection::vec("[ -~]{0,200}", 0..4),
        name in prop_oneof![Just("forwarded"), Just("x-forwarded-for"), Just("x-forwarded-proto")],
    ) {
        let p = proxies();
        let mut h = HeaderMap::new();
        for v in &values {
            h.append(name, HeaderValue::from_str(v).unwrap());
        }
        let _ = p.client(sa(PROXY), &h);
        let _ = p.scheme(sa(PROXY), &h);
        prop_assert_eq!(p.scheme(sa("192.0.2.1:1"), &h), None);
    }
}
