"""Offline-first: the uplink monitor's verdict, and the portal's behaviour while it is down."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from portal.access.firewall import FirewallError
from portal.config import Settings
from portal.context import Services, services_of
from portal.uplink import (
    UplinkMonitor,
    UplinkState,
    UplinkStatus,
    dns_answers,
    dns_question,
    read_state,
    state_path,
    tcp_reachable,
    write_state,
)
from tests.conftest import FakeClock, complete_onboarding

PROBE = {"Host": "connectivitycheck.gstatic.com"}


def monitor_for(settings: Settings, clock: FakeClock) -> UplinkMonitor:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return UplinkMonitor(settings, clock, timeout=0.5)


def test_verdict_flips_only_after_enough_checks_in_a_row(
    settings: Settings, clock: FakeClock
) -> None:
    monitor = monitor_for(settings, clock)
    assert monitor.observe(True).up
    assert monitor.observe(False).up  # one failure is a hiccup
    assert monitor.observe(True).up  # ... and the streak starts again
    assert monitor.observe(False).up
    assert monitor.observe(False).up
    clock.advance(90)
    down = monitor.observe(False)
    assert down == UplinkState(up=False, since=int(clock()))
    assert read_state(state_path(settings)) == down
    assert not monitor.observe(True).up
    assert monitor.observe(True).up


class PointedDns:
    """The firewall's point_dns, recorded; refuses while `down` (a gatekeeper not up yet)."""

    def __init__(self) -> None:
        self.calls: list[bool] = []
        self.down = False

    def __call__(self, uplink_up: bool) -> None:
        if self.down:
            raise FirewallError("gatekeeper unreachable")
        self.calls.append(uplink_up)


def test_the_dns_follows_the_verdict_after_every_check(
    settings: Settings, clock: FakeClock
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pointed = PointedDns()
    monitor = UplinkMonitor(settings, clock, point_dns=pointed)
    for reachable in (True, False, False, False):
        monitor.observe(reachable)
        monitor.point_dns()
    # The verdict, not the last check: one failure is a hiccup, three call it down.
    assert pointed.calls == [True, True, True, False]
    # A gatekeeper that refuses costs nothing but a log line; the next check tries again.
    pointed.down = True
    monitor.point_dns()
    pointed.down = False
    monitor.point_dns()
    assert pointed.calls == [True, True, True, False, False]


def test_state_file_is_written_only_on_change(settings: Settings, clock: FakeClock) -> None:
    monitor = monitor_for(settings, clock)
    monitor.observe(True)
    path = state_path(settings)
    stamp = path.stat().st_mtime_ns
    for _ in range(20):
        monitor.observe(True)
    assert path.stat().st_mtime_ns == stamp


def test_torn_or_missing_state_counts_as_up(tmp_path: Path) -> None:
    path = tmp_path / "uplink.json"
    assert UplinkStatus(path).is_up()
    path.write_text("{not json", encoding="utf-8")
    assert UplinkStatus(path).is_up()
    write_state(path, UplinkState(up=False, since=5))
    assert not UplinkStatus(path).is_up()


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_tcp_check(listening_port: int) -> None:
    assert tcp_reachable(f"127.0.0.1:{listening_port}", 0.5)
    assert not tcp_reachable(f"127.0.0.1:{closed_port()}", 0.5)


@contextmanager
def udp_server(reply: Callable[[bytes], bytes]) -> Iterator[int]:
    """A loopback UDP server sending `reply(datagram)` back for every datagram; its port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            sock.sendto(reply(data), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    sock.close()


def a_record(data: bytes) -> bytes:
    """What a DNS server answers to an A question (scapy's reading of it): 192.0.2.1."""
    from scapy.layers.dns import DNS, DNSRR

    question = DNS(data)
    reply = DNS(
        id=question.id,
        qr=1,
        aa=1,
        qd=question.qd,
        an=DNSRR(rrname=question.qd[0].qname, rdata="192.0.2.1"),
    )
    return bytes(reply)


@pytest.fixture
def dns_server() -> Iterator[int]:
    """A loopback DNS server answering every A question with 192.0.2.1, via scapy."""
    # scapy takes seconds to import on a loaded machine: imported here, not at the first
    # question, so the answer comes within the check's timeout.
    import scapy.layers.dns  # noqa: F401

    with udp_server(a_record) as port:
        yield port


def test_dns_check_against_a_local_server(dns_server: int) -> None:
    assert dns_answers("127.0.0.1", "wallonie.be", 5.0, port=dns_server)
    assert not dns_answers("127.0.0.1", "wallonie.be", 0.3, port=closed_port())


def test_the_dns_question_is_an_a_query_for_the_name_with_recursion() -> None:
    from scapy.layers.dns import DNS

    query = DNS(dns_question(0x1234, "connectivity-check.wallonie.be"))
    assert (query.id, query.qr, query.rd, query.qdcount, query.ancount) == (0x1234, 0, 1, 1, 0)
    question = query.qd[0]
    assert (question.qname, question.qtype, question.qclass) == (
        b"connectivity-check.wallonie.be.",
        1,
        1,
    )


@pytest.mark.parametrize(
    "reply",
    [
        lambda query: query,  # an echo of the question is no answer (its QR bit is 0)
        lambda query: bytes([query[0] ^ 0xFF]) + a_record(query)[1:],  # another question's
        lambda query: a_record(query)[:11],  # not even a whole header
    ],
    ids=["echo", "other id", "truncated"],
)
def test_only_an_answer_to_our_question_means_dns_works(
    reply: Callable[[bytes], bytes],
) -> None:
    with udp_server(reply) as port:
        assert not dns_answers("127.0.0.1", "wallonie.be", 1.0, port=port)


def test_check_needs_tcp_and_dns(
    settings: Settings, clock: FakeClock, listening_port: int, dns_server: int
) -> None:
    tcp = f"127.0.0.1:{listening_port}"
    both = settings.replace("uplink", check_targets=(tcp,)).replace(
        "network", dns_upstreams=("127.0.0.1",)
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    assert UplinkMonitor(both, clock, timeout=0.5, dns_port=dns_server).check()
    no_dns = UplinkMonitor(both, clock, timeout=0.3, dns_port=closed_port())
    assert not no_dns.check()
    skip_dns = both.replace("uplink", dns_check_name="")
    assert UplinkMonitor(skip_dns, clock, timeout=0.3, dns_port=closed_port()).check()
    no_tcp = both.replace("uplink", check_targets=(f"127.0.0.1:{closed_port()}",))
    assert not UplinkMonitor(no_tcp, clock, timeout=0.3, dns_port=dns_server).check()


def set_uplink(client: FlaskClient, clock: FakeClock, up: bool) -> None:
    """What the monitor writes; the web workers notice within a second."""
    settings = services_of(client.application).settings
    write_state(state_path(settings), UplinkState(up=up, since=1_800_000_000))
    clock.advance(UplinkStatus.RECHECK_SECONDS)


def test_internet_down_makes_every_probe_captive_and_keeps_grants(
    client: FlaskClient, clock: FakeClock
) -> None:
    complete_onboarding(client, "en")
    assert client.get("/generate_204", headers=PROBE).status_code == 204
    set_uplink(client, clock, up=False)
    assert client.get("/generate_204", headers=PROBE).status_code == 302
    assert client.get("/api/captive").get_json(force=True)["captive"] is True
    page = client.get("/online").get_data(as_text=True)
    assert "The Internet is down right now." in page
    assert "The lessons and guides still work." in page
    set_uplink(client, clock, up=True)
    assert client.get("/generate_204", headers=PROBE).status_code == 204
    assert "The Internet is down" not in client.get("/online").get_data(as_text=True)


def test_status_page_in_the_visitors_language(
    client: FlaskClient, clock: FakeClock, services: Services
) -> None:
    set_uplink(client, clock, up=False)
    html = client.get("/status?lang=nl").get_data(as_text=True)
    assert "Het internet werkt nu niet." in html
    complete_onboarding(client, "de")
    set_uplink(client, clock, up=True)
    html = client.get("/status?lang=de").get_data(as_text=True)
    assert "Dieses WLAN ist mit dem Internet verbunden." in html
    assert "Sie sind online." in html
    # Four hours of access from 08:00 UTC (the fake clock): 13:00 on a Brussels clock (CET).
    assert "Ihr Zugang dauert bis 13:00." in html


def test_the_status_page_tells_a_device_without_access_what_is_left_to_do(
    client: FlaskClient, clock: FakeClock
) -> None:
    """The hotspot's Internet works; this phone is not on it until the short lesson."""
    set_uplink(client, clock, up=True)
    html = client.get("/status?lang=en").get_data(as_text=True)
    assert "This Wi\u2011Fi is connected to the Internet." in html
    assert "You are online." not in html
    assert (
        '<p data-state="not-online">You are not online yet. '
        "First, a short lesson with pictures. Then you are online.</p>"
    ) in html
    assert '<a class="button primary" href="/?lang=en">Get access</a>' in html
    complete_onboarding(client, "en")
    html = client.get("/status?lang=en").get_data(as_text=True)
    assert '<p data-state="online">You are online.</p>' in html
    assert "not online" not in html
    assert "Get access" not in html


def test_with_the_internet_down_only_a_device_with_access_is_told_it_is_kept(
    client: FlaskClient, clock: FakeClock
) -> None:
    set_uplink(client, clock, up=False)
    html = client.get("/status?lang=en").get_data(as_text=True)
    assert "Your access is kept" not in html
    assert "You are not online yet." in html
    complete_onboarding(client, "en")
    html = client.get("/status?lang=en").get_data(as_text=True)
    assert "Your access is kept. It works again when the Internet is back." in html


@pytest.mark.parametrize(
    ("language", "since"),
    [("en", "Since: 09:00"), ("ar", "منذ: 09:00"), ("fr", "Depuis\u202f: 09:00")],
)
def test_since_is_the_brussels_24_hour_clock_in_every_language(
    client: FlaskClient, clock: FakeClock, language: str, since: str
) -> None:
    set_uplink(client, clock, up=True)  # since 08:00 UTC: 09:00 in Brussels (CET)
    html = client.get(f"/status?lang={language}").get_data(as_text=True)
    assert f"<p>{since}</p>" in html  # not "9:00 AM", "9:00 ص", nor a date for today


def test_since_an_earlier_day_says_the_day_too(client: FlaskClient, clock: FakeClock) -> None:
    set_uplink(client, clock, up=True)
    clock.advance(86400)
    html = client.get("/status?lang=en").get_data(as_text=True)
    assert "<p>Since: 15 January 09:00</p>" in html


def test_each_round_checks_then_points_the_dns_at_the_verdict(
    settings: Settings, clock: FakeClock
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    unreachable = settings.replace("uplink", check_targets=(f"127.0.0.1:{closed_port()}",))
    pointed = PointedDns()
    monitor = UplinkMonitor(unreachable, clock, timeout=0.3, point_dns=pointed)
    assert monitor.round().up  # one failed check is a hiccup: still up
    assert pointed.calls == [True]


def test_the_housekeeping_process_loads_no_web_stack() -> None:
    """`portal housekeep` (the uplink monitor's process, resident on the Pi) holds neither
    Flask, scapy nor WeasyPrint: each is megabytes of every Pi's memory (bench memory)."""
    from tests.test_gatekeeper import modules_loaded_by

    loaded = modules_loaded_by(
        "portal.cli", "portal.access.configured", "portal.housekeeping", "portal.uplink"
    )
    heavy = {"flask", "flask_babel", "scapy", "weasyprint", "cryptography", "segno"}
    assert {name.split(".")[0] for name in loaded} & heavy == set()
