//! Hostile and malformed input, as one table: every row is an input with the
//! outcome expected from the strict decoder and from the lenient one, each
//! written out by hand from the bencode spec (BEP 3) and the crate's rules.
//!
//! # The offset convention
//!
//! An error's offset is the index of the **first byte that makes the input
//! invalid**: the first byte after which no continuation could make it a valid
//! document in that mode. So:
//!
//! - `UnexpectedEof` points at `input.len()`;
//! - `InvalidToken`, `InvalidInteger`, `InvalidLength` at the offending byte;
//! - `EmptyInteger` at the `e` that closes `ie` / `i-e`;
//! - `MissingValue` at the `e` that follows a key;
//! - `TrailingBytes` at the first byte after the value;
//! - `DepthLimit` and `TokenLimit` at the first byte of the value that would
//!   go over the limit.
//!
//! Where a whole token is to blame, the offset is the token's first byte:
//!
//! - `IntegerLeadingZero`, `NegativeZero` and `IntegerOverflow` point at the
//!   number's first byte, just after the `i` (the `-` or the first digit);
//! - `LengthLeadingZero` and `StringPastEnd` point at the length's first digit;
//! - `KeyNotString`, `UnsortedKey` and `DuplicateKey` point at the offending
//!   key's first byte (for a duplicate, the later of the two occurrences).

use std::process::Command;
use std::time::{Duration, Instant};

use s3torrent_bencode::{Decoder, ErrorKind, Mode, decode};

/// What one decoder must make of a row's input.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// Accepted; the value's canonical encoding (written by hand) is this.
    Ok(Vec<u8>),
    /// Refused with this kind at this offset.
    Err(ErrorKind, usize),
}

use Expect::Err as E;

/// `Ok`, with the canonical encoding of the accepted value.
fn ok(canonical: &[u8]) -> Expect {
    Expect::Ok(canonical.to_vec())
}

/// The decoder limits a row runs with (the same for both modes).
#[derive(Debug, Clone, Copy)]
enum Limits {
    Default,
    Depth(usize),
    Tokens(usize),
}

struct Row {
    input: Vec<u8>,
    limits: Limits,
    strict: Expect,
    lenient: Expect,
}

/// A row with the default limits.
fn row(input: impl AsRef<[u8]>, strict: Expect, lenient: Expect) -> Row {
    Row {
        input: input.as_ref().to_vec(),
        limits: Limits::Default,
        strict,
        lenient,
    }
}

/// A row where both modes must agree.
fn both(input: impl AsRef<[u8]>, expect: Expect) -> Row {
    row(input, expect.clone(), expect)
}

/// A row with the given limits where both modes must agree.
fn limited(input: impl AsRef<[u8]>, limits: Limits, expect: Expect) -> Row {
    Row {
        limits,
        ..both(input, expect)
    }
}

/// Accepted as-is in both modes: canonical input re-encodes to itself.
fn canonical(input: &[u8]) -> Row {
    both(input, ok(input))
}

fn nested(open: &str, depth: usize, inner: &str, close: &str) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

fn table() -> Vec<Row> {
    use ErrorKind::*;
    vec![
        // ---- integers ----
        canonical(b"i0e"),
        canonical(b"i1e"),
        canonical(b"i-1e"),
        canonical(b"i42e"),
        canonical(b"i9223372036854775807e"),
        canonical(b"i-9223372036854775808e"),
        both(b"i-0e", E(NegativeZero, 1)),
        both(b"i03e", E(IntegerLeadingZero, 1)),
        both(b"i00e", E(IntegerLeadingZero, 1)),
        both(b"li03ee", E(IntegerLeadingZero, 2)),
        // A leading zero on a negative number is a leading zero: the value
        // is -3, not negative zero.
        both(b"i-03e", E(IntegerLeadingZero, 1)),
        both(b"i-00e", E(IntegerLeadingZero, 1)),
        both(b"i+3e", E(InvalidInteger(b'+'), 1)),
        both(b"ie", E(EmptyInteger, 1)),
        both(b"i-e", E(EmptyInteger, 2)),
        both(b"i--1e", E(InvalidInteger(b'-'), 2)),
        both(b"i1-e", E(InvalidInteger(b'-'), 2)),
        both(b"i 1e", E(InvalidInteger(b' '), 1)),
        both(b"i1.5e", E(InvalidInteger(b'.'), 2)),
        both(b"i12x", E(InvalidInteger(b'x'), 3)),
        both(b"i12", E(UnexpectedEof, 3)),
        both(b"i", E(UnexpectedEof, 1)),
        both(b"i-", E(UnexpectedEof, 2)),
        both(b"i9223372036854775808e", E(IntegerOverflow, 1)),
        both(b"i-9223372036854775809e", E(IntegerOverflow, 1)),
        both(b"i99999999999999999999999999e", E(IntegerOverflow, 1)),
        both(b"li1ei9223372036854775808ee", E(IntegerOverflow, 5)),
        // ---- byte strings ----
        canonical(b"0:"),
        canonical(b"3:abc"),
        canonical(b"10:0123456789"),
        canonical(b"4:\x00\xff\xfe\x80"),
        both(b"03:abc", E(LengthLeadingZero, 0)),
        both(b"00:", E(LengthLeadingZero, 0)),
        both(b"l01:ae", E(LengthLeadingZero, 1)),
        both(b"+3:abc", E(InvalidToken(b'+'), 0)),
        both(b"-1:a", E(InvalidToken(b'-'), 0)),
        both(b":abc", E(InvalidToken(b':'), 0)),
        both(b"3abc", E(InvalidLength(b'a'), 1)),
        both(b"l3abce", E(InvalidLength(b'a'), 2)),
        both(b"3", E(UnexpectedEof, 1)),
        both(
            b"4000000000:x",
            E(
                StringPastEnd {
                    declared: 4_000_000_000,
                    remaining: 1,
                },
                0,
            ),
        ),
        both(
            b"l4000000000:xe",
            E(
                StringPastEnd {
                    declared: 4_000_000_000,
                    remaining: 2,
                },
                1,
            ),
        ),
        // Longer than u64: the declared length saturates.
        both(
            b"18446744073709551616000:x",
            E(
                StringPastEnd {
                    declared: u64::MAX,
                    remaining: 1,
                },
                0,
            ),
        ),
        both(
            b"5:abc",
            E(
                StringPastEnd {
                    declared: 5,
                    remaining: 3,
                },
                0,
            ),
        ),
        both(
            b"3:",
            E(
                StringPastEnd {
                    declared: 3,
                    remaining: 0,
                },
                0,
            ),
        ),
        // ---- lists ----
        canonical(b"le"),
        canonical(b"llelee"),
        canonical(b"li1e3:abcleldeee"),
        both(b"l", E(UnexpectedEof, 1)),
        both(b"li1e", E(UnexpectedEof, 4)),
        both(b"lxe", E(InvalidToken(b'x'), 1)),
        both(b"l-1e", E(InvalidToken(b'-'), 1)),
        // ---- dictionaries ----
        canonical(b"de"),
        canonical(b"d1:ai1ee"),
        canonical(b"d0:i1ee"),
        canonical(b"d0:i1e1:ai2ee"),
        canonical(b"d1:ai1e2:aai2e1:bi3ee"),
        // Raw-byte order: 'B' (0x42) sorts before 'a' (0x61); 0x7f before 0x80.
        canonical(b"d1:Bi1e1:ai2ee"),
        canonical(b"d1:\x7fi1e1:\x80i2ee"),
        row(b"d1:bi1e1:ai2ee", E(UnsortedKey, 7), ok(b"d1:ai2e1:bi1ee")),
        row(b"d1:ai1e1:Bi2ee", E(UnsortedKey, 7), ok(b"d1:Bi2e1:ai1ee")),
        row(
            b"d1:\x80i1e1:\x7fi2ee",
            E(UnsortedKey, 7),
            ok(b"d1:\x7fi2e1:\x80i1ee"),
        ),
        row(
            b"d2:abi1e1:ai2ee",
            E(UnsortedKey, 8),
            ok(b"d1:ai2e2:abi1ee"),
        ),
        row(
            b"d1:ad1:yi1e1:xi2eee",
            E(UnsortedKey, 11),
            ok(b"d1:ad1:xi2e1:yi1eee"),
        ),
        // Strict mode refuses the unsorted key before reading further.
        row(b"d1:bi1e1:a", E(UnsortedKey, 7), E(UnexpectedEof, 10)),
        both(b"d1:ai1e1:ai2ee", E(DuplicateKey, 7)),
        both(b"d0:i1e0:i2ee", E(DuplicateKey, 6)),
        row(
            b"d1:bi1e1:ai2e1:bi3ee",
            E(UnsortedKey, 7),
            E(DuplicateKey, 13),
        ),
        row(
            b"d1:ci1e1:bi1e1:ai1e1:bi1ee",
            E(UnsortedKey, 7),
            E(DuplicateKey, 19),
        ),
        // The duplicate is the first byte that makes these invalid, whatever follows.
        row(
            b"d1:bi1e1:ai2e1:bi3e",
            E(UnsortedKey, 7),
            E(DuplicateKey, 13),
        ),
        row(
            b"d1:bi1e1:ai2e1:bi-0ee",
            E(UnsortedKey, 7),
            E(DuplicateKey, 13),
        ),
        both(b"di1ei2ee", E(KeyNotString, 1)),
        both(b"dlei1ee", E(KeyNotString, 1)),
        both(b"d1:ai1ei2ei3ee", E(KeyNotString, 7)),
        both(b"d1:ae", E(MissingValue, 4)),
        both(b"d1:ai1e1:be", E(MissingValue, 10)),
        both(b"d", E(UnexpectedEof, 1)),
        both(b"d1:a", E(UnexpectedEof, 4)),
        both(b"d1:ai1e", E(UnexpectedEof, 7)),
        both(
            b"d3:ab",
            E(
                StringPastEnd {
                    declared: 3,
                    remaining: 2,
                },
                1,
            ),
        ),
        // ---- the top level ----
        both(b"", E(UnexpectedEof, 0)),
        both(b"e", E(InvalidToken(b'e'), 0)),
        both(b"x", E(InvalidToken(b'x'), 0)),
        both(b" i1e", E(InvalidToken(b' '), 0)),
        row(b"i1ei2e", E(TrailingBytes, 3), ok(b"i1e")),
        row(b"lee", E(TrailingBytes, 2), ok(b"le")),
        row(b"3:abcd", E(TrailingBytes, 5), ok(b"3:abc")),
        row(b"dei1e", E(TrailingBytes, 2), ok(b"de")),
        row(b"i1e\n", E(TrailingBytes, 3), ok(b"i1e")),
        // Lenient mode does not look past the value, even at garbage.
        row(b"i1exyz", E(TrailingBytes, 3), ok(b"i1e")),
        // ---- nesting (default limit: 100) ----
        both("l".repeat(200_000), E(DepthLimit(100), 100)),
        both("d1:a".repeat(200_000), E(DepthLimit(100), 400)),
        canonical(nested("l", 100, "", "e").as_bytes()),
        both(nested("l", 101, "", "e"), E(DepthLimit(100), 100)),
        // ---- nesting, with_max_depth ----
        limited(b"i1e", Limits::Depth(0), ok(b"i1e")),
        limited(b"4:spam", Limits::Depth(0), ok(b"4:spam")),
        limited(b"le", Limits::Depth(0), E(DepthLimit(0), 0)),
        limited(b"de", Limits::Depth(0), E(DepthLimit(0), 0)),
        limited(b"llleee", Limits::Depth(3), ok(b"llleee")),
        limited(b"lllleeee", Limits::Depth(3), E(DepthLimit(3), 3)),
        limited(
            b"d1:ad1:ad1:ai1eeee",
            Limits::Depth(3),
            ok(b"d1:ad1:ad1:ai1eeee"),
        ),
        limited(
            b"d1:ad1:ad1:ad1:ai1eeeee",
            Limits::Depth(3),
            E(DepthLimit(3), 12),
        ),
        limited(b"lli1eeli2eee", Limits::Depth(2), ok(b"lli1eeli2eee")),
        limited(b"lli1eelleee", Limits::Depth(2), E(DepthLimit(2), 7)),
        // The limit is capped at Decoder::MAX_DEPTH_CAP (256).
        limited(
            nested("l", 256, "i1e", "e"),
            Limits::Depth(5000),
            ok(nested("l", 256, "i1e", "e").as_bytes()),
        ),
        limited(
            nested("l", 1025, "", "e"),
            Limits::Depth(5000),
            E(DepthLimit(256), 256),
        ),
        limited(
            nested("d0:", 256, "0:", "e"),
            Limits::Depth(usize::MAX),
            ok(nested("d0:", 256, "0:", "e").as_bytes()),
        ),
        // ---- with_max_tokens (integers, strings, lists, dicts and keys count) ----
        limited(b"i1e", Limits::Tokens(0), E(TokenLimit(0), 0)),
        limited(b"0:", Limits::Tokens(1), ok(b"0:")),
        limited(b"le", Limits::Tokens(1), ok(b"le")),
        limited(b"li1ee", Limits::Tokens(1), E(TokenLimit(1), 1)),
        limited(b"li1ei2ee", Limits::Tokens(3), ok(b"li1ei2ee")),
        limited(b"li1ei2ei3ee", Limits::Tokens(3), E(TokenLimit(3), 7)),
        limited(b"d1:ai1ee", Limits::Tokens(3), ok(b"d1:ai1ee")),
        limited(b"d1:ai1e1:bi2ee", Limits::Tokens(3), E(TokenLimit(3), 7)),
        limited(b"d1:ai1e1:bi2ee", Limits::Tokens(4), E(TokenLimit(4), 10)),
        limited(b"d1:ai1e1:bi2ee", Limits::Tokens(5), ok(b"d1:ai1e1:bi2ee")),
    ]
}

fn decoder(mode: Mode, limits: Limits) -> Decoder {
    let d = Decoder::strict().with_mode(mode);
    match limits {
        Limits::Default => d,
        Limits::Depth(n) => d.with_max_depth(n),
        Limits::Tokens(n) => d.with_max_tokens(n),
    }
}

/// What the decoder made of `input`, in the table's terms.
fn outcome(decoder: &Decoder, input: &[u8]) -> Expect {
    match decoder.decode(input) {
        Ok(v) => Expect::Ok(v.to_vec()),
        Err(e) => {
            let offset = e.offset().expect("a decoding error has an offset");
            Expect::Err(e.kind().clone(), offset)
        }
    }
}

fn shown(input: &[u8]) -> String {
    if input.len() > 60 {
        format!("{}... ({} bytes)", input[..60].escape_ascii(), input.len())
    } else {
        input.escape_ascii().to_string()
    }
}

/// Runs `f` on a thread with a large stack, so that a failure in a row shows
/// as that row's assertion rather than a stack overflow. The depth cap itself
/// is checked on an ordinary 2 MiB thread in `the_depth_cap_fits_a_default_thread_stack`.
fn on_big_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn table_of_hostile_inputs() {
    on_big_stack(run_table);
}

fn run_table() {
    let mut failures = Vec::new();
    let rows = table();
    for row in &rows {
        for (mode, expected) in [(Mode::Strict, &row.strict), (Mode::Lenient, &row.lenient)] {
            let got = outcome(&decoder(mode, row.limits), &row.input);
            if &got != expected {
                failures.push(format!(
                    "{:?} {:?} `{}`:\n    expected {expected:?}\n    got      {got:?}",
                    mode,
                    row.limits,
                    shown(&row.input)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// Whatever the strict decoder accepts is canonical, so it re-encodes to the
/// input itself; and an error's offset never lies past the input.
#[test]
fn table_invariants() {
    for row in table() {
        if let Expect::Ok(canonical) = &row.strict {
            assert_eq!(canonical, &row.input, "strict Ok rows must be canonical");
        }
        for expected in [&row.strict, &row.lenient] {
            if let Expect::Err(_, offset) = expected {
                assert!(*offset <= row.input.len());
            }
        }
    }
}

#[test]
fn extreme_integers_decode_to_their_values() {
    let min = decode(b"i-9223372036854775808e").unwrap();
    assert_eq!(min.as_int(), Some(i64::MIN));
    let max = decode(b"i9223372036854775807e").unwrap();
    assert_eq!(max.as_int(), Some(i64::MAX));
    assert_eq!(decode(b"i-1e").unwrap().as_int(), Some(-1));
    assert_eq!(decode(b"i0e").unwrap().as_int(), Some(0));
}

#[test]
fn error_messages_name_the_offset() {
    let e = decode(b"i12x").unwrap_err();
    assert_eq!(
        e.to_string(),
        "unexpected byte 'x' inside an integer at byte 3"
    );
    let e = decode(b"4000000000:x").unwrap_err();
    assert_eq!(
        e.to_string(),
        "string length 4000000000 runs past the end of the input (1 bytes remain) at byte 0"
    );
    let e = decode(b"\x01").unwrap_err();
    assert_eq!(
        e.to_string(),
        "unexpected byte 0x01 where a value should start at byte 0"
    );
}

#[test]
fn decode_prefix_reports_where_the_value_ends() {
    for mode in [Mode::Strict, Mode::Lenient] {
        let d = Decoder::strict().with_mode(mode);
        let (v, end) = d.decode_prefix(b"li1eei2e").unwrap();
        assert_eq!((v.to_vec(), end), (b"li1ee".to_vec(), 5));
        let (v, end) = d.decode_prefix(b"3:abcxyz").unwrap();
        assert_eq!((v.as_bytes(), end), (Some(&b"abc"[..]), 5));
        let e = d.decode_prefix(b"li1e").unwrap_err();
        assert_eq!((e.kind(), e.offset()), (&ErrorKind::UnexpectedEof, Some(4)));
    }
}

#[test]
fn limits_are_reported_and_capped() {
    let d = Decoder::strict();
    assert_eq!(d.mode(), Mode::Strict);
    assert_eq!(d.max_depth(), 100);
    assert_eq!(d.max_tokens(), 4_000_000);
    assert_eq!(Decoder::lenient().mode(), Mode::Lenient);
    assert_eq!(Decoder::default(), Decoder::strict());
    assert_eq!(d.with_max_depth(7).max_depth(), 7);
    assert_eq!(d.with_max_depth(256).max_depth(), 256);
    assert_eq!(d.with_max_depth(257).max_depth(), 256);
    assert_eq!(d.with_max_depth(usize::MAX).max_depth(), 256);
    assert_eq!(d.with_max_tokens(9).max_tokens(), 9);
}

/// The default token limit holds on an input of many small values: a flat
/// list of 4,000,000 `i0e` is accepted (4,000,001 values with the list is
/// one too many).
#[test]
fn default_token_limit() {
    let mut input = Vec::with_capacity(2 + 3 * 4_000_000);
    input.push(b'l');
    for _ in 0..3_999_999 {
        input.extend_from_slice(b"i0e");
    }
    input.push(b'e');
    assert_eq!(
        decode(&input).unwrap().as_list().map(<[_]>::len),
        Some(3_999_999)
    );

    input.pop();
    input.extend_from_slice(b"i0ee");
    let e = decode(&input).unwrap_err();
    // The list is value 1, the n-th integer value n + 1: the 4,000,000th
    // integer starts at 1 + 3 * 3,999,999.
    assert_eq!(
        (e.kind(), e.offset()),
        (&ErrorKind::TokenLimit(4_000_000), Some(1 + 3 * 3_999_999))
    );
}

/// A declared length far beyond the input costs nothing: refusing it a
/// hundred thousand times is quick.
#[test]
fn huge_declared_lengths_are_instant() {
    let inputs: [&[u8]; 3] = [
        b"4000000000:x",
        b"18446744073709551616000:x",
        b"d1:a4000000000:xe",
    ];
    let start = Instant::now();
    for _ in 0..100_000 {
        for input in inputs {
            let e = decode(input).unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::StringPastEnd { .. }));
        }
    }
    // Some microseconds each even in debug builds on a loaded machine; one
    // 4 GB allocation (zeroed or copied into) per decode would take hours.
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

/// A declared length far beyond the input allocates nothing for it. Without
/// `unsafe` a test cannot install a counting allocator, so this re-runs itself
/// in a child process whose address space is limited to 1 GiB (`ulimit -v`),
/// checks that the limit bites (reserving 4 GB fails there), then decodes the
/// hostile inputs: a decoder that reserved the declared length would abort.
#[cfg(target_os = "linux")]
#[test]
fn huge_declared_lengths_allocate_nothing() {
    const CHILD: &str = "S3TORRENT_BENCODE_HOSTILE_CHILD";
    const NAME: &str = "hostile::huge_declared_lengths_allocate_nothing";
    if std::env::var_os(CHILD).is_some() {
        let mut probe: Vec<u8> = Vec::new();
        assert!(
            probe.try_reserve(4_000_000_000).is_err(),
            "the address-space limit is not in force"
        );
        for (input, declared) in [
            (&b"4000000000:x"[..], 4_000_000_000),
            (&b"l4000000000:xe"[..], 4_000_000_000),
            (&b"18446744073709551616000:x"[..], u64::MAX),
        ] {
            for d in [Decoder::strict(), Decoder::lenient()] {
                let e = d.decode(input).unwrap_err();
                match e.kind() {
                    ErrorKind::StringPastEnd { declared: got, .. } => assert_eq!(*got, declared),
                    other => panic!("{other:?}"),
                }
            }
        }
        println!("child checks passed");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1048576 && exec \"$0\" --exact \"$1\" --nocapture --test-threads 1")
        .arg(&exe)
        .arg(NAME)
        .env(CHILD, "1")
        .output()
        .expect("run sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("child checks passed"),
        "child failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Deep nesting is refused at the default limit without recursing past it,
/// whatever the input's length: 200,000 levels, on a thread with Rust's
/// default 2 MiB stack.
#[test]
fn deep_nesting_on_a_default_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            for open in ["l", "d1:a", "d0:"] {
                let input = open.repeat(200_000);
                for d in [Decoder::strict(), Decoder::lenient()] {
                    let e = d.decode(input.as_bytes()).unwrap_err();
                    assert_eq!(
                        (e.kind(), e.offset()),
                        (&ErrorKind::DepthLimit(100), Some(100 * open.len()))
                    );
                }
            }
        })
        .unwrap();
    handle.join().unwrap();
}

/// The deepest value the cap allows can be decoded, encoded, compared,
/// cloned and dropped (on a big stack; see [`on_big_stack`]).
#[test]
fn deepest_allowed_value_is_usable() {
    on_big_stack(|| {
        for (open, inner) in [("l", "i7e"), ("d0:", "0:"), ("d1:a", "i1e")] {
            let input = nested(open, 256, inner, "e");
            let d = Decoder::strict().with_max_depth(Decoder::MAX_DEPTH_CAP);
            let v = d.decode(input.as_bytes()).unwrap();
            assert_eq!(v.to_vec(), input.as_bytes());
            let copy = v.to_owned_value();
            assert_eq!(copy, v.to_owned_value());
            assert_eq!(copy.to_vec(), input.as_bytes());
            let e = d
                .decode(nested(open, 1025, inner, "e").as_bytes())
                .unwrap_err();
            assert_eq!(
                (e.kind(), e.offset()),
                (&ErrorKind::DepthLimit(256), Some(256 * open.len()))
            );
        }
    });
}

/// `Decoder::MAX_DEPTH_CAP` promises that values nested that deep can be
/// decoded, encoded and dropped on a thread with Rust's default 2 MiB stack.
#[test]
fn the_depth_cap_fits_a_default_thread_stack() {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let cap = Decoder::MAX_DEPTH_CAP;
            for (open, inner) in [("l", "i1e"), ("d0:", "0:")] {
                let input = format!("{}{inner}{}", open.repeat(cap), "e".repeat(cap));
                let d = Decoder::strict().with_max_depth(cap);
                let value = d.decode(input.as_bytes()).expect("at the cap");
                assert_eq!(value.to_vec(), input.as_bytes());
                let owned = d
                    .decode_bytes(&bytes::Bytes::from(input.clone()))
                    .expect("owned");
                drop(owned);
                drop(value);
            }
        })
        .unwrap()
        .join()
        .expect("no stack overflow at the depth cap");
}

/// An unsorted, leniently decoded dictionary answers every lookup like a
/// sorted one (against a model: the same keys in a `BTreeMap`), keeps its
/// stored order, and stays consistent through `remove` and `insert`.
#[test]
fn unsorted_lenient_dictionaries_look_up_like_sorted_ones() {
    use std::collections::BTreeMap;

    use s3torrent_bencode::Decoder;

    let n = 2_000u32;
    // Keys in a scrambled order: i * 7919 mod n visits every i once.
    let order: Vec<u32> = (0..n).map(|i| i * 7919 % n).collect();
    let mut input = b"d".to_vec();
    let mut model = BTreeMap::new();
    for &i in &order {
        let key = format!("k{i}");
        input.extend_from_slice(format!("{}:{key}i{i}e", key.len()).as_bytes());
        model.insert(key.into_bytes(), i64::from(i));
    }
    input.push(b'e');
    let value = Decoder::lenient().decode(&input).unwrap();
    let mut dict = value.as_dict().unwrap().clone();
    assert!(!dict.is_sorted());
    for (k, v) in &model {
        assert_eq!(dict.get(k).and_then(|v| v.as_int()), Some(*v));
    }
    assert!(dict.get("k").is_none() && dict.get("zz").is_none());
    // Stored order is the input's; sorted_entries is the model's.
    let stored: Vec<&[u8]> = dict.iter().map(|(k, _)| *k).collect();
    let first = format!("k{}", order[0]);
    assert_eq!(stored[0], first.as_bytes());
    let sorted: Vec<&[u8]> = dict.sorted_entries().into_iter().map(|(k, _)| *k).collect();
    let want: Vec<&[u8]> = model.keys().map(Vec::as_slice).collect();
    assert_eq!(sorted, want);
    // Removing keeps every other lookup right.
    for i in (0..n).step_by(3) {
        let key = format!("k{i}");
        assert_eq!(
            dict.remove(key.as_bytes()).and_then(|v| v.as_int()),
            Some(i64::from(i))
        );
        model.remove(key.as_bytes());
    }
    assert_eq!(dict.len(), model.len());
    for (k, v) in &model {
        assert_eq!(dict.get(k).and_then(|v| v.as_int()), Some(*v), "{k:?}");
    }
    // Inserting sorts it.
    dict.insert(b"a".as_slice(), s3torrent_bencode::Value::int(-1));
    assert!(dict.is_sorted());
    assert_eq!(dict.get("a").and_then(|v| v.as_int()), Some(-1));
    assert_eq!(dict.len(), model.len() + 1);
}
