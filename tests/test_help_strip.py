"""The help strip on every page: 112 one tap away, and the help place of portal.toml (else
the free information line on public services, 1718 or 1719)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from portal import db
from portal.access.firewall import MemoryFirewall
from portal.app import create_app
from portal.config import Settings
from tests.conftest import complete_onboarding, fake_identify, phone_client

PAGES = ["/", "/lesson/onboarding/1", "/lesson/onboarding/done", "/online", "/lessons"]
PAGES += ["/privacy", "/status", "/guides", "/no-such-page"]
STRIP = re.compile(r'<aside class="help-strip[^"]*" aria-label="([^"]+)">(.*?)</aside>', re.S)


def strip_of(client: FlaskClient, path: str) -> tuple[str, str]:
    """The strip's label and its markup on the page at `path` (whatever its status)."""
    body = client.get(path, follow_redirects=True).get_data(as_text=True)
    found = STRIP.findall(body)
    assert len(found) == 1, f"{path}: {len(found)} help strips"
    label, markup = found[0]
    return label, markup


def client_with_help(settings: Settings, **help_: str) -> FlaskClient:
    app = create_app(
        settings.replace("help", **help_), firewall=MemoryFirewall(), identify=fake_identify
    )
    app.config["TESTING"] = True
    return phone_client(app)


@pytest.fixture
def helped(settings: Settings) -> Iterator[FlaskClient]:
    client = client_with_help(settings, place="EPN de Wanze", phone="085 21 00 00")
    yield client
    db.close()


@pytest.mark.parametrize("path", PAGES)
def test_every_page_offers_112_in_one_tap(client: FlaskClient, path: str) -> None:
    complete_onboarding(client)  # the end and online pages too
    label, markup = strip_of(client, path + "?lang=fr")
    assert label == "Aide"
    assert re.search(r'<a class="help-call" href="tel:112">.*?Urgence.*?112</bdi>', markup, re.S)


LINE = re.compile(r'<a class="help-call help-line" href="(tel:[0-9]+)">([^<]*)</a>')


@pytest.mark.parametrize(
    ("language", "href", "line"),
    [
        # French and German speakers call the line in their own language; the others
        # are told the 1718 answers in French (as the lesson and the guides say).
        ("fr", "tel:1718", "1718"),
        ("de", "tel:1719", "1719"),
        ("nl", "tel:1718", "1718 (in het Frans)"),
        ("en", "tel:1718", "1718 (in French)"),
        ("ar", "tel:1718", "1718 (بالفرنسية)"),
        ("uk", "tel:1718", "1718 (французькою)"),
        ("tr", "tel:1718", "1718 (Fransızca)"),
    ],
)
def test_without_a_help_place_the_strip_holds_112_and_the_information_line(
    client: FlaskClient, language: str, href: str, line: str
) -> None:
    for path in PAGES:
        _, markup = strip_of(client, f"{path}?lang={language}")
        assert markup.count("<a ") == 2
        assert '<a class="help-call" href="tel:112">' in markup
        assert LINE.findall(markup) == [(href, line)]
        assert "help-place" not in markup


def test_with_a_help_place_the_strip_holds_no_information_line(helped: FlaskClient) -> None:
    _, markup = strip_of(helped, "/?lang=en")
    assert "help-line" not in markup
    assert "1718" not in markup


@pytest.mark.parametrize("path", PAGES)
def test_the_help_place_and_its_phone_are_one_tap_on_every_page(
    helped: FlaskClient, path: str
) -> None:
    complete_onboarding(helped)
    _, markup = strip_of(helped, path + "?lang=nl")
    assert re.search(
        r'<a class="help-call" href="tel:085210000">.*?<span class="help-place" dir="auto">'
        r'EPN de Wanze</span>\s*<bdi dir="ltr">085 21 00 00</bdi>',
        markup,
        re.S,
    )


def test_a_help_place_without_phone_is_named_without_a_link(settings: Settings) -> None:
    client = client_with_help(settings, place="Bibliothèque 2000")
    try:
        _, markup = strip_of(client, "/?lang=ar")
    finally:
        db.close()
    assert markup.count("<a ") == 1  # 112 alone
    assert '<span class="help-place" dir="auto">Bibliothèque <bdi dir="ltr">2000</bdi></span>' in (
        markup
    )


def test_the_help_place_is_escaped(settings: Settings) -> None:
    client = client_with_help(settings, place='<b>EPN "Source"</b>', phone="+32 85 21 00 00")
    try:
        _, markup = strip_of(client, "/?lang=en")
    finally:
        db.close()
    assert 'href="tel:+3285210000"' in markup
    assert "<b>" not in markup
    assert "&lt;b&gt;EPN &#34;Source&#34;&lt;/b&gt;" in markup
