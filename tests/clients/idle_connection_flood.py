import select, socket, sys, time
host, port, count, addrs, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
deadline, opened, live, n = time.time() + seconds, 0, [], 0
def one():
    global n, opened
    s = socket.socket()
    s.bind(("127.0.0.%d" % (2 + n % addrs), 0))
    s.settimeout(0.2)
    n += 1
    try:
        s.connect((host, port))
        opened += 1
        live.append(s)
    except OSError:
        s.close()
while len(live) < count and time.time() < deadline:
    one()
print("up", file=sys.stderr, flush=True)
stop = False
while time.time() < deadline and not stop:
    p = select.poll()
    p.register(sys.stdin, select.POLLIN)
    by_fd = {s.fileno(): s for s in live}
    for fd in by_fd:
        p.register(fd, select.POLLIN)
    for fd, _ in p.poll(100):
        if fd == sys.stdin.fileno():
            stop = True
            continue
        s = by_fd[fd]
        try:
            gone = s.recv(1) == b""
        except OSError:
            gone = True
        if gone:
            live.remove(s)
            s.close()
    for _ in range(count - len(live)):
        one()
print(opened)
