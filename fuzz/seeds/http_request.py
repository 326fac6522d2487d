#!/usr/bin/env python3
"""Seed inputs for the `http_request` fuzz target, written into the directory
given as the only argument (scripts/fuzz-seeds passes fuzz/corpus/http_request).

Each input is one flags byte, then newline-separated fields: the path, the
query, the Host header, and `name: value` header lines. Flags: bits 0-1 the
method (0, 2: GET; 1: HEAD; 3: PUT), 4 virtual-hosted addressing (base domain
s3.example.com), 8 an authenticated requester, 0x10 a requester-pays bucket,
0x20 an absolute-form URI, 0x40 a `?` even with an empty query, 0x80 no Host
header. Deterministic: the same files every time.
"""

import os
import sys

GET, HEAD, PUT = 0, 1, 3
VHOST, AUTH, PAYS, ABSOLUTE, EMPTY_QUERY, NO_HOST = 4, 8, 0x10, 0x20, 0x40, 0x80

SEEDS = [
    (GET, "/demo/hello.txt", "torrent", "", []),
    (HEAD, "/demo/hello.txt", "torrent=", "", []),
    (GET, "/demo/a%20b+c%2Fd%C3%A9", "torrent&versionId=v%2B1", "", []),
    (GET, "/demo/caf%C3%A9/%E6%97%A5%F0%9F%A6%80", "torrent", "", []),
    (GET, "/demo/say%20%22hi%22%3B%5C", "torrent", "", []),
    (GET, "/demo/crlf%0D%0A%00", "torrent", "", []),
    (GET, "/demo/bad%zz", "torrent", "", []),
    (GET, "/demo/%FF%C3", "torrent", "", []),
    (GET, "/demo/private.txt", "torrent", "", []),
    (GET, "/demo/missing", "torrent", "", []),
    (GET, "/demo", "torrent", "", []),
    (GET, "/", "torrent", "", []),
    (GET, "/demo/k", "torrent&versionId=", "", []),
    (GET, "/demo/k", "versionId=a&torrent&versionId=b", "", []),
    (GET, "/Bad_Bucket/k", "torrent", "", []),
    (GET, "/demo/k", "", "", []),
    (PUT, "/demo/k", "torrent", "", []),
    (GET | VHOST, "/hello.txt", "torrent", "demo.s3.example.com:9000", []),
    (GET | VHOST, "/", "torrent", "demo.s3.example.com", []),
    (GET | VHOST | ABSOLUTE | NO_HOST, "/k", "torrent", "demo.s3.example.com", []),
    (GET | VHOST, "/demo/k", "torrent", "[::1]:9000", []),
    (GET | AUTH | PAYS, "/demo/k", "torrent", "", ["x-amz-request-payer: requester"]),
    (GET | PAYS, "/demo/k", "torrent", "", []),
    (GET | AUTH, "/demo/k", "torrent", "", ["x-amz-expected-bucket-owner: 111122223333"]),
    (GET | AUTH, "/demo/k", "torrent", "", ["x-amz-expected-bucket-owner: 12x"]),
    (GET, "/demo/k", "torrent", "", ['if-none-match: W/"x", *']),
    (GET | EMPTY_QUERY, "/demo/k", "", "", []),
]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for i, (flags, path, query, host, headers) in enumerate(SEEDS):
        data = bytes([flags]) + "\n".join([path, query, host, *headers]).encode()
        with open(os.path.join(out, "seed-%03d" % i), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
