import json, sys, warnings
warnings.simplefilter("ignore")
import libtorrent as lt
out = []
for path in sys.argv[1:]:
    ti = lt.torrent_info(path)
    out.append({
        "info_hash": str(ti.info_hash()),
        "name": ti.name(),
        "length": ti.total_size(),
        "piece_length": ti.piece_length(),
        "pieces": ti.num_pieces(),
        "web_seeds": [w["url"] for w in ti.web_seeds()],
        "trackers": [t.url for t in ti.trackers()],
        "private": ti.priv(),
    })
print(json.dumps(out))
