import json, os, sys, warnings
warnings.simplefilter("ignore")
import libtorrent as lt
piece = int(sys.argv[1])
out = []
for path in sys.argv[2:]:
    row = {}
    for name, flags in (("v2", lt.create_torrent.v2_only), ("hybrid", 0)):
        try:
            fs = lt.file_storage()
            lt.add_files(fs, path)
            ct = lt.create_torrent(fs, piece, flags=flags)
            lt.set_piece_hashes(ct, os.path.dirname(path))
            e = ct.generate()
        except Exception as ex:
            row[name] = {"error": str(ex)}
            continue
        info = e[b"info"]
        (fname, node), = info[b"file tree"].items()
        f = node[b""]
        ti = lt.torrent_info(lt.bencode(e))
        row[name] = {
            "file": fname.decode(),
            "length": f[b"length"],
            "pieces_root": f.get(b"pieces root", b"").hex(),
            "piece_layers": {k.hex(): v.hex() for k, v in e[b"piece layers"].items()},
            "v1": str(ti.info_hashes().v1) if ti.info_hashes().has_v1() else None,
            "v2": str(ti.info_hashes().v2),
            "bytes": lt.bencode(e).hex(),
        }
    out.append(row)
print(json.dumps(out))
