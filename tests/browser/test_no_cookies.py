"""A browser that keeps nothing between pages (a mini-browser that loses cookies, a phone that
blocks them) still gets online, in its language: a fresh Chromium context for every page,
carrying nothing but the address and the form the page holds.

Each language walks on a server of its own (`portal serve`: no narration or guide pack is
built in the background while the walk is timed), as a device is online after one walk.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from portal.config import Settings
from tests.browser.walk import expect_at
from tests.live import Visitor, probe, production_server
from tests.walker import ONBOARDING, ONLINE


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Visitor]:
    yield from production_server(tmp_path)


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
@pytest.mark.parametrize("language", Settings().site.languages)  # each language the site offers
def test_a_browser_that_keeps_nothing_between_pages_gets_online(
    server: Visitor, browser: Browser, language: str
) -> None:
    context, page = fresh_page(browser, server.base)
    href = page.locator(f'[data-action="language"][hreflang="{language}"]').get_attribute("href")
    context.close()
    assert href is not None
    url = urljoin(server.base, href)
    for number in range(1, ONBOARDING.steps):
        context, page = fresh_page(browser, url)
        expect_at(page, server.base, ONBOARDING.step(number))
        href = page.locator('[data-action="next"]').get_attribute("href")
        assert href is not None
        leave(context, page, language)
        url = urljoin(server.base, href)
    # The check: the right answer, a form POST from the page as it came.
    context, page = fresh_page(browser, url)
    page.click(f'[data-action="answer"][value="{ONBOARDING.right}"]')
    expect_at(page, server.base, ONBOARDING.done)
    url = leave(context, page, language)
    # "Go on the Internet", from the done page opened afresh.
    context, page = fresh_page(browser, url)
    page.click('[data-action="next"]')
    expect_at(page, server.base, ONLINE)
    leave(context, page, language)
    assert probe(server)[0] == 204
