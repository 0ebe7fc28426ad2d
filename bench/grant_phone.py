"""The phone's side of the grant benchmarks, run inside a client namespace.

python grant_phone.py latency START_URL HOST PORT
    walks the onboarding lesson once (tests/walker.py; the namespaces' environment
    puts the checkout on PYTHONPATH); then, for each "go" line on stdin, times
    the POST that completes onboarding until the first TCP connection to
    HOST:PORT gets through, and prints the milliseconds. "portal" lines time a
    plain GET of the portal's /api/captive instead (the baseline).
python grant_phone.py connects HOST PORT COUNT
    opens and closes COUNT TCP connections; prints connections per second.
python grant_phone.py sink HOST PORT
    (upstream side) accepts and closes connections as fast as they come, with a
    deep backlog so no SYN is ever dropped (a dropped SYN costs a 1 s retry).
python grant_phone.py storm BASE SUBNET PHONES PARALLEL
    (on the Pi's side, for a portal with client_identity = "address") a join storm:
    PHONES phones, each from a loopback address 127.SUBNET.x.y of its own, PARALLEL at a
    time, walk the lesson and ask for access (bench/slow_guests.py's crowd); prints how
    many got online and the p95 of a walk in seconds, and a few failures on stderr.
"""

from __future__ import annotations

import socket
import struct
import sys
import time

from bench.slow_guests import onboard
from tests.walker import HttpTransport, ask_for_access, walk_to_access


def through(host: str, port: int) -> None:
    """Retry until a TCP connection gets through (before access each try is reset at once)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(1)
            try:
                sock.connect((host, port))
                return
            except OSError:
                continue
    raise SystemExit("no connection within 10 s")


def latency(start: str, host: str, port: int) -> None:
    portal = HttpTransport(start)
    # The lesson once (tests/walker.py), to the page with the "Go on the Internet" button.
    token = walk_to_access(portal, "fr")
    print("ready", flush=True)
    for line in sys.stdin:
        started = time.perf_counter()
        if line.strip() == "portal":
            if portal.get("/api/captive").status != 200:
                raise SystemExit("the portal's /api/captive did not answer 200")
        else:
            ask_for_access(portal, token)
            through(host, port)
        print(f"{(time.perf_counter() - started) * 1000:.3f}", flush=True)


def connects(host: str, port: int, count: int) -> None:
    # Close with a reset (linger 0): no TIME_WAIT, so many rounds never run out of ports.
    linger = struct.pack("ii", 1, 0)
    started = time.perf_counter()
    for _ in range(count):
        with socket.create_connection((host, port), timeout=5) as connection:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    print(f"{count / (time.perf_counter() - started):.1f}", flush=True)


def sink(host: str, port: int) -> None:
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(4096)
        print("ready", flush=True)
        while True:
            connection, _ = server.accept()
            connection.close()


def storm(base: str, subnet: int, phones: int, parallel: int) -> None:
    crowd = onboard(base, subnet, phones, parallel)
    for failure in sorted(set(crowd.failures))[:3]:
        print(failure, file=sys.stderr)
    print(f"{crowd.online} {crowd.p95_seconds:.3f}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "latency":
        latency(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "sink":
        sink(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "storm":
        storm(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        connects(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
