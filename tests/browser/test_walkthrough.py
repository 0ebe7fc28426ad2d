"""A visitor walks from the language choice to "You are online" in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import ARTIFACTS
from tests.live import Visitor, probe


def walk(page: Page, base: str, language: str, shots: str | None = None) -> None:
    page.goto(base)
    page.click(f'[data-action="language"][hreflang="{language}"]')
    number = 1
    while page.locator('[data-action="answer"]').count() == 0:
        if shots:
            page.screenshot(path=str(ARTIFACTS / f"{shots}-step{number}.png"), full_page=True)
        page.click('[data-action="next"]')
        number += 1
    page.locator('[data-action="answer"]').nth(1).click()  # a wrong answer first
    assert page.locator(".hint").is_visible()
    page.locator('[data-action="answer"]').nth(0).click()
    page.click('[data-action="next"]')  # "Go on the Internet"
    assert page.url == base + "online"
    if shots:
        page.screenshot(path=str(ARTIFACTS / f"{shots}-online.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.parametrize("language", ["fr", "ar"])
def test_onboarding_in_chromium_opens_the_internet(
    portal: Visitor, phone: Page, language: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    assert probe(portal)[0] == 302
    walk(phone, portal.base, language, shots=f"walkthrough-{language}")
    assert phone.locator("html").get_attribute("lang") == language
    assert phone.locator("html").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
    assert probe(portal)[0] == 204


@pytest.mark.browser
@pytest.mark.parametrize("language", ["fr", "nl", "de", "en", "ar"])
def test_onboarding_works_without_javascript(
    portal: Visitor, phone_without_javascript: Page, language: str
) -> None:
    walk(phone_without_javascript, portal.base, language)
    assert phone_without_javascript.locator("html").get_attribute("lang") == language
    assert probe(portal)[0] == 204
