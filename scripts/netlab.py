#!/usr/bin/env python3
"""netlab: a network of real hosts on one machine, for the swarm's tests and
benchmarks, and a scenario runner on it.

    scripts/netlab.py check                   can this machine build a lab? (exit 0: yes)
    scripts/netlab.py sweep                   delete stale labs (their creator is dead)
    scripts/netlab.py up [--clients N] ...    build a lab and hold it until Ctrl-C
    scripts/netlab.py run --seeder serve|libtorrent|both --clients N --size-mib M
                          [--loopback] [--bin PATH] [--seed-rate B/s] [--deadline S]
                          [--origin-up MBIT] [--client-up MBIT] [--client-down MBIT]
                          [--data FILE] [--workdir DIR] [--json FILE]

The lab: one network namespace per host, an origin host and N client hosts,
each with one IPv4 address in the benchmarking range 198.18.0.0/15 (RFC
2544): the origin is 198.18.0.1, client i is 198.18.0.10+i. Every host's
`eth0` is one end of a veth pair whose other end is a port of a bridge that
lives in a namespace of its own (the "switch"), so the machine's own
namespace is never touched: no device, address or route is added there.
`lo` is up in every namespace. Each host's upload is shaped with a tbf
qdisc on its own `eth0` (egress), its download with a tbf on its switch port
(the switch's egress toward it); the rates are per host (by default the
origin 40 Mbit/s up, unlimited down, and the clients 16 up and 48 down).
Namespaces are named `s3t<pid>.<start>-<role>`, after the process that made
them (its pid and its start time in clock ticks, so a reused pid is not
mistaken for the creator): two labs never collide, and `sweep` (which every
new lab runs first) deletes the namespaces whose creator is gone, after
killing what still runs in them, and the work folders `run` names the same
way (in /dev/shm or the temp folder). A lab is torn down when its process exits,
also on an exception, Ctrl-C, SIGTERM or SIGHUP (atexit and signal
handlers); what it started gets SIGKILL if the process dies without
cleaning up (parent-death signal, through setpriv when installed).

`--loopback` runs the same scenario without namespaces: every host is
127.0.0.1 on ports of the system's choosing, and nothing is shaped.

`run` is the scenario: the seeder on the origin host, then one python
libtorrent client per client host (no DHT, LSD, UPnP or NAT-PMP, listening
on its host's address), all started together once each has loaded; it waits
(bounded by --deadline) until every client has the whole object, and checks
every client's file against the SHA-1 of the data. Seeders:

  - serve: `s3torrent serve --seeding peer` (tracker and seeding peer) on the
    origin's address; the object is PUT public-read with boto3 from the
    origin host and its torrent fetched with `?torrent`;
  - libtorrent: a python libtorrent seeder of the same bytes with the same
    piece length (serve's, when both run) and a minimal HTTP tracker (every
    peer gets every other), each its own process on the origin host.

It prints (and with --json writes) one JSON object per seeder: each client's
finish time (seconds from the start), `time_all_s` (until the last one),
what the origin sent, as multiples of the object's size, counted three ways:

  - `origin_upload_x`: the payload the clients received (libtorrent's
    total_payload_download, which already counts redundant and failed
    bytes) minus the payload they sent each other. Bytes the origin sent
    that a client never counted (in flight when it closed a connection)
    are missing from it. `origin_upload_x_bench_swarm` is benches/bench-
    swarm's formula, which adds total_redundant_bytes and
    total_failed_bytes once more;
  - `seeder_sent_x`: the seeder's own count of payload sent (serve's peer
    `connection` log lines, or libtorrent's total_payload_upload);
  - in a lab, `origin_link.sent_x`: the bytes the origin's upload qdisc sent
    (frames: headers and every protocol included).

Also the seeder process's CPU seconds during the swarm (utime+stime from
/proc/PID/stat, from the start until all finish) and in all, and in a lab
the origin link's busy fraction: the bytes its upload qdisc sent over what
its rate allows in that time, also second by second. For serve, `serve_log`
sums its peer connection lines (`--log-format json`): how many, dialed or
accepted, payload sent, and connections that sent no payload.

Needs root (ip netns, tc), python libtorrent and boto3 (scripts/test
installs them). Loopback or the lab's own namespaces only; every wait is
bounded.
"""

import argparse
import atexit
import hashlib
import http.server
import ipaddress
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import warnings

SCRIPT = os.path.abspath(__file__)
ROOT = os.path.dirname(os.path.dirname(SCRIPT))
NETWORK = ipaddress.ip_network("198.18.0.0/15")
ORIGIN_ADDR = NETWORK.network_address + 1
FIRST_CLIENT = 10
MBIT = 1_000_000
NAME_RE = re.compile(r"^s3t(\d+)\.(\d+)-")
USER = ("s3torrent", "s3torrent-dev-secret")
BUCKET, KEY = "lab", "object.bin"
# Every command the lab runs to build or tear itself down gets this long.
IP_TIMEOUT = 30


def log(*args):
    print("netlab:", *args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes


def process_start(pid):
    """The start time (clock ticks since boot) of process `pid`, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def cpu_seconds(pid):
    """utime+stime of process `pid` in seconds, or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def max_rss_mib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def sh(argv, timeout=IP_TIMEOUT, check=True):
    """Runs a short command; its output, or an exception if it fails."""
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), (r.stderr or r.stdout).strip()))
    return r.stdout


PDEATHSIG = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []


class Proc:
    """A child process whose stdout lines (JSON where they parse) are
    collected on a thread, and whose stdin takes commands."""

    def __init__(self, argv, name, stderr_path=None, env=None):
        self.name = name
        self.stderr_file = open(stderr_path, "w") if stderr_path else subprocess.DEVNULL
        # The parent-death signal kills it should this process die without
        # cleaning up; `setpriv` and `ip netns exec` exec, so the pid is
        # the program's own.
        self.popen = subprocess.Popen(
            PDEATHSIG + argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr_file, text=True, bufsize=1, env=env,
            start_new_session=True)
        self.pid = self.popen.pid
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.popen.stdout:
            line = line.strip()
            try:
                value = json.loads(line)
            except ValueError:
                value = {"text": line}
            self.lines.put(value)
        self.lines.put(None)

    def expect(self, key, timeout):
        """The next JSON line that has `key`, within `timeout` seconds, or
        None (the process ended or the time ran out)."""
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                return None
            try:
                value = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if value is None:
                self.lines.put(None)  # later calls see the end too
                return None
            self.seen.append(value)
            if key in value:
                return value

    def send(self, line):
        try:
            self.popen.stdin.write(line + "\n")
            self.popen.stdin.flush()
        except (OSError, ValueError):
            pass

    def stop(self, timeout=15, first=signal.SIGTERM):
        """Signal `first`, then SIGKILL after `timeout` seconds; waits."""
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(first)
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                try:
                    self.popen.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    log("%s (pid %d) did not die" % (self.name, self.pid))
        if self.stderr_file is not subprocess.DEVNULL:
            self.stderr_file.close()
            self.stderr_file = subprocess.DEVNULL


# ---------------------------------------------------------------- the lab


class Host:
    """One host: its namespace (None on loopback), address and rates in
    bits per second (None: unshaped)."""

    def __init__(self, role, ns, addr, up, down, port=None):
        self.role, self.ns, self.addr, self.up, self.down = role, ns, addr, up, down
        self.port = port  # its switch port's name

    def argv(self, argv):
        return (["ip", "netns", "exec", self.ns] if self.ns else []) + list(argv)

    def tx_bytes(self):
        """Bytes the host's upload qdisc has sent (None on loopback)."""
        if not self.ns:
            return None
        out = sh(["tc", "-n", self.ns, "-s", "-j", "qdisc", "show", "dev", "eth0"])
        return sum(q.get("bytes", 0) for q in json.loads(out) if q.get("root"))


_LABS = []
_HANDLERS = [False]
_CLOSING = [False]


def _close_all():
    _CLOSING[0] = True
    for lab in list(_LABS):
        lab.close()


def _on_signal(signum, _frame):
    if _CLOSING[0]:
        return
    raise SystemExit(128 + signum)


def _install_handlers():
    if _HANDLERS[0]:
        return
    _HANDLERS[0] = True
    atexit.register(_close_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _on_signal)


class Loopback:
    """The same interface as Lab, with every host on 127.0.0.1."""

    mode = "loopback"

    def __init__(self, clients):
        self.origin = Host("origin", None, "127.0.0.1", None, None)
        self.clients = [Host("c%d" % i, None, "127.0.0.1", None, None) for i in range(clients)]
        self.procs = []
        _install_handlers()
        _LABS.append(self)

    def spawn(self, host, argv, name, stderr_path=None):
        p = Proc(host.argv(argv), name, stderr_path)
        self.procs.append(p)
        return p

    def close(self):
        for p in reversed(self.procs):
            p.stop(timeout=10)
        self.procs = []
        if self in _LABS:
            _LABS.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Lab(Loopback):
    """N+1 namespaces joined by a bridge in a switch namespace, shaped with
    tbf. Use as a context manager (close() is also called at exit)."""

    mode = "netns"

    def __init__(self, clients, origin_up=40 * MBIT, origin_down=None,
                 client_up=16 * MBIT, client_down=48 * MBIT):
        if clients < 1 or FIRST_CLIENT + clients >= NETWORK.num_addresses - 1:
            raise ValueError("clients: 1 to %d" % (NETWORK.num_addresses - FIRST_CLIENT - 2))
        sweep()
        self.prefix = tag()
        self.procs = []
        self.namespaces = []
        _install_handlers()
        _LABS.append(self)
        try:
            self.switch = self._namespace("sw")
            sh(["ip", "-n", self.switch, "link", "add", "br0", "type", "bridge"])
            sh(["ip", "-n", self.switch, "link", "set", "br0", "up"])
            self.origin = self._host("origin", 0, str(ORIGIN_ADDR), origin_up, origin_down)
            self.clients = [
                self._host("c%d" % i, i + 1, str(ORIGIN_ADDR - 1 + FIRST_CLIENT + i),
                           client_up, client_down)
                for i in range(clients)
            ]
        except BaseException:
            self.close()
            raise

    def _namespace(self, role):
        name = "%s-%s" % (self.prefix, role)
        sh(["ip", "netns", "add", name])
        self.namespaces.append(name)
        sh(["ip", "-n", name, "link", "set", "lo", "up"])
        return name

    def _host(self, role, index, addr, up, down):
        ns = self._namespace(role)
        port = "p%d" % index
        sh(["ip", "-n", self.switch, "link", "add", port, "type", "veth",
            "peer", "name", "eth0", "netns", ns])
        sh(["ip", "-n", self.switch, "link", "set", port, "master", "br0", "up"])
        sh(["ip", "-n", ns, "addr", "add", "%s/%d" % (addr, NETWORK.prefixlen), "dev", "eth0"])
        sh(["ip", "-n", ns, "link", "set", "eth0", "up"])
        if up:
            shape(ns, "eth0", up)
        if down:
            shape(self.switch, port, down)
        return Host(role, ns, addr, up, down, port)

    def close(self):
        super().close()
        for ns in reversed(self.namespaces):
            destroy_namespace(ns)
        self.namespaces = []


def shape(ns, dev, rate):
    """A tbf of `rate` bits/s on `dev`'s egress: a bucket of 5 ms or 10
    full frames at least, and a queue of 100 ms."""
    burst = max(rate // 8 // 200, 10 * 1514)
    limit = max(rate // 8 // 10, 2 * burst)
    sh(["tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", "tbf",
        "rate", "%dbit" % rate, "burst", str(burst), "limit", str(limit)])


def namespaces():
    out = sh(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def destroy_namespace(ns):
    """Kills what runs in `ns` (a namespace of ours), then deletes it."""
    pids = [int(p) for p in sh(["ip", "netns", "pids", ns], check=False).split()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for _ in range(50):
        if not sh(["ip", "netns", "pids", ns], check=False).split():
            break
        time.sleep(0.1)
    sh(["ip", "netns", "del", ns], check=False)


def tag():
    """This process's part of every name: `s3t<pid>.<start time>`."""
    return "s3t%d.%d" % (os.getpid(), process_start(os.getpid()))


def stale(name):
    m = NAME_RE.match(name)
    return bool(m) and process_start(int(m.group(1))) != int(m.group(2))


def temp_parents():
    return sorted({d for d in ("/dev/shm", tempfile.gettempdir()) if os.path.isdir(d)})


def sweep():
    """Deletes the namespaces named like ours whose creator is gone (after
    killing what runs in them), and the work folders `run` left in /dev/shm
    or the temp folder if its process was killed."""
    gone = [ns for ns in namespaces() if stale(ns)]
    # Host namespaces before their switch.
    for ns in sorted(gone, key=lambda n: n.endswith("-sw")):
        destroy_namespace(ns)
    for parent in temp_parents():
        for name in os.listdir(parent):
            if name.split("-")[1:2] == ["netlab"] and stale(name):
                shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
                gone.append(os.path.join(parent, name))
    return gone


def check():
    """Whether a lab can be built here: a two-host one, torn down again."""
    if os.geteuid() != 0:
        return "not root"
    for program in ("ip", "tc"):
        if not shutil.which(program):
            return "no %s" % program
    try:
        with Lab(1, origin_up=100 * MBIT, client_up=100 * MBIT, client_down=100 * MBIT) as lab:
            code = ("import socket,sys\n"
                    "s=socket.socket();s.settimeout(5)\n"
                    "try:\n s.connect((sys.argv[1],9))\n"
                    "except ConnectionRefusedError:\n sys.exit(0)\n")
            r = subprocess.run(lab.clients[0].argv([sys.executable, "-c", code, lab.origin.addr]),
                               capture_output=True, timeout=IP_TIMEOUT)
            if r.returncode != 0:
                return "client cannot reach origin: %s" % r.stderr.decode()[-300:]
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    return None


# ---------------------------------------------------------------- helpers in hosts


def lt_import():
    warnings.simplefilter("ignore")
    import libtorrent
    return libtorrent


def lt_settings(lt, listen):
    return {
        "listen_interfaces": listen,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert.category_t.error_notification,
    }


_SAY = threading.Lock()


def say(**value):
    """One JSON line on stdout (whole, whichever thread says it)."""
    with _SAY:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()


def stdin_events():
    """`go` and `stop` events from the lines on stdin (EOF: stop)."""
    go, stop = threading.Event(), threading.Event()

    def read():
        for line in sys.stdin:
            if line.strip() == "go":
                go.set()
            elif line.strip() == "stop":
                break
        go.set()
        stop.set()

    threading.Thread(target=read, daemon=True).start()
    return go, stop


def cmd_client(a):
    """A downloader: loads, says ready, starts on `go`, says when it has
    every piece, keeps seeding until `stop`, then says its totals."""
    lt = lt_import()
    ses = lt.session(lt_settings(lt, a.listen))
    go, stop = stdin_events()
    info = lt.torrent_info(a.torrent)
    say(ready=True, port=ses.listen_port())
    if not go.wait(a.deadline):
        return
    started = time.time()
    atp = lt.add_torrent_params()
    atp.ti = info
    atp.save_path = a.save
    h = ses.add_torrent(atp)
    finished = None
    origin = {}  # (ip, port) -> payload received from the origin's address, last seen
    errors = []
    error_category = lt.alert.category_t.error_notification
    polls = 0
    while not stop.is_set() and time.time() - started < a.deadline:
        for alert in ses.pop_alerts():
            if alert.category() & error_category and len(errors) < 10:
                errors.append(alert.message())
        if finished is None and h.status().is_seeding:
            finished = time.time()
            say(finished=finished)
        if a.origin and polls % 10 == 0 and finished is None:
            for p in h.get_peer_info():
                if p.ip[0] == a.origin:
                    origin[p.ip] = max(origin.get(p.ip, 0), p.total_download)
        polls += 1
        stop.wait(0.1)
    if finished is None and h.status().is_seeding:
        finished = time.time()
    if a.origin:
        for p in h.get_peer_info():
            if p.ip[0] == a.origin:
                origin[p.ip] = max(origin.get(p.ip, 0), p.total_download)
    s = h.status()
    say(stats={
        "started": started,
        "finished": finished,
        "file": os.path.join(a.save, info.name()),
        "downloaded": s.total_payload_download,
        "redundant": s.total_redundant_bytes,
        "failed": s.total_failed_bytes,
        "uploaded": s.total_payload_upload,
        "from_origin_approx": sum(origin.values()) if a.origin else None,
        "origin_connections_seen": len(origin) if a.origin else None,
        "errors": errors,
    })
    ses.pause()
    os._exit(0)  # no wait for the stopped announces


class TrackerHandler(http.server.BaseHTTPRequestHandler):
    """A minimal HTTP tracker: every peer gets every other, compact."""

    peers = {}
    lock = threading.Lock()

    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        try:
            me = (self.client_address[0], int(q["port"][0]))
            numwant = int(q.get("numwant", ["50"])[0])
        except (KeyError, ValueError):
            self.send_error(400)
            return
        event = q.get("event", [""])[0]
        with TrackerHandler.lock:
            if event == "stopped":
                TrackerHandler.peers.pop(me, None)
            else:
                TrackerHandler.peers[me] = True
            others = [p for p in TrackerHandler.peers if p != me]
        random.shuffle(others)
        others = others[:max(numwant, 0)]
        say(announce=[me[0], me[1], event])
        compact = b"".join(socket.inet_aton(ip) + port.to_bytes(2, "big") for ip, port in others)
        body = b"d8:intervali60e5:peers%d:%se" % (len(compact), compact)
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def cmd_tracker(a):
    server = http.server.ThreadingHTTPServer((a.addr, a.port), TrackerHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    say(listening=server.server_address[1])
    _, stop = stdin_events()
    stop.wait(a.deadline)
    os._exit(0)


def cmd_seed(a):
    """A python libtorrent seeder: makes the torrent of `--data` with the
    piece length given, seeds it, says ready (with its port) once it has
    checked the data and announced."""
    lt = lt_import()
    os.makedirs(a.dir, exist_ok=True)
    path = os.path.join(a.dir, KEY)
    try:
        os.link(a.data, path)
    except OSError:
        shutil.copyfile(a.data, path)
    fs = lt.file_storage()
    lt.add_files(fs, path)
    ct = lt.create_torrent(fs, a.piece_length, flags=lt.create_torrent.v1_only)
    ct.add_tracker(a.announce)
    lt.set_piece_hashes(ct, a.dir)
    with open(a.torrent, "wb") as f:
        f.write(lt.bencode(ct.generate()))
    ses = lt.session(lt_settings(lt, a.listen))
    if a.rate:
        # Loopback peers are in the local peer class, which the global
        # limit does not cover: cap both.
        for cls in (lt.session.global_peer_class_id, lt.session.local_peer_class_id):
            pc = ses.get_peer_class(cls)
            pc["upload_limit"] = a.rate
            ses.set_peer_class(cls, pc)
    go, stop = stdin_events()
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(a.torrent)
    atp.save_path = a.dir
    h = ses.add_torrent(atp)
    deadline = time.time() + 120
    while not h.status().is_seeding and time.time() < deadline:
        time.sleep(0.05)
    if not h.status().is_seeding:
        say(error="the seeder did not check its data within 120 s")
        os._exit(1)
    h.force_reannounce()
    say(ready=True, port=ses.listen_port())
    while not stop.is_set() and time.time() < deadline + a.deadline:
        for _ in ses.pop_alerts():
            pass
        stop.wait(0.5)
    s = h.status()
    say(stats={"uploaded": s.total_payload_upload})
    ses.pause()
    os._exit(0)


def cmd_publish(a):
    """PUTs `--data` public-read to serve at `--endpoint` (waiting for it),
    fetches `?torrent` anonymously, writes it to `--out`."""
    import boto3
    from botocore.config import Config
    warnings.simplefilter("ignore")
    s3 = boto3.client("s3", endpoint_url=a.endpoint, aws_access_key_id=USER[0],
                      aws_secret_access_key=USER[1], region_name="us-east-1",
                      config=Config(s3={"addressing_style": "path"},
                                    retries={"max_attempts": 1},
                                    connect_timeout=10, read_timeout=120))
    s3.create_bucket(Bucket=BUCKET)
    with open(a.data, "rb") as f:
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=f, ACL="public-read")
    url = "%s/%s/%s?torrent" % (a.endpoint, BUCKET, KEY)
    torrent = urllib.request.urlopen(url, timeout=120).read()
    with open(a.out, "wb") as f:
        f.write(torrent)
    say(torrent=a.out, bytes=len(torrent))


# ---------------------------------------------------------------- the scenario


def sha1_file(path):
    h = hashlib.sha1()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def helper(lab, host, name, args, workdir):
    """Runs one of this script's helper commands on `host`."""
    return lab.spawn(host, [sys.executable, SCRIPT] + args, name,
                     os.path.join(workdir, name + ".err"))


class Sampler:
    """Samples the origin's upload qdisc byte count every `period` s."""

    def __init__(self, host, period=0.25):
        self.host, self.period = host, period
        self.samples = []
        self.stopped = threading.Event()
        if host.ns and host.up:
            self.samples.append((time.time(), host.tx_bytes()))
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        else:
            self.thread = None

    def _run(self):
        while not self.stopped.wait(self.period):
            try:
                self.samples.append((time.time(), self.host.tx_bytes()))
            except (RuntimeError, ValueError, subprocess.TimeoutExpired):
                return

    def finish(self, start, end):
        if not self.thread:
            return None
        self.stopped.set()
        self.thread.join(timeout=10)
        self.samples.append((time.time(), self.host.tx_bytes()))

        def at(t):  # bytes sent by time t, interpolated
            prev = self.samples[0]
            for s in self.samples:
                if s[0] >= t:
                    if s[0] == prev[0]:
                        return s[1]
                    return prev[1] + (s[1] - prev[1]) * (t - prev[0]) / (s[0] - prev[0])
                prev = s
            return prev[1]

        rate = self.host.up / 8
        sent = at(end) - at(start)
        seconds = []
        t = start
        while t < end - 1e-9:
            step = min(1.0, end - t)
            seconds.append(round((at(t + step) - at(t)) / (rate * step), 2))
            t += step
        return {
            "rate_bit_s": self.host.up,
            "sent_bytes": int(sent),
            "busy": round(sent / (rate * max(end - start, 1e-9)), 3),
            "busy_by_second": seconds,
        }


def serve_log_summary(path):
    """Sums serve's peer `connection` lines (JSON log)."""
    conns = dialed = accepted = sent = dialed_nothing = accepted_nothing = 0
    outcomes = {}
    refused = 0
    try:
        f = open(path)
    except OSError:
        return None
    with f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if not isinstance(rec, dict) or rec.get("target") != "peer":
                continue
            fields = rec.get("fields", rec)
            message = fields.get("message", rec.get("message"))
            if message != "connection":
                if "refused" in str(message):
                    refused += 1
                continue
            conns += 1
            n = int(fields.get("sent") or 0)
            sent += n
            if fields.get("dialed") in (True, "true"):
                dialed += 1
                dialed_nothing += n == 0
            else:
                accepted += 1
                accepted_nothing += n == 0
            outcome = str(fields.get("outcome", "?"))
            outcome = re.sub(r"\d+(\.\d+)*(:\d+)?", "N", outcome)[:80]
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {
        "connections": conns,
        "accepted": accepted,
        "dialed": dialed,
        "payload_sent_bytes": sent,
        "dialed_without_payload": dialed_nothing,
        "accepted_without_payload": accepted_nothing,
        "refused_too_many": refused,
        "outcomes": dict(sorted(outcomes.items(), key=lambda kv: -kv[1])),
    }


def start_serve(lab, workdir, bin_path, data, seed_rate):
    o = lab.origin
    if lab.mode == "netns":
        port, tport, pport = 9000, 6969, 6881
    else:
        port, tport, pport = free_port(), free_port(), free_port()
    endpoint = "http://%s:%d" % (o.addr, port)
    argv = [bin_path, "serve", "--root", os.path.join(workdir, "serve-root"),
            "--listen", "%s:%d" % (o.addr, port),
            "--tracker-listen", "%s:%d" % (o.addr, tport),
            "--peer-listen", "%s:%d" % (o.addr, pport),
            "--public-url", endpoint,
            "--announce-url", "http://%s:%d/announce" % (o.addr, tport),
            "--seeding", "peer", "--log-format", "json"]
    if seed_rate:
        argv += ["--seed-rate", str(seed_rate)]
    log_path = os.path.join(workdir, "serve.log")
    seeder = lab.spawn(o, argv, "serve", log_path)
    deadline = time.time() + 30
    while time.time() < deadline:
        with open(log_path) as f:
            if "serve: listening on" in f.read():
                break
        if seeder.popen.poll() is not None:
            break
        time.sleep(0.05)
    else:
        raise RuntimeError("serve did not start within 30 s (see %s)" % log_path)
    if seeder.popen.poll() is not None:
        with open(log_path) as f:
            raise RuntimeError("serve exited: %s" % f.read()[-2000:])
    torrent = os.path.join(workdir, "object.torrent")
    pub = helper(lab, o, "publish", ["_publish", "--endpoint", endpoint, "--data", data,
                                     "--out", torrent], workdir)
    if not pub.expect("torrent", 300):
        with open(os.path.join(workdir, "publish.err")) as f:
            raise RuntimeError("publishing failed: %s" % f.read()[-2000:])
    pub.stop()
    return seeder, torrent, {"log": log_path}


def start_libtorrent(lab, workdir, data, piece_length, seed_rate, deadline):
    o = lab.origin
    tport, sport = (6969, 6881) if lab.mode == "netns" else (0, 0)
    tracker = helper(lab, o, "tracker", ["_tracker", "--addr", o.addr, "--port", str(tport),
                                         "--deadline", str(deadline + 600)], workdir)
    listening = tracker.expect("listening", 60)
    if not listening:
        raise RuntimeError("the tracker did not start")
    announce = "http://%s:%d/announce" % (o.addr, listening["listening"])
    torrent = os.path.join(workdir, "object.torrent")
    seeder = helper(lab, o, "lt-seed", [
        "_seed", "--data", data, "--dir", os.path.join(workdir, "lt-seed"),
        "--torrent", torrent, "--announce", announce, "--piece-length", str(piece_length),
        "--listen", "%s:%d" % (o.addr, sport), "--rate", str(seed_rate or 0),
        "--deadline", str(deadline + 600)], workdir)
    ready = seeder.expect("ready", 300)
    if not ready:
        raise RuntimeError("the libtorrent seeder did not start: %s" % seeder.seen[-3:])
    # Wait until the tracker knows the seeder, so every client gets it.
    deadline_t = time.time() + 30
    while time.time() < deadline_t:
        got = tracker.expect("announce", deadline_t - time.time())
        if not got:
            raise RuntimeError("the libtorrent seeder did not announce")
        if got["announce"][1] == ready["port"]:
            break
    return seeder, torrent, {"tracker": tracker}


def run_scenario(lab, seeder_kind, data, expected_sha1, workdir, bin_path=None,
                 piece_length=262144, seed_rate=0, deadline=300):
    """Runs one scenario; returns its result (a dict). Raises if a seeder
    cannot start; clients that do not finish or have other bytes are
    reported (all_finished, bytes_ok), not raised."""
    os.makedirs(workdir, exist_ok=True)
    size = os.path.getsize(data)
    if seeder_kind == "serve":
        seeder, torrent, extra = start_serve(lab, workdir, bin_path, data, seed_rate)
    else:
        seeder, torrent, extra = start_libtorrent(lab, workdir, data, piece_length,
                                                  seed_rate, deadline)
    lt = lt_import()
    info = lt.torrent_info(torrent)
    clients = []
    for i, host in enumerate(lab.clients):
        listen = "%s:%d" % (host.addr, 6881 if lab.mode == "netns" else 0)
        args = ["_client", "--torrent", torrent, "--save", os.path.join(workdir, "client%d" % i),
                "--listen", listen, "--deadline", str(deadline + 60)]
        if lab.mode == "netns":
            args += ["--origin", lab.origin.addr]
        clients.append(helper(lab, host, "client%d" % i, args, workdir))
    for i, c in enumerate(clients):
        if not c.expect("ready", 180):
            raise RuntimeError("client %d did not load: see %s" % (
                i, os.path.join(workdir, "client%d.err" % i)))
    cpu_before = cpu_seconds(seeder.pid)
    sampler = Sampler(lab.origin)
    started = time.time()
    for c in clients:
        c.send("go")
    finished = [None] * len(clients)
    end = started + deadline
    for i, c in enumerate(clients):
        got = c.expect("finished", max(end - time.time(), 0))
        if got:
            finished[i] = got["finished"] - started
    all_done = None not in finished
    t_all = max(finished) if all_done else None
    cpu_after = cpu_seconds(seeder.pid)
    rss = max_rss_mib(seeder.pid)
    link = sampler.finish(started, started + (t_all if all_done else deadline))
    for c in clients:
        c.send("stop")
    stats = []
    for c in clients:
        got = c.expect("stats", 60)
        stats.append(got["stats"] if got else None)
    for c in clients:
        c.stop(timeout=10)
    seeder.send("stop")
    seeder_stats = seeder.expect("stats", 10) if seeder_kind != "serve" else None
    # serve shuts down gracefully on SIGINT only (its open connections are
    # logged, its log flushed); SIGTERM ends it at once.
    seeder.stop(first=signal.SIGINT if seeder_kind == "serve" else signal.SIGTERM)
    if "tracker" in extra:
        extra["tracker"].stop()
    result = {
        "seeder": seeder_kind,
        "mode": lab.mode,
        "clients": len(clients),
        "object_bytes": size,
        "piece_length": info.piece_length(),
        "seed_rate": seed_rate or None,
        "all_finished": all_done,
        "time_all_s": round(t_all, 2) if all_done else None,
        "finish_s": [round(f, 2) if f is not None else None for f in finished],
        "bytes_ok": [],
        "origin_upload_x": None,
        "seeder_sent_x": None,
        "seeder_cpu_s": round(cpu_after - cpu_before, 2)
        if None not in (cpu_before, cpu_after) else None,
        "seeder_cpu_total_s": round(cpu_after, 2) if cpu_after is not None else None,
        "seeder_max_rss_mib": rss,
        "origin_link": link,
        "per_client": [],
    }
    down = extra_counted = up = 0
    complete_stats = None not in stats
    for i, (host, s) in enumerate(zip(lab.clients, stats)):
        path = os.path.join(workdir, "client%d" % i, info.name())
        ok = sha1_file(path) == expected_sha1
        result["bytes_ok"].append(ok)
        entry = {"host": host.role, "addr": host.addr, "finish_s": result["finish_s"][i],
                 "bytes_ok": ok, "file": path}
        if s:
            # total_payload_download counts every payload byte received,
            # redundant ones included (a finished client's is the object's
            # size plus total_redundant_bytes).
            down += s["downloaded"]
            extra_counted += s["redundant"] + s["failed"]
            up += s["uploaded"]
            entry.update({k: s[k] for k in ("downloaded", "redundant", "failed", "uploaded",
                                            "from_origin_approx", "origin_connections_seen",
                                            "errors")})
        result["per_client"].append(entry)
    if complete_stats:
        result["origin_upload_x"] = round((down - up) / size, 3)
        # benches/bench-swarm's figure, which adds the redundant and
        # failed bytes a second time.
        result["origin_upload_x_bench_swarm"] = round((down + extra_counted - up) / size, 3)
    if link:
        link["sent_x"] = round(link["sent_bytes"] / size, 3)
    if seeder_kind == "serve":
        result["serve_log"] = serve_log_summary(extra["log"])
        if result["serve_log"]:
            result["seeder_sent_x"] = round(result["serve_log"]["payload_sent_bytes"] / size, 3)
    elif seeder_stats:
        result["seeder_sent_x"] = round(seeder_stats["stats"]["uploaded"] / size, 3)
    return result


def make_data(path, size):
    """Random bytes of `size` into `path`; their SHA-1."""
    h = hashlib.sha1()
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(left, 1 << 20))
            h.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return h.hexdigest()


def default_tmp():
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def summary_line(r):
    link = r.get("origin_link")
    busy = " link busy %.0f%%" % (100 * link["busy"]) if link else ""
    t = "%.1fs" % r["time_all_s"] if r["all_finished"] else "UNFINISHED"
    ox = "%.2fx" % r["origin_upload_x"] if r["origin_upload_x"] is not None else "?"
    own = " (own count %.2fx)" % r["seeder_sent_x"] if r["seeder_sent_x"] is not None else ""
    ok = "bytes ok" if r["bytes_ok"] and all(r["bytes_ok"]) else "BYTES DIFFER"
    return "%-10s %-8s clients %2d  all done %-10s origin %s%s cpu %.2fs%s  %s" % (
        r["seeder"], r["mode"], r["clients"], t, ox, own, r["seeder_cpu_s"] or 0, busy, ok)


def cmd_run(a):
    kinds = ["serve", "libtorrent"] if a.seeder == "both" else [a.seeder]
    if "serve" in kinds and not a.bin:
        a.bin = os.path.join(ROOT, "target", "release", "s3torrent")
    top = a.workdir or tempfile.mkdtemp(prefix=tag() + "-netlab-", dir=a.tmp or default_tmp())
    os.makedirs(top, exist_ok=True)
    results = []
    try:
        data = a.data
        if data:
            expected = sha1_file(data)
        else:
            data = os.path.join(top, "object.bin")
            expected = make_data(data, a.size_mib << 20)
        if a.loopback:
            lab = Loopback(a.clients)
        else:
            lab = Lab(a.clients, origin_up=int(a.origin_up * MBIT) or None,
                      origin_down=int(a.origin_down * MBIT) or None,
                      client_up=int(a.client_up * MBIT) or None,
                      client_down=int(a.client_down * MBIT) or None)
        with lab:
            piece_length = a.piece_length
            for kind in kinds:
                r = run_scenario(lab, kind, data, expected, os.path.join(top, kind),
                                 bin_path=a.bin, piece_length=piece_length,
                                 seed_rate=a.seed_rate, deadline=a.deadline)
                piece_length = r["piece_length"]  # the next seeder uses serve's
                r["lab"] = getattr(lab, "prefix", None)
                results.append(r)
                log(summary_line(r))
                if not a.workdir:
                    for i in range(a.clients):
                        shutil.rmtree(os.path.join(top, kind, "client%d" % i), ignore_errors=True)
    finally:
        if not a.workdir:
            shutil.rmtree(top, ignore_errors=True)
    text = json.dumps(results if len(results) != 1 else results[0], indent=1)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    print(text)
    good = all(r["all_finished"] and all(r["bytes_ok"]) for r in results)
    return 0 if good else 1


def cmd_up(a):
    with Lab(a.clients, origin_up=int(a.origin_up * MBIT) or None,
             origin_down=int(a.origin_down * MBIT) or None,
             client_up=int(a.client_up * MBIT) or None,
             client_down=int(a.client_down * MBIT) or None) as lab:
        for h in [lab.origin] + lab.clients:
            print("%-8s %-14s ip netns exec %s ..." % (h.role, h.addr, h.ns), flush=True)
        print("switch   ip netns exec %s ... ; Ctrl-C tears the lab down" % lab.switch, flush=True)
        deadline = time.time() + a.hold
        while time.time() < deadline:
            time.sleep(1)


def add_shape_args(p):
    p.add_argument("--clients", type=int, default=6)
    p.add_argument("--origin-up", type=float, default=40, help="Mbit/s (0: unshaped)")
    p.add_argument("--origin-down", type=float, default=0, help="Mbit/s (0: unshaped)")
    p.add_argument("--client-up", type=float, default=16, help="Mbit/s (0: unshaped)")
    p.add_argument("--client-down", type=float, default=48, help="Mbit/s (0: unshaped)")


def main(argv=None):
    p = argparse.ArgumentParser(prog="netlab.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("check", help="exit 0 if a lab can be built here")
    sub.add_parser("sweep", help="delete stale labs")
    up = sub.add_parser("up", help="build a lab and hold it")
    add_shape_args(up)
    up.add_argument("--hold", type=float, default=3600, help="seconds at most")
    run = sub.add_parser("run", help="run the scenario")
    add_shape_args(run)
    run.add_argument("--seeder", choices=["serve", "libtorrent", "both"], default="both")
    run.add_argument("--size-mib", type=int, default=16)
    run.add_argument("--data", help="the object (default: random bytes of --size-mib)")
    run.add_argument("--loopback", action="store_true", help="no namespaces: all on 127.0.0.1")
    run.add_argument("--bin", help="s3torrent (default: target/release/s3torrent)")
    run.add_argument("--seed-rate", type=int, default=0, help="bytes/s for either seeder")
    run.add_argument("--piece-length", type=int, default=262144,
                     help="the libtorrent seeder's, when serve does not run first")
    run.add_argument("--deadline", type=float, default=300, help="seconds for the clients")
    run.add_argument("--workdir", help="keep everything here (default: a temp dir, removed)")
    run.add_argument("--tmp", help="where the temp dir goes (default /dev/shm)")
    run.add_argument("--json", help="also write the result here")
    # Helpers the scenario runs on the hosts.
    c = sub.add_parser("_client")
    for name in ("--torrent", "--save", "--listen", "--origin"):
        c.add_argument(name)
    c.add_argument("--deadline", type=float, default=600)
    t = sub.add_parser("_tracker")
    t.add_argument("--addr")
    t.add_argument("--port", type=int, default=0)
    t.add_argument("--deadline", type=float, default=900)
    s = sub.add_parser("_seed")
    for name in ("--data", "--dir", "--torrent", "--announce", "--listen"):
        s.add_argument(name)
    s.add_argument("--piece-length", type=int, default=262144)
    s.add_argument("--rate", type=int, default=0)
    s.add_argument("--deadline", type=float, default=900)
    pub = sub.add_parser("_publish")
    for name in ("--endpoint", "--data", "--out"):
        pub.add_argument(name)
    a = p.parse_args(argv)
    if a.cmd == "check":
        why = check()
        if why:
            print("netlab: cannot build a lab here: %s" % why)
            return 1
        print("netlab: a lab can be built here")
        return 0
    if a.cmd == "sweep":
        for ns in sweep():
            print("netlab: deleted %s" % ns)
        return 0
    if a.cmd == "up":
        return cmd_up(a)
    if a.cmd == "run":
        return cmd_run(a)
    return {"_client": cmd_client, "_tracker": cmd_tracker, "_seed": cmd_seed,
            "_publish": cmd_publish}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
