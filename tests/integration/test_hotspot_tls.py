"""End to end with a certificate ([tls]): DHCP announces the https:// API, phones that trust
the certificate's authority read it and onboard over HTTPS, and only the Pi's 443 opens.

A hotspot of its own (tests/integration/conftest.py, tls_hotspot); its CA is made by the
test, and what runs as root in the phones' namespaces trusts it. Phone 1 onboards; phone 2
stays before access.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.integration.hotspot import (
    HTTPS_PORT,
    PORTAL_ADDRESS,
    UPSTREAM_ADDRESS,
    UPSTREAM_BODY,
    Hotspot,
)
from tests.system import require

pytestmark = pytest.mark.netns

HTTPS_START = "https://passerelle.lan/"
HTTPS_API = "https://passerelle.lan/api/captive"


def api_over_https(hotspot: Hotspot, phone: int) -> dict[str, object]:
    answer = hotspot.fetch(hotspot.phones[phone].namespace, HTTPS_API)
    assert answer is not None, "no answer over HTTPS"
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/captive+json"
    assert answer.headers["cache-control"] == "private, no-store"
    body: dict[str, object] = json.loads(answer.body)
    return body


def test_a_busybox_client_asking_for_option_114_gets_the_https_api(
    tls_hotspot: Hotspot,
) -> None:
    require("busybox")
    bound = tls_hotspot.busybox_lease(tls_hotspot.phones[1])
    assert bound["router"] == PORTAL_ADDRESS
    # busybox hands an option it has no name for to its script in hex.
    assert bytes.fromhex(bound["opt114"]).decode("ascii") == HTTPS_API


def test_a_phone_trusting_the_authority_reads_the_api_over_https(tls_hotspot: Hotspot) -> None:
    # The name resolves through the Pi's dnsmasq; curl checks the certificate for it.
    assert api_over_https(tls_hotspot, 1) == {
        "captive": True,
        "user-portal-url": HTTPS_START,
        "venue-info-url": HTTPS_START,
    }


def test_a_phone_without_the_authority_refuses_the_certificate(tls_hotspot: Hotspot) -> None:
    curl = ["curl", "-s", "-o", "/dev/null", "-4", "--max-time", "5", HTTPS_API]
    done = subprocess.run(
        ["ip", "netns", "exec", tls_hotspot.phones[1].namespace, *curl],
        capture_output=True,
        timeout=20,
        check=False,
        # The system's authorities only, as on a phone that never met this one.
        env={name: value for name, value in tls_hotspot.env.items() if name != "SSL_CERT_FILE"},
    )
    assert done.returncode == 60  # curl: the peer's certificate cannot be verified


def test_a_probe_sends_the_phone_to_the_https_start_page(tls_hotspot: Hotspot) -> None:
    for url in (
        "http://connectivitycheck.gstatic.com/generate_204",
        "http://captive.apple.com/hotspot-detect.html",
        f"http://{PORTAL_ADDRESS}/",
    ):
        answer = tls_hotspot.fetch(tls_hotspot.phones[1].namespace, url)
        assert answer is not None, url
        assert (answer.status, answer.headers["location"]) == (302, HTTPS_START), url


def test_before_access_only_the_pis_own_https_port_opens(tls_hotspot: Hotspot) -> None:
    newcomer = tls_hotspot.phones[1].namespace
    pi = tls_hotspot.phone_tool(newcomer, "connect", PORTAL_ADDRESS, str(HTTPS_PORT))
    assert pi["outcome"] == "connected"
    # HTTPS anywhere else is reset at once, as before; other ports of the Pi stay shut.
    elsewhere = tls_hotspot.phone_tool(newcomer, "connect", UPSTREAM_ADDRESS, str(HTTPS_PORT))
    assert elsewhere["outcome"] == "refused"
    other = tls_hotspot.phone_tool(newcomer, "connect", PORTAL_ADDRESS, "8443")
    assert other["outcome"] == "timeout"


def test_onboarding_over_https_lets_the_phone_out(tls_hotspot: Hotspot) -> None:
    phone = tls_hotspot.phones[0]
    walked = tls_hotspot.phone_tool(phone.namespace, "onboard", HTTPS_START, "--lang", "ar")
    assert walked == {"outcome": "online", "way": "lesson"}
    assert phone.mac in tls_hotspot.kernel_set()
    after = api_over_https(tls_hotspot, 0)
    assert after["captive"] is False
    assert isinstance(after["seconds-remaining"], int) and after["seconds-remaining"] > 0
    # With access, the probe reaches the (stand-in) Internet itself, as with no certificate.
    probe = tls_hotspot.fetch(phone.namespace, "http://connectivitycheck.gstatic.com/generate_204")
    assert probe is not None and probe.body == UPSTREAM_BODY
    reached = tls_hotspot.phone_tool(phone.namespace, "connect", UPSTREAM_ADDRESS, str(HTTPS_PORT))
    assert reached["outcome"] == "connected"
