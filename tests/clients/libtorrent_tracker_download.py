"""python libtorrent downloads one .torrent from the peers its trackers give.

    libtorrent_tracker_download.py TORRENT SAVE SECONDS

The client listens on loopback (`127.0.0.1:0`), has no DHT, LSD, UPnP or
NAT-PMP, and allows several connections per address. It stops when it is
seeding or after SECONDS, and prints JSON: `done`, `seconds` (from the
moment the torrent was added), `downloaded` (payload bytes), `web_seeds`
(how many the torrent lists) and `alerts` (the last ten error and tracker
alerts).
"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import libtorrent as lt
source, save, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
ses = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                  "enable_upnp": False, "enable_natpmp": False,
                  "allow_multiple_connections_per_ip": True,
                  "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.tracker_notification})
atp = lt.add_torrent_params()
atp.ti = lt.torrent_info(source)
atp.save_path = save
started = time.time()
h = ses.add_torrent(atp)
done, deadline, alerts = False, started + seconds, []
while time.time() < deadline:
    for a in ses.pop_alerts():
        alerts.append(a.message())
    if h.status().is_seeding:
        done = True
        break
    time.sleep(0.05)
print(json.dumps({"done": done, "seconds": time.time() - started,
                  "downloaded": h.status().total_payload_download,
                  "web_seeds": len(atp.ti.web_seeds()), "alerts": alerts[-10:]}))
