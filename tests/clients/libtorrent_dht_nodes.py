"""python libtorrent as a private Mainline DHT (BEP 5) on loopback, for tests.

    libtorrent_dht_nodes.py SECONDS IP...

Starts one libtorrent session per IP, listening on IP:0, with the DHT only
(no torrents, LSD, UPnP or NAT-PMP) and libtorrent's limits on nodes and
packets per IP off; each is bootstrapped from the others and never from
the public routers. Prints one JSON line, {"nodes": ["IP:PORT", ...]},
then one line for each announce_peer a node takes: {"announce": INFO_HASH
(hex), "peer": "IP:PORT" (the announced peer), "node": INDEX}. Every line
is flushed at once. Stops after SECONDS.
"""

import json
import sys
import time
import warnings

warnings.simplefilter("ignore")
import libtorrent as lt  # noqa: E402

seconds, ips = float(sys.argv[1]), sys.argv[2:]
limits_off = {
    "dht_restrict_routing_ips": False,
    "dht_restrict_search_ips": False,
    "dht_ignore_dark_internet": False,
    "dht_block_ratelimit": 100000,
    "dht_upload_rate_limit": 1000000,
}
sessions = []
for ip in ips:
    settings = {
        "listen_interfaces": ip + ":0",
        "enable_dht": False,
        "dht_bootstrap_nodes": "",
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "alert_mask": lt.alert.category_t.dht_notification,
    }
    settings.update(limits_off)
    sessions.append(lt.session(settings))
deadline = time.time() + 10
while any(s.listen_port() == 0 for s in sessions) and time.time() < deadline:
    time.sleep(0.05)
nodes = ["%s:%d" % (ip, s.listen_port()) for ip, s in zip(ips, sessions)]
for i, s in enumerate(sessions):
    others = ",".join(n for j, n in enumerate(nodes) if j != i)
    s.apply_settings({"dht_bootstrap_nodes": others, "enable_dht": True})
print(json.dumps({"nodes": nodes}), flush=True)

deadline = time.time() + seconds
while time.time() < deadline:
    for i, s in enumerate(sessions):
        for a in s.pop_alerts():
            if isinstance(a, lt.dht_announce_alert):
                print(json.dumps({
                    "announce": str(a.info_hash),
                    "peer": "%s:%d" % (a.ip, a.port),
                    "node": i,
                }), flush=True)
    time.sleep(0.05)
