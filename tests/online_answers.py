"""What each operating system's probe must get back once the device has access, written out.

DESIGN.md's "Captive-portal detection" table, byte for byte, independent of
portal/captive/probes.py: the unit tests (tests/test_probes.py) and the
end-to-end ones (tests/integration/test_hotspot.py) compare the portal's
answers with these literals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Expected:
    status: int
    body: bytes
    content_type: str | None
    """None: the answer has no Content-Type header at all."""
    headers: dict[str, str] = field(default_factory=dict)


NO_CONTENT = Expected(204, b"", None)
APPLE_SUCCESS = Expected(
    200, b"<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>", "text/html"
)
APPLE_HOSTS = (
    "captive.apple.com",
    "www.apple.com",
    "www.appleiphonecell.com",
    "www.ibook.info",
    "www.itools.info",
    "www.airport.us",
    "www.thinkdifferent.us",
)
APPLE_PATHS = ("/hotspot-detect.html", "/", "/library/test/success.html")
"""Apple devices fetch these (and random-looking paths) on every host above."""

ONLINE_ANSWERS: dict[str, Expected] = {
    # Android, and its vendor builds (Xiaomi, Huawei, Samsung China)
    "http://connectivitycheck.gstatic.com/generate_204": NO_CONTENT,
    "http://connectivitycheck.android.com/generate_204": NO_CONTENT,
    "http://www.google.com/gen_204": NO_CONTENT,
    "http://clients3.google.com/generate_204": NO_CONTENT,
    "http://play.googleapis.com/generate_204": NO_CONTENT,
    "http://connect.rom.miui.com/generate_204": NO_CONTENT,
    "http://connectivitycheck.platform.hicloud.com/generate_204": NO_CONTENT,
    "http://connectivity.samsung.com.cn/generate_204": NO_CONTENT,
    # GrapheneOS
    "http://connectivitycheck.grapheneos.network/generate_204": NO_CONTENT,
    "http://grapheneos.online/gen_204": NO_CONTENT,
    "http://grapheneos.online/generate_204": NO_CONTENT,
    # Chrome, ChromeOS, Edge
    "http://www.gstatic.com/generate_204": NO_CONTENT,
    "http://edge.microsoft.com/captiveportal/generate_204": NO_CONTENT,
    # iOS, macOS
    **{f"http://{host}{path}": APPLE_SUCCESS for host in APPLE_HOSTS for path in APPLE_PATHS},
    # Windows, and legacy Windows
    "http://www.msftconnecttest.com/connecttest.txt": Expected(
        200, b"Microsoft Connect Test", "text/plain"
    ),
    "http://ipv6.msftconnecttest.com/connecttest.txt": Expected(
        200, b"Microsoft Connect Test", "text/plain"
    ),
    "http://www.msftncsi.com/ncsi.txt": Expected(200, b"Microsoft NCSI", "text/plain"),
    # Firefox
    "http://detectportal.firefox.com/canonical.html": Expected(
        200,
        b'<meta http-equiv="refresh" '
        b'content="0;url=https://support.mozilla.org/kb/captive-portal"/>',
        "text/html",
    ),
    "http://detectportal.firefox.com/success.txt": Expected(200, b"success\n", "text/plain"),
    # GNOME / NetworkManager, and Ubuntu's
    "http://nmcheck.gnome.org/check_network_status.txt": Expected(
        200, b"NetworkManager is online\n", "text/plain"
    ),
    # NetworkManager of Fedora, Red Hat, Arch and Debian
    "http://fedoraproject.org/static/hotspot.txt": Expected(200, b"OK\n", "text/plain"),
    "http://static.redhat.com/test/rhel-networkmanager.txt": Expected(200, b"OK\n", "text/plain"),
    "http://ping.archlinux.org/nm-check.txt": Expected(
        200, b"NetworkManager is online\n", "text/plain"
    ),
    "http://network-test.debian.org/nm": Expected(200, b"NetworkManager is online\n", "text/plain"),
    "http://connectivity-check.ubuntu.com/": Expected(
        204, b"", None, {"X-NetworkManager-Status": "online"}
    ),
}


PROBE_HOSTNAMES: tuple[str, ...] = tuple(
    sorted({str(urlsplit(url).hostname) for url in ONLINE_ANSWERS})
)
"""Every probe host above. While the uplink is up, the Pi's DNS gives each its real
address; while it is down, the Pi's own (tests/test_netconfig.py, tests/integration)."""
