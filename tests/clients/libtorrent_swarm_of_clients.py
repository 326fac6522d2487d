import json, os, sys, time, warnings
warnings.simplefilter("ignore")
import libtorrent as lt
source, save, count, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
sessions, handles = [], []
for i in range(count):
    s = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                    "enable_upnp": False, "enable_natpmp": False,
                    "allow_multiple_connections_per_ip": True,
                    "alert_mask": lt.alert.category_t.tracker_notification})
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(source)
    atp.save_path = os.path.join(save, str(i))
    sessions.append(s)
    handles.append(s.add_torrent(atp))
deadline = time.time() + seconds
while time.time() < deadline and not all(h.status().is_seeding for h in handles):
    time.sleep(0.1)
done = all(h.status().is_seeding for h in handles)
for s in sessions:
    s.pop_alerts()
for h in handles:
    h.force_reannounce()
replied, until = set(), time.time() + 5
while time.time() < until and len(replied) < count:
    for i, s in enumerate(sessions):
        for a in s.pop_alerts():
            if isinstance(a, lt.tracker_reply_alert):
                replied.add(i)
    time.sleep(0.1)
print(json.dumps({"done": done, "downloaded": [h.status().total_payload_download for h in handles],
                  "replied": len(replied)}))
