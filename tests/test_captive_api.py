"""RFC 8908 API, and the redirect target that no request can steer."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from portal.context import Services
from tests.conftest import SESSION_SECONDS, START_URL, complete_onboarding


def captive_json(client: FlaskClient) -> dict[str, object]:
    response = client.get("/api/captive")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/captive+json"
    assert "no-store" in response.headers["Cache-Control"]
    body: dict[str, object] = json.loads(response.get_data())
    return body


def test_api_says_captive_before_access(client: FlaskClient) -> None:
    assert captive_json(client) == {
        "captive": True,
        "user-portal-url": START_URL,
        "venue-info-url": START_URL,
    }


ANDROID_ACCEPT = "application/captive+json"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", ANDROID_ACCEPT, "application/json", "application/json, text/html", "image/png"],
)
def test_api_answers_captive_json_whatever_the_accept_header(
    client: FlaskClient, accept: str | None
) -> None:
    headers = {} if accept is None else {"Accept": accept}
    response = client.get("/api/captive", headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/captive+json"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert json.loads(response.get_data())["captive"] is True


def test_a_browser_that_opens_the_api_gets_a_page_for_people(client: FlaskClient) -> None:
    response = client.get("/api/captive?lang=en", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, no-store"
    html = response.get_data(as_text=True)
    assert "<h1>Status</h1>" in html and "Get access" in html


def test_api_gives_remaining_seconds_after_access(client: FlaskClient, services: Services) -> None:
    complete_onboarding(client)
    body = captive_json(client)
    assert body["captive"] is False
    assert body["seconds-remaining"] == SESSION_SECONDS
    assert body["can-extend-session"] is True
    assert body["user-portal-url"] == START_URL


@pytest.mark.parametrize(
    "path",
    [
        "/?next=http://evil.example/",
        "/login?url=https:evil.example",
        "//evil.example/",
        "/%2F%2Fevil.example",
        "/\\evil.example",
        "/\\\\evil.example/path",
        "/https:evil.example",
        "/x%0d%0aLocation:%20http://evil.example",
        "/generate_204?next=//evil.example",
    ],
)
@pytest.mark.parametrize("host", ["www.example.org", "connectivitycheck.gstatic.com"])
def test_redirect_target_ignores_the_request(client: FlaskClient, path: str, host: str) -> None:
    response = client.get(path, headers={"Host": host})
    assert response.status_code == 302
    assert response.headers["Location"] == START_URL
    assert response.headers.getlist("Location") == [START_URL]


def test_forged_host_header_cannot_steer_the_redirect(client: FlaskClient) -> None:
    response = client.get(
        "/generate_204", environ_overrides={"HTTP_HOST": "evil.example\r\nX-Evil: 1"}
    )
    assert response.status_code == 302
    assert response.headers.getlist("Location") == [START_URL]
    assert "X-Evil" not in response.headers


def test_pages_carry_security_headers(client: FlaskClient) -> None:
    for path in ["/", "/lesson/onboarding/1", "/api/captive", "/no-such-page"]:
        headers = client.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_pages_have_no_inline_script(client: FlaskClient) -> None:
    for path in ["/", "/lesson/onboarding/1", "/lesson/onboarding/5"]:
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " on" + "click=" not in html
