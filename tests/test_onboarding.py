"""The villager's path, in every language, without JavaScript, and its refusals."""

from __future__ import annotations

import re
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.config import Settings
from portal.context import Services, services_of
from portal.models import Grant
from tests.conftest import (
    OTHER_IP,
    PHONE_IP,
    SESSION_SECONDS,
    FakeClock,
    FlaskTransport,
    complete_onboarding,
    csrf_token,
    phone_client,
)
from tests.walker import ONBOARDING as ONBOARDING_ROUTE
from tests.walker import (
    Reply,
    answer_form,
    form_action,
    language_of,
    path_of,
    walk_lesson,
    walk_to_access,
    walk_to_check,
)

BACK_TO_THE_START = "/lesson/onboarding/1?back=1&lang=fr"
"""Where a device is sent that asks for what it has not earned: the lesson's first step."""


def next_link(page: Reply) -> str:
    link = re.search(r'data-action="next" href="([^"]+)"', page.body)
    assert link is not None, page.body
    return unescape(link[1])


LANGUAGES = ["fr", "nl", "de", "en", "ar", "uk", "tr"]


def html_attributes(html: str) -> tuple[str, str]:
    match = re.search(r'<html lang="([a-z]+)" dir="(ltr|rtl)">', html)
    assert match, "page has no <html lang dir>"
    return match.group(1), match.group(2)


def test_start_page_offers_every_language_by_its_own_name(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    links = re.findall(r'data-action="language"\s+href="([^"]+)"', html)
    assert [link.rsplit("=", 1)[1] for link in links] == LANGUAGES
    for name in ["Français", "Nederlands", "Deutsch", "English", "العربية", "Українська", "Türkçe"]:
        assert name in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_whole_onboarding_in_each_language(client: FlaskClient, language: str) -> None:
    complete_onboarding(client, language)
    page = client.get("/online")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html_attributes(html) == (language, "rtl" if language == "ar" else "ltr")
    assert "http://passerelle.lan/" in html


def test_steps_are_plain_links_with_test_hooks(client: FlaskClient) -> None:
    html = client.get("/lesson/onboarding/1?lang=en").get_data(as_text=True)
    link = re.search(r'data-action="next" href="([^"]+)"', html)
    assert link is not None
    assert path_of(unescape(link[1])) == "/lesson/onboarding/2"
    assert language_of(unescape(link[1])) == "en"
    assert "This Wi\u2011Fi is free." in html
    assert 'alt="The Wi-Fi sign and a coin marked 0 euros."' in html


def test_wrong_answer_explains_kindly_and_lets_you_try_again(client: FlaskClient) -> None:
    check = walk_to_check(FlaskTransport(client), ONBOARDING_ROUTE, "/lesson/onboarding/1?lang=en")
    assert check.body.count('data-action="answer"') == 2
    sent = FlaskTransport(client).post(form_action(check), answer_form(check, "2"))
    # A page of its own: Back and reload show it again without resending the form.
    assert sent.status == 303
    assert path_of(unescape(sent.location)) == "/lesson/onboarding/5"
    assert "wrong=2" in sent.location and language_of(unescape(sent.location)) == "en"
    wrong = FlaskTransport(client).get(sent.location)
    assert wrong.status == 200
    assert "Not quite. Try again." in wrong.body
    assert "This Wi\u2011Fi is free for everyone." in wrong.body
    assert wrong.body.count('data-action="answer"') == 2
    # The page of the wrong answer carries the steps seen on: the right answer finishes.
    right = FlaskTransport(client).post(form_action(wrong), answer_form(wrong, "1"))
    assert (right.status, right.location) == (303, "/lesson/onboarding/done?lang=en")


@pytest.mark.parametrize("wrong", ["1", "3", "x", ""])
def test_an_address_naming_no_wrong_answer_shows_no_hint(client: FlaskClient, wrong: str) -> None:
    """Answer 1 is the right one, 3 does not exist: the question is shown as it is."""
    html = client.get(f"/lesson/onboarding/5?lang=en&wrong={wrong}").get_data(as_text=True)
    assert "Not quite. Try again." not in html
    assert html.count('data-action="answer"') == 2


def test_post_without_csrf_token_is_refused_with_a_retry_that_works(
    client: FlaskClient,
) -> None:
    response = client.post("/access?lang=nl")
    assert response.status_code == 400
    assert "te lang open" in response.get_data(as_text=True)
    answer = client.post("/lesson/onboarding/5?lang=nl", data={"answer": "1"})
    assert answer.status_code == 400
    retry = re.search(r'data-action="retry" href="([^"]+)"', answer.get_data(as_text=True))
    assert retry is not None and unescape(retry[1]) == "/lesson/onboarding/5?lang=nl"
    again = client.get(unescape(retry[1]))
    assert again.status_code == 200 and 'data-action="answer"' in again.get_data(as_text=True)


def test_post_with_a_forged_csrf_token_is_refused(client: FlaskClient) -> None:
    client.get("/")
    response = client.post("/access", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert client.get("/api/captive").get_json(force=True)["captive"] is True


def test_access_requires_going_through_the_lesson(client: FlaskClient) -> None:
    html = client.get("/lesson/onboarding/5").get_data(as_text=True)
    response = client.post("/access", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/lesson/onboarding/1?back=1&lang=fr"
    assert client.get("/api/captive").get_json(force=True)["captive"] is True


def captive(client: FlaskClient) -> bool:
    answer: bool = client.get("/api/captive").get_json(force=True)["captive"]
    return answer


def test_opening_the_done_page_finishes_nothing(client: FlaskClient) -> None:
    # Any web page can make a phone GET this address (a link, an image).
    page = client.get("/lesson/onboarding/done")
    assert (page.status_code, page.headers["Location"]) == (303, BACK_TO_THE_START)
    assert 'data-action="continue"' not in client.get("/?lang=en").get_data(as_text=True)
    html = client.get("/lesson/onboarding/5").get_data(as_text=True)
    response = client.post("/access", data={"csrf_token": csrf_token(html)})
    assert (response.status_code, response.headers["Location"]) == (303, BACK_TO_THE_START)
    assert captive(client)


def test_jumping_to_the_check_does_not_finish_the_lesson(client: FlaskClient) -> None:
    walker = FlaskTransport(client)
    step2 = walker.get(next_link(walker.get("/lesson/onboarding/1?lang=en")))
    # Step 2's Next link, with its trail of steps 1 and 2, changed to go to step 5.
    check = walker.get(next_link(step2).replace("/onboarding/3?", "/onboarding/5?"))
    right = walker.post(form_action(check), answer_form(check, "1"))
    # Back to the first step not seen; the lesson is not finished, the Internet stays shut.
    assert (right.status, path_of(right.location)) == (303, "/lesson/onboarding/3")
    assert client.get("/lesson/onboarding/done").status_code == 303
    assert captive(client)
    # Seeing the two missing steps is enough: the answer then finishes the lesson. The
    # step the visitor is sent back to says why they are there, once.
    back = walker.get(right.location)
    assert "Please look at this page first. Then you can go on." in back.body
    step4 = walker.get(next_link(back))
    assert 'data-state="sent-back"' not in step4.body
    check = walker.get(next_link(step4))
    done = walker.post(form_action(check), answer_form(check, "1"))
    assert (done.status, done.location) == (303, "/lesson/onboarding/done?lang=en")
    assert client.get("/lesson/onboarding/done").status_code == 200


def test_a_trail_carried_to_another_device_grants_nothing(app: Flask) -> None:
    phone, other = phone_client(app, PHONE_IP), phone_client(app, OTHER_IP)
    check = walk_to_check(FlaskTransport(phone), ONBOARDING_ROUTE)
    # The phone's own form, sent by another device: its token is the phone's.
    stolen = other.post(form_action(check), data=answer_form(check, "1"))
    assert stolen.status_code == 400
    # With a token of its own, but the phone's trail: nothing was seen on the other device.
    own = csrf_token(other.get("/lesson/onboarding/5").get_data(as_text=True))
    right = other.post(form_action(check), data={**answer_form(check, "1"), "csrf_token": own})
    assert (right.status_code, path_of(right.headers["Location"])) == (303, "/lesson/onboarding/1")
    # The phone finishes and goes online; nothing of it opens anything for the other.
    done = FlaskTransport(phone).post(form_action(check), answer_form(check, "1"))
    assert done.location == "/lesson/onboarding/done?lang=fr"
    phone.post("/access", data={"csrf_token": csrf_token(check)})
    assert not captive(phone)
    refused = other.post("/access", data={"csrf_token": own})
    assert (refused.status_code, path_of(refused.headers["Location"])) == (
        303,
        "/lesson/onboarding/1",
    )
    assert captive(other)


def test_online_page_without_access_goes_back_to_the_start(client: FlaskClient) -> None:
    response = client.get("/online")
    assert response.status_code == 303
    assert response.headers["Location"] == "/?lang=fr"


def test_start_page_tells_a_granted_device_it_is_online(client: FlaskClient) -> None:
    complete_onboarding(client, "en")
    assert "You are online." in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ("?lang=de", "nl", "de"),
        ("", "nl-BE,nl;q=0.9,fr;q=0.8", "nl"),
        ("", "ar", "ar"),
        ("", "uk-UA,uk;q=0.9,ru;q=0.8", "uk"),
        ("", "tr-TR,tr;q=0.9,en;q=0.8", "tr"),
        ("", "es-ES,es;q=0.9", "fr"),
        ("?lang=xx", "en", "en"),
        ("?lang=AR", "en", "ar"),  # typed by hand
    ],
)
def test_language_choice_order(client: FlaskClient, query: str, accept: str, expected: str) -> None:
    html = client.get("/" + query, headers={"Accept-Language": accept}).get_data(as_text=True)
    assert html_attributes(html)[0] == expected


def test_the_chosen_language_travels_in_every_link_without_a_cookie(client: FlaskClient) -> None:
    html = client.get("/lesson/onboarding/2?lang=de", headers={"Accept-Language": "en"})
    text = html.get_data(as_text=True)
    assert html_attributes(text) == ("de", "ltr")
    assert "Seien Sie freundlich" in text
    links = [unescape(href) for href in re.findall(r'href="(/[^"]*)"', text)]
    pages = [link for link in links if not link.startswith(("/static/", "/pictogram/"))]
    assert pages and all(language_of(link) == "de" for link in pages), pages
    assert "Set-Cookie" not in html.headers


def test_a_returning_device_finds_its_language_again(client: FlaskClient) -> None:
    complete_onboarding(client, "de")
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert html_attributes(html) == ("de", "ltr")
    # A language asked for in the address still wins.
    assert html_attributes(client.get("/?lang=nl").get_data(as_text=True)) == ("nl", "ltr")


def test_arabic_is_right_to_left_and_the_address_stays_left_to_right(
    client: FlaskClient,
) -> None:
    complete_onboarding(client, "ar")
    html = client.get("/online").get_data(as_text=True)
    assert 'dir="rtl"' in html
    assert '<strong class="address" dir="ltr">' in html


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("fr", "Nous ne trouvons pas cette page."),
        ("nl", "We vinden deze pagina niet."),
        ("de", "Wir finden diese Seite nicht."),
        ("en", "We cannot find this page."),
        ("ar", "لا نجد هذه الصفحة."),
        ("uk", "Ми не можемо знайти цю сторінку."),
        ("tr", "Bu sayfayı bulamıyoruz."),
    ],
)
def test_not_found_page_in_the_visitors_language(
    client: FlaskClient, language: str, text: str
) -> None:
    response = client.get("/no/such/page", headers={"Accept-Language": language})
    assert response.status_code == 404
    assert text in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("language", "welcome", "step_texts"),
    [
        (
            "uk",
            "Виберіть свою мову",
            [
                "Цей Wi\u2011Fi без\u00adко\u00adш\u00adто\u00adв\u00adний. Він для всіх.",  # noqa: RUF001 — Ukrainian beside escapes
                'alt="Знак Wi-Fi і монета з написом 0 євро."',
                "Крок 1 з 5",
                "Далі",
            ],
        ),
        (
            "tr",
            "Dilinizi seçin",
            [
                "Bu Wi\u2011Fi ücretsiz. Herkes için.",
                'alt="Wi-Fi işareti ve üstünde 0 euro yazan bir bozuk para."',
                "Adım 1 / 5",
                "İleri",
            ],
        ),
    ],
)
def test_ukrainian_and_turkish_pages_are_translated_and_left_to_right(
    client: FlaskClient, language: str, welcome: str, step_texts: list[str]
) -> None:
    start = client.get(f"/?lang={language}").get_data(as_text=True)
    assert html_attributes(start) == (language, "ltr")
    assert welcome in start
    step = client.get(f"/lesson/onboarding/1?lang={language}").get_data(as_text=True)
    assert html_attributes(step) == (language, "ltr")
    for text in step_texts:
        assert text in step, text


def test_unknown_lesson_and_step_are_404(client: FlaskClient) -> None:
    assert client.get("/lesson/nope/1").status_code == 404
    assert client.get("/lesson/onboarding/99").status_code == 404
    assert client.get("/pictogram/onboarding/../lesson.toml").status_code == 404
    assert client.get("/pictogram/onboarding/lesson.toml").status_code == 404


def test_wrong_method_is_405_page(client: FlaskClient) -> None:
    response = client.post("/online", headers={"Accept-Language": "de"})
    assert response.status_code == 405
    assert "Diese Seite funk\u00adtio\u00adniert so nicht." in response.get_data(as_text=True)


def test_oversized_body_is_413_page(client: FlaskClient) -> None:
    response = client.post(
        "/lesson/onboarding/5", data={"answer": "1" * 200_000}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 413
    assert "What you sent is too big." in response.get_data(as_text=True)


def test_malformed_answer_is_400_page(client: FlaskClient) -> None:
    html = client.get("/lesson/onboarding/5").get_data(as_text=True)
    for answer in ["", "0", "3", "x", "-1"]:
        response = client.post(
            "/lesson/onboarding/5", data={"answer": answer, "csrf_token": csrf_token(html)}
        )
        assert response.status_code == 400
        assert "Traceback" not in response.get_data(as_text=True)


def test_unexpected_failure_is_a_500_page_without_traceback(
    client: FlaskClient, services: Services
) -> None:
    app = client.application
    app.config["TESTING"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def explode(mac: str) -> None:
        raise RuntimeError("secret internals")

    services.book.seconds_left = explode
    response = client.get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Sorry, something broke on our side." in body
    assert "secret internals" not in body and "Traceback" not in body


def test_firewall_failure_is_a_503_page(client: FlaskClient, services: Services) -> None:
    from portal.access.firewall import FirewallError, MemoryFirewall

    class Down(MemoryFirewall):
        def grant(self, mac: str, seconds: int) -> None:
            raise FirewallError("gatekeeper socket missing")

    services_of(client.application).book.firewall = Down()
    done = walk_to_access(FlaskTransport(client), "en")
    response = client.post(form_action(done), data={"csrf_token": csrf_token(done)})
    assert response.status_code == 503
    assert "try again in one minute" in response.get_data(as_text=True)
    assert client.get("/api/captive").get_json(force=True)["captive"] is True


def test_phone_numbers_stay_left_to_right_in_arabic(client: FlaskClient) -> None:
    html = client.get("/lesson/onboarding/4?lang=ar").get_data(as_text=True)
    assert '<bdi dir="ltr">1718</bdi>' in html


def test_lesson_text_is_escaped_around_numbers() -> None:
    from portal.phones import numbers_html

    assert str(numbers_html("<b>112</b>")) == (
        '&lt;b&gt;<a href="tel:112"><bdi dir="ltr">112</bdi></a>&lt;/b&gt;'
    )


def test_arrows_in_pictograms_are_mirrored_on_right_to_left_pages(
    client: FlaskClient, services: Services
) -> None:
    lesson = services.lessons.get("touchscreen")
    number = next(s.number for s in lesson.steps if s.pictogram == "back.svg")
    html = client.get(f"/lesson/touchscreen/{number}?lang=ar").get_data(as_text=True)
    assert 'class="directional"' in html
    css = client.get("/static/portal.css").get_data(as_text=True)
    assert '[dir="rtl"] img.directional { transform: scaleX(-1); }' in css


def test_human_help_lesson_names_the_place_from_portal_toml(settings: Settings) -> None:
    from portal.access.firewall import MemoryFirewall
    from portal.app import create_app
    from tests.conftest import fake_identify, phone_client

    local = settings.replace(
        "help",
        place="EPN de Wanze",
        address="rue du Pont 1",
        hours="mardi 14-17 h",
        phone="+32 85 21 00 00",
    )
    client = phone_client(create_app(local, firewall=MemoryFirewall(), identify=fake_identify))
    lesson = services_of(client.application).lessons.get("human-help")
    number = next(step.number for step in lesson.steps if step.local_help)
    html = client.get(f"/lesson/human-help/{number}?lang=en").get_data(as_text=True)
    assert (
        '<p class="local-help">Ask at: EPN de Wanze<br>rue du Pont <bdi dir="ltr">1</bdi><br>'
        'Open: mardi <bdi dir="ltr">14-17</bdi> h<br>'
        'Phone: <a href="tel:+3285210000"><bdi dir="ltr">+32 85 21 00 00</bdi></a></p>'
    ) in html
    html = client.get(f"/lesson/human-help/{number}?lang=ar").get_data(as_text=True)
    assert '<bdi dir="ltr">14-17</bdi>' in html
    assert '<a href="tel:+3285210000">' in html


def test_online_page_offers_more_time(
    client: FlaskClient, clock: FakeClock, services: Services
) -> None:
    complete_onboarding(client, "nl")
    book = services.book
    clock.advance(2 * 3600)  # half of the four-hour session is left
    html = client.get("/online").get_data(as_text=True)
    assert 'data-action="extend"' in html and "Meer tijd" in html
    response = client.post("/access", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 303
    assert book.seconds_left("aa:bb:cc:00:00:23") == SESSION_SECONDS


def test_asking_again_with_most_of_a_session_left_changes_nothing(
    client: FlaskClient, clock: FakeClock, services: Services
) -> None:
    complete_onboarding(client, "nl")
    book = services.book
    clock.advance(3600)  # three of the four hours left: nothing worth adding
    assert 'data-action="extend"' not in client.get("/online").get_data(as_text=True)
    token = csrf_token(client.get("/lesson/onboarding/5").get_data(as_text=True))
    for _ in range(50):  # a flood from one phone
        response = client.post("/access", data={"csrf_token": token})
        assert (response.status_code, response.headers["Location"]) == (303, "/online?lang=nl")
    assert book.seconds_left("aa:bb:cc:00:00:23") == SESSION_SECONDS - 3600
    assert Grant.get_by_id("aa:bb:cc:00:00:23").expires_at == int(clock()) + SESSION_SECONDS - 3600


def test_a_device_that_saw_every_step_but_did_not_answer_goes_back_to_the_check(
    client: FlaskClient,
) -> None:
    check = walk_to_check(FlaskTransport(client), ONBOARDING_ROUTE)
    response = client.post("/access", data={"csrf_token": csrf_token(check)})
    # Its trail stays with the lesson's own pages: the lesson starts again.
    assert (response.status_code, response.headers["Location"]) == (303, BACK_TO_THE_START)
    assert captive(client)


def test_a_device_without_a_known_address_finishes_the_lesson_but_is_never_granted(
    app: Flask,
) -> None:
    # Not in the neighbour table (e.g. a browser on the Pi itself): it cannot be granted.
    stranger = phone_client(app, "10.42.0.200")
    done = walk_lesson(FlaskTransport(stranger), ONBOARDING_ROUTE, "/lesson/onboarding/1?lang=en")
    assert "You finished the lesson." in done.body
    assert 'action="/access' not in done.body
    token = csrf_token(stranger.get("/lesson/onboarding/5").get_data(as_text=True))
    assert stranger.post("/access", data={"csrf_token": token}).status_code == 400
