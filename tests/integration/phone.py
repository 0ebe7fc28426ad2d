"""What a phone does on the Wi-Fi, as a script run inside a client namespace.

    python phone.py connect HOST PORT [--timeout S]  → {"outcome": "refused", "ms": 0.4}
    python phone.py dns SERVER NAME [--type AAAA]    → {"answers": ["10.42.0.1"], "rcode": 0,
                                                       "ttls": [10], "ms": 0.9}
    python phone.py udp HOST PORT                    → sends a few datagrams (QUIC-like)
    python phone.py onboard URL [--lang fr]          → walks the lesson, asks for access:
                                                       {"outcome": "online", "way": "lesson"}
    python phone.py hold HOST PORT                   → one TCP connection to an echo server;
                                                       each stdin line is echoed, then "ok"
                                                       or "fail <reason>" is printed

Every command prints one JSON line (hold: one line per stdin line). The
namespaces' environment puts the checkout on PYTHONPATH (tests.walker).
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import sys
import time
from collections.abc import Sequence
from typing import Any

from tests.walker import (
    FlowError,
    HttpTransport,
    come_back,
    get_page,
    go_online,
    greeting,
)


def family_of(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def connect(host: str, port: int, timeout: float) -> dict[str, Any]:
    """Try one TCP connection; say how it ended and how long that took."""
    # getaddrinfo turns "fe80::1%eth0" into an address with its scope (interface) id.
    [(family, kind, _, _, address)] = socket.getaddrinfo(
        host, port, family_of(host), socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST
    )
    started = time.perf_counter()
    with socket.socket(family, kind) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            outcome = "connected"
        except ConnectionRefusedError:
            outcome = "refused"
        except TimeoutError:
            outcome = "timeout"
        except OSError as error:
            outcome = f"error {error.strerror or type(error).__name__}"
    return {"outcome": outcome, "ms": (time.perf_counter() - started) * 1000}


def dns(server: str, name: str, timeout: float, kind: str = "A") -> dict[str, Any]:
    """Ask `server` for the `kind` (A or AAAA) records of `name`, the way a phone with a
    fixed resolver does; the answer's addresses, TTLs and how long it took."""
    from scapy.layers.dns import DNS, DNSQR

    query_id = secrets.randbelow(65536)
    started = time.perf_counter()
    with socket.socket(family_of(server), socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(bytes(DNS(id=query_id, rd=1, qd=DNSQR(qname=name, qtype=kind))), (server, 53))
        try:
            data, source = sock.recvfrom(4096)
        except TimeoutError:
            return {"outcome": "timeout"}
    answer = DNS(data)
    records = [answer.an[i] for i in range(answer.ancount)] if answer.ancount else []
    wanted = [record for record in records if int(record.type) == (28 if kind == "AAAA" else 1)]
    return {
        "outcome": "answered",
        "source": source[0],
        "id_matches": answer.id == query_id,
        "rcode": int(answer.rcode),
        "answers": [str(record.rdata) for record in wanted],
        "ttls": [int(record.ttl) for record in wanted],
        "ms": (time.perf_counter() - started) * 1000,
    }


def udp(host: str, port: int) -> dict[str, Any]:
    with socket.socket(family_of(host), socket.SOCK_DGRAM) as sock:
        for _ in range(3):
            sock.sendto(b"\xc0quic-initial-stand-in", (host, port))
    return {"outcome": "sent"}


def onboard(start: str, language: str) -> dict[str, Any]:
    """Go online as a person does (tests/walker.py): the lesson on a first visit; one tap on
    the start page when the portal remembers the device; nothing when the portal counts it
    as online (its "Get more time" waits for the second half of the session)."""
    transport = HttpTransport(start)
    try:
        way = greeting(get_page(transport, "/"))
        if way == "returning":
            come_back(transport, language)
        elif way == "lesson":
            go_online(transport, language)
    except FlowError as error:
        return {"outcome": "failed", "reason": str(error)}
    return {"outcome": "online", "way": way}


def hold(host: str, port: int) -> None:
    """Keep one connection open; echo each stdin line through it and report."""
    sock = socket.create_connection((host, port), timeout=5)
    print(json.dumps({"outcome": "connected"}), flush=True)
    for line in sys.stdin:
        message = line.strip().encode()
        try:
            sock.settimeout(2)
            sock.sendall(message)
            echoed = b""
            while len(echoed) < len(message):
                chunk = sock.recv(4096)
                if not chunk:
                    raise ConnectionError("closed by the other end")
                echoed += chunk
            result = "ok" if echoed == message else "fail garbled"
        except OSError as error:
            result = f"fail {type(error).__name__}"
        print(json.dumps({"outcome": result}), flush=True)


def crowd(
    host: str, port: int, count: int, timeout: float, sources: Sequence[str] = ()
) -> dict[str, Any]:
    """Open `count` TCP connections one after the other and hold them all; how each ended.
    With `sources`, each connection comes from the next of these addresses in turn."""
    held: list[socket.socket] = []
    outcomes: dict[str, int] = {}
    for number in range(count):
        sock = socket.socket(family_of(host), socket.SOCK_STREAM)
        sock.settimeout(timeout)
        if sources:
            sock.bind((sources[number % len(sources)], 0))
        try:
            sock.connect((host, port))
            held.append(sock)
            outcome = "connected"
        except ConnectionRefusedError:  # a TCP reset answering the SYN
            outcome = "refused"
            sock.close()
        except OSError as error:
            outcome = f"error {error.strerror or type(error).__name__}"
            sock.close()
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    for sock in held:
        sock.close()
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("connect", "udp", "hold"):
        sub = commands.add_parser(name)
        sub.add_argument("host")
        sub.add_argument("port", type=int)
        sub.add_argument("--timeout", type=float, default=1.0)
    sub = commands.add_parser("dns")
    sub.add_argument("server")
    sub.add_argument("name")
    sub.add_argument("--timeout", type=float, default=2.0)
    sub.add_argument("--type", choices=("A", "AAAA"), default="A")
    sub = commands.add_parser("crowd")
    sub.add_argument("host")
    sub.add_argument("port", type=int)
    sub.add_argument("count", type=int)
    sub.add_argument("--timeout", type=float, default=2.0)
    sub.add_argument("--sources", default="", help="source addresses, separated by commas")
    sub = commands.add_parser("onboard")
    sub.add_argument("url")
    sub.add_argument("--lang", default="fr")
    args = parser.parse_args()
    if args.command == "hold":
        hold(args.host, args.port)
        return 0
    if args.command == "connect":
        result = connect(args.host, args.port, args.timeout)
    elif args.command == "dns":
        result = dns(args.server, args.name, args.timeout, args.type)
    elif args.command == "udp":
        result = udp(args.host, args.port)
    elif args.command == "crowd":
        sources = [address for address in args.sources.split(",") if address]
        result = crowd(args.host, args.port, args.count, args.timeout, sources)
    else:
        result = onboard(args.url, args.lang)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
