#!/usr/bin/env python3
"""Seed inputs for the `udp_packet` fuzz target, written into the directory
given as the only argument (scripts/fuzz-seeds passes fuzz/corpus/udp_packet).

An input is a flags byte (bit 0: write a valid connection id over announce
and scrape packets; the other bits choose senders, IPv4 or IPv6), then
packets, each a length byte and that many bytes (BEP 15: connect, announce,
scrape, and some broken ones). Deterministic.
"""

import os
import sys

CONNECT = (0x41727101980).to_bytes(8, "big") + bytes(4) + b"\x01\x02\x03\x04"


def u32(n):
    return n.to_bytes(4, "big")


def announce(h, p, left, event, port, num_want=0xFFFFFFFF):
    return (
        bytes(8) + u32(1) + u32(9) + bytes([h]) * 20 + bytes([p]) * 20
        + bytes(8) + left.to_bytes(8, "big") + bytes(8)
        + u32(event) + bytes(4) + u32(0xAABBCCDD) + u32(num_want) + port.to_bytes(2, "big")
    )


def scrape(*hashes):
    return bytes(8) + u32(2) + u32(7) + b"".join(bytes([h]) * 20 for h in hashes)


def framed(flags, *packets):
    out = bytes([flags])
    for p in packets:
        assert 0 < len(p) < 256
        out += bytes([len(p)]) + p
    return out


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = {
        "connect": framed(0, CONNECT),
        "swarm_v4": framed(1, CONNECT, announce(1, 2, 0, 2, 6881), announce(1, 3, 100, 2, 6882),
                           scrape(1, 2, 1), announce(1, 3, 0, 1, 6882), announce(1, 2, 0, 3, 6881)),
        "swarm_v6": framed(0xFF, CONNECT, announce(1, 2, 0, 2, 6881), announce(1, 3, 5, 0, 6882, 2),
                           scrape(1)),
        "refused": framed(1, announce(0xFF, 2, 0, 2, 6881), scrape(0xFF, 1)),
        "forged": framed(0, announce(1, 2, 0, 2, 6881), scrape(1)),
        "broken": framed(1, b"hello", CONNECT[:15], CONNECT + b"\x00", announce(1, 2, 0, 9, 6881),
                         announce(1, 2, 0, 2, 0), scrape(1, 2, 3, 4, 5, 6), scrape()[:16] + b"\x01" * 7),
        "oversized": bytes([1, 0]) + scrape(1) + bytes(1600),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
