#!/usr/bin/env python3
"""Slow clients against a running `sclerad serve` (BENCHMARKS.md, "Slow
clients (serve)").

Opens N connections that each send half a request header
("GET /api/health HTTP/1.1\\r\\nHost: x\\r\\n") and nothing more, keeps them
open, times `curl http://HOST:PORT/api/health` a few times while they are
held, then waits (at most 60 s) for the server to close each of them and
reports how long each stayed open.

    python3 bench/slow-clients.py 127.0.0.1 18080 300
"""
import selectors
import socket
import subprocess
import sys
import time

HALF = b"GET /api/health HTTP/1.1\r\nHost: x\r\n"


def curl(url):
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
         "--max-time", "10", url],
        capture_output=True, text=True).stdout.split()
    return (out[0], float(out[1])) if len(out) == 2 else ("none", 10.0)


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    url = f"http://{host}:{port}/api/health"
    opened = []
    for _ in range(n):
        s = socket.create_connection((host, port))
        s.sendall(HALF)
        s.setblocking(False)
        opened.append((s, time.monotonic()))
    print(f"{n} stalled connections open")
    sel = selectors.DefaultSelector()
    for s, t in opened:
        sel.register(s, selectors.EVENT_READ, t)
    lifetimes = []

    def reap(timeout):
        for key, _ in sel.select(timeout=timeout):
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data:
                lifetimes.append(time.monotonic() - key.data)
                sel.unregister(key.fileobj)
                key.fileobj.close()

    for i in range(5):
        reap(0.2)
        code, seconds = curl(url)
        print(f"health {i + 1}: HTTP {code} in {seconds * 1000:.1f} ms "
              f"({n - len(lifetimes)} stalled still open)")
        time.sleep(0.5)
    deadline = time.monotonic() + 60
    while len(lifetimes) < n and time.monotonic() < deadline:
        reap(1.0)
    lifetimes.sort()
    early = [t for t in lifetimes if t < 5]
    late = lifetimes[len(early):]
    summary = f"closed by the server: {len(lifetimes)} of {n}"
    if lifetimes:
        summary += f"; {len(early)} within 5 s of opening"
    if late:
        summary += f", {len(late)} after {late[0]:.1f}-{late[-1]:.1f} s"
    print(summary)
    if len(lifetimes) < n:
        print(f"still open after 60 s: {n - len(lifetimes)}")

if __name__ == "__main__":
    main()
