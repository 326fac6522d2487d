#!/usr/bin/env python3
"""browserlab: headless Chromium browsers download a public object through
the console's "Download in your browser" (WebTorrent over WebRTC, the
endpoint's WebSocket tracker and its web seed), inside a network namespace.

    scripts/browserlab.py check                     can this machine make a namespace? (exit 0: yes)
    scripts/browserlab.py run --bin PATH --webtorrent DIR [--browsers N] [--size-mib M]
                              [--runs R] [--plain] [--deadline S] [--json FILE]

Chromium gathers no WebRTC candidates on loopback alone, so everything runs
in one network namespace made here (`s3tb<pid>`): `lo` and a veth pair,
both ends in the namespace, each with an address in 198.18.0.0/24 and the
default route over the first, so the browsers have an interface to offer.
Its resolv.conf (`/etc/netns/NAME/resolv.conf`, which `ip netns exec`
uses) names a server on its own address where nothing listens, so name
lookups (WebTorrent's STUN servers) fail at once rather than time out. The
namespace is deleted when this exits (also on an exception, SIGTERM,
SIGINT or SIGHUP); what it started is killed first.

`run` starts `s3torrent serve` (`--seeding both`, the WebSocket tracker,
metrics on loopback, `--webtorrent-js` pointing at DIR's
`webtorrent.min.js`, which a small HTTP server here serves with CORS), PUTs
a public-read object of M MiB (random bytes) and a private one with boto3,
and opens the public object's console page with `#download` in N headless
Chromium browsers at once (each its own --user-data-dir), driven over the
DevTools protocol (a minimal WebSocket client here). It waits, at most
--deadline seconds, until every page shows a SHA-256 in `#sha256`, and
reports each page's hash beside hashlib's of the bytes PUT, the seconds
each took, and the bytes the endpoint sent as GetObject bodies (its
`s3torrent_sent_bytes_total` for the `web_seed` and `get_object` channels)
as a multiple of the object's size. It also checks that the private
object's page offers no download and that the WebSocket tracker refuses the
private object's info-hash (a `failure reason`). --runs repeats the
download (a fresh endpoint each time); --plain also times N plain HTTP
downloads of the object at once (curl), the same run. Prints one JSON
object (and writes it with --json). --no-ws-tracker runs the endpoint
without its WebSocket tracker, for comparison (the browsers never meet);
--plain-page opens a plain WebTorrent page instead (on another origin,
through the bucket's CORS rule), what a publisher would write without
s3torrent's page.

Needs root (ip netns), chromium, curl and boto3.
"""

import argparse
import atexit
import base64
import hashlib
import http.server
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

ORIGIN = "198.18.0.1"
OTHER = "198.18.0.2"
S3_PORT, TRACKER_PORT, PEER_PORT, WS_PORT, STATIC_PORT = 9000, 6969, 6881, 8000, 8080
METRICS = "127.0.0.1:9100"
USER = ("s3torrent", "s3torrent-dev-secret")
BUCKET, KEY, PRIVATE = "lab", "object.bin", "private.bin"
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Host candidates as addresses, not mDNS names no one here resolves.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--remote-debugging-port=0", "--remote-allow-origins=*",
    # WebTorrent hashes with crypto.subtle, which only a secure context
    # has: the endpoint's plain http:// here stands for an https:// one.
    "--unsafely-treat-insecure-origin-as-secure=http://%s:%d,http://%s:%d"
    % (ORIGIN, S3_PORT, ORIGIN, STATIC_PORT),
]

# --plain-page: what a publisher would write without s3torrent's page, a
# plain WebTorrent download of the torrent (its web seed used at once), on
# another origin than the endpoint (so the bucket's CORS rule is used).
PLAIN_PAGE = """<!DOCTYPE html><meta charset="utf-8"><title>plain WebTorrent</title>
<p id="status"></p><code id="sha256"></code>
<script type="module">
import WebTorrent from './webtorrent.min.js'
const client = new WebTorrent()
const url = new URLSearchParams(location.search).get('torrent')
client.add(url, torrent => {
  torrent.on('done', async () => {
    const buffer = await torrent.files[0].arrayBuffer()
    const digest = await crypto.subtle.digest('SHA-256', buffer)
    document.getElementById('sha256').textContent =
      Array.from(new Uint8Array(digest), x => x.toString(16).padStart(2, '0')).join('')
  })
})
</script>
"""


def log(*args):
    print("browserlab:", *args, file=sys.stderr, flush=True)


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=check)


# ------------------------------------------------------------- namespace


class Namespace:
    def __init__(self):
        self.name = "s3tb%d" % os.getpid()
        self.up = False

    @property
    def etc(self):
        return os.path.join("/etc/netns", self.name)

    def build(self):
        ip("netns", "add", self.name)
        self.up = True
        # `ip netns exec` reads this resolv.conf in the namespace: a name
        # server on our own address, where nothing listens, so a lookup
        # (of WebTorrent's STUN servers) fails at once instead of timing out.
        os.makedirs(self.etc, exist_ok=True)
        with open(os.path.join(self.etc, "resolv.conf"), "w") as f:
            f.write("nameserver %s\n" % ORIGIN)
        n = ["-n", self.name]
        ip(*n, "link", "set", "lo", "up")
        ip(*n, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
        ip(*n, "addr", "add", ORIGIN + "/24", "dev", "veth0")
        ip(*n, "addr", "add", OTHER + "/24", "dev", "veth1")
        ip(*n, "link", "set", "veth0", "up")
        ip(*n, "link", "set", "veth1", "up")
        ip(*n, "route", "add", "default", "via", OTHER, "dev", "veth0")

    def teardown(self):
        if not self.up:
            return
        self.up = False
        pids = ip("netns", "pids", self.name, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        ip("netns", "del", self.name, check=False)
        shutil.rmtree(self.etc, ignore_errors=True)
        try:
            os.rmdir(os.path.dirname(self.etc))  # /etc/netns, when left empty
        except OSError:
            pass


def check():
    ns = Namespace()
    ns.name += "c"
    try:
        ns.build()
    except (subprocess.CalledProcessError, FileNotFoundError, OSError) as e:
        print("cannot make a network namespace: %s" % getattr(e, "stderr", e))
        return 1
    finally:
        ns.teardown()
    return 0


# ------------------------------------------------------------- WebSocket


class WebSocket:
    """A minimal WebSocket client (RFC 6455): text frames, masked, one at a time."""

    def __init__(self, host, port, path="/"):
        self.sock = socket.create_connection((host, port), timeout=15)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key)
        ).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise OSError("closed during the WebSocket handshake")
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise OSError("WebSocket handshake refused: %r" % head[:200])

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            head = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("WebSocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 8:
                raise OSError("WebSocket closed by the other end")
            if opcode in (9, 10):
                continue
            message += payload
            if b0 & 0x80:
                return message.decode("utf-8", "replace")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ------------------------------------------------------------- browsers


class Browser:
    def __init__(self, index, url, workdir):
        self.dir = os.path.join(workdir, "chrome-%d" % index)
        os.makedirs(self.dir)
        self.proc = subprocess.Popen(
            ["chromium", *CHROMIUM_FLAGS, "--user-data-dir=" + self.dir, url],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.dir, "stderr.log"), "wb"),
        )
        self.ws = None
        self.started = time.monotonic()
        self.finished = None
        self.sha = None
        self.status = ""
        self.next_id = 0

    def connect(self, deadline):
        port_file = os.path.join(self.dir, "DevToolsActivePort")
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium gave no DevTools port")
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=5) as r:
                    pages = [t for t in json.load(r) if t.get("type") == "page"]
                if pages:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chromium lists no page")
            time.sleep(0.2)
        url = pages[0]["webSocketDebuggerUrl"]
        path = url.split("/", 3)[3]
        self.ws = WebSocket("127.0.0.1", port, "/" + path)

    def evaluate(self, expression):
        self.next_id += 1
        me = self.next_id
        self.ws.send(json.dumps({"id": me, "method": "Runtime.evaluate",
                                 "params": {"expression": expression, "returnByValue": True}}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == me:
                return m.get("result", {}).get("result", {}).get("value")

    def poll(self):
        got = self.evaluate(
            "JSON.stringify({sha: (document.getElementById('sha256')||{}).textContent||'',"
            " status: (document.getElementById('browser-status')||{}).textContent||'',"
            " peers: (document.getElementById('browser-peers')||{}).textContent||''})")
        state = json.loads(got or "{}")
        self.status = "%s | %s" % (state.get("status", ""), state.get("peers", ""))
        if state.get("sha") and not self.sha:
            self.sha = state["sha"]
            self.finished = time.monotonic() - self.started

    def stop(self):
        if self.ws:
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ------------------------------------------------------------- endpoint


class Static(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, *args):
        pass


def metric_bytes():
    with urllib.request.urlopen("http://%s/metrics" % METRICS, timeout=5) as r:
        text = r.read().decode()
    total = 0
    for line in text.splitlines():
        if line.startswith("s3torrent_sent_bytes_total{") and (
                'channel="web_seed"' in line or 'channel="get_object"' in line):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def wait_port(host, port, deadline):
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nothing listens on %s:%d" % (host, port))


def s3():
    import boto3
    from botocore.config import Config
    return boto3.client(
        "s3", endpoint_url="http://%s:%d" % (ORIGIN, S3_PORT), region_name="us-east-1",
        aws_access_key_id=USER[0], aws_secret_access_key=USER[1],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def info_hash_of(torrent):
    """The v1 info-hash of a torrent's bytes (the `info` value's span)."""

    def skip(b, i):
        c = b[i:i + 1]
        if c == b"i":
            return b.index(b"e", i) + 1
        if c in (b"l", b"d"):
            i += 1
            while b[i:i + 1] != b"e":
                i = skip(b, i)
            return i + 1
        colon = b.index(b":", i)
        return colon + 1 + int(b[i:colon])

    i = 1
    while torrent[i:i + 1] != b"e":
        key_end = skip(torrent, i)
        key = torrent[torrent.index(b":", i) + 1:key_end]
        end = skip(torrent, key_end)
        if key == b"info":
            return hashlib.sha1(torrent[key_end:end]).digest()
        i = end
    raise ValueError("no info")


def check_private(result, client, base):
    """The private object: no page, and the tracker refuses its info-hash."""
    private_torrent = client.get_object_torrent(Bucket=BUCKET, Key=PRIVATE)["Body"].read()
    try:
        urllib.request.urlopen("%s/_s3torrent/b/%s/%s" % (base, BUCKET, PRIVATE), timeout=10)
        result["private_page"] = "shown"
    except urllib.error.HTTPError as e:
        page = e.read().decode("utf-8", "replace")
        result["private_page"] = "%d%s" % (
            e.code, " with a download button" if "browser-download" in page else "")
    ws = WebSocket(ORIGIN, WS_PORT)
    ws.send(json.dumps({
        "action": "announce", "info_hash": info_hash_of(private_torrent).decode("latin-1"),
        "peer_id": "-LB0001-" + "x" * 12, "left": 1, "numwant": 0, "event": "started",
        "offers": []}))
    result["private_announce"] = json.loads(ws.recv())
    ws.close()


def one_run(args, workdir, data, run):
    serve_dir = os.path.join(workdir, "run%d" % run)
    os.makedirs(serve_dir)
    serve_log = open(os.path.join(serve_dir, "serve.log"), "wb")
    serve = subprocess.Popen([
        args.bin, "serve", "--root", os.path.join(serve_dir, "data"),
        "--listen", "%s:%d" % (ORIGIN, S3_PORT), "--seeding", "both",
        "--tracker-listen", "%s:%d" % (ORIGIN, TRACKER_PORT), "--udp-tracker-listen", "off",
        "--peer-listen", "%s:%d" % (ORIGIN, PEER_PORT),
        *([] if args.no_ws_tracker else ["--ws-tracker-listen", "%s:%d" % (ORIGIN, WS_PORT)]),
        "--metrics-listen", METRICS,
        "--webtorrent-js", "http://%s:%d/webtorrent.min.js" % (ORIGIN, STATIC_PORT),
        "--user", "%s:%s:000000000001" % USER,
    ], stdin=subprocess.DEVNULL, stdout=serve_log, stderr=serve_log)
    browsers = []
    result = {"run": run}
    try:
        deadline = time.monotonic() + 20
        wait_port(ORIGIN, S3_PORT, deadline)
        client = s3()
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key=KEY, Body=data, ACL="public-read")
        client.put_object(Bucket=BUCKET, Key=PRIVATE, Body=b"private bytes " * 1000)
        base = "http://%s:%d" % (ORIGIN, S3_PORT)
        with urllib.request.urlopen("%s/%s/%s?torrent" % (base, BUCKET, KEY), timeout=20) as r:
            torrent = r.read()
        ws_url = "ws://%s:%d/" % (ORIGIN, WS_PORT)
        result["torrent_lists_ws_tracker"] = ("%d:%s" % (len(ws_url), ws_url)).encode() in torrent
        result["torrent_has_url_list"] = b"8:url-list" in torrent
        if not args.no_ws_tracker:
            wait_port(ORIGIN, WS_PORT, deadline)
            check_private(result, client, base)
        before = metric_bytes()
        page = "%s/_s3torrent/b/%s/%s#download" % (base, BUCKET, KEY)
        if args.plain_page:
            client.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [{
                "AllowedOrigins": ["http://%s:%d" % (ORIGIN, STATIC_PORT)],
                "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["*"],
                "ExposeHeaders": ["Content-Range", "Accept-Ranges", "Content-Length"]}]})
            page = "http://%s:%d/plain.html?torrent=%s" % (
                ORIGIN, STATIC_PORT, urllib.parse.quote("%s/%s/%s?torrent" % (base, BUCKET, KEY)))
        started = time.monotonic()
        browsers = [Browser(i, page, serve_dir) for i in range(args.browsers)]
        deadline = started + args.deadline
        for b in browsers:
            b.connect(deadline)
        while time.monotonic() < deadline and not all(b.sha for b in browsers):
            for b in browsers:
                if not b.sha:
                    b.poll()
            time.sleep(0.25)
        result["seconds_all"] = round(time.monotonic() - started, 2)
        # Pages still share while open: measure before they close.
        after = metric_bytes()
        result["pages"] = [{"sha256": b.sha, "seconds": b.finished and round(b.finished, 2),
                            "status": b.status} for b in browsers]
        result["origin_bytes"] = after - before
        result["origin_x"] = round((after - before) / len(data), 3)
        if args.plain:
            urls = ["%s/%s/%s" % (base, BUCKET, KEY)] * args.browsers
            t0 = time.monotonic()
            curls = [subprocess.Popen(["curl", "-sf", "-o", "/dev/null", u]) for u in urls]
            codes = [c.wait(120) for c in curls]
            result["plain_http_seconds"] = round(time.monotonic() - t0, 2)
            result["plain_http_ok"] = all(c == 0 for c in codes)
    finally:
        for b in browsers:
            b.stop()
        serve.terminate()
        try:
            serve.wait(10)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
    return result


def inner(args):
    workdir = tempfile.mkdtemp(prefix="browserlab-")
    try:
        if args.plain_page:
            site = os.path.join(workdir, "site")
            shutil.copytree(args.webtorrent, site)
            with open(os.path.join(site, "plain.html"), "w") as f:
                f.write(PLAIN_PAGE)
            args.webtorrent = site
        handler = lambda *a, **k: Static(*a, directory=args.webtorrent, **k)  # noqa: E731
        static = http.server.ThreadingHTTPServer((ORIGIN, STATIC_PORT), handler)
        threading.Thread(target=static.serve_forever, daemon=True).start()
        rng = random.Random(2026)
        data = rng.randbytes(args.size_mib << 20)
        out = {"browsers": args.browsers, "object_bytes": len(data),
               "sha256": hashlib.sha256(data).hexdigest(), "runs": []}
        for run in range(args.runs):
            out["runs"].append(one_run(args, workdir, data, run))
        static.shutdown()
        text = json.dumps(out)
        print(text)
        if args.json:
            with open(args.json, "w") as f:
                f.write(text)
    finally:
        if os.environ.get("BROWSERLAB_KEEP"):
            log("kept", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["check", "run", "inner"])
    p.add_argument("--bin")
    p.add_argument("--webtorrent", help="the folder holding webtorrent.min.js")
    p.add_argument("--browsers", type=int, default=3)
    p.add_argument("--size-mib", type=int, default=32)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--deadline", type=float, default=45)
    p.add_argument("--plain", action="store_true")
    p.add_argument("--plain-page", action="store_true",
                   help="open a plain WebTorrent page instead of the console's")
    p.add_argument("--no-ws-tracker", action="store_true",
                   help="serve without the WebSocket tracker (the browsers cannot meet)")
    p.add_argument("--json")
    args = p.parse_args()
    if args.command == "check":
        sys.exit(check())
    if args.command == "inner":
        inner(args)
        return
    ns = Namespace()
    atexit.register(ns.teardown)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(1))
    ns.build()
    argv = [a for a in sys.argv[1:] if a != "run"]
    code = subprocess.call(["ip", "netns", "exec", ns.name, sys.executable,
                            os.path.abspath(__file__), "inner", *argv])
    ns.teardown()
    sys.exit(code)


if __name__ == "__main__":
    main()
