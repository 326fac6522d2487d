import json, sys, time, warnings
warnings.simplefilter("ignore")
import libtorrent as lt
torrent, save = sys.argv[1:3]
ses = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                  "enable_upnp": False, "enable_natpmp": False,
                  "alert_mask": lt.alert.category_t.error_notification})
ti = lt.torrent_info(torrent)
errors, done, deadline = [], False, time.time() + 120
if save != "-":
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = save
    h = ses.add_torrent(atp)
while save != "-" and time.time() < deadline:
    for a in ses.pop_alerts():
        errors.append(a.message())
    s = h.status()
    if s.is_seeding:
        done = True
        break
    time.sleep(0.1)
hashes = ti.info_hashes()
print(json.dumps({"done": done, "errors": errors[:10],
                  "v1": str(hashes.v1) if hashes.has_v1() else None,
                  "v2": str(hashes.v2) if hashes.has_v2() else None}))
