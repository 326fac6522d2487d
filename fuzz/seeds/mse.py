#!/usr/bin/env python3
"""Seed inputs for the `mse` fuzz target, written into the directory given as
the only argument (scripts/fuzz-seeds passes fuzz/corpus/mse).

An input is a setup byte, then (bit 6 set: a raw stream) a chunk size and the
stream, or (bit 6 clear: our initiator against our receiver) the two pad
lengths halved and tamper triples (offset high, offset low, xor). Seeds: every
duel setup untampered, a few with a flipped byte in each stage, and raw
streams (a plain handshake, a key of zeros, garbage). Deterministic.
"""

import os
import sys


def seeds():
    for setup in range(0x40):
        yield "duel-%02x" % setup, bytes([setup, 0, 0])
        yield "duel-%02x-pads" % setup, bytes([setup, 255, 17])
    # Flip a byte of the key, of the sync, of VC and of the select or provide.
    for setup in (0x10, 0x30):
        for offset in (0, 95, 100, 120, 130, 140):
            yield "tamper-%02x-%d" % (setup, offset), bytes([setup, 0, 0]) + offset.to_bytes(2, "big") + b"\x01"
    hello = b"\x13BitTorrent protocol" + bytes(48)
    yield "raw-plain", bytes([0x40, 68]) + hello
    yield "raw-plain-chunked", bytes([0x40, 1]) + hello
    yield "raw-require-plain", bytes([0x41, 68]) + hello
    yield "raw-zero-key", bytes([0x40, 96]) + bytes(96)
    yield "raw-garbage", bytes([0x40, 7]) + bytes(range(256)) * 3
    yield "raw-initiator", bytes([0xc0, 50]) + bytes(range(200))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
