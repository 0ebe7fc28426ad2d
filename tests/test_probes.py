"""Every OS probe: captive (302 to the start page) before access, byte-exact "online" after."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from portal.access.firewall import MemoryFirewall
from portal.captive.probes import ANY_PATH, PROBE_HOSTS, PROBES, Probe, find_probe, normalise_host
from portal.context import Services
from tests.conftest import PHONE_MAC, START_URL, FakeClock, complete_onboarding

APPLE_EXTRA_PATHS = ("/", "/hotspot-detect.html", "/library/test/success.html")


def probe_requests() -> list[tuple[Probe, str]]:
    requests = []
    for probe in PROBES:
        paths = APPLE_EXTRA_PATHS if probe.path == ANY_PATH else (probe.path,)
        requests.extend((probe, path) for path in paths)
    return requests


def ids(item: object) -> str:
    return item.host if isinstance(item, Probe) else str(item)


@pytest.mark.parametrize(("probe", "path"), probe_requests(), ids=ids)
def test_probe_is_redirected_to_the_start_page_before_access(
    client: FlaskClient, probe: Probe, path: str
) -> None:
    response = client.get(path, headers={"Host": probe.host})
    assert response.status_code == 302
    assert response.headers["Location"] == START_URL
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(("probe", "path"), probe_requests(), ids=ids)
def test_probe_gets_its_exact_online_answer_after_access(
    client: FlaskClient, probe: Probe, path: str
) -> None:
    complete_onboarding(client)
    response = client.get(path, headers={"Host": probe.host})
    assert response.status_code == probe.online.status
    assert response.get_data() == probe.online.body
    if probe.online.content_type:
        assert response.headers["Content-Type"] == probe.online.content_type
    else:
        assert "Content-Type" not in response.headers
    for name, value in probe.online.headers:
        assert response.headers[name] == value


def test_android_probe_gets_204_after_grant(client: FlaskClient) -> None:
    probe = {"Host": "connectivitycheck.gstatic.com"}
    assert client.get("/generate_204", headers=probe).status_code == 302
    complete_onboarding(client)
    response = client.get("/generate_204", headers=probe)
    assert response.status_code == 204
    assert response.get_data() == b""


def test_apple_success_page_is_byte_exact(client: FlaskClient) -> None:
    complete_onboarding(client)
    response = client.get("/hotspot-detect.html", headers={"Host": "captive.apple.com"})
    assert response.get_data() == (
        b"<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"
    )


def test_windows_and_legacy_windows_bodies(client: FlaskClient) -> None:
    complete_onboarding(client)
    modern = client.get("/connecttest.txt", headers={"Host": "www.msftconnecttest.com"})
    legacy = client.get("/ncsi.txt", headers={"Host": "www.msftncsi.com"})
    assert (modern.status_code, modern.get_data()) == (200, b"Microsoft Connect Test")
    assert (legacy.status_code, legacy.get_data()) == (200, b"Microsoft NCSI")


def test_ubuntu_probe_carries_the_network_manager_header(client: FlaskClient) -> None:
    complete_onboarding(client)
    response = client.get("/", headers={"Host": "connectivity-check.ubuntu.com"})
    assert response.status_code == 204
    assert response.headers["X-NetworkManager-Status"] == "online"


def test_probe_of_another_device_stays_captive(client: FlaskClient) -> None:
    complete_onboarding(client)
    from tests.conftest import OTHER_IP, phone_client

    other = phone_client(client.application, OTHER_IP)
    response = other.get("/generate_204", headers={"Host": "connectivitycheck.gstatic.com"})
    assert response.status_code == 302


def test_unknown_device_is_captive_even_with_a_forged_forwarded_header(
    client: FlaskClient,
) -> None:
    complete_onboarding(client)
    from tests.conftest import PHONE_IP, phone_client

    stranger = phone_client(client.application, "10.42.0.200")
    response = stranger.get(
        "/generate_204",
        headers={"Host": "connectivitycheck.gstatic.com", "X-Forwarded-For": PHONE_IP},
    )
    assert response.status_code == 302


def test_probe_goes_captive_again_when_the_grant_expires(
    client: FlaskClient,
    clock: FakeClock,
    firewall: MemoryFirewall,
    services: Services,
) -> None:
    complete_onboarding(client)
    session = services.book.session_seconds
    clock.advance(session - 1)
    probe = {"Host": "connectivitycheck.gstatic.com"}
    assert client.get("/generate_204", headers=probe).status_code == 204
    clock.advance(1)
    assert client.get("/generate_204", headers=probe).status_code == 302
    assert PHONE_MAC not in [entry.mac for entry in firewall.list()]


def test_non_probe_browsing_on_another_host_is_sent_to_the_portal(client: FlaskClient) -> None:
    response = client.get("/news/today", headers={"Host": "www.example.org"})
    assert response.status_code == 302
    assert response.headers["Location"] == START_URL


@pytest.mark.parametrize(
    ("raw", "host"),
    [
        ("Captive.Apple.com", "captive.apple.com"),
        ("captive.apple.com.", "captive.apple.com"),
        ("captive.apple.com:80", "captive.apple.com"),
        ("[::1]:8080", "[::1]"),
    ],
)
def test_host_header_is_normalised(raw: str, host: str) -> None:
    assert normalise_host(raw) == host


def test_probe_lookup_by_host_and_path() -> None:
    assert find_probe("connectivitycheck.gstatic.com", "/generate_204") is not None
    assert find_probe("connectivitycheck.gstatic.com", "/other") is None
    assert find_probe("captive.apple.com", "/anything") is not None
    assert "edge.microsoft.com" in PROBE_HOSTS
    edge = find_probe("edge.microsoft.com", "/captiveportal/generate_204")
    assert edge is not None and edge.online.status == 204
