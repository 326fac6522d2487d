import json, sys, warnings
warnings.simplefilter("ignore")
import libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
print(json.dumps({"info_hash": str(ti.info_hash()), "length": ti.total_size(), "name": ti.name(),
                  "web_seeds": [w["url"] for w in ti.web_seeds()]}))
