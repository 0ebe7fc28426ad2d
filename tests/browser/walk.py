"""The onboarding lesson tapped through in a real browser, on the route tests/walker.py knows."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

from playwright.sync_api import Page, expect

from tests.walker import ONBOARDING, ONLINE

Arrived = Callable[[str], None]
"""Called on every page the walk reaches, with a name for it ("03-step", "06-finish")."""


def nothing(_name: str) -> None:
    """Looks at no page."""


def expect_at(page: Page, base: str, path: str) -> None:
    # A click returns once the next page's navigation has committed, before its body is
    # parsed: a look at the page before DOMContentLoaded can find no document.body.
    page.wait_for_load_state("domcontentloaded")
    here = page.url.split("?", 1)[0]
    assert here == urljoin(base, path), f"at {page.url}, expected {path}"


def walk_in_browser(page: Page, base: str, language: str, arrived: Arrived = nothing) -> None:
    """Language, "Next" on every step, a wrong answer first, the right one, "Go on the Internet"."""
    route = ONBOARDING
    page.goto(base)
    arrived("00-start")
    page.click(f'[data-action="language"][hreflang="{language}"]')
    for number in range(1, route.steps):
        expect_at(page, base, route.step(number))
        assert page.locator('[data-action="answer"]').count() == 0, route.step(number)
        arrived(f"{number:02d}-step")
        page.click('[data-action="next"]')
    expect_at(page, base, route.step(route.steps))
    answers = page.locator('[data-action="answer"]')
    assert [answers.nth(i).get_attribute("value") for i in range(answers.count())] == list(
        route.answers
    )
    arrived(f"{route.steps:02d}-question")
    page.click(f'[data-action="answer"][value="{route.wrong}"]')
    expect_at(page, base, route.step(route.steps))
    # The answer is a form POST: wait for the page it brings (is_visible() would not).
    expect(page.locator(".hint")).to_be_visible()
    arrived(f"{route.steps:02d}-wrong-answer")
    page.click(f'[data-action="answer"][value="{route.right}"]')
    expect_at(page, base, route.done)
    arrived(f"{route.steps + 1:02d}-finish")
    page.click('[data-action="next"]')  # "Go on the Internet"
    expect_at(page, base, ONLINE)
    arrived(f"{route.steps + 2:02d}-online")
