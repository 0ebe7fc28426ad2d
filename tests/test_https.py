"""With a certificate configured: every portal page on HTTPS, probes still on plain HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal import db
from portal.access.firewall import MemoryFirewall
from portal.app import create_app
from tests.conftest import (
    PHONE_IP,
    FakeClock,
    complete_onboarding,
    fake_identify,
    make_settings,
)

HTTPS_START = "https://wifi.commune.test/"


class HttpsPhone(FlaskClient):
    """A phone that opens the portal by its HTTPS name (the option 114 and probe target)."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        kwargs.setdefault("base_url", "https://wifi.commune.test")
        return super().open(*args, **kwargs)


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock) -> Iterator[Flask]:
    # The files are read by `portal serve` before it starts (tests/test_tls.py), not by the app.
    settings = (
        make_settings(tmp_path / "data")
        .replace("network", portal_hostname="wifi.commune.test")
        .replace(
            "tls",
            certificate_file="/etc/passerelle/tls/fullchain.pem",
            key_file="/etc/passerelle/tls/privkey.pem",
        )
    )
    application = create_app(
        settings, firewall=MemoryFirewall(clock), identify=fake_identify, clock=clock
    )
    application.config["TESTING"] = True
    yield application
    db.close()


@pytest.fixture
def phone(app: Flask) -> FlaskClient:
    app.test_client_class = HttpsPhone
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = PHONE_IP
    return client


@pytest.fixture
def plain(app: Flask) -> FlaskClient:
    """The same phone on plain HTTP (port 80, where the ruleset sends its web traffic)."""
    app.test_client_class = FlaskClient
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = PHONE_IP
    return client


@pytest.mark.parametrize(
    ("method", "path", "host", "status", "location"),
    [
        ("GET", "/", "wifi.commune.test", 302, HTTPS_START),
        ("GET", "/lesson/onboarding/2?lang=ar", "wifi.commune.test", 302,
         "https://wifi.commune.test/lesson/onboarding/2?lang=ar"),
        ("HEAD", "/api/captive", "10.42.0.1", 302, "https://wifi.commune.test/api/captive"),
        ("POST", "/access", "wifi.commune.test", 307, "https://wifi.commune.test/access"),
        ("GET", "/guides/s%C3%A9curit%C3%A9", "10.42.0.1", 302,
         "https://wifi.commune.test/guides/s%C3%A9curit%C3%A9"),
        # A search goes on as typed, never encoded twice.
        ("GET", "/guides/search?q=caf%C3%A9+d%27identit%C3%A9&lang=fr", "wifi.commune.test", 302,
         "https://wifi.commune.test/guides/search?q=caf%C3%A9+d%27identit%C3%A9&lang=fr"),
    ],
)  # fmt: skip
def test_a_portal_page_over_plain_http_is_sent_to_https(
    plain: FlaskClient, method: str, path: str, host: str, status: int, location: str
) -> None:
    response = plain.open(path, method=method, base_url=f"http://{host}")
    assert response.status_code == status
    assert response.headers["Location"] == location
    assert response.headers["Cache-Control"] == "no-store"


def test_the_redirect_keeps_an_odd_path_under_the_portals_name(plain: FlaskClient) -> None:
    response = plain.get(
        "/", base_url="http://wifi.commune.test", environ_overrides={"PATH_INFO": "//evil.test/x"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "https://wifi.commune.test/evil.test/x"


def test_probes_stay_on_plain_http_and_send_phones_to_https(
    plain: FlaskClient, phone: FlaskClient
) -> None:
    probe = plain.get("/generate_204", base_url="http://connectivitycheck.gstatic.com")
    assert probe.status_code == 302
    assert probe.headers["Location"] == HTTPS_START
    complete_onboarding(phone)
    online = plain.get("/generate_204", base_url="http://connectivitycheck.gstatic.com")
    assert online.status_code == 204
    assert online.get_data() == b""


def test_the_lesson_walks_over_https_without_a_referer(phone: FlaskClient) -> None:
    # Referrer-Policy: no-referrer means browsers send none; the CSRF token is the check.
    complete_onboarding(phone, "nl")
    page = phone.get("/online")
    assert page.status_code == 200


def test_a_form_without_its_token_is_refused_over_https(phone: FlaskClient) -> None:
    assert phone.get("/lesson/onboarding/1?lang=en").status_code == 200
    assert phone.post("/access", data={}).status_code == 400


def test_a_session_cookie_would_travel_only_over_https(phone: FlaskClient) -> None:
    # The portal sets none (tests/walker.py checks every reply); were one set, it would be
    # Secure.
    assert phone.application.config["SESSION_COOKIE_SECURE"] is True
    assert phone.application.config["SESSION_COOKIE_HTTPONLY"] is True


def test_the_api_over_https_names_https_pages(phone: FlaskClient) -> None:
    response = phone.get("/api/captive")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/captive+json"
    assert json.loads(response.get_data()) == {
        "captive": True,
        "user-portal-url": HTTPS_START,
        "venue-info-url": HTTPS_START,
    }
