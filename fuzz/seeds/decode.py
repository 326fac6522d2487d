#!/usr/bin/env python3
"""Seed inputs for the `decode` fuzz target, written into the directory given
as the only argument (scripts/fuzz-seeds passes fuzz/corpus/decode).

Canonical documents, every malformed form the strict decoder names, inputs
only the lenient decoder accepts, hostile lengths and nesting, and a few small
torrents built by hand with real SHA-1 piece hashes. Deterministic: the same
files every time. Each seed stays well under libFuzzer's default 4 KiB input
length, so the seeds do not raise it.
"""

import hashlib
import os
import sys


def ben(v):
    """Canonical bencode of ints, bytes/str, lists and dicts (keys sorted)."""
    if isinstance(v, bool):
        raise TypeError("bool")
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, (bytes, bytearray)):
        return b"%d:%s" % (len(v), bytes(v))
    if isinstance(v, list):
        return b"l" + b"".join(ben(x) for x in v) + b"e"
    if isinstance(v, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, x) for k, x in v.items())
        return b"d" + b"".join(ben(k) + ben(x) for k, x in items) + b"e"
    raise TypeError(type(v))


def ben_unsorted(pairs):
    """A dictionary with its keys in the given (possibly unsorted) order."""
    return b"d" + b"".join(ben(k) + v for k, v in pairs) + b"e"


def data(n, seed):
    """n deterministic pseudo-random bytes (xorshift64*)."""
    x = 0x9E3779B97F4A7C15 ^ seed
    out = bytearray()
    while len(out) < n:
        x ^= (x >> 12) & 0xFFFFFFFFFFFFFFFF
        x ^= (x << 25) & 0xFFFFFFFFFFFFFFFF
        x ^= (x >> 27) & 0xFFFFFFFFFFFFFFFF
        out += ((x * 0x2545F4914F6CDD1D) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")
    return bytes(out[:n])


def pieces(content, piece_length):
    return b"".join(
        hashlib.sha1(content[i : i + piece_length]).digest()
        for i in range(0, len(content), piece_length)
    )


def seeds():
    s = {}

    # Canonical documents (BEP 3's examples and edges).
    for name, doc in {
        "int-zero": b"i0e",
        "int-pos": b"i3e",
        "int-neg": b"i-3e",
        "int-max": b"i9223372036854775807e",
        "int-min": b"i-9223372036854775808e",
        "str-empty": b"0:",
        "str-spam": b"4:spam",
        "str-binary": b"4:\x00\xff\x80e",
        "list-empty": b"le",
        "list-spam-eggs": b"l4:spam4:eggse",
        "list-mixed": b"li1e0:lelei-1ed1:xleee",
        "dict-empty": b"de",
        "dict-cow-spam": b"d3:cow3:moo4:spam4:eggse",
        "dict-list": b"d4:spaml1:a1:bee",
        "dict-empty-key": b"d0:i1e1:a0:e",
        "dict-binary-keys": b"d1:\x00i0e1:\x7fi1e1:\xffi2ee",
        "dict-prefix-keys": b"d1:ai1e2:aai2e2:abi3ee",
        "nested-dicts": b"d1:ad1:bd1:cleeee",
    }.items():
        s["ok-" + name] = doc

    # Malformed: each error the strict decoder names, and then some.
    for name, doc in {
        "empty": b"",
        "e": b"e",
        "bad-token": b"x",
        "int-neg-zero": b"i-0e",
        "int-leading-zero": b"i03e",
        "int-neg-leading-zero": b"i-03e",
        "int-empty": b"ie",
        "int-minus-only": b"i-e",
        "int-plus": b"i+1e",
        "int-space": b"i 1e",
        "int-unterminated": b"i12",
        "int-overflow": b"i9223372036854775808e",
        "int-underflow": b"i-9223372036854775809e",
        "int-huge": b"i" + b"9" * 40 + b"e",
        "len-leading-zero": b"03:abc",
        "len-zero-zero": b"00:",
        "len-negative": b"-1:a",
        "len-no-colon": b"3abc",
        "len-past-end": b"4000000000:x",
        "len-u64-overflow": b"18446744073709551616:x",
        "len-huge": b"9" * 30 + b":x",
        "str-short": b"5:abc",
        "list-unterminated": b"l4:spam",
        "dict-unterminated": b"d3:cow3:moo",
        "dict-key-not-string": b"di1ei2ee",
        "dict-key-list": b"dlei1ee",
        "dict-missing-value": b"d1:ae",
        "dict-duplicate": b"d1:ai1e1:ai2ee",
        "dict-duplicate-unsorted": b"d1:bi0e1:ai1e1:ai2ee",
        "dict-duplicate-far": b"d1:bi0e1:ai1e1:ci3e1:bi2ee",
        "colon-only": b":",
    }.items():
        s["bad-" + name] = doc

    # Accepted by the lenient decoder only.
    s["lenient-unsorted"] = b"d1:bi1e1:ai2ee"
    s["lenient-unsorted-nested"] = b"d1:zd1:yi1e1:xi2ee1:ali3eee"
    s["lenient-trailing"] = b"i1ei2e"
    s["lenient-trailing-e"] = b"i1ee"
    s["lenient-trailing-garbage"] = b"d1:ai1ee\x00\xffjunk"

    # Nesting: at, just past and far past the default limit of 100.
    for depth in (99, 100, 101, 1000):
        s["deep-list-%d" % depth] = b"l" * depth + b"e" * depth
    s["deep-list-unterminated"] = b"l" * 1500
    s["deep-dict-100"] = b"d1:a" * 99 + b"de" + b"e" * 99
    s["deep-dict-101"] = b"d1:a" * 100 + b"de" + b"e" * 100
    s["deep-mixed"] = b"ld1:a" * 60 + b"i0e" + b"ee" * 60
    s["wide-list"] = b"l" + b"i0e" * 1000 + b"e"
    s["wide-dict"] = ben({("k%04d" % i): i for i in range(200)})

    # Small torrents built by hand, with real piece hashes.
    content = data(5 * 16384 + 123, 1)
    single = {
        "announce": "http://tracker.example/announce",
        "created by": "s3torrent fuzz-seeds",
        "creation date": 1700000000,
        "info": {
            "length": len(content),
            "name": "object.bin",
            "piece length": 16384,
            "pieces": pieces(content, 16384),
        },
        "url-list": ["https://bucket.s3.example/object.bin"],
    }
    s["torrent-single"] = ben(single)
    private = dict(single)
    private["info"] = dict(single["info"], private=1)
    s["torrent-private"] = ben(private)

    a, b = data(20000, 2), data(13000, 3)
    multi = {
        "announce": "udp://tracker.example:6969",
        "announce-list": [["udp://tracker.example:6969"], ["http://t2.example/a"]],
        "comment": "two files",
        "info": {
            "files": [
                {"length": len(a), "path": ["dir", "a.bin"]},
                {"length": len(b), "path": ["b.bin"]},
            ],
            "name": "bundle",
            "piece length": 16384,
            "pieces": pieces(a + b, 16384),
        },
    }
    s["torrent-multi"] = ben(multi)

    # The same torrent as some tools write it: keys out of order.
    info = ben_unsorted(
        [
            ("name", ben("object.bin")),
            ("piece length", ben(16384)),
            ("pieces", ben(pieces(content, 16384))),
            ("length", ben(len(content))),
        ]
    )
    s["torrent-unsorted"] = ben_unsorted(
        [("info", info), ("announce", ben("http://tracker.example/announce"))]
    )
    # And damaged: truncated, and with a bad piece length.
    s["torrent-truncated"] = s["torrent-single"][:-40]
    s["torrent-bad-int"] = s["torrent-single"].replace(b"i16384e", b"i016384e")
    return s


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: decode.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, doc in sorted(seeds().items()):
        assert len(doc) <= 4096, name
        with open(os.path.join(out, "seed-" + name), "wb") as f:
            f.write(doc)


if __name__ == "__main__":
    main()
