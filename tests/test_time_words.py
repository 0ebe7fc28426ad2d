"""Times and durations as villagers read them: the clock time in their language, plurals
right in every language, the idle cut-off said, "Get more time" only when it helps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from portal.context import Services
from portal.i18n import clock_moment, clock_time, duration
from tests.conftest import FakeClock, complete_onboarding

NNBSP = "\u202f"
START = 1_800_000_000
"""The fake clock's start: 08:00 UTC on 15 January 2027, 09:00 in Brussels (CET)."""


@contextmanager
def speaking(app: Flask, language: str) -> Iterator[None]:
    """Inside a request, in `language`: what the clock and duration words need."""
    with app.test_request_context(), force_locale(language):
        yield


def onboarded_page(client: FlaskClient, language: str, path: str) -> str:
    """The page at `path` in `language`, on a phone that finished the lesson in it."""
    complete_onboarding(client, language)
    return client.get(f"{path}?lang={language}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        # Four hours from 09:00 in Brussels.
        ("fr", "Votre accès dure jusqu'à 13:00."),
        ("en", "Your access lasts until 13:00."),
        ("ar", "يدوم اتصالك حتى الساعة 13:00."),
    ],
)
def test_online_page_says_until_when_in_the_visitors_clock(
    client: FlaskClient, language: str, words: str
) -> None:
    assert words in onboarded_page(client, language, "/online")


def test_online_page_says_when_access_ends_without_use(client: FlaskClient) -> None:
    html = onboarded_page(client, "de", "/online")
    assert "Er endet auch nach 45 Minuten ohne Nutzung." in html
    assert "Sie können dieses Fenster jetzt schließen." in html


def test_more_time_is_offered_only_once_half_the_session_is_gone(
    client: FlaskClient, clock: FakeClock
) -> None:
    complete_onboarding(client, "en")
    assert 'data-action="extend"' not in client.get("/online").get_data(as_text=True)
    clock.advance(2 * 3600 - 1)
    assert 'data-action="extend"' not in client.get("/online").get_data(as_text=True)
    clock.advance(1)
    assert 'data-action="extend"' in client.get("/online").get_data(as_text=True)


def test_more_time_is_not_offered_while_the_firewall_takes_no_grant(
    client: FlaskClient, clock: FakeClock, services: Services
) -> None:
    complete_onboarding(client, "en")
    clock.advance(3 * 3600)
    services.book._restored.clear()  # as at a start before the gatekeeper answered
    assert 'data-action="extend"' not in client.get("/online").get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/lesson/onboarding/done", "Uw toegang duurt 4 uur."),
        ("/privacy", "Uw toegang duurt 4 uur. Daarna wissen we deze code."),
        ("/status", "Uw toegang duurt tot 13:00."),
    ],
)
def test_finish_privacy_and_status_pages_say_the_same_times(
    client: FlaskClient, path: str, words: str
) -> None:
    assert words in onboarded_page(client, "nl", path)


@pytest.mark.parametrize(
    ("language", "minutes", "words"),
    [
        ("en", 60, "1 hour"),
        ("en", 240, "4 hours"),
        ("en", 1, "1 minute"),
        ("en", 90, "90 minutes"),
        ("fr", 60, "1 heure"),
        ("fr", 45, "45 minutes"),
        ("nl", 120, "2 uur"),
        ("nl", 1, "1 minuut"),
        ("de", 60, "1 Stunde"),
        ("de", 45, "45 Minuten"),
        ("ar", 60, "ساعة واحدة"),
        ("ar", 120, "ساعتان"),
        ("ar", 240, "4 ساعات"),
        ("ar", 1440, "24 ساعة"),
        ("ar", 1, "دقيقة واحدة"),
        ("ar", 2, "دقيقتان"),
        ("ar", 5, "5 دقائق"),
        ("ar", 45, "45 دقيقة"),
        ("ar", 101, "101 دقيقة"),
    ],
)
def test_durations_take_the_plural_of_each_language(
    app: Flask, language: str, minutes: int, words: str
) -> None:
    with speaking(app, language):
        assert duration(minutes) == words


def test_clock_time_is_the_brussels_clock_in_summer_too(app: Flask) -> None:
    with speaking(app, "de"):
        assert clock_time(1_790_000_000) == "16:13"  # 2026-09-21 14:13 UTC, in CEST


@pytest.mark.parametrize(
    ("language", "now", "words"),
    [
        ("en", START + 3600, "09:00"),  # today: the clock time alone
        ("ar", START + 14 * 3600, "09:00"),  # 23:00 in Brussels: still the same day
        ("en", START + 15 * 3600, "15 January 09:00"),  # past midnight in Brussels
        ("fr", START + 86400, "15 janvier 09:00"),
        ("nl", START + 86400, "15 januari 09:00"),
    ],
)
def test_a_past_moment_is_its_clock_time_with_the_day_when_not_today(
    app: Flask, language: str, now: int, words: str
) -> None:
    with speaking(app, language):
        assert clock_moment(START, now) == words
