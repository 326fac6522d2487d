import json, sys, warnings
warnings.simplefilter("ignore")
import libtorrent as lt
out = []
for uri in sys.argv[1:]:
    p = lt.parse_magnet_uri(uri)
    ih = p.info_hashes
    out.append({"has_v1": ih.has_v1(), "has_v2": ih.has_v2(), "v1": str(ih.v1),
                "v2": str(ih.v2), "name": p.name})
print(json.dumps(out))
