"""The hotspot as a phone meets it: `portal doctor --wifi IFACE`, on a laptop joined to the
Wi-Fi (or a phone's network namespace in the tests). It takes no access: a DHCP offer is
asked for and never accepted, and nothing is posted."""

from __future__ import annotations

import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from portal.config import Settings
from portal.doctor import OK, Finding, fail, ok
from portal.doctor.network import (
    TIMEOUT,
    Answer,
    captive_api,
    dns_of_probe_hosts,
    dns_query,
    get,
)

BROADCAST_FLAG = 0x8000
"""Asks the server to broadcast its offer: the laptop may have no address to receive on."""
ANDROID_PROBE = ("connectivitycheck.gstatic.com", "/generate_204")
CLOCK_SKEW_SECONDS = 120
"""A Pi's clock further off than this from the laptop's makes access end early or late."""
FAST_SECONDS = 1.0
"""HTTPS before access must fail within this: a browser that waits longer looks broken."""
PORTAL_FIX = "on the Pi: systemctl restart portal (and read `journalctl -u portal`)"
FIREWALL_FIX = "the ruleset is not the Pi's: on the Pi, systemctl restart portal-firewall"


@dataclass
class Seen:
    """What one check learned that a later one needs."""

    pi: str = ""
    """The Pi's address: the DHCP server's."""
    api_url: str = ""
    """Option 114, if the offer carried it."""
    internet_up: bool | None = None
    outside: str = ""
    """A real address of a probe host (DNS, the Internet up)."""
    online: bool = False
    """This device already has access (the probe got its "online" answer)."""
    answers: list[Answer] = field(default_factory=list)


def dhcp_offer(interface: str, settings: Settings | None, seen: Seen) -> Finding:
    """A DHCP offer, with the Pi as router and DNS, and option 114 exactly when [tls] is set."""
    if not (Path("/sys/class/net") / interface).exists():
        return fail(
            "DHCP",
            f"this computer has no interface {interface}",
            "name its Wi-Fi interface (`ip link` lists them), e.g. --wifi wlan0",
        )
    offer = _discover(interface)
    if offer is None:
        return fail(
            "DHCP",
            f"no offer on {interface} within {TIMEOUT:.0f} s",
            "join this computer to the hotspot's Wi-Fi; on the Pi: systemctl restart "
            "portal-hostapd portal-dnsmasq",
        )
    server = str(offer.get("server_id", ""))
    routers, servers = offer.get("router", ()), offer.get("name_server", ())
    seen.pi = server
    expected = settings.network.portal_address if settings else server
    if server != expected or list(routers)[:1] != [server] or list(servers)[:1] != [server]:
        return fail(
            "DHCP",
            f"offer from {server or 'nobody'}: router {', '.join(routers) or 'none'}, "
            f"DNS {', '.join(servers) or 'none'} (the Pi is {expected})",
            "another DHCP server answers on this network (a box's own Wi-Fi or cable?): turn "
            "its DHCP off, or keep it off the hotspot's network",
        )
    seen.api_url = offer.get("captive_portal", "")
    wanted = settings.api_url if settings and settings.serves_https else ""
    if settings is not None and seen.api_url != wanted:
        return fail(
            "DHCP",
            f"option 114 is {seen.api_url or 'missing'}, should be {wanted or 'missing'}",
            "the Pi runs other settings than this portal.toml: sudo portal apply-config",
        )
    if seen.api_url and not seen.api_url.startswith("https://"):
        return fail("DHCP", f"option 114 is {seen.api_url}", "it must be https://: set [tls]")
    minutes = int(offer.get("lease_time", 0)) // 60
    api = f"option 114 {seen.api_url}" if seen.api_url else "no option 114 (no [tls])"
    return ok(
        "DHCP",
        f"offer {offer['address']} from {server}, the router and DNS; {minutes} min; {api}",
    )


def _discover(interface: str) -> dict[str, Any] | None:
    """Send one DHCPDISCOVER (this interface's own hardware address) and read the offer."""
    # Imported here: scapy is slow to import and only this command needs it.
    from scapy.arch import get_if_hwaddr
    from scapy.config import conf
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.sendrecv import srp1
    from scapy.utils import mac2str

    conf.checkIPaddr = False  # the offer comes from the Pi, not from 255.255.255.255
    mac = get_if_hwaddr(interface)
    asked = [1, 3, 6, 51, 54, 114]
    discover = (
        Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
        / IP(src="0.0.0.0", dst="255.255.255.255")  # noqa: S104 (a DHCP client's source)
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=mac2str(mac), xid=secrets.randbits(32), flags=BROADCAST_FLAG)
        / DHCP(options=[("message-type", "discover"), ("param_req_list", asked), "end"])
    )
    reply = srp1(discover, iface=interface, timeout=TIMEOUT, verbose=False)
    if reply is None or DHCP not in reply:
        return None
    found: dict[str, Any] = {"address": reply[BOOTP].yiaddr}
    for option in reply[DHCP].options:
        if isinstance(option, tuple) and len(option) >= 2:
            name, values = option[0], option[1:]
            name = {114: "captive_portal", "captive-portal": "captive_portal"}.get(name, name)
            value = values[0] if name not in ("router", "name_server") else values
            found[str(name)] = (
                value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            )
    if found.get("message-type") != 2:  # an offer
        return None
    return found


def dns(seen: Seen) -> Finding:
    finding, seen.outside = dns_of_probe_hosts(seen.pi, None)
    seen.internet_up = bool(seen.outside) if finding.verdict == OK else None
    return finding


def internet(seen: Seen) -> Finding:
    """What the Pi's DNS says of its uplink: it points the probe hosts at itself while down."""
    if seen.internet_up is False:
        return fail(
            "Internet",
            "down, says the Pi: phones get the lessons and guides, not the Internet",
            "check the Pi's cable or 4G box towards the Internet",
        )
    if seen.internet_up is None:
        return fail("Internet", "cannot tell: DNS did not say", "see the DNS fix above")
    return ok("Internet", "up: the probe hosts have their real addresses")


def probe(settings: Settings | None, seen: Seen) -> Finding:
    """Android's probe, sent where DNS sends it: captive (302 to the portal), or "online"
    (204) when this device has done the lesson."""
    host, path = ANDROID_PROBE
    reply = dns_query(seen.pi, host, TIMEOUT)
    address = reply.addresses[0] if reply and reply.addresses else seen.pi
    try:
        answer = get(f"http://{host}{path}", address=address)
    except OSError as error:
        return fail("probe", f"http://{host}{path}: {error}", PORTAL_FIX)
    location = answer.headers.get("location", "")
    if answer.status == 204:
        seen.online = True
        return ok("probe", "204: this device already has access (the lesson was done)")
    wanted = settings.public_url if settings else ""
    at_pi = urlsplit(location).hostname in (seen.pi, *(settings.portal_hosts if settings else ()))
    if answer.status == 302 and (location == wanted or (not wanted and at_pi)):
        return ok("probe", f"captive: 302 to {location}, so phones open the sign-in window")
    return fail(
        "probe",
        f"http://{host}{path} answered {answer.status} {location}".rstrip(),
        "phones would not open the sign-in window. " + PORTAL_FIX,
    )


def api(settings: Settings | None, seen: Seen) -> Finding:
    url = seen.api_url or (settings.api_url if settings else f"http://{seen.pi}/api/captive")
    finding, answer = captive_api(url, settings.serves_https if settings else None)
    if answer is not None:
        seen.answers.append(answer)
    return finding


def https_fails_fast(seen: Seen) -> Finding:
    """Before access, HTTPS to the Internet is refused at once (a TCP reset), not left to
    time out: browsers then say so instead of spinning."""
    if seen.online:
        return ok("HTTPS", "this device has access, so HTTPS goes out (not checked)")
    if not seen.outside:
        return ok("HTTPS", "not checked: the Internet is down")
    started = time.monotonic()
    try:
        with socket.create_connection((seen.outside, 443), timeout=TIMEOUT):
            pass
    except ConnectionRefusedError:
        took = time.monotonic() - started
        if took <= FAST_SECONDS:
            return ok("HTTPS", f"refused in {took * 1000:.0f} ms before access, as it should be")
        return fail("HTTPS", f"refused after {took:.1f} s", FIREWALL_FIX)
    except OSError:
        took = time.monotonic() - started
        return fail("HTTPS", f"no answer in {took:.1f} s: phones wait, then fail", FIREWALL_FIX)
    return fail("HTTPS", f"{seen.outside}:443 connects before access", FIREWALL_FIX)


def admin_port(settings: Settings | None, seen: Seen) -> Finding:
    port = (settings or Settings()).network.admin_port
    try:
        with socket.create_connection((seen.pi, port), timeout=TIMEOUT):
            pass
    except OSError:
        return ok("admin port", f"{seen.pi}:{port} is out of reach from the Wi-Fi")
    return fail("admin port", f"{seen.pi}:{port} answers from the Wi-Fi", FIREWALL_FIX)


def clock(seen: Seen) -> Finding:
    """The Pi's clock (its Date header) against this computer's."""
    skews = [s for s in (a.date_skew(time.time()) for a in seen.answers) if s is not None]
    if not skews:
        return fail("clock", "the portal sent no time", PORTAL_FIX)
    skew = skews[0]
    if abs(skew) <= CLOCK_SKEW_SECONDS:
        return ok("clock", f"the Pi's clock is within {abs(skew):.0f} s of this computer's")
    return fail(
        "clock",
        f"the Pi's clock is {abs(skew) / 60:.0f} min {'ahead' if skew > 0 else 'behind'}",
        "access would end early or late. The Pi has no battery clock: give it the Internet "
        "(its uplink) and restart it; it sets the time by itself",
    )


def check(interface: str, settings: Settings | None) -> list[Finding]:
    """Every check from the Wi-Fi side, in the order a phone meets them."""
    seen = Seen()
    first = dhcp_offer(interface, settings, seen)
    if not seen.pi:
        return [first]  # without the Pi's address nothing else can be asked
    return [
        first,
        dns(seen),
        internet(seen),
        probe(settings, seen),
        api(settings, seen),
        https_fails_fast(seen),
        admin_port(settings, seen),
        clock(seen),
    ]


__all__ = ["Seen", "check"]
