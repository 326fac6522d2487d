#!/usr/bin/env python3
"""Seed inputs for the `peer_message` fuzz target, written into the directory
given as the only argument (scripts/fuzz-seeds passes fuzz/corpus/peer_message).

An input is a setup byte (bit 0: raw stream with its own handshake, bit 1:
BEP 6 + BEP 10 peer, bit 2: super-seeding, bit 3: piece 2 changed), a chunk
size byte, then the peer's stream. The target's torrent is 5 pieces of 16 KiB
plus 77 bytes; its info-hash is not known here, so raw streams carry a
handshake for some other hash (rejected) or a broken one. Deterministic.
"""

import os
import sys


def msg(mid, payload=b""):
    body = bytes([mid]) + payload
    return len(body).to_bytes(4, "big") + body


def u32(n):
    return n.to_bytes(4, "big")


def request(index, begin, length, mid=6):
    return msg(mid, u32(index) + u32(begin) + u32(length))


def ext(eid, payload):
    return msg(20, bytes([eid]) + payload)


def handshake(reserved=b"\0\0\0\0\0\x10\0\x04", info_hash=b"\xab" * 20):
    return b"\x13BitTorrent protocol" + reserved + info_hash + b"-XX0001-peerpeerpeer"


def seeds():
    interested = msg(2)
    everything = b"".join(
        request(i, b, 16384) for i in range(5) for b in (0,)
    ) + request(5, 0, 77)
    hash_request = msg(21, b"\x07" * 32 + u32(0) + u32(0) + u32(2) + u32(0))
    s = {
        "download-plain": bytes([0, 255]) + interested + everything,
        "download-fast": bytes([2, 40]) + interested + everything,
        "download-changed": bytes([10, 7]) + interested + request(1, 0, 16384) + request(2, 0, 16384),
        "super-seed": bytes([6, 13]) + interested + msg(4, u32(3)) + request(0, 0, 16384),
        "metadata": bytes([2, 9])
        + ext(0, b"d1:md11:ut_metadatai3eee")
        + ext(1, b"d8:msg_typei0e5:piecei0ee")
        + ext(1, b"d8:msg_typei0e5:piecei9ee"),
        "cancel-duplicate": bytes([2, 1])
        + interested
        + request(0, 0, 16384)
        + request(0, 0, 16384)
        + request(0, 0, 16384, mid=8),
        "bitfield-have": bytes([0, 3]) + msg(5, b"\xf8") + msg(4, u32(1)) + msg(14) + msg(15),
        "hash-request": bytes([2, 60]) + hash_request + msg(9, b"\x1a\xe1") + msg(99, b"xyz"),
        "hostile-length": bytes([2, 4]) + b"\xff\xff\xff\xff",
        "hostile-request": bytes([2, 17]) + interested + request(0, 0, 0) + request(9, 0, 16384),
        "keepalives": bytes([0, 0]) + b"\0\0\0\0" * 8,
        "raw-unknown-hash": bytes([1, 20]) + handshake() + interested,
        "raw-bad-protocol": bytes([1, 5]) + handshake().replace(b"Bit", b"Bot"),
        "raw-http": bytes([1, 255]) + b"GET /announce HTTP/1.1\r\n\r\n",
    }
    return s


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: peer_message.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, doc in sorted(seeds().items()):
        assert len(doc) <= 4096, name
        with open(os.path.join(out, "seed-" + name), "wb") as f:
            f.write(doc)


if __name__ == "__main__":
    main()
