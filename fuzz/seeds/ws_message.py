#!/usr/bin/env python3
"""Seed inputs for the `ws_message` fuzz target, written into the directory
given as the only argument (scripts/fuzz-seeds passes fuzz/corpus/ws_message).

An input is a flags byte (which of four connections sends each message, and
whether connections close now and then), then JSON messages separated by NUL
bytes: announces with offers, an answer, stopped, scrapes, a refused
info-hash (first byte 0xff), and some broken ones. Deterministic.
"""

import json
import os
import sys


def b(byte):
    return chr(byte) * 20


def announce(h, p, left, offers=(), event="started"):
    return {
        "action": "announce", "info_hash": b(h), "peer_id": b(p), "left": left,
        "numwant": len(offers), "event": event,
        "offers": [{"offer": {"type": "offer", "sdp": "v=0"}, "offer_id": b(o)} for o in offers],
    }


def framed(flags, *messages):
    parts = [m if isinstance(m, bytes) else json.dumps(m).encode() for m in messages]
    return bytes([flags]) + b"\x00".join(parts)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    answer = {"action": "announce", "info_hash": b(1), "peer_id": b(2), "to_peer_id": b(3),
              "offer_id": b(9), "answer": {"type": "answer", "sdp": "v=0"}}
    seeds = {
        "swarm": framed(0b11100100, announce(1, 2, 0), announce(1, 3, 5, [9, 10]), answer,
                        announce(1, 4, 5, [11]), {"action": "scrape", "info_hash": [b(1)]},
                        announce(1, 3, 0, event="completed"), announce(1, 2, 0, event="stopped")),
        "refused": framed(0, announce(0xFF, 2, 0), {"action": "scrape", "info_hash": b(0xFF)}),
        "closing": framed(0x80, *[announce(h, 2, 1, [h]) for h in range(1, 12)]),
        "broken": framed(0x1B, b"not json", b"[]", b"{}", b'{"action":"connect"}',
                         json.dumps({"action": "announce", "info_hash": "\u20ac" * 20}).encode(),
                         b'{"action":' + b"[" * 300),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
