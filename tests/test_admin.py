"""The admin pages: signing in, delays after failures, roles, forms, signing out, and the
rule that every page but the sign-in page needs an account (issue 13)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal import db
from portal.access.firewall import MemoryFirewall
from portal.admin.accounts import add_account
from portal.admin.app import PUBLIC_ENDPOINTS, SESSION_COOKIE, create_admin_app, serve
from portal.admin.throttle import ACCOUNT_CAP_SECONDS, SOURCE_CAP_SECONDS, delay_after
from portal.app import create_app
from portal.config import Settings
from portal.listeners import ByListener
from portal.models import LoginFailure
from tests.conftest import FakeClock, fake_identify

DESK = "192.168.1.50"
"""The volunteer's laptop on the commune's network (the uplink side)."""
VOLUNTEER = ("epn-wanze", "three words in a row")
COMMUNE = ("commune", "another long password")


@pytest.fixture
def admin(settings: Settings, clock: FakeClock, tmp_path: Path) -> Iterator[Flask]:
    app = create_admin_app(settings, clock=clock, doctor_report=tmp_path / "portal-doctor.txt")
    app.config["TESTING"] = True
    add_account(VOLUNTEER[0], "volunteer", VOLUNTEER[1])
    add_account(COMMUNE[0], "commune", COMMUNE[1])
    yield app
    db.close()


def desk(app: Flask, address: str = DESK) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # a page's own header wins
    return client


def token(page: TestResponse) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, "the page has no form token"
    return found.group(1)


def sign_in(client: FlaskClient, name: str, password: str) -> TestResponse:
    form = {"csrf_token": token(client.get("/admin/login")), "name": name, "password": password}
    return client.post("/admin/login", data=form)


def test_the_right_password_signs_in_and_opens_the_home_page(admin: Flask) -> None:
    client = desk(admin)
    answer = sign_in(client, *VOLUNTEER)
    assert (answer.status_code, answer.headers["Location"]) == (303, "/admin/")
    home = client.get("/admin/", headers={"Accept-Language": "fr"})
    assert home.status_code == 200
    assert "Bonjour, epn-wanze" in home.get_data(as_text=True)


def test_sign_in_goes_back_to_the_admin_page_asked_for_but_never_elsewhere(
    admin: Flask,
) -> None:
    client = desk(admin)
    assert client.get("/admin/status").headers["Location"] == "/admin/login?next=/admin/status"
    page = client.get("/admin/login?next=/admin/status")
    form = {"csrf_token": token(page), "name": VOLUNTEER[0], "password": VOLUNTEER[1]}
    answer = client.post("/admin/login?next=/admin/status", data=form)
    assert answer.headers["Location"] == "/admin/status"
    other = desk(admin, "192.168.1.51")
    page = other.get("/admin/login")
    form = {"csrf_token": token(page), "name": COMMUNE[0], "password": COMMUNE[1]}
    answer = other.post("/admin/login?next=//evil.example/admin/", data=form)
    assert answer.headers["Location"] == "/admin/"


def test_a_wrong_password_is_refused_and_opens_nothing(admin: Flask) -> None:
    client = desk(admin)
    answer = sign_in(client, VOLUNTEER[0], "not the password at all")
    assert answer.status_code == 200
    assert "Wrong name or password." in answer.get_data(as_text=True)
    assert client.get("/admin/").headers["Location"] == "/admin/login?next=/admin/"


def test_an_unknown_name_gets_the_same_answer_as_a_wrong_password(admin: Flask) -> None:
    answer = sign_in(desk(admin), "nobody", VOLUNTEER[1])
    assert answer.status_code == 200
    assert "Wrong name or password." in answer.get_data(as_text=True)


def test_the_delays_double_after_three_failures_and_a_success_clears_them(
    admin: Flask, clock: FakeClock
) -> None:
    client = desk(admin)
    for _ in range(3):  # the first three are answered at once
        assert sign_in(client, VOLUNTEER[0], "wrong wrong wrong").status_code == 200
    waiting = sign_in(client, *VOLUNTEER)  # even the right password waits
    assert waiting.status_code == 429
    assert "Please wait 2 seconds" in waiting.get_data(as_text=True)
    clock.advance(2)
    assert sign_in(client, VOLUNTEER[0], "wrong wrong wrong").status_code == 200
    assert "Please wait 4 seconds" in sign_in(client, *VOLUNTEER).get_data(as_text=True)
    clock.advance(3)
    assert "Please wait 1 second," in sign_in(client, *VOLUNTEER).get_data(as_text=True)
    clock.advance(1)
    assert sign_in(client, *VOLUNTEER).status_code == 303
    assert LoginFailure.select().count() == 0


def test_delays_grow_to_a_quarter_hour_per_source_but_a_minute_per_account() -> None:
    assert [delay_after(n, SOURCE_CAP_SECONDS) for n in range(1, 8)] == [0, 0, 2, 4, 8, 16, 32]
    assert delay_after(30, SOURCE_CAP_SECONDS) == 900
    assert delay_after(30, ACCOUNT_CAP_SECONDS) == 60


def test_an_attacker_from_many_addresses_delays_the_account_a_minute_at_most(
    admin: Flask, clock: FakeClock
) -> None:
    for number in range(20):
        clock.advance(ACCOUNT_CAP_SECONDS)  # each try waits out the account's delay
        attacker = desk(admin, f"203.0.113.{number + 1}")
        assert sign_in(attacker, VOLUNTEER[0], "guess guess guess").status_code == 200
    owner = desk(admin)
    assert "Please wait 60 seconds" in sign_in(owner, *VOLUNTEER).get_data(as_text=True)
    clock.advance(ACCOUNT_CAP_SECONDS)
    assert sign_in(owner, *VOLUNTEER).status_code == 303


def test_one_source_waits_for_every_account_it_tries(admin: Flask, clock: FakeClock) -> None:
    client = desk(admin)
    for name in ("a1", "a2", "a3", "a4"):
        sign_in(client, name, "guess guess guess")
    assert sign_in(client, *COMMUNE).status_code == 429  # the source waits, not the account
    assert sign_in(desk(admin, "192.168.1.99"), *COMMUNE).status_code == 303


def test_delays_are_logged_without_the_address_and_the_source_stored_only_hashed(
    admin: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = desk(admin)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            sign_in(client, VOLUNTEER[0], "wrong wrong wrong")
    assert "a source waits 2 s after 3 failures" in caplog.text
    assert "account:epn-wanze waits 2 s after 3 failures" in caplog.text
    assert DESK not in caplog.text
    subjects = [row.subject for row in LoginFailure.select()]
    assert sorted(subject.split(":")[0] for subject in subjects) == ["account", "source"]
    assert not any(DESK in subject for subject in subjects)


def test_failures_are_forgotten_a_day_later(admin: Flask, clock: FakeClock) -> None:
    client = desk(admin)
    for _ in range(6):
        sign_in(client, VOLUNTEER[0], "wrong wrong wrong")
        clock.advance(60)
    clock.advance(24 * 3600)
    assert sign_in(client, VOLUNTEER[0], "wrong wrong wrong").status_code == 200
    assert {int(row.failures) for row in LoginFailure.select()} == {1}


def test_a_commune_account_cannot_open_the_volunteers_status_page(admin: Flask) -> None:
    commune = desk(admin)
    sign_in(commune, *COMMUNE)
    refused = commune.get("/admin/status", headers={"Accept-Language": "en"})
    assert refused.status_code == 403
    assert "Your account cannot open this page." in refused.get_data(as_text=True)
    home = commune.get("/admin/").get_data(as_text=True)
    assert "/admin/status" not in home  # no link to what it cannot open
    volunteer = desk(admin, "192.168.1.51")
    sign_in(volunteer, *VOLUNTEER)
    assert volunteer.get("/admin/status").status_code == 200


def test_the_status_page_shows_the_doctors_last_table(admin: Flask, tmp_path: Path) -> None:
    (tmp_path / "portal-doctor.txt").write_bytes(b"Passerelle doctor\r\n  ok    clock  synced\r\n")
    volunteer = desk(admin)
    sign_in(volunteer, *VOLUNTEER)
    page = volunteer.get("/admin/status").get_data(as_text=True)
    assert '<pre class="admin-report" lang="en" dir="ltr" data-report="doctor">' in page
    assert "Passerelle doctor\n  ok    clock  synced\n" in page
    assert '<dd data-state="devices">0</dd>' in page


def test_a_form_without_its_token_is_refused(admin: Flask) -> None:
    client = desk(admin)
    client.get("/admin/login")
    form = {"name": VOLUNTEER[0], "password": VOLUNTEER[1]}
    refused = client.post("/admin/login", data=form, headers={"Accept-Language": "en"})
    assert refused.status_code == 400
    assert "This page was open too long." in refused.get_data(as_text=True)
    other = desk(admin, "192.168.1.51")  # another browser's token is worth nothing here
    form["csrf_token"] = token(other.get("/admin/login"))
    assert client.post("/admin/login", data=form).status_code == 400
    assert client.get("/admin/").status_code == 302


def test_signing_out_ends_the_session_even_for_a_copied_cookie(admin: Flask) -> None:
    client = desk(admin)
    sign_in(client, *VOLUNTEER)
    cookie = client.get_cookie(SESSION_COOKIE, path="/admin")
    assert cookie is not None
    home = client.get("/admin/")
    assert client.post("/admin/logout").status_code == 400  # a form needs its token
    answer = client.post("/admin/logout", data={"csrf_token": token(home)})
    assert (answer.status_code, answer.headers["Location"]) == (303, "/admin/login")
    assert client.get("/admin/").status_code == 302
    thief = desk(admin)
    thief.set_cookie(SESSION_COOKIE, cookie.value, path="/admin")
    assert thief.get("/admin/").status_code == 302


def test_a_session_lasts_twelve_hours_at_most(admin: Flask, clock: FakeClock) -> None:
    client = desk(admin)
    sign_in(client, *VOLUNTEER)
    clock.advance(12 * 3600)
    assert client.get("/admin/").status_code == 200
    clock.advance(1)
    assert client.get("/admin/").status_code == 302


def test_a_clock_stepped_back_ends_a_session_instead_of_lengthening_it(
    admin: Flask, clock: FakeClock
) -> None:
    client = desk(admin)
    sign_in(client, *VOLUNTEER)
    clock.advance(-59)  # NTP's usual small corrections keep it
    assert client.get("/admin/").status_code == 200
    clock.advance(-24 * 3600)  # begun "tomorrow": it would last 36 hours
    assert client.get("/admin/").status_code == 302


def test_a_clock_stepped_back_makes_no_sign_in_wait_longer_than_its_delay(
    admin: Flask, clock: FakeClock
) -> None:
    client = desk(admin)
    for _ in range(3):
        sign_in(client, VOLUNTEER[0], "wrong wrong wrong")
    clock.advance(-24 * 3600)
    waiting = sign_in(client, *VOLUNTEER)
    assert "Please wait 2 seconds" in waiting.get_data(as_text=True)  # not a day and 2 s
    clock.advance(2)
    assert sign_in(client, *VOLUNTEER).status_code == 303


def test_the_session_cookie_is_the_admins_own_and_out_of_scripts_reach(admin: Flask) -> None:
    client = desk(admin)
    answer = sign_in(client, *VOLUNTEER)
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("passerelle_admin=")
    assert "; HttpOnly" in cookie and "; SameSite=Strict" in cookie and "; Path=/admin" in cookie
    assert "Secure" not in cookie  # no [tls]: plain HTTP, where a Secure cookie is never sent


def test_with_tls_the_session_cookie_is_secure(settings: Settings, tmp_path: Path) -> None:
    secured = settings.replace(
        "tls", certificate_file="/nowhere/fullchain.pem", key_file="/nowhere/privkey.pem"
    )
    app = create_admin_app(secured)
    add_account(*COMMUNE[:1], "commune", COMMUNE[1])
    answer = sign_in(desk(app), *COMMUNE)
    assert "; Secure" in answer.headers["Set-Cookie"]
    db.close()


def test_every_admin_page_but_the_public_ones_sends_a_stranger_to_sign_in(
    admin: Flask,
) -> None:
    stranger = desk(admin)
    walked = []
    for rule in admin.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        path = re.sub(r"<[^>]+>", "x", re.sub(r"<int:[^>]+>", "2026", rule.rule))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            answer = stranger.open(path, method=method)
            assert answer.status_code == 302, (rule.endpoint, method)
            assert answer.headers["Location"].startswith("/admin/login?next="), rule.endpoint
            walked.append(rule.endpoint)
    assert {"admin.home", "admin.logout", "admin_status.status", "stats.dashboard"} <= set(walked)
    assert {"stats.yearly_report", "stats.export_csv"} <= set(walked)
    assert {"admin.login", "static", "front_door"} == PUBLIC_ENDPOINTS


def test_a_blueprint_served_with_a_role_is_one_line_and_one_without_answers_nobody(
    admin: Flask,
) -> None:
    figures = Blueprint("figures", __name__)
    figures.add_url_rule("/figures", "page", lambda: "the figures")
    serve(admin, figures, "commune")
    forgotten = Blueprint("forgotten", __name__)
    forgotten.add_url_rule("/forgotten", "page", lambda: "nobody said who may")
    admin.register_blueprint(forgotten, url_prefix="/admin")
    commune = desk(admin)
    assert desk(admin).get("/admin/figures").status_code == 302
    sign_in(commune, *COMMUNE)
    assert commune.get("/admin/figures").get_data(as_text=True) == "the figures"
    assert 'href="/admin/stats"' in commune.get("/admin/").get_data(as_text=True)  # the real one
    assert commune.get("/admin/forgotten").status_code == 403


def test_the_admin_pages_answer_nobody_on_the_wifi_side(admin: Flask) -> None:
    phone = desk(admin, "10.42.0.23")
    assert phone.get("/admin/login").status_code == 404
    assert phone.get("/admin/").status_code == 404


def test_the_admin_port_answers_admin_pages_and_the_portal_port_guest_pages(
    admin: Flask, settings: Settings, clock: FakeClock
) -> None:
    portal = create_app(settings, firewall=MemoryFirewall(clock), identify=fake_identify)
    both = Flask("both")
    both.wsgi_app = ByListener(portal.wsgi_app, admin.wsgi_app, 8081)  # type: ignore[method-assign]
    client = both.test_client()
    client.environ_base["REMOTE_ADDR"] = DESK
    on_admin = {"base_url": "http://192.168.1.20:8081"}
    assert client.get("/admin/login", **on_admin).status_code == 200
    assert client.get("/admin/static/admin.css", **on_admin).status_code == 200
    assert client.get("/", **on_admin).headers["Location"] == "/admin/"
    assert client.get("/privacy", **on_admin).status_code == 404
    assert client.get("/api/captive", **on_admin).status_code == 404
    client.environ_base["REMOTE_ADDR"] = "10.42.0.23"
    on_portal = {"base_url": "http://10.42.0.1", "headers": {"Accept-Language": "nl"}}
    missing = client.get("/admin/login", **on_portal)
    assert missing.status_code == 404
    assert "We vinden deze pagina niet." in missing.get_data(as_text=True)
    assert client.get("/privacy", **on_portal).status_code == 200
    db.close()


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ('[network]\nadmin_address = "10.42.0.1"', "network.admin_address", "Wi-Fi side"),
        ('[network]\nadmin_address = "eth0"', "network.admin_address", "IPv4 address"),
        ('[admin]\npassword = "three words in a row"', "admin.user", "must name the account"),
        ('[admin]\nuser = "Epn Wanze"', "admin.user", "small letters"),
    ],
)
def test_wrong_admin_settings_are_named_by_their_key(toml: str, key: str, words: str) -> None:
    from portal.config import ConfigError, parse_settings

    with pytest.raises(ConfigError) as refused:
        parse_settings(toml)
    assert refused.value.key == key and words in refused.value.problem


def test_the_admin_port_is_bound_where_admin_address_says(settings: Settings) -> None:
    from portal.serving import bind_addresses

    assert bind_addresses(settings) == ["10.42.0.1:80"]  # "": uplink_listener's socket
    desk_only = settings.replace("network", admin_address="192.168.1.20", admin_port=8443)
    assert bind_addresses(desk_only) == ["10.42.0.1:80", "192.168.1.20:8443"]


def test_by_default_the_admin_port_listens_on_the_uplink_interface_only(
    settings: Settings,
) -> None:
    import socket

    from portal.serving import uplink_listener
    from tests.live import free_port

    others = [name for _, name in socket.if_nameindex() if name not in ("lo", "wlan0")]
    if not others:
        pytest.skip("this machine has no network interface but loopback")
    port = free_port()
    fd = uplink_listener(settings.replace("network", uplink_interface=others[0], admin_port=port))
    assert fd is not None
    with socket.socket(fileno=fd) as listener:
        device = listener.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16)
        assert device.rstrip(b"\0") == others[0].encode()
        assert listener.getsockname() == ("0.0.0.0", port)  # noqa: S104


def test_without_its_uplink_interface_the_portal_starts_without_admin_pages(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from portal.serving import uplink_listener

    unplugged = settings.replace("network", uplink_interface="usb9")
    with caplog.at_level(logging.WARNING):
        assert uplink_listener(unplugged) is None
    assert "no admin pages: port 8081 on usb9 cannot be opened" in caplog.text


def test_every_form_of_the_admin_pages_carries_its_token(admin: Flask) -> None:
    volunteer = desk(admin)
    pages = [volunteer.get("/admin/login").get_data(as_text=True)]
    sign_in(volunteer, *VOLUNTEER)
    pages += [volunteer.get(path).get_data(as_text=True) for path in ("/admin/", "/admin/status")]
    forms = [form for page in pages for form in re.findall(r"<form.*?</form>", page, re.S)]
    assert len(forms) == 3  # sign in; sign out on the home and the status page
    for form in forms:
        assert 'method="post"' in form
        assert re.search(r'<input type="hidden" name="csrf_token" value="[^"]+">', form)
