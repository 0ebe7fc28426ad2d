"""Every page of the flow, in every language, on a 320 px phone: accessible, light, readable.

axe-core finds no serious or critical violation and no text under 7:1
contrast; each onboarding page stays under 30 KB transferred (audio excluded)
with an empty cache, lists of lessons and guides under 40 KB; screenshots are
kept in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Response

from tests.browser.conftest import ARTIFACTS
from tests.browser.walk import walk_in_browser
from tests.live import Visitor

LANGUAGES = ["fr", "nl", "de", "en", "ar", "uk", "tr"]
PAGE_BUDGET_BYTES = 30 * 1024
"""Each onboarding page (the issue's budget)."""
LIBRARY_BUDGET_BYTES = 40 * 1024
"""Lists of lessons and guides carry one pictogram per item."""
SERIOUS = {"serious", "critical"}
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    # Body text contrast must reach 7:1 (WCAG AAA), a rule axe leaves off by default.
    "rules": {"color-contrast-enhanced": {"enabled": True}},
}


@dataclass
class Weighing:
    """Bytes transferred by the current navigation (headers and bodies), audio excluded."""

    responses: list[Response] = field(default_factory=list)

    def record(self, response: Response) -> None:
        self.responses.append(response)

    def total(self) -> int:
        size = 0
        for response in self.responses:
            if response.headers.get("content-type", "").startswith("audio/"):
                continue
            sizes = response.request.sizes()
            size += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        return size


@pytest.fixture
def audited(browser: Browser) -> Iterator[tuple[Page, Weighing]]:
    # bypass_csp lets axe-core be injected; the portal's own pages carry no inline script.
    context = browser.new_context(viewport={"width": 320, "height": 640}, bypass_csp=True)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    weighing = Weighing()
    page.on("response", weighing.record)
    yield page, weighing
    context.close()


def inspect_page(
    page: Page,
    weighing: Weighing,
    name: str,
    problems: list[str],
    budget: int = PAGE_BUDGET_BYTES,
) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    weight = weighing.total()
    if weight > budget:
        problems.append(f"{name}: {weight} bytes transferred (budget {budget})")
    for violation in Axe().run(page, options=AXE_OPTIONS).response["violations"]:
        if violation["impact"] in SERIOUS or violation["id"] == "color-contrast-enhanced":
            targets = [node["target"] for node in violation["nodes"]]
            problems.append(f"{name}: axe {violation['id']} ({violation['impact']}) {targets}")
    weighing.responses.clear()


@pytest.mark.browser
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_is_accessible_and_light(
    portal: Visitor, audited: tuple[Page, Weighing], language: str
) -> None:
    page, weighing = audited
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    walk_in_browser(
        page,
        portal.base,
        language,
        lambda name: inspect_page(page, weighing, f"{language}-{name}", problems),
    )
    assert page.locator("html").get_attribute("lang") == language
    extras = ["lessons", "privacy", "status", "guides", "guides/g04-myminfin"]
    for extra in [*extras, "guides/search?q=impots", "no-such-page"]:
        weighing.responses.clear()
        page.goto(portal.base + extra)
        name = extra.replace("/", "-").replace("?", "-").replace("=", "-")
        inspect_page(page, weighing, f"{language}-{name}", problems, LIBRARY_BUDGET_BYTES)
    assert problems == []


@pytest.mark.browser
def test_text_and_targets_are_big_enough(portal: Visitor, phone: Page) -> None:
    phone.goto(portal.base + "lesson/onboarding/5?lang=fr")
    body_size = phone.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert body_size >= 18
    for selector in ['[data-action="answer"]', ".button", ".header-link"]:
        boxes = [element.bounding_box() for element in phone.locator(selector).all()]
        assert boxes, f"no {selector} on the question page"
        for box in boxes:
            assert box is not None
            assert box["height"] >= 48, selector


@pytest.mark.browser
def test_usable_at_200_percent_zoom(portal: Visitor, browser: Browser) -> None:
    """A 320 px phone at 200% zoom is a 160 CSS px viewport: nothing may need sideways scrolling."""
    context = browser.new_context(viewport={"width": 320, "height": 640}, device_scale_factor=2)
    page = context.new_page()
    try:
        page.set_viewport_size({"width": 160, "height": 320})
        for path in ["", "lesson/onboarding/1?lang=de", "lesson/onboarding/5", "privacy"]:
            page.goto(portal.base + path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, path
    finally:
        context.close()
