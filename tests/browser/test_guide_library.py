"""The guide library on a 320 px phone without JavaScript: short, by topic, forgiving search."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_accessibility import (
    PAGE_BUDGET_BYTES,
    Weighing,
    audited,  # noqa: F401 — a fixture
    inspect_page,
)
from tests.live import Visitor

LIBRARY_MAX_PX = 3000
"""The whole /guides page at 320 px (12 guides; it was 4,700 px with a summary per card)."""
CARD_MAX_PX = 120


@pytest.mark.browser
@pytest.mark.parametrize("language", ["fr", "de", "ar"])
def test_the_library_is_short_on_a_small_phone(
    portal: Visitor, phone_without_javascript: Page, language: str
) -> None:
    page = phone_without_javascript
    page.goto(portal.base + f"guides?lang={language}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"guide-library-{language}.png"), full_page=True)
    cards = page.locator(".lesson-card").all()
    assert len(cards) == 12
    for card in cards:
        box = card.bounding_box()
        assert box is not None
        assert 48 <= box["height"] <= CARD_MAX_PX, card.inner_text()
    assert page.evaluate("document.documentElement.scrollHeight") <= LIBRARY_MAX_PX
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1


@pytest.mark.browser
def test_a_topic_of_the_table_of_contents_opens_its_group(
    portal: Visitor, phone_without_javascript: Page
) -> None:
    page = phone_without_javascript
    page.goto(portal.base + "guides?lang=fr")
    page.click('.guide-topics a:text-is("Santé")')
    assert page.url.endswith("#topic-health")
    heading = page.locator("#topic-health").bounding_box()
    assert heading is not None
    assert 0 <= heading["y"] < 48  # at the top of the screen


@pytest.mark.browser
def test_a_typo_is_one_tap_from_the_guide(portal: Visitor, phone_without_javascript: Page) -> None:
    page = phone_without_javascript
    page.goto(portal.base + "guides?lang=nl")
    page.fill("#guide-q", "pensioenn")
    page.click('.guide-search button[type="submit"]')
    # Nothing found as typed: the page shows the guides of the corrected word, and says so.
    assert page.locator("h1").inner_text() == "Gevonden gidsen voor pensioen: 2"
    assert page.locator(".hint").inner_text() == "Niets gevonden voor pensioenn."
    assert "lang=nl" in page.url
    page.click(".lesson-card >> nth=0")
    assert page.locator("h1").inner_text().startswith("MyPension")
    assert page.locator("html").get_attribute("lang") == "nl"


@pytest.mark.browser
@pytest.mark.parametrize("language", ["nl", "ar"])
def test_a_suggestion_and_results_in_french_are_accessible_and_light(
    portal: Visitor,
    audited: tuple[Page, Weighing],  # noqa: F811
    language: str,
) -> None:
    page, weighing = audited
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    for name, query in [
        ("suggestion", "pensoin+mandat"),
        ("corrected", "pensoin"),
        ("in-french", "allocations+familiales"),
    ]:
        weighing.responses.clear()
        page.goto(portal.base + f"guides/search?q={query}&lang={language}")
        inspect_page(page, weighing, f"{language}-search-{name}", problems, PAGE_BUDGET_BYTES)
    assert problems == []
