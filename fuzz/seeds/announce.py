#!/usr/bin/env python3
"""Seed inputs for the `announce` fuzz target, written into the directory
given as the only argument (scripts/fuzz-seeds passes fuzz/corpus/announce).

Each input is one flags byte, then newline-separated queries, announced in
order a few seconds apart. Flags: bits 0-1 the endpoint seed (0 none, 1 IPv4,
2 IPv6, 3 at a requester's own address), bits 2-7 shift which address each
line comes from (and which are IPv6); 0x80 sends the lines to /scrape through
the HTTP adapter. Queries are what real clients send (libtorrent, Transmission,
aria2 shapes), every hostile form the parser names, and sequences that fill
the small tracker's swarm, peer and rate limits. Deterministic: the same
files every time.
"""

import os
import sys


def enc(b):
    return "".join("%%%02x" % c for c in b)


def hsh(n):
    return bytes([n]) * 20


def ann(h=1, p=b"-LT2010-abcdefghijkl", port=6881, left=0, extra=""):
    return "info_hash=%s&peer_id=%s&port=%d&uploaded=0&downloaded=0&left=%d%s" % (
        enc(hsh(h)), enc(p), port, left, extra)


LIBTORRENT = ann(extra="&corrupt=0&key=1a2b3c4d&event=started&numwant=200&compact=1&no_peer_id=1&supportcrypto=1&redundant=0")
TRANSMISSION = ("info_hash=%s&peer_id=-TR4050-0123456789ab&port=51413&uploaded=0&downloaded=0"
                "&left=1048576&numwant=80&key=7b3c1a2f&compact=1&supportcrypto=1&event=started" % enc(hsh(2)))
ARIA2 = ("info_hash=%s&peer_id=A2-1-37-0-abcdefghij&uploaded=0&downloaded=0&left=5&compact=1"
         "&key=abcdefgh&event=started&numwant=50&no_peer_id=1&port=6881&supportcrypto=1" % enc(hsh(3)))

HOSTILE = [
    ann().replace(enc(hsh(1)), enc(hsh(1)[:19])),
    ann().replace(enc(hsh(1)), enc(hsh(1) + b"x")),
    ann(port=0),
    ann(port=70000),
    ann(extra="&numwant=99999999999999999999"),
    "peer_id=%s&port=1&uploaded=0&downloaded=0&left=0" % enc(b"x" * 20),
    ann(extra="&info_hash=" + enc(hsh(9))),
    ann(extra="&port=1"),
    "info_hash=%zz" + ann()[70:],
    ann(extra="&key=%4"),
    ann(extra="&event=paused"),
    ann(extra="&compact=2"),
    ann().replace("uploaded=0", "uploaded=abc"),
    ann(extra="&pad=" + "x" * 600),
    "",
    "&&&=&==",
    "info_hash=%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff%ff&peer_id=aaaaaaaaaaaaaaaaaaaa&port=1&uploaded=0&downloaded=0&left=1",
]


def scrape(*hashes):
    return "&".join("info_hash=" + enc(hsh(h)) for h in hashes)


SEEDS = [
    (0, [LIBTORRENT]),
    (1, [TRANSMISSION, ARIA2]),
    (2, [LIBTORRENT, TRANSMISSION.replace("event=started", "event=completed"), ARIA2]),
    (3, [ann(p=bytes([65 + i]) * 20, left=i) for i in range(8)]),
    # Fill the swarm table (3) and a swarm (4 peers), then let time pass.
    (1, [ann(h=h) for h in range(1, 6)]),
    (5, [ann(p=bytes([65 + i]) * 20, port=7000 + i, left=1) for i in range(8)] + [""] * 6
        + [ann(p=b"Z" * 20, left=1)]),
    # Rate limit: one address announcing again and again.
    (0, [ann(extra="&compact=0")] * 10),
    (2, [ann(left=1, extra="&event=stopped"), ann(left=1), ann(left=1, extra="&event=stopped")]),
    (0x81, [scrape(1), scrape(1, 2, 3), scrape(1, 2, 3, 4), scrape(0xff), ""]),
    (0x01, [ann(), scrape(1)]),
] + [(i % 4, [q]) for i, q in enumerate(HOSTILE)]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for i, (flags, lines) in enumerate(SEEDS):
        with open(os.path.join(out, "seed-%03d" % i), "wb") as f:
            f.write(bytes([flags]) + "\n".join(lines).encode())


if __name__ == "__main__":
    main()
