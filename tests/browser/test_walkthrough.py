"""A visitor walks from the language choice to "You are online" in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import ARTIFACTS
from tests.browser.walk import walk_in_browser
from tests.live import Visitor, probe


@pytest.mark.browser
@pytest.mark.parametrize("language", ["fr", "ar"])
def test_onboarding_in_chromium_opens_the_internet(
    portal: Visitor, phone: Page, language: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    assert probe(portal)[0] == 302

    def screenshot(name: str) -> None:
        phone.screenshot(path=str(ARTIFACTS / f"walkthrough-{language}-{name}.png"), full_page=True)

    walk_in_browser(phone, portal.base, language, screenshot)
    assert phone.locator("html").get_attribute("lang") == language
    assert phone.locator("html").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
    assert probe(portal)[0] == 204


@pytest.mark.browser
@pytest.mark.parametrize("language", ["fr", "nl", "de", "en", "ar", "uk", "tr"])
def test_onboarding_works_without_javascript(
    portal: Visitor, phone_without_javascript: Page, language: str
) -> None:
    walk_in_browser(phone_without_javascript, portal.base, language)
    assert phone_without_javascript.locator("html").get_attribute("lang") == language
    assert probe(portal)[0] == 204
