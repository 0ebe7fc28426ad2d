"""A browser that keeps nothing between pages (a mini-browser that loses cookies, a phone that
blocks them) still gets online, in its language: a fresh Chromium context for every page,
carrying nothing but the address and the form the page holds."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.walk import expect_at
from tests.live import Visitor, probe
from tests.walker import ONBOARDING, ONLINE


def fresh_page(browser: Browser, url: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(url)
    return context, page


def leave(context: BrowserContext, page: Page, language: str) -> str:
    """The page's language checked, no cookie kept; the context closed; where it was."""
    assert page.locator("html").get_attribute("lang") == language, page.url
    assert context.cookies() == [], page.url
    url = page.url
    context.close()
    return url


@pytest.mark.browser
@pytest.mark.parametrize("language", ["ar"])  # not the default, right-to-left
def test_a_browser_that_keeps_nothing_between_pages_gets_online(
    portal: Visitor, browser: Browser, language: str
) -> None:
    context, page = fresh_page(browser, portal.base)
    href = page.locator(f'[data-action="language"][hreflang="{language}"]').get_attribute("href")
    context.close()
    assert href is not None
    url = urljoin(portal.base, href)
    for number in range(1, ONBOARDING.steps):
        context, page = fresh_page(browser, url)
        expect_at(page, portal.base, ONBOARDING.step(number))
        href = page.locator('[data-action="next"]').get_attribute("href")
        assert href is not None
        leave(context, page, language)
        url = urljoin(portal.base, href)
    # The check: the right answer, a form POST from the page as it came.
    context, page = fresh_page(browser, url)
    page.click(f'[data-action="answer"][value="{ONBOARDING.right}"]')
    expect_at(page, portal.base, ONBOARDING.done)
    url = leave(context, page, language)
    # "Go on the Internet", from the done page opened afresh.
    context, page = fresh_page(browser, url)
    page.click('[data-action="next"]')
    expect_at(page, portal.base, ONLINE)
    leave(context, page, language)
    assert probe(portal)[0] == 204
