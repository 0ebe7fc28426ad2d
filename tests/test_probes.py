"""Every OS probe: captive (302 to the start page) before access, byte-exact "online" after."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from portal.access.firewall import MemoryFirewall
from portal.captive.probes import ANY_PATH, PROBE_HOSTS, PROBES, find_probe, normalise_host
from portal.context import Services
from tests.conftest import PHONE_MAC, SESSION_SECONDS, START_URL, FakeClock, complete_onboarding
from tests.online_answers import APPLE_HOSTS, ONLINE_ANSWERS


def host_and_path(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    return parts.hostname, parts.path


@pytest.mark.parametrize("url", ONLINE_ANSWERS)
def test_probe_is_redirected_to_the_start_page_before_access(client: FlaskClient, url: str) -> None:
    host, path = host_and_path(url)
    response = client.get(path, headers={"Host": host})
    assert response.status_code == 302
    assert response.headers["Location"] == START_URL
    assert response.get_data() == b""
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("url", ONLINE_ANSWERS)
def test_probe_gets_its_exact_online_answer_after_access(client: FlaskClient, url: str) -> None:
    expected = ONLINE_ANSWERS[url]
    complete_onboarding(client)
    host, path = host_and_path(url)
    response = client.get(path, headers={"Host": host})
    assert response.status_code == expected.status
    assert response.get_data() == expected.body
    assert response.headers.get("Content-Type") == expected.content_type
    assert response.headers["Content-Length"] == str(len(expected.body))
    for name, value in expected.headers.items():
        assert response.headers[name] == value
    assert "Set-Cookie" not in response.headers


def test_every_probe_the_portal_knows_is_pinned_by_a_literal_answer() -> None:
    """A probe added to, or dropped from, portal/captive/probes.py must show up here."""
    pinned = {host_and_path(url) for url in ONLINE_ANSWERS}
    assert {host for host, _ in pinned} == PROBE_HOSTS
    exact = {(probe.host, probe.path) for probe in PROBES if probe.path != ANY_PATH}
    assert exact == {(host, path) for host, path in pinned if host not in APPLE_HOSTS}
    assert {probe.host for probe in PROBES if probe.path == ANY_PATH} == set(APPLE_HOSTS)


def test_android_probe_gets_204_after_grant(client: FlaskClient) -> None:
    probe = {"Host": "connectivitycheck.gstatic.com"}
    assert client.get("/generate_204", headers=probe).status_code == 302
    complete_onboarding(client)
    response = client.get("/generate_204", headers=probe)
    assert response.status_code == 204
    assert response.get_data() == b""


def test_apple_probe_on_a_random_path_gets_the_success_page(client: FlaskClient) -> None:
    complete_onboarding(client)
    response = client.get("/x7Kq2/aZ91.html", headers={"Host": "www.appleiphonecell.com"})
    assert response.status_code == 200
    assert response.get_data() == (
        b"<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"
    )


def test_head_request_of_a_probe_gets_no_body(client: FlaskClient) -> None:
    complete_onboarding(client)
    response = client.head("/success.txt", headers={"Host": "detectportal.firefox.com"})
    assert response.status_code == 200
    assert response.get_data() == b""


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
    clock.advance(SESSION_SECONDS - 1)
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
