"""The personal learning path: no account, no MAC stored, forgotten after 90 days."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from portal.access.firewall import MemoryFirewall
from portal.app import create_app
from portal.config import Settings
from portal.context import Services, services_of
from portal.db import DATABASE_FILE
from portal.housekeeping import upkeep
from portal.models import LearningPath
from tests.conftest import (
    PHONE_MAC,
    FakeClock,
    FlaskTransport,
    complete_onboarding,
    csrf_token,
    fake_identify,
)
from tests.walker import LESSONS, walk_lesson

DAY = 24 * 3600


def finish_lesson(client: FlaskClient, slug: str) -> None:
    walk_lesson(FlaskTransport(client), LESSONS[slug])


def new_visit(app: Flask) -> FlaskClient:
    """The same phone on another day: the iOS mini-browser kept no cookie."""
    from tests.conftest import phone_client

    return phone_client(app)


def expire_grant(app: Flask, clock: FakeClock) -> None:
    clock.advance(services_of(app).book.session_seconds + 1)


def test_first_visit_must_do_the_onboarding_lesson(client: FlaskClient) -> None:
    html = client.get("/?lang=en").get_data(as_text=True)
    assert "Welcome back" not in html
    assert 'data-action="continue"' not in html


def test_returning_device_goes_online_with_one_tap(
    app: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    complete_onboarding(client, "en")
    expire_grant(app, clock)
    again = new_visit(app)
    html = again.get("/?lang=en").get_data(as_text=True)
    assert "Welcome back!" in html
    assert 'data-action="continue"' in html
    response = again.post("/access", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 303
    assert again.get("/api/captive").get_json(force=True)["captive"] is False


def test_returning_device_is_offered_the_next_lesson_which_it_may_skip(
    app: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    complete_onboarding(client, "en")
    html = client.get("/online").get_data(as_text=True)
    assert "A new short lesson for you" in html
    # The second lesson of path.toml, offered as a card.
    assert (
        '<a class="lesson-card" href="/lesson/touchscreen/1?lang=en" data-action="lesson">' in html
    )
    assert "<strong>Using the touchscreen</strong>" in html
    finish_lesson(client, "touchscreen")
    html = client.get("/online").get_data(as_text=True)
    assert "What you learned" in html
    assert "/lesson/scams/1" in html  # the next one, never forced
    expire_grant(app, clock)
    again = new_visit(app)
    start = again.get("/?lang=en").get_data(as_text=True)
    assert 'href="/lesson/scams/1?lang=en" data-action="lesson"' in start


def test_lessons_page_marks_what_this_device_finished(client: FlaskClient) -> None:
    complete_onboarding(client, "en")
    html = client.get("/lessons").get_data(as_text=True)
    assert html.count("lesson-card done") == 1
    assert '<a class="lesson-card done" href="/lesson/onboarding/1?lang=en">' in html
    for slug in ["onboarding", "touchscreen", "scams", "digital-keys", "human-help"]:
        assert f"/lesson/{slug}/1" in html


def test_the_table_never_holds_a_mac(app: Flask, client: FlaskClient, settings: Settings) -> None:
    complete_onboarding(client, "en")
    finish_lesson(client, "touchscreen")
    with sqlite3.connect(Path(settings.data_dir) / DATABASE_FILE) as connection:
        rows = connection.execute("SELECT * FROM learning_path").fetchall()
    assert len(rows) == 1
    flat = " ".join(str(value).lower() for value in rows[0])
    for form in (PHONE_MAC, PHONE_MAC.replace(":", ""), PHONE_MAC.replace(":", "-")):
        assert form not in flat
    assert len(rows[0][0]) == 64  # an HMAC-SHA256 in hex


def test_path_is_forgotten_after_90_days(
    app: Flask, client: FlaskClient, clock: FakeClock, services: Services
) -> None:
    complete_onboarding(client, "en")
    book = services.book
    clock.advance(89 * DAY)
    upkeep(book, clock)
    assert LearningPath.select().count() == 1
    clock.advance(2 * DAY)
    upkeep(book, clock)
    assert LearningPath.select().count() == 0
    html = new_visit(app).get("/?lang=en").get_data(as_text=True)
    assert "Welcome back" not in html


def test_a_visit_refreshes_the_90_days(
    app: Flask, client: FlaskClient, clock: FakeClock, services: Services
) -> None:
    complete_onboarding(client, "en")
    clock.advance(80 * DAY)
    finish_lesson(new_visit(app), "touchscreen")
    clock.advance(80 * DAY)
    upkeep(services.book, clock)
    assert LearningPath.select().count() == 1


def test_new_site_key_makes_old_paths_unlinkable(
    app: Flask, client: FlaskClient, settings: Settings, clock: FakeClock
) -> None:
    complete_onboarding(client, "en")
    expire_grant(app, clock)
    (Path(settings.data_dir) / "keys" / "site.key").unlink()
    rotated = create_app(
        settings, firewall=MemoryFirewall(clock), identify=fake_identify, clock=clock
    )
    html = new_visit(rotated).get("/?lang=en").get_data(as_text=True)
    assert "Welcome back" not in html
    assert LearningPath.select().count() == 1  # the old row stays until its 90 days are over


def privacy_page_says(client: FlaskClient, expected: dict[str, str]) -> None:
    """The privacy page in each language holds that language's words."""
    for language, words in expected.items():
        html = client.get(f"/privacy?lang={language}").get_data(as_text=True)
        assert words in html.replace("&#39;", "'"), language


def test_privacy_page_says_what_is_kept_in_every_language(client: FlaskClient) -> None:
    privacy_page_says(
        client,
        {
            "fr": "pendant 90 jours",
            "nl": "90 dagen lang",
            "de": "90 Tage lang",
            "en": "for 90 days",
            "ar": "90 يومًا",
            "uk": "протягом 90 днів",
            "tr": "90 gün saklıyoruz",
        },
    )


def test_privacy_page_says_no_cookie_and_not_a_phone_number_in_every_language(
    client: FlaskClient,
) -> None:
    privacy_page_says(
        client,
        {
            "fr": "pas de cookie",
            "nl": "geen cookie",
            "de": "kein Cookie",
            "en": "no cookie",
            "ar": "لا ملفات تعريف ارتباط",
            "uk": "жодних cookie",
            "tr": "çerez yok",
        },
    )
    privacy_page_says(
        client,
        {
            "fr": "Ce n'est pas votre numéro de téléphone.",
            "nl": "Dat is niet uw tele\u00adfoon\u00adnum\u00admer.",
            "de": "Das ist nicht Ihre Tele\u00adfon\u00adnum\u00admer.",
            "en": "It is not your phone number.",
            "ar": "هذا ليس رقم هاتفك.",
            "uk": "Це не ваш номер телефону.",
            "tr": "Bu, telefon numaranız değildir.",
        },
    )
