#!/usr/bin/env python3
"""Seed inputs for the `tracker_answer` fuzz target, written into the
directory given as the only argument (scripts/fuzz-seeds passes
fuzz/corpus/tracker_answer).

An input is a choice byte (low two bits: 0 an HTTP announce's bencoded
answer, 1 a UDP connect answer, 2 a UDP announce answer over IPv4, 3 over
IPv6; the other six bits the transaction id's low byte), then the answer:
opentracker's, the BEPs' forms, refusals and broken ones. Deterministic.
"""

import os
import sys


def u32(n):
    return n.to_bytes(4, "big")


def tid(choice):
    return u32((choice >> 2) | 0x01020300)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    opentracker = (b"d8:completei2e10:downloadedi0e10:incompletei1e8:intervali1906e"
                   b"12:min intervali953e5:peers18:\x7f\x00\x00\x01\x1b\x5a\x7f\x00\x00\x01\x1b\x59"
                   b"\x7f\x00\x00\x01\x1b\x58e")
    dict_form = (b"d8:intervali60e5:peersld2:ip9:192.0.2.77:peer id20:-XX0001-aaaaaaaaaaaa"
                 b"4:porti6881eed2:ip11:2001:db8::14:porti51413eee6:peers618:"
                 + bytes(15) + b"\x02\x1a\xe1" + b"10:tracker id3:abc15:warning message4:slowe")
    refusal = b"d14:failure reason63:Requested download is not authorized for use with this tracker.e"
    c = 5 << 2
    seeds = {
        "http_opentracker": bytes([0]) + opentracker,
        "http_dict": bytes([0]) + dict_form,
        "http_refusal": bytes([0]) + refusal,
        "http_broken": bytes([0]) + b"d8:intervali1e5:peers5:abcdee",
        "udp_connect": bytes([1 | c]) + u32(0) + tid(1 | c) + bytes(range(1, 9)),
        "udp_announce_v4": bytes([2 | c]) + u32(1) + tid(2 | c) + u32(1800) + u32(3) + u32(2)
        + bytes([127, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0, 80]),
        "udp_announce_v6": bytes([3 | c]) + u32(1) + tid(3 | c) + u32(1800) + u32(0) + u32(1)
        + bytes(15) + b"\x01\x1a\xe1",
        "udp_error": bytes([2 | c]) + u32(3) + tid(2 | c) + b"not whitelisted",
        "udp_opentracker_short": bytes([2 | c]) + u32(1) + tid(2 | c),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
