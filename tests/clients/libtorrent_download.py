"""python libtorrent downloads one torrent and prints what happened as JSON.

    libtorrent_download.py SOURCE SAVE SECONDS LISTEN ENCRYPTION [DHT_NODES [OUTGOING]]

SOURCE is a .torrent file or a magnet link (`magnet:...`, metadata through
ut_metadata). The client listens on LISTEN (`127.0.0.1:0`, `[::1]:0`), has
no LSD, UPnP or NAT-PMP, allows several connections per address, and finds
peers through the torrent's trackers; with DHT_NODES (`IP:PORT,IP:PORT`, a
private DHT's nodes: never the public routers) through the Mainline DHT
too, bootstrapped from those nodes only, with libtorrent's limits on nodes
and packets per IP off (the nodes share loopback); without it (or with
it empty), no DHT. With OUTGOING (an address, `127.0.0.4`) it binds its
outgoing peer connections there (with LISTEN on the same address,
everything it sends comes from there, its announces included) and dials
peers over TCP only (no uTP attempt first, which a TCP-only peer answers
only by a timeout). ENCRYPTION is `default`
(libtorrent's: encryption enabled, plain allowed), `forced` (RC4 only, both
ways) or `disabled`. It stops when the download is complete or after
SECONDS, and prints: done, payload bytes downloaded, whether it had the
metadata, the torrent's name, its trackers, and the first alerts.
"""

import json
import sys
import time
import warnings

warnings.simplefilter("ignore")
import libtorrent as lt  # noqa: E402

source, save, seconds, listen, encryption = sys.argv[1:6]
dht_nodes = sys.argv[6] if len(sys.argv) > 6 else ""
outgoing = sys.argv[7] if len(sys.argv) > 7 else ""
settings = {
    "listen_interfaces": listen,
    "enable_dht": False,
    # Never the public routers, even were the DHT turned on.
    "dht_bootstrap_nodes": dht_nodes,
    "enable_lsd": False,
    "enable_upnp": False,
    "enable_natpmp": False,
    "allow_multiple_connections_per_ip": True,
    "outgoing_interfaces": outgoing,
    "enable_outgoing_utp": not outgoing,
    "alert_mask": lt.alert.category_t.error_notification
    | lt.alert.category_t.tracker_notification,
}
if dht_nodes:
    settings.update({
        "enable_dht": True,
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_ignore_dark_internet": False,
        "dht_block_ratelimit": 100000,
        "dht_upload_rate_limit": 1000000,
    })
if encryption != "default":
    policy = {"forced": lt.enc_policy.forced, "disabled": lt.enc_policy.disabled}[encryption]
    settings.update({
        "out_enc_policy": policy,
        "in_enc_policy": policy,
        "allowed_enc_level": lt.enc_level.rc4,
        "prefer_rc4": True,
    })
ses = lt.session(settings)
if source.startswith("magnet:"):
    atp = lt.parse_magnet_uri(source)
else:
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(source)
atp.save_path = save
h = ses.add_torrent(atp)
done, deadline, alerts = False, time.time() + float(seconds), []
while time.time() < deadline:
    for a in ses.pop_alerts():
        alerts.append(a.what() + ": " + a.message())
    if h.status().is_seeding:
        done = True
        break
    time.sleep(0.1)
s = h.status()
print(json.dumps({
    "done": done,
    "downloaded": s.total_payload_download,
    "has_metadata": s.has_metadata,
    "name": s.name,
    "trackers": [t["url"] if isinstance(t, dict) else t.url for t in h.trackers()],
    "alerts": alerts[:20],
}))
