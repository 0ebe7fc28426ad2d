"""End to end on a real kernel: a phone is caught, onboarded and let out; the rest stays shut.

One hotspot for the whole session (tests/integration/hotspot.py). Phone 1 goes
through the lesson and gets access; phone 2 never does, so it is "before
access" in every test. Tests that break things (revoke, expiry, a killed
portal, a cut uplink) come last, in file order, and put things back.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portal.uplink import UplinkStatus
from tests.integration.hotspot import (
    ADMIN_PORT,
    CHECK_INTERVAL_SECONDS,
    CHECK_TIMEOUT_SECONDS,
    COMMUNE_BODY,
    COMMUNE_LAN_ADDRESS,
    GUEST_NETWORK6,
    HTTPS_PORT,
    NOBODY,
    PHONE_LISTENER_PORT,
    PORTAL_ADDRESS,
    PORTAL_HOSTNAME,
    PORTAL_URL,
    SESSION_MINUTES,
    UPLINK_ADDRESS,
    UPSTREAM_ADDRESS,
    UPSTREAM_ADDRESS6,
    UPSTREAM_BODY,
    Hotspot,
    Phone,
    doctor_rows,
    wait_for,
)
from tests.online_answers import ONLINE_ANSWERS, PROBE_HOSTNAMES
from tests.system import require

pytestmark = pytest.mark.netns

UPSTREAM_URL = f"http://{UPSTREAM_ADDRESS}/"
CAPTIVE_API = f"{PORTAL_URL}api/captive"
FOREIGN_UID = 65533
INTERNET_DOWN_FR = "Internet ne marche pas en ce moment."


def phone(hotspot: Hotspot) -> Phone:
    """The phone that goes through the lesson."""
    return hotspot.phones[0]


def newcomer(hotspot: Hotspot) -> Phone:
    """The phone that never does: always before access."""
    return hotspot.phones[1]


def fetch_body(hotspot: Hotspot, where: Phone | str, url: str, timeout: float = 5) -> str | None:
    """The body `url` answers from a phone (or a namespace), or None when nothing answers."""
    namespace = where if isinstance(where, str) else where.namespace
    answer = hotspot.fetch(namespace, url, timeout)
    return None if answer is None else answer.body


def captive_api(hotspot: Hotspot, who: Phone) -> dict[str, object]:
    answer = hotspot.fetch(who.namespace, CAPTIVE_API)
    assert answer is not None and answer.status == 200
    result: dict[str, object] = json.loads(answer.body)
    return result


def statuses(hotspot: Hotspot, who: Phone, urls: list[str]) -> dict[str, str]:
    """One curl for many URLs: URL → "status location"."""
    argv = ["curl", "-s", "-4", "--noproxy", "*", "--max-time", "5"]
    argv += ["-w", "%{http_code} %{redirect_url}\\n"]
    for url in urls:
        argv += ["-o", "/dev/null", url]
    done = subprocess.run(
        ["ip", "netns", "exec", who.namespace, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=hotspot.env,
    )
    lines = done.stdout.splitlines()
    return {
        url: (lines[i].strip() if i < len(lines) else "no answer") for i, url in enumerate(urls)
    }


def connect(hotspot: Hotspot, namespace: str, host: str, port: int, timeout: float = 1.0) -> str:
    result = hotspot.phone_tool(namespace, "connect", host, str(port), "--timeout", str(timeout))
    return str(result["outcome"])


def onboard(hotspot: Hotspot, who: Phone) -> dict[str, object]:
    return hotspot.phone_tool(who.namespace, "onboard", PORTAL_URL, "--lang", "fr")


@pytest.fixture
def online(hotspot: Hotspot) -> Iterator[Hotspot]:
    """Phone 1 has access (it walks the lesson again if an earlier test took access away)."""
    who = phone(hotspot)
    if who.mac not in hotspot.kernel_set():
        again = onboard(hotspot, who)  # its learning path: one tap, or the lesson
        assert again["outcome"] == "online", again
        if again["way"] == "online":
            # Taken out of the set behind the portal's back (the gatekeeper's revoke): the
            # portal still counts the grant, so it goes back in as the portal's restore does.
            assert hotspot.gatekeeper({"verb": "grant", "mac": who.mac, "seconds": 3600}) == {
                "ok": True
            }
    yield hotspot


# --- joining the Wi-Fi ---


def test_dhcp_offer_carries_the_pi_as_dns_server_and_router_and_no_http_api(
    hotspot: Hotspot,
) -> None:
    for who in hotspot.phones:
        for message in ("offer", "ack"):
            options = who.lease[message]
            assert "captive_portal" not in options  # RFC 8910 asks for https://
            assert options["name_server"] == PORTAL_ADDRESS
            assert options["router"] == PORTAL_ADDRESS
            assert 3600 <= int(options["lease_time"]) <= 7200
        assert ipaddress.IPv4Address(who.address) in ipaddress.IPv4Network("10.42.0.0/24")


def test_a_busybox_client_asking_for_option_114_gets_no_http_api(hotspot: Hotspot) -> None:
    """A real DHCP client (busybox udhcpc -O 114), as small Linux devices run it."""
    require("busybox")
    bound = hotspot.busybox_lease(newcomer(hotspot))
    # The script saw the lease (its router and DNS server are the Pi) ...
    assert (bound["router"], bound["dns"].strip()) == (PORTAL_ADDRESS, PORTAL_ADDRESS)
    # ... and no captive-portal API, which would have come as opt114.
    assert "opt114" not in bound


def test_web_processes_run_as_nobody_without_any_capability(hotspot: Hotspot) -> None:
    for name in ("portal", "housekeep"):
        pids = hotspot.processes[name].members()
        assert len(pids) >= (3 if name == "portal" else 1)  # gunicorn: master and two workers
        for pid in pids:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            status = dict(line.split(":", 1) for line in lines)
            assert status["Uid"].split() == [str(NOBODY)] * 4, name
            assert status["Gid"].split() == [str(NOBODY)] * 4, name
            for capabilities in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                assert int(status[capabilities], 16) == 0, f"{name} {capabilities}"


# --- before access (phone 2) ---


def test_before_access_any_web_page_lands_on_the_portal(hotspot: Hotspot) -> None:
    for url in (UPSTREAM_URL, "http://example.test/some/page"):
        answer = hotspot.fetch(newcomer(hotspot).namespace, url)
        assert answer is not None, url
        assert (answer.status, answer.headers["location"]) == (302, PORTAL_URL), url


def test_before_access_every_os_probe_is_captive(hotspot: Hotspot) -> None:
    urls = list(ONLINE_ANSWERS)
    assert statuses(hotspot, newcomer(hotspot), urls) == dict.fromkeys(urls, f"302 {PORTAL_URL}")


def test_before_access_https_gets_a_reset_within_100_ms(hotspot: Hotspot) -> None:
    for _ in range(3):
        result = hotspot.phone_tool(
            newcomer(hotspot).namespace, "connect", UPSTREAM_ADDRESS, "443", "--timeout", "2"
        )
        assert result["outcome"] == "refused"
        assert result["ms"] < 100


def test_before_access_dns_to_an_outside_resolver_is_answered_by_the_pi(
    hotspot: Hotspot,
) -> None:
    # The outside resolver itself knows nothing of the portal's name ...
    asked_directly = hotspot.phone_tool(
        hotspot.hotspot_ns, "dns", UPSTREAM_ADDRESS, PORTAL_HOSTNAME
    )
    assert PORTAL_ADDRESS not in asked_directly.get("answers", [])
    # ... so the Pi's address in the answer the phone gets shows who answered.
    answer = hotspot.phone_tool(
        newcomer(hotspot).namespace, "dns", UPSTREAM_ADDRESS, PORTAL_HOSTNAME
    )
    assert answer["outcome"] == "answered" and answer["id_matches"]
    assert answer["answers"] == [PORTAL_ADDRESS]
    # Ordinary names are forwarded to the configured upstream and answered truly.
    forwarded = hotspot.phone_tool(newcomer(hotspot).namespace, "dns", "9.9.9.9", "example.test")
    assert forwarded["answers"] == [UPSTREAM_ADDRESS]


def test_before_access_dns_over_tls_and_quic_never_reach_upstream(hotspot: Hotspot) -> None:
    record = hotspot.upstream_record
    # The recorders work: the Pi itself gets through to both.
    assert connect(hotspot, hotspot.hotspot_ns, UPSTREAM_ADDRESS, 853) == "connected"
    hotspot.phone_tool(hotspot.hotspot_ns, "udp", UPSTREAM_ADDRESS, "443")
    wait_for(lambda: record.read_text().count(UPLINK_ADDRESS) >= 2, "the recorders", 5)
    record.write_text("")
    assert connect(hotspot, newcomer(hotspot).namespace, UPSTREAM_ADDRESS, 853) == "timeout"
    hotspot.phone_tool(newcomer(hotspot).namespace, "udp", UPSTREAM_ADDRESS, "443")
    time.sleep(0.5)
    assert record.read_text() == ""


# --- onboarding (phone 1) ---


def test_onboarding_over_plain_http_opens_the_internet(hotspot: Hotspot) -> None:
    who = phone(hotspot)
    assert who.mac not in hotspot.kernel_set(), "run the end-to-end tests in file order"
    before = hotspot.fetch(who.namespace, UPSTREAM_URL)
    assert before is not None and before.status == 302
    assert onboard(hotspot, who) == {"outcome": "online", "way": "lesson"}
    assert fetch_body(hotspot, who, UPSTREAM_URL) == UPSTREAM_BODY
    element = hotspot.kernel_set()[who.mac]
    assert element["timeout"] == SESSION_MINUTES * 60
    api = captive_api(hotspot, who)
    assert api["captive"] is False
    assert SESSION_MINUTES * 60 - 30 <= int(str(api["seconds-remaining"])) <= SESSION_MINUTES * 60


def resolve(hotspot: Hotspot, who: Phone, name: str, kind: str = "A") -> dict[str, Any]:
    """Ask the Pi's DNS, as the phone's resolver does."""
    return hotspot.phone_tool(who.namespace, "dns", PORTAL_ADDRESS, name, "--type", kind)


def test_after_access_every_probe_reaches_the_real_server_over_http_and_https(
    online: Hotspot,
) -> None:
    """No HTTPS probe hits the Pi (where 443 is shut): "partial connectivity" for Android."""
    who = phone(online)
    for host in PROBE_HOSTNAMES:
        assert resolve(online, who, host)["answers"] == [UPSTREAM_ADDRESS], host
    assert connect(online, who.namespace, UPSTREAM_ADDRESS, HTTPS_PORT) == "connected"
    urls = list(ONLINE_ANSWERS)
    assert statuses(online, who, urls) == dict.fromkeys(urls, "200")
    for url in (
        "http://connectivitycheck.gstatic.com/generate_204",
        "http://ping.archlinux.org/nm-check.txt",
    ):
        assert fetch_body(online, who, url) == UPSTREAM_BODY, url


# --- never reachable, with or without access ---


def test_commune_lan_is_never_reachable(online: Hotspot) -> None:
    url = f"http://{COMMUNE_LAN_ADDRESS}/"
    assert fetch_body(online, online.hotspot_ns, url) == COMMUNE_BODY  # the Pi reaches it
    assert fetch_body(online, phone(online), url, timeout=1) is None
    assert connect(online, phone(online).namespace, COMMUNE_LAN_ADDRESS, 80) == "timeout"
    before = online.fetch(newcomer(online).namespace, url)
    assert before is not None and before.body != COMMUNE_BODY and before.status == 302


def test_admin_port_is_never_reachable_from_the_wifi(online: Hotspot) -> None:
    # The admin pages listen on the uplink interface only (network.admin_address "").
    assert online.listening(online.hotspot_ns, "0.0.0.0%eth0", ADMIN_PORT)
    for who in online.phones:
        assert connect(online, who.namespace, PORTAL_ADDRESS, ADMIN_PORT) == "timeout"


def test_one_phone_holds_at_most_16_connections_to_the_portal(hotspot: Hotspot) -> None:
    """Slow or idle sockets of one guest cannot take every worker: the kernel counts them."""
    crowd = hotspot.phone_tool(newcomer(hotspot).namespace, "crowd", PORTAL_ADDRESS, "80", "20")
    assert crowd == {"connected": 16, "refused": 4}
    # The other phone is served; once its sockets close, the guest is again.
    assert fetch_body(hotspot, phone(hotspot), CAPTIVE_API) is not None
    after = hotspot.phone_tool(newcomer(hotspot).namespace, "crowd", PORTAL_ADDRESS, "80", "3")
    assert after == {"connected": 3}


def test_a_phone_taking_more_ip_addresses_still_holds_at_most_16(hotspot: Hotspot) -> None:
    """The count goes by hardware address: a second IP address buys no more connections."""
    guest = newcomer(hotspot)
    second = guest.address.rsplit(".", 1)[0] + ".250"
    hotspot.ip(guest.namespace, f"addr add {second}/24 dev eth0")
    try:
        sources = f"--sources={guest.address},{second}"
        crowd = hotspot.phone_tool(guest.namespace, "crowd", PORTAL_ADDRESS, "80", "20", sources)
    finally:
        hotspot.ip(guest.namespace, f"addr del {second}/24 dev eth0")
    assert crowd == {"connected": 16, "refused": 4}


def test_phones_never_reach_each_other(online: Hotspot) -> None:
    first, second = phone(online), newcomer(online)
    for target in (first, second):  # the listeners are up: the Pi reaches them
        body = fetch_body(online, online.hotspot_ns, f"http://{target.address}:8080/")
        assert body is not None and body.startswith("phone")
    for source, target in ((first, second), (second, first)):
        outcome = connect(online, source.namespace, target.address, PHONE_LISTENER_PORT)
        assert outcome != "connected"  # the bridge keeps their frames apart
    # Not even when both send their packets to the Pi to route.
    routes = [
        (who.namespace, f"{other.address}/32") for who, other in ((first, second), (second, first))
    ]
    try:
        for namespace, destination in routes:
            online.run_in(namespace, ["ip", "route", "add", destination, "via", PORTAL_ADDRESS])
        for source, target in ((first, second), (second, first)):
            outcome = connect(online, source.namespace, target.address, PHONE_LISTENER_PORT)
            assert outcome == "timeout"
    finally:
        for namespace, destination in routes:
            quietly(online, namespace, ["ip", "route", "del", destination])


def test_nothing_goes_over_ipv6(online: Hotspot) -> None:
    assert connect(online, online.hotspot_ns, UPSTREAM_ADDRESS6, 80) == "connected"
    pi_link_local, pi_mac = online.wifi_link_local()
    # The worst case: the Pi routes a guest prefix and phones have addresses in it.
    guest_route = ["ip", "-6", "route", "add", GUEST_NETWORK6, "dev", "wlan0"]
    online.run_in_hotspot(guest_route)
    try:
        for number, who in enumerate(online.phones, start=1):
            phone_gets_nowhere_over_ipv6(online, who, number, pi_link_local, pi_mac)
    finally:
        quietly(online, online.hotspot_ns, ["ip", "-6", "route", "del", GUEST_NETWORK6])


def phone_gets_nowhere_over_ipv6(
    hotspot: Hotspot, who: Phone, number: int, pi_link_local: str, pi_mac: str
) -> None:
    ns = who.namespace
    # No router advertisement reached the phone: it has no IPv6 route out.
    assert hotspot.run_in(ns, ["ip", "-6", "route", "show", "default"]).strip() == ""
    # The Pi does not answer over IPv6 on the Wi-Fi side, neighbour discovery included.
    assert connect(hotspot, ns, f"{pi_link_local}%eth0", 80) == "timeout"
    # Even a phone with a global address and a route through the Pi gets nowhere.
    address = str(ipaddress.IPv6Network(GUEST_NETWORK6)[number])
    try:
        hotspot.run_in(ns, ["ip", "-6", "addr", "add", f"{address}/64", "dev", "eth0", "nodad"])
        hotspot.run_in(
            ns, ["ip", "-6", "neigh", "replace", pi_link_local, "lladdr", pi_mac, "dev", "eth0"]
        )
        hotspot.run_in(
            ns, ["ip", "-6", "route", "add", "2001:db8:1::/64", "via", pi_link_local, "dev", "eth0"]
        )
        assert connect(hotspot, ns, UPSTREAM_ADDRESS6, 80) == "timeout"
    finally:
        quietly(hotspot, ns, ["ip", "-6", "route", "del", "2001:db8:1::/64"])
        quietly(hotspot, ns, ["ip", "-6", "neigh", "del", pi_link_local, "dev", "eth0"])
        quietly(hotspot, ns, ["ip", "-6", "addr", "del", f"{address}/64", "dev", "eth0"])


def quietly(hotspot: Hotspot, namespace: str, argv: list[str]) -> None:
    """Undo a test's change; a failure here must not hide the test's own."""
    subprocess.run(
        ["ip", "netns", "exec", namespace, *argv], capture_output=True, check=False, env=hotspot.env
    )


# --- taking access away, and what must survive ---


def test_revoke_cuts_an_open_connection(online: Hotspot) -> None:
    who = phone(online)
    with online.hold_connection() as session:
        assert session.echo() == "ok"
        assert online.gatekeeper({"verb": "revoke", "mac": who.mac}) == {"ok": True}
        assert who.mac not in online.kernel_set()
        assert session.echo().startswith("fail")
    assert who.address not in online.run_in_hotspot(["conntrack", "-L", "-s", who.address])


def test_expiry_cuts_an_open_connection(online: Hotspot) -> None:
    who = phone(online)
    assert online.gatekeeper({"verb": "grant", "mac": who.mac, "seconds": 4}) == {"ok": True}
    with online.hold_connection() as session:
        assert session.echo() == "ok"
        wait_for(lambda: who.mac not in online.kernel_set(), "the grant to expire", 10)
        assert session.echo().startswith("fail")


def test_gatekeeper_refuses_malformed_and_foreign_callers(online: Hotspot) -> None:
    before = set(online.kernel_set())
    stranger = "02:50:41:53:00:99"
    for request in (
        b"this is not json\n",
        {"verb": "grant", "mac": "ff:ff:ff:ff:ff:ff", "seconds": 60},
        {"verb": "grant", "mac": stranger, "seconds": 10**9},
        {"verb": "grant", "mac": stranger, "seconds": 60, "shell": "reboot"},
    ):
        reply = online.gatekeeper(request)
        assert reply["ok"] is False and reply["error"], request
    caller = textwrap.dedent(
        """
        import contextlib, json, socket, sys
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(sys.argv[1])
        except PermissionError:
            print(json.dumps({"refused_by": "file mode"}))
            sys.exit()
        request = {"verb": "grant", "mac": sys.argv[2], "seconds": 60}
        # The gatekeeper may answer and hang up before the request is even sent.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(json.dumps(request).encode() + b"\\n")
        print(s.makefile().readline())
        """
    )
    as_foreigner = ["setpriv", f"--reuid={FOREIGN_UID}", f"--regid={FOREIGN_UID}"]
    argv = [*as_foreigner, "--clear-groups", sys.executable, "-c", caller]
    argv += [str(online.socket_path), stranger]
    assert json.loads(online.run_in_hotspot(argv)) == {"refused_by": "file mode"}
    # Even when the socket's mode lets anybody connect, the caller's uid is checked.
    online.socket_path.chmod(0o666)
    try:
        reply = json.loads(online.run_in_hotspot(argv))
    finally:
        online.socket_path.chmod(0o600)
    assert reply == {"ok": False, "error": "caller not allowed"}
    assert set(online.kernel_set()) == before


def test_killed_portal_keeps_access_and_its_restart_restores_grants(online: Hotspot) -> None:
    who = phone(online)
    left = int(str(captive_api(online, who)["seconds-remaining"]))
    measured = time.monotonic()
    portal = online.processes["portal"]
    try:
        os.killpg(portal.popen.pid, signal.SIGKILL)  # the master and both workers at once
        wait_for(lambda: not portal.members(), "every gunicorn process to die", 10)
        assert fetch_body(online, who, UPSTREAM_URL) == UPSTREAM_BODY  # the kernel keeps access
        assert online.fetch(newcomer(online).namespace, UPSTREAM_URL) is None  # no portal
        online.reload_ruleset()  # as after a reboot: @allowed starts empty
        assert online.kernel_set() == {}
        assert fetch_body(online, who, UPSTREAM_URL) is None
    finally:
        portal.stop()
        online.start_portal()
    element = online.kernel_set()[who.mac]
    expected = left - (time.monotonic() - measured)
    assert abs(element["expires"] - expected) <= 5
    assert abs(element["timeout"] - expected) <= 5
    assert fetch_body(online, who, UPSTREAM_URL) == UPSTREAM_BODY


FLAP_SECONDS = 2.5
"""The uplink's cable goes in and out: faster than the monitor checks (every
CHECK_INTERVAL_SECONDS, one check in a row flips the verdict here)."""


def test_a_flapping_uplink_keeps_grants_and_dnsmasq_and_flips_a_phone_once_a_check(
    online: Hotspot,
) -> None:
    who = phone(online)
    url = "http://connectivitycheck.gstatic.com/generate_204"
    leases = online.lease_file.read_bytes()
    dnsmasq = online.processes["dnsmasq"].members()
    stop = threading.Event()

    def flap() -> None:
        state = "down"
        while not stop.wait(FLAP_SECONDS):
            online.run_in_upstream(["ip", "link", "set", "wan0", state])
            state = "up" if state == "down" else "down"

    flapping = threading.Thread(target=flap)
    seen: list[tuple[float, str]] = []
    started = time.monotonic()
    flapping.start()
    try:
        while time.monotonic() - started < 60:  # a minute, the phone probing twice a second
            seen.append((time.monotonic(), statuses(online, who, [url])[url]))
            time.sleep(0.5)
    finally:
        stop.set()
        flapping.join()
        online.run_in_upstream(["ip", "link", "set", "wan0", "up"])
    # What the phone was told: online (the stand-in Internet's answer, or the portal's own
    # while the DNS follows the verdict) or captive. No answer at all ("000") is the
    # Internet gone before a check noticed.
    online_answers = {"200", "204"}
    told = [(at, answer in online_answers) for at, answer in seen if answer != "000"]
    changes = [(was, at) for (was, before), (at, now) in itertools.pairwise(told) if now != before]
    shown = [(round(at - started, 1), answer) for at, answer in seen]
    assert len(changes) >= 2, shown  # the phone did see the Internet come and go
    # A verdict needs a check: a round starts CHECK_INTERVAL_SECONDS after the last one
    # ended, and each worker looks at the verdict once a second. A change happened between
    # two answers; two changes are at most this close. A phone told "online", "captive",
    # "online" within a check would show and hide its sign-in window.
    longest = [at - was for (was, _), (_, at) in itertools.pairwise(changes)]
    assert min(longest) >= CHECK_INTERVAL_SECONDS - UplinkStatus.RECHECK_SECONDS, shown
    assert {answer for _, answer in seen} <= {*online_answers, "000", f"302 {PORTAL_URL}"}
    # No grant lost, DNS switched but never restarted: the same dnsmasq, its leases.
    assert who.mac in online.kernel_set()
    assert online.processes["dnsmasq"].members() == dnsmasq
    assert online.lease_file.read_bytes() == leases
    window = CHECK_INTERVAL_SECONDS + CHECK_TIMEOUT_SECONDS + UplinkStatus.RECHECK_SECONDS + 12
    wait_for(lambda: fetch_body(online, who, UPSTREAM_URL) == UPSTREAM_BODY, "access", window)
    # The hotspot is left online for the tests after this one: the verdict up, DNS real.
    wait_for(lambda: statuses(online, who, [url])[url] == "200", "online mode", window)


def test_uplink_cut_shows_offline_mode_and_its_return_restores_access(online: Hotspot) -> None:
    who = phone(online)
    urls = list(ONLINE_ANSWERS)
    captive = dict.fromkeys(urls, f"302 {PORTAL_URL}")
    real = dict.fromkeys(urls, "200")  # the stand-in Internet's servers
    leases = online.lease_file.read_bytes()
    dnsmasq = online.processes["dnsmasq"].members()
    # One failed check calls the Internet down, one good check back; a check
    # starts every interval and may take its timeout; each web worker looks at
    # the verdict at most once a second (UplinkStatus.RECHECK_SECONDS); a phone
    # keeps what the Pi answered for its TTL (10 s: local-ttl in dnsmasq.conf).
    window = CHECK_INTERVAL_SECONDS + CHECK_TIMEOUT_SECONDS + UplinkStatus.RECHECK_SECONDS + 2
    dns_ttl = 10

    def every_probe(expected: dict[str, str]) -> bool:
        # Several rounds in a row, each on new connections that either gunicorn
        # worker may take (tests/test_serving.py shows both answer).
        return all(statuses(online, who, urls) == expected for _ in range(3))

    assert statuses(online, who, urls) == real
    online.run_in_upstream(["ip", "link", "set", "wan0", "down"])
    try:
        took = wait_for(lambda: every_probe(captive), "offline mode", 3 * window)
        assert took <= window
        for host in PROBE_HOSTNAMES:
            answer = resolve(online, who, host)
            assert (answer["answers"], answer["ttls"]) == ([PORTAL_ADDRESS], [dns_ttl]), host
        aaaa = resolve(online, who, "connectivitycheck.gstatic.com", "AAAA")
        assert (aaaa["rcode"], aaaa["answers"]) == (0, [])
        assert aaaa["ms"] < 500  # answered by the Pi, not sent to an upstream out of reach
        for page in ("?lang=fr", "status?lang=fr"):
            answer = online.fetch(who.namespace, PORTAL_URL + page)
            assert answer is not None and INTERNET_DOWN_FR in answer.body, page
        assert captive_api(online, who)["captive"] is True
        assert who.mac in online.kernel_set()
        # portal doctor says so, on the Pi and on a phone, and that DNS is right for it.
        for done in (
            online.doctor(online.hotspot_ns),
            online.doctor(who.namespace, "--wifi", "eth0"),
        ):
            found = doctor_rows(done)
            assert done.returncode == 1, done.stdout
            assert found["Internet"][0] == "FAIL", done.stdout
            assert found["DNS"][0] == "ok", done.stdout
            assert found["DNS"][1].startswith("the Internet is down: all "), done.stdout
    finally:
        online.run_in_upstream(["ip", "link", "set", "wan0", "up"])
    took = wait_for(lambda: every_probe(real), "online mode", 3 * window + dns_ttl)
    assert took <= window + dns_ttl
    assert resolve(online, who, "connectivitycheck.gstatic.com")["answers"] == [UPSTREAM_ADDRESS]
    assert fetch_body(online, who, UPSTREAM_URL) == UPSTREAM_BODY
    assert who.mac in online.kernel_set()
    # DNS was switched, never restarted: the same dnsmasq, its leases untouched.
    assert online.processes["dnsmasq"].members() == dnsmasq
    assert online.lease_file.read_bytes() == leases
