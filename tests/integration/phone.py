"""What a phone does on the Wi-Fi, as a script run inside a client namespace.

    python phone.py connect HOST PORT [--timeout S]  → {"outcome": "refused", "ms": 0.4}
    python phone.py dns SERVER NAME                  → {"answers": ["10.42.0.1"], "rcode": 0}
    python phone.py udp HOST PORT                    → sends a few datagrams (QUIC-like)
    python phone.py onboard URL [--lang fr]          → walks the lesson, asks for access
    python phone.py hold HOST PORT                   → one TCP connection to an echo server;
                                                       each stdin line is echoed, then "ok"
                                                       or "fail <reason>" is printed

Every command prints one JSON line (hold: one line per stdin line).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import secrets
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
NEXT_LINK = re.compile(r'data-action="next" href="([^"]+)"')
ANSWER = re.compile(r'name="answer" value="(\d+)"')


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


def dns(server: str, name: str, timeout: float) -> dict[str, Any]:
    """Ask `server` for the A records of `name`, the way a phone with a fixed resolver does."""
    from scapy.layers.dns import DNS, DNSQR

    query_id = secrets.randbelow(65536)
    with socket.socket(family_of(server), socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(bytes(DNS(id=query_id, rd=1, qd=DNSQR(qname=name, qtype="A"))), (server, 53))
        try:
            data, source = sock.recvfrom(4096)
        except TimeoutError:
            return {"outcome": "timeout"}
    answer = DNS(data)
    records = [answer.an[i] for i in range(answer.ancount)] if answer.ancount else []
    return {
        "outcome": "answered",
        "source": source[0],
        "id_matches": answer.id == query_id,
        "rcode": int(answer.rcode),
        "answers": [str(record.rdata) for record in records if int(record.type) == 1],
    }


def udp(host: str, port: int) -> dict[str, Any]:
    with socket.socket(family_of(host), socket.SOCK_DGRAM) as sock:
        for _ in range(3):
            sock.sendto(b"\xc0quic-initial-stand-in", (host, port))
    return {"outcome": "sent"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def onboard(start: str, language: str) -> dict[str, Any]:
    """Walk the onboarding lesson as a person does: links, check answers, the access button."""
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
        NoRedirect(),
    )

    def request(path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        body = None if form is None else urllib.parse.urlencode(form).encode()
        url = urllib.parse.urljoin(start, path)
        try:
            # The portal's own http:// URL, given by the test.
            with opener.open(urllib.request.Request(url, data=body), timeout=10) as response:  # noqa: S310
                page = response.read().decode()
                return response.status, response.headers.get("Location", ""), page
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode()

    status, _, _ = request(f"/?lang={language}")
    if status != 200:
        return {"failed_at": "start", "status": status}
    path = "/lesson/onboarding/1"
    for _ in range(50):
        status, _, page = request(path)
        if status != 200:
            return {"failed_at": path, "status": status}
        answers = ANSWER.findall(page)
        if answers:
            token = TOKEN.search(page)
            assert token, f"{path} has a check but no CSRF token"
            for choice in answers:  # like a person: try until the right picture
                status, location, _ = request(
                    path, {"answer": choice, "csrf_token": token.group(1)}
                )
                if status == 303:
                    break
            else:
                return {"failed_at": path, "status": status}
            path = location
        else:
            link = NEXT_LINK.search(page)
            if not link:
                return {"failed_at": path, "status": status, "reason": "no next link"}
            path = link.group(1)
        if path.endswith("/done"):
            break
    status, _, page = request(path)
    token = TOKEN.search(page)
    if status != 200 or not token:
        return {"failed_at": path, "status": status}
    status, location, _ = request("/access", {"csrf_token": token.group(1)})
    return {"status": status, "location": location}


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
        result = dns(args.server, args.name, args.timeout)
    elif args.command == "udp":
        result = udp(args.host, args.port)
    else:
        result = onboard(args.url, args.lang)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
