#!/usr/bin/env python3
"""Seed inputs for the `torrent` fuzz target, written into the directory
given as the only argument (scripts/fuzz-seeds passes fuzz/corpus/torrent).

Small v1, v2 and hybrid torrents (one file and several) with real SHA-1
pieces and SHA-256 merkle roots and piece layers, computed here from BEP 52
as written, and damaged copies of them. Deterministic, each under 4 KiB.
"""

import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decode import ben, data, pieces  # noqa: E402

BLOCK = 16384


def merkle(leaves, width):
    """The root over `leaves` padded with zero hashes to `width` leaves."""
    row = leaves + [bytes(32)] * (width - len(leaves))
    while len(row) > 1:
        row = [hashlib.sha256(row[i] + row[i + 1]).digest() for i in range(0, len(row), 2)]
    return row[0]


def pow2(n):
    return 1 << max(0, (n - 1).bit_length())


def v2_hashes(content, piece_length):
    """(pieces root, piece layer) of one file; the layer only for files
    larger than one piece."""
    blocks = [hashlib.sha256(content[i:i + BLOCK]).digest() for i in range(0, len(content), BLOCK)]
    per_piece = piece_length // BLOCK
    if len(content) <= piece_length:
        return merkle(blocks, pow2(len(blocks))), b""
    layer = [
        merkle(blocks[i:i + per_piece], per_piece) for i in range(0, len(blocks), per_piece)
    ]
    pad = merkle([], per_piece)
    root = merkle(layer + [pad] * (pow2(len(layer)) - len(layer)), pow2(len(layer)))
    return root, b"".join(layer)


def torrent(files, piece_length, version, name="set"):
    """A torrent of `files` ([(path, content)]; one file: named by `name`).
    The v1 file list follows the v2 file tree's order: sorted by path."""
    files = sorted(files)
    info = {"name": name, "piece length": piece_length}
    top = {}
    if version in ("v2", "hybrid"):
        tree, layers = {}, {}
        for path, content in files:
            node = tree
            for part in (path if len(files) > 1 else [name]):
                node = node.setdefault(part, {})
            entry = {"length": len(content)}
            if content:
                root, layer = v2_hashes(content, piece_length)
                entry["pieces root"] = root
                if layer:
                    layers[root] = layer
            node[""] = entry
        info["file tree"] = tree
        info["meta version"] = 2
        top["piece layers"] = layers
    if version in ("v1", "hybrid"):
        if len(files) == 1:
            info["length"] = len(files[0][1])
            joined = files[0][1]
        else:
            listed, joined = [], b""
            for i, (path, content) in enumerate(files):
                listed.append({"length": len(content), "path": path})
                joined += content
                tail = (-len(content)) % piece_length
                if version == "hybrid" and tail and i + 1 < len(files):
                    listed.append({"attr": "p", "length": tail, "path": [".pad", str(tail)]})
                    joined += bytes(tail)
            info["files"] = listed
        info["pieces"] = pieces(joined, piece_length)
    top["info"] = info
    top["announce"] = "http://tracker.example/announce"
    return ben(top)


def seeds():
    s = {}
    small = data(1, 1)
    two_pieces = data(BLOCK + 1, 2)
    for version in ("v1", "v2", "hybrid"):
        s[f"{version}-one-byte"] = torrent([(["a"], small)], BLOCK, version)
        s[f"{version}-two-pieces"] = torrent([(["a"], two_pieces)], BLOCK, version)
        s[f"{version}-one-piece-of-two-blocks"] = torrent(
            [(["a"], data(BLOCK + 5, 3))], 2 * BLOCK, version
        )
        s[f"{version}-files"] = torrent(
            [(["x", "a"], data(10, 4)), (["b"], data(BLOCK + 3, 5)), (["e"], b"")],
            BLOCK,
            version,
        )
    good = s["v2-two-pieces"]
    root, layer = v2_hashes(two_pieces, BLOCK)
    s["v2-layer-damaged"] = good.replace(layer, bytes(len(layer)))
    s["v2-layer-missing"] = good.replace(ben(root) + ben(layer), b"")
    s["v2-meta-version-3"] = good.replace(b"12:meta versioni2e", b"12:meta versioni3e")
    s["v2-bad-piece-length"] = good.replace(b"i16384e", b"i16385e")
    s["hybrid-length-disagrees"] = s["hybrid-two-pieces"].replace(
        b"6:lengthi%de" % len(two_pieces), b"6:lengthi%de" % (len(two_pieces) - 1), 1
    )
    s["v2-truncated"] = good[:-20]
    return s


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: torrent.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, doc in sorted(seeds().items()):
        assert len(doc) <= 4096, (name, len(doc))
        with open(os.path.join(out, "seed-" + name), "wb") as f:
            f.write(doc)


if __name__ == "__main__":
    main()
