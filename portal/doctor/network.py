"""What both sides of `portal doctor` ask the hotspot: DNS about the probe hosts, and HTTP."""

from __future__ import annotations

import contextlib
import http.client
import json
import secrets
import socket
import ssl
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from portal.captive.probes import PROBE_HOSTS
from portal.doctor import Finding, fail, ok
from portal.uplink import DNS_PORT

TIMEOUT = 3.0
"""Seconds any one answer may take: a phone gives up about as soon."""
DOH_CANARY = "use-application-dns.net"
"""Answered NXDOMAIN, browsers keep their DNS-over-HTTPS off (and meet the portal)."""


@dataclass(frozen=True)
class DnsReply:
    rcode: int
    """0 for an answer, 3 for NXDOMAIN (RFC 1035)."""
    addresses: tuple[str, ...]
    """The A (or AAAA) records answered, in order."""


def dns_query(
    server: str, name: str, timeout: float, port: int = DNS_PORT, qtype: str = "A"
) -> DnsReply | None:
    """Ask `server` about `name`: its reply, or None without a well-formed one in time. With
    scapy, which reads answers whole (the uplink monitor, resident, asks without it)."""
    from scapy.layers.dns import DNS, DNSQR

    query_id = secrets.randbelow(65536)
    query = bytes(DNS(id=query_id, rd=1, qd=DNSQR(qname=name, qtype=qtype)))
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(query, (server, port))
            data, _ = sock.recvfrom(4096)
        except OSError:
            return None
    with contextlib.suppress(Exception):  # scapy raises many kinds on garbage
        reply = DNS(data)
        if reply.id != query_id or reply.qr != 1:
            return None
        wanted = 1 if qtype == "A" else 28  # the record types, RFC 1035 and 3596
        found = tuple(str(r.rdata) for r in reply.an or [] if r.type == wanted)
        return DnsReply(int(reply.rcode), found)
    return None


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    """Names in lower case."""
    body: bytes

    def date_skew(self, now: float) -> float | None:
        """Seconds the server's clock (its Date header) is ahead of `now`, if it sent one."""
        try:
            return parsedate_to_datetime(self.headers["date"]).timestamp() - now
        except (KeyError, TypeError, ValueError):
            return None


class _HttpsTo(http.client.HTTPSConnection):
    """HTTPS to a given address, the certificate checked for the URL's name (SNI too)."""

    def __init__(self, name: str, address: str, port: int) -> None:
        self.tls = ssl.create_default_context()  # as a phone checks it
        super().__init__(name, port, timeout=TIMEOUT, context=self.tls)
        self.address = address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


def get(url: str, *, address: str | None = None, host: str | None = None) -> Answer:
    """One GET, no redirect followed, sent to `address` if given (where DNS sent a phone;
    the Pi's own address on the Pi, whose resolver does not know the portal's name), with
    `host` as the Host header. OSError (ssl.SSLError too) on failure."""
    parts = urlsplit(url)
    name = parts.hostname or ""
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _HttpsTo(name, address or name, parts.port or 443)
    else:
        connection = http.client.HTTPConnection(address or name, parts.port or 80, timeout=TIMEOUT)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Host": host or parts.netloc, "Accept": "application/captive+json, */*"}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read(65536)
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    except http.client.HTTPException as error:
        raise OSError(f"not an HTTP answer ({type(error).__name__})") from error
    finally:
        connection.close()


def dns_of_probe_hosts(pi: str, internet_up: bool | None) -> tuple[Finding, str]:
    """Ask the Pi's DNS (at `pi`, its address) about every probe host: while the Internet is
    up each has its real address, while it is down each is the Pi. With `internet_up` None
    (a laptop cannot know) the answers must agree with each other. The finding, and one
    real address seen."""
    hosts = sorted(PROBE_HOSTS)
    at_pi, elsewhere, unanswered = [], [], []
    real = ""
    for host in hosts:
        reply = dns_query(pi, host, TIMEOUT)
        if reply is None:
            return fail(
                "DNS",
                f"{pi} did not answer about {host} within {TIMEOUT:.0f} s",
                "phones cannot find any name. On the Pi: systemctl restart portal-dnsmasq",
            ), ""
        if reply.addresses == (pi,):
            at_pi.append(host)
        elif reply.addresses:
            elsewhere.append(host)
            real = real or reply.addresses[0]
        else:
            unanswered.append(host)
    canary = dns_query(pi, DOH_CANARY, TIMEOUT)
    if canary is None or canary.rcode != 3:
        return fail(
            "DNS",
            f"{DOH_CANARY} is not answered 'no such name'",
            "browsers would use their own DNS and never show the portal. On the Pi: "
            "sudo portal apply-config, then systemctl restart portal-dnsmasq",
        ), real
    down = internet_up is False or (internet_up is None and not elsewhere and at_pi)
    wrong = elsewhere + unanswered if down else at_pi + unanswered
    if wrong:
        expected = "the Pi" if down else "their real addresses"
        state = "down" if down else "up"
        return fail(
            "DNS",
            f"with the Internet {state}, {len(wrong)} of {len(hosts)} probe hosts are not at "
            f"{expected} (e.g. {wrong[0]})",
            # The uplink monitor switches the DNS: portal-housekeep's, or on a Zero 2 W the
            # portal's, where portal-housekeep does not start (portal/machine.py).
            "phones would not show the sign-in window, or call the Wi-Fi broken. On the Pi: "
            "systemctl restart portal-housekeep portal (the uplink monitor switches the DNS)",
        ), real
    if down:
        return ok(
            "DNS",
            f"the Internet is down: all {len(hosts)} probe hosts point at the Pi, so phones "
            "open the portal, whose lessons and guides work offline",
        ), real
    return ok(
        "DNS",
        f"all {len(hosts)} probe hosts have their real addresses; {DOH_CANARY}: no such name",
    ), real


def captive_api(
    url: str, expect_https: bool | None, address: str | None = None
) -> tuple[Finding, Answer | None]:
    """The RFC 8908 API answers as phones expect (asked at `address` if given); the finding
    and the answer (for its Date)."""
    if expect_https and not url.startswith("https://"):
        return fail("API", f"{url} is not on HTTPS", "set [tls] in portal.toml"), None
    try:
        answer = get(url, address=address)
    except OSError as error:
        fix = "phones cannot ask whether they are online. On the Pi: systemctl restart portal"
        if isinstance(error, ssl.SSLCertVerificationError):
            fix = (
                "phones refuse the certificate: renew it ([tls] certificate_file) or check "
                "that it is issued to network.portal_hostname"
            )
        return fail("API", f"{url}: {error}", fix), None
    kind = answer.headers.get("content-type", "")
    try:
        document = json.loads(answer.body)
    except ValueError:
        document = None
    if (
        answer.status != 200
        or not kind.startswith("application/captive+json")
        or not isinstance(document, dict)
        or not isinstance(document.get("captive"), bool)
    ):
        return fail(
            "API",
            f"{url} answered {answer.status} {kind or 'without a type'}",
            "it must be the portal's own answer. On the Pi: systemctl restart portal",
        ), answer
    return ok("API", f"{url}: captive {str(document['captive']).lower()}"), answer


__all__ = ["TIMEOUT", "Answer", "DnsReply", "captive_api", "dns_of_probe_hosts", "dns_query", "get"]
