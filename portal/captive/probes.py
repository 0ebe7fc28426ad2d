"""The connectivity probes operating systems send, paired with each one's exact "online" answer.

Before access every probe is answered "captive" (a redirect to the portal); after
access it gets, byte for byte, what the real probe server would send, or the
phone keeps thinking it is behind a portal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ANY_PATH = "*"


@dataclass(frozen=True)
class OnlineAnswer:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())


NO_CONTENT = OnlineAnswer(204)
APPLE_SUCCESS = OnlineAnswer(
    200,
    b"<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>",
    "text/html",
)
NM_ONLINE = OnlineAnswer(200, b"NetworkManager is online\n", "text/plain")
NM_OK = OnlineAnswer(200, b"OK\n", "text/plain")
"""NetworkManager's two answers; it compares the start of the body, so nothing may come
before the expected text."""


@dataclass(frozen=True)
class Probe:
    system: str
    host: str
    path: str
    """The probe's path, or ANY_PATH when the host answers every path the same."""
    online: OnlineAnswer


def _probes(system: str, hosts: tuple[str, ...], path: str, online: OnlineAnswer) -> list[Probe]:
    return [Probe(system, host, path, online) for host in hosts]


PROBES: tuple[Probe, ...] = tuple(
    _probes(
        "android",
        (
            "connectivitycheck.gstatic.com",
            "clients3.google.com",
            "play.googleapis.com",
            "connectivitycheck.android.com",
            # Vendor builds (Xiaomi, Huawei, Samsung China) probe their own hosts.
            "connect.rom.miui.com",
            "connectivitycheck.platform.hicloud.com",
            "connectivity.samsung.com.cn",
        ),
        "/generate_204",
        NO_CONTENT,
    )
    + _probes("android", ("www.google.com",), "/gen_204", NO_CONTENT)
    + [
        Probe("grapheneos", host, path, NO_CONTENT)
        for host, path in (
            ("connectivitycheck.grapheneos.network", "/generate_204"),
            ("grapheneos.online", "/gen_204"),
            ("grapheneos.online", "/generate_204"),
        )
    ]
    + _probes("chrome", ("www.gstatic.com",), "/generate_204", NO_CONTENT)
    + _probes("edge", ("edge.microsoft.com",), "/captiveportal/generate_204", NO_CONTENT)
    # Apple devices fetch /hotspot-detect.html, / and random-looking paths on
    # several hosts; any answer other than the Success page means "captive".
    + _probes(
        "apple",
        (
            "captive.apple.com",
            "www.apple.com",
            "www.appleiphonecell.com",
            "www.ibook.info",
            "www.itools.info",
            "www.airport.us",
            "www.thinkdifferent.us",
        ),
        ANY_PATH,
        APPLE_SUCCESS,
    )
    + _probes(
        "windows",
        ("www.msftconnecttest.com", "ipv6.msftconnecttest.com"),
        "/connecttest.txt",
        OnlineAnswer(200, b"Microsoft Connect Test", "text/plain"),
    )
    + _probes(
        "windows",
        ("www.msftncsi.com",),
        "/ncsi.txt",
        OnlineAnswer(200, b"Microsoft NCSI", "text/plain"),
    )
    + _probes(
        "firefox",
        ("detectportal.firefox.com",),
        "/canonical.html",
        OnlineAnswer(
            200,
            b'<meta http-equiv="refresh" '
            b'content="0;url=https://support.mozilla.org/kb/captive-portal"/>',
            "text/html",
        ),
    )
    + _probes(
        "firefox",
        ("detectportal.firefox.com",),
        "/success.txt",
        OnlineAnswer(200, b"success\n", "text/plain"),
    )
    # NetworkManager, as GNOME and the distributions ship it.
    + [
        Probe("gnome", "nmcheck.gnome.org", "/check_network_status.txt", NM_ONLINE),
        Probe("fedora", "fedoraproject.org", "/static/hotspot.txt", NM_OK),
        Probe("redhat", "static.redhat.com", "/test/rhel-networkmanager.txt", NM_OK),
        Probe("arch", "ping.archlinux.org", "/nm-check.txt", NM_ONLINE),
        Probe("debian", "network-test.debian.org", "/nm", NM_ONLINE),
    ]
    + _probes(
        "ubuntu",
        ("connectivity-check.ubuntu.com",),
        "/",
        OnlineAnswer(204, headers=(("X-NetworkManager-Status", "online"),)),
    )
)


_EXACT = {(p.host, p.path): p for p in PROBES if p.path != ANY_PATH}
_ANY = {p.host: p for p in PROBES if p.path == ANY_PATH}

PROBE_HOSTS: frozenset[str] = frozenset(p.host for p in PROBES)
"""Every probe host name (dnsmasq answers these with the portal's address)."""


def find_probe(host: str, path: str) -> Probe | None:
    """The probe a request is, by its (normalised) host and path, or None."""
    return _EXACT.get((host, path)) or _ANY.get(host)


def normalise_host(raw: str) -> str:
    """Host header → bare lower-case name: port and trailing dot removed."""
    host = raw.strip().lower()
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0].rstrip(".") if ":" in host else host.rstrip(".")
