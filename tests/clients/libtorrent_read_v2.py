import json, sys, warnings
warnings.simplefilter("ignore")
import libtorrent as lt
out = []
for path in sys.argv[1:]:
    ti = lt.torrent_info(path)
    fs = ti.files()
    real = [i for i in range(fs.num_files()) if not fs.file_flags(i) & fs.flag_pad_file]
    ih = ti.info_hashes()
    out.append({
        "has_v1": ih.has_v1(),
        "has_v2": ih.has_v2(),
        "v1": str(ih.v1),
        "v2": str(ih.v2),
        "best": str(ti.info_hash()),
        "name": ti.name(),
        "length": sum(fs.file_size(i) for i in real),
        "piece_length": ti.piece_length(),
        "pieces": ti.num_pieces(),
        "files": len(real),
        "magnet": lt.make_magnet_uri(ti),
    })
print(json.dumps(out))
