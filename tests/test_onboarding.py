"""The villager's path, in every language, without JavaScript, and its refusals."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.config import Settings
from portal.context import Services, services_of
from tests.conftest import (
    OTHER_IP,
    PHONE_IP,
    PORTAL_HOST,
    SESSION_SECONDS,
    FakeClock,
    FlaskTransport,
    complete_onboarding,
    csrf_token,
    phone_client,
)
from tests.walker import ONBOARDING as ONBOARDING_ROUTE
from tests.walker import walk_lesson, walk_to_access, walk_to_check

LANGUAGES = ["fr", "nl", "de", "en", "ar"]


def html_attributes(html: str) -> tuple[str, str]:
    match = re.search(r'<html lang="([a-z]+)" dir="(ltr|rtl)">', html)
    assert match, "page has no <html lang dir>"
    return match.group(1), match.group(2)


def test_start_page_offers_every_language_by_its_own_name(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    links = re.findall(r'data-action="language"\s+href="([^"]+)"', html)
    assert [link.rsplit("=", 1)[1] for link in links] == LANGUAGES
    for name in ["Français", "Nederlands", "Deutsch", "English", "العربية"]:
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
    assert 'data-action="next" href="/lesson/onboarding/2"' in html
    assert "This Wi-Fi is free." in html
    assert 'alt="The Wi-Fi sign and a crossed-out coin."' in html


def test_wrong_answer_explains_kindly_and_lets_you_try_again(client: FlaskClient) -> None:
    html = walk_to_check(
        FlaskTransport(client), ONBOARDING_ROUTE, "/lesson/onboarding/1?lang=en"
    ).body
    assert html.count('data-action="answer"') == 2
    wrong = client.post(
        "/lesson/onboarding/5", data={"answer": "2", "csrf_token": csrf_token(html)}
    )
    assert wrong.status_code == 200
    text = wrong.get_data(as_text=True)
    assert "Not quite. Try again." in text
    assert "This Wi-Fi is free for everyone." in text
    assert text.count('data-action="answer"') == 2
    right = client.post(
        "/lesson/onboarding/5", data={"answer": "1", "csrf_token": csrf_token(text)}
    )
    assert right.status_code == 303
    assert right.headers["Location"] == "/lesson/onboarding/done"


def test_post_without_csrf_token_is_refused(client: FlaskClient) -> None:
    client.get("/lesson/onboarding/5?lang=nl")
    response = client.post("/access")
    assert response.status_code == 400
    assert "te lang open" in response.get_data(as_text=True)
    answer = client.post("/lesson/onboarding/5", data={"answer": "1"})
    assert answer.status_code == 400


def test_post_with_a_forged_csrf_token_is_refused(client: FlaskClient) -> None:
    client.get("/")
    response = client.post("/access", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert client.get("/api/captive").get_json(force=True)["captive"] is True


def test_access_requires_going_through_the_lesson(client: FlaskClient) -> None:
    html = client.get("/lesson/onboarding/5").get_data(as_text=True)
    response = client.post("/access", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/lesson/onboarding/1"
    assert client.get("/api/captive").get_json(force=True)["captive"] is True


def captive(client: FlaskClient) -> bool:
    answer: bool = client.get("/api/captive").get_json(force=True)["captive"]
    return answer


def test_opening_the_done_page_finishes_nothing(client: FlaskClient) -> None:
    # Any web page can make a phone GET this address (a link, an image).
    page = client.get("/lesson/onboarding/done")
    assert (page.status_code, page.headers["Location"]) == (303, "/lesson/onboarding/1")
    assert 'data-action="continue"' not in client.get("/?lang=en").get_data(as_text=True)
    html = client.get("/lesson/onboarding/5").get_data(as_text=True)
    response = client.post("/access", data={"csrf_token": csrf_token(html)})
    assert (response.status_code, response.headers["Location"]) == (303, "/lesson/onboarding/1")
    assert captive(client)


def test_jumping_to_the_check_does_not_finish_the_lesson(client: FlaskClient) -> None:
    for number in (1, 2, 5):  # steps 3 and 4 skipped
        client.get(f"/lesson/onboarding/{number}?lang=en")
    html = client.get("/lesson/onboarding/5").get_data(as_text=True)
    right = client.post(
        "/lesson/onboarding/5", data={"answer": "1", "csrf_token": csrf_token(html)}
    )
    # Back to the first step not seen; the lesson is not finished, the Internet stays shut.
    assert (right.status_code, right.headers["Location"]) == (303, "/lesson/onboarding/3")
    assert client.get("/lesson/onboarding/done").status_code == 303
    response = client.post("/access", data={"csrf_token": csrf_token(html)})
    assert (response.status_code, response.headers["Location"]) == (303, "/lesson/onboarding/3")
    assert captive(client)
    # Seeing the two missing steps is enough: the answer then finishes the lesson. The
    # step the visitor is sent back to says why they are there, once.
    back = client.get("/lesson/onboarding/3").get_data(as_text=True)
    assert "Please look at this page first. Then you can go on." in back
    assert 'data-state="sent-back"' not in client.get("/lesson/onboarding/4").get_data(as_text=True)
    right = client.post(
        "/lesson/onboarding/5", data={"answer": "1", "csrf_token": csrf_token(html)}
    )
    assert (right.status_code, right.headers["Location"]) == (303, "/lesson/onboarding/done")
    assert client.get("/lesson/onboarding/done").status_code == 200


def test_a_session_cookie_carried_to_another_device_grants_nothing(app: Flask) -> None:
    phone = phone_client(app, PHONE_IP)
    check = walk_to_check(FlaskTransport(phone), ONBOARDING_ROUTE)
    other = phone_client(app, OTHER_IP)
    cookie = phone.get_cookie("session", domain=PORTAL_HOST)
    assert cookie is not None
    other.set_cookie("session", cookie.value, domain=cookie.domain)
    # The other device answers with the first one's cookie: nothing was seen on it.
    token = csrf_token(check)
    right = other.post("/lesson/onboarding/5", data={"answer": "1", "csrf_token": token})
    assert (right.status_code, right.headers["Location"]) == (303, "/lesson/onboarding/1")
    # The first device finishes and goes online; its cookie still opens nothing elsewhere.
    complete = phone.post("/lesson/onboarding/5", data={"answer": "1", "csrf_token": token})
    assert complete.headers["Location"] == "/lesson/onboarding/done"
    phone.post("/access", data={"csrf_token": token})
    assert not captive(phone)
    cookie = phone.get_cookie("session", domain=PORTAL_HOST)
    assert cookie is not None
    other.set_cookie("session", cookie.value, domain=cookie.domain)
    refused = other.post("/access", data={"csrf_token": token})
    assert (refused.status_code, refused.headers["Location"]) == (303, "/lesson/onboarding/1")
    assert captive(other)


def test_online_page_without_access_goes_back_to_the_start(client: FlaskClient) -> None:
    response = client.get("/online")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_start_page_tells_a_granted_device_it_is_online(client: FlaskClient) -> None:
    complete_onboarding(client, "en")
    assert "You are online." in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ("?lang=de", "nl", "de"),
        ("", "nl-BE,nl;q=0.9,fr;q=0.8", "nl"),
        ("", "ar", "ar"),
        ("", "es-ES,es;q=0.9", "fr"),
        ("?lang=xx", "en", "en"),
    ],
)
def test_language_choice_order(client: FlaskClient, query: str, accept: str, expected: str) -> None:
    html = client.get("/" + query, headers={"Accept-Language": accept}).get_data(as_text=True)
    assert html_attributes(html)[0] == expected


def test_chosen_language_is_remembered_for_the_visit(client: FlaskClient) -> None:
    client.get("/?lang=de")
    html = client.get("/lesson/onboarding/2", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert html_attributes(html) == ("de", "ltr")
    assert "Seien Sie freundlich" in html


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
    ],
)
def test_not_found_page_in_the_visitors_language(
    client: FlaskClient, language: str, text: str
) -> None:
    response = client.get("/no/such/page", headers={"Accept-Language": language})
    assert response.status_code == 404
    assert text in response.get_data(as_text=True)


def test_unknown_lesson_and_step_are_404(client: FlaskClient) -> None:
    assert client.get("/lesson/nope/1").status_code == 404
    assert client.get("/lesson/onboarding/99").status_code == 404
    assert client.get("/pictogram/onboarding/../lesson.toml").status_code == 404
    assert client.get("/pictogram/onboarding/lesson.toml").status_code == 404


def test_wrong_method_is_405_page(client: FlaskClient) -> None:
    response = client.post("/online", headers={"Accept-Language": "de"})
    assert response.status_code == 405
    assert "Diese Seite funktioniert so nicht." in response.get_data(as_text=True)


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
    token = walk_to_access(FlaskTransport(client), "en")
    response = client.post("/access", data={"csrf_token": token})
    assert response.status_code == 503
    assert "try again in one minute" in response.get_data(as_text=True)
    assert client.get("/api/captive").get_json(force=True)["captive"] is True


def test_phone_numbers_stay_left_to_right_in_arabic(client: FlaskClient) -> None:
    html = client.get("/lesson/onboarding/4?lang=ar").get_data(as_text=True)
    assert '<bdi dir="ltr">1718</bdi>' in html


def test_lesson_text_is_escaped_around_numbers() -> None:
    from portal.i18n import ltr_numbers

    assert str(ltr_numbers("<b>112</b>")) == '&lt;b&gt;<bdi dir="ltr">112</bdi>&lt;/b&gt;'


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
    clock.advance(3600)
    html = client.get("/online").get_data(as_text=True)
    assert 'data-action="extend"' in html and "Meer tijd" in html
    response = client.post("/access", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 303
    assert book.seconds_left("aa:bb:cc:00:00:23") == SESSION_SECONDS


def test_a_device_that_saw_every_step_but_did_not_answer_goes_back_to_the_check(
    client: FlaskClient,
) -> None:
    check = walk_to_check(FlaskTransport(client), ONBOARDING_ROUTE)
    response = client.post("/access", data={"csrf_token": csrf_token(check)})
    assert (response.status_code, response.headers["Location"]) == (303, "/lesson/onboarding/5")
    assert captive(client)


def test_a_device_without_a_known_address_finishes_the_lesson_but_is_never_granted(
    app: Flask,
) -> None:
    # Not in the neighbour table (e.g. a browser on the Pi itself): it cannot be granted.
    stranger = phone_client(app, "10.42.0.200")
    done = walk_lesson(FlaskTransport(stranger), ONBOARDING_ROUTE, "/lesson/onboarding/1?lang=en")
    assert "You finished the lesson." in done.body
    assert 'action="/access"' not in done.body
    token = csrf_token(stranger.get("/lesson/onboarding/5").get_data(as_text=True))
    assert stranger.post("/access", data={"csrf_token": token}).status_code == 400
