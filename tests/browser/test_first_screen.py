"""On a 320 x 640 phone, in every language the site offers, what a step asks of the villager is
in the first screen without scrolling (scrolling is taught only in lesson 2), and text at
200% pushes nothing sideways.

One server for the module: `portal serve` with a help place and its phone (the help strip
at its fullest), and every step's speaker (placeholder clips: the layout needs the button,
not the sound). Screenshots of every step's first screen go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from portal.config import Settings
from portal.onboarding.lessons import BUNDLED_LESSONS, LessonLibrary
from portal.onboarding.narration import NARRATION_FOLDER, _pages_wanted, _wanted
from tests.browser.conftest import ARTIFACTS
from tests.browser.walk import expect_at
from tests.live import Visitor, production_server
from tests.walker import LESSONS, ONBOARDING, ONLINE

LANGUAGES = Settings().site.languages
"""The site's languages as configured by default: each new one is checked as it comes."""
SCREEN = {"width": 320, "height": 640}
HELP = """
[help]
place = "Espace public numérique de la bibliothèque communale"
address = "place Faniel 8, 4520 Wanze"
hours = "mardi-vendredi 9:00-12:00"
phone = "+32 85 21 00 00"
"""
"""A long place name and an international number: the help strip at its widest."""
TEXT_AT_200_PERCENT = "225%"
"""Twice the portal's own root size (112.5%), as a villager's browser setting would make it."""


def with_every_speaker(data_dir: Path) -> None:
    """An (empty) clip for every step, answer and page in every language, so each shows its
    speaker."""
    folder = data_dir / NARRATION_FOLDER
    folder.mkdir(parents=True)
    lessons = LessonLibrary.load(BUNDLED_LESSONS, LANGUAGES).path
    # The narration's own lists of the clips it makes: the placeholders are those, no more.
    for name in [*_wanted(lessons, LANGUAGES), *_pages_wanted(LANGUAGES)]:
        (folder / name).write_bytes(b"")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Visitor]:
    folder = tmp_path_factory.mktemp("first-screen")
    with_every_speaker(folder / "data")
    yield from production_server(folder, tables=HELP)


@pytest.fixture(scope="module")
def site_without_help(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Visitor]:
    """No [help] table: the strip holds 112 and the information line on public services."""
    yield from production_server(tmp_path_factory.mktemp("no-help-place"))


@pytest.fixture(scope="module")
def small_phone(browser: Browser) -> Iterator[Page]:
    """One 320 x 640 phone for the module: the pages are read, never kept in between."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport=SCREEN)
    page = context.new_page()
    yield page
    context.close()


OUTSIDE = """([targets, screen]) => Object.entries(targets).flatMap(([what, selector]) => {
  const found = [...document.querySelectorAll(selector)];
  if (found.length === 0) return [`no ${what}`];
  return found.flatMap((element) => {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return [`${what} not shown`];
    const inside = box.top >= 0 && box.left >= 0 && box.bottom <= screen.height
      && box.right <= screen.width;
    const where = `${what} ends ${Math.round(box.bottom)} px down, at x ${Math.round(box.left)}`;
    return inside ? [] : [where];
  });
})"""
"""What of each target (a name and its selector) is missing, or not wholly inside the first
screen, with the page not scrolled: one call to the page for them all."""


def outside_first_screen(page: Page, **targets: str) -> list[str]:
    return [f"{page.url}: {problem}" for problem in page.evaluate(OUTSIDE, [targets, SCREEN])]


OVERFLOW = """(size) => {
  // Through the CSS object model: the Content-Security-Policy forbids an inline <style>.
  document.documentElement.style.setProperty("font-size", size, "important");
  const width = document.documentElement.clientWidth;
  const wide = [...document.body.querySelectorAll("*")].filter((element) => {
    const box = element.getBoundingClientRect();
    return box.width > 0 && (box.right > width + 1 || box.left < -1);
  });
  const found = {
    scroll: document.documentElement.scrollWidth - width,
    wide: wide.map((element) => element.tagName + "." + element.className).slice(0, 5),
  };
  document.documentElement.style.removeProperty("font-size");
  return found;
}"""
"""With text at `size`: how far the page scrolls sideways, and the first elements that pass
either edge; then text at its own size again."""


def overflow_at_200_percent(page: Page) -> list[str]:
    """Text made twice as big: what would then need scrolling sideways."""
    found = page.evaluate(OVERFLOW, TEXT_AT_200_PERCENT)
    if found["scroll"] > 0 or found["wide"]:
        return [f"{page.url} at 200%: {found['scroll']} px sideways, too wide: {found['wide']}"]
    return []


def look(page: Page, name: str) -> list[str]:
    """The first screen kept in test-artifacts/ for a person to see, then text at 200%."""
    page.screenshot(path=str(ARTIFACTS / f"first-screen-{name}.png"))
    return overflow_at_200_percent(page)


@pytest.mark.browser
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_choice_is_in_the_first_screen(
    site: Visitor, small_phone: Page, language: str
) -> None:
    small_phone.goto(f"{site.base}?lang={language}")
    choices = small_phone.locator('[data-action="language"]')
    assert choices.count() == len(LANGUAGES)
    problems = outside_first_screen(small_phone, language_choice='[data-action="language"]')
    assert problems + look(small_phone, f"{language}-start") == []


@pytest.mark.browser
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_step_shows_what_it_asks_in_the_first_screen(
    site: Visitor, small_phone: Page, language: str
) -> None:
    """Picture, sentence, speaker and Next on every step of every lesson; on the check step
    every answer, and after a wrong answer its feedback too, with every answer still there.
    Text at 200% then pushes nothing sideways."""
    page = small_phone
    problems: list[str] = []
    for route in LESSONS.values():
        for number in range(1, route.steps + 1):
            page.goto(f"{site.base.rstrip('/')}{route.step(number)}?lang={language}")
            forward = (
                {"next": '[data-action="next"]'}
                if number < route.steps
                else {"answer": '[data-action="answer"]'}
            )
            problems += outside_first_screen(
                page,
                picture=".pictogram img",
                sentence=".sentence",
                speaker=".speaker-button",
                **forward,
            )
            problems += look(page, f"{language}-{route.slug}-{number}")
        page.click(f'[data-action="answer"][value="{route.wrong}"]')
        page.locator('.feedback[role="alert"]').wait_for()
        page.wait_for_load_state()  # speaker.js has made its button
        problems += outside_first_screen(
            page,
            feedback='.feedback[role="alert"]',
            feedback_pictogram=".feedback img",
            answer='[data-action="answer"]',
        )
        problems += look(page, f"{language}-{route.slug}-wrong")
    assert problems == []


@pytest.mark.browser
@pytest.mark.parametrize("language", LANGUAGES)
def test_text_at_200_percent_overflows_nothing_to_the_end(
    site: Visitor, small_phone: Page, language: str
) -> None:
    """The onboarding lesson's end page and "You are online", and the pages the header and
    footer lead to (the start page and the steps are looked at above)."""
    page = small_phone
    base = site.base.rstrip("/")
    page.goto(f"{base}{ONBOARDING.step(1)}?lang={language}")
    for _ in range(1, ONBOARDING.steps):
        page.click('[data-action="next"]')
    page.click(f'[data-action="answer"][value="{ONBOARDING.right}"]')
    page.wait_for_url(f"**{ONBOARDING.done}?*")
    expect_at(page, site.base, ONBOARDING.done)
    problems = look(page, f"{language}-finish")
    page.click('[data-action="next"]')
    page.wait_for_url(f"**{ONLINE}?*")
    expect_at(page, site.base, ONLINE)
    problems += look(page, f"{language}-online")
    for extra in ["lessons", "guides", "privacy", "status", "no-such-page"]:
        page.goto(f"{base}/{extra}?lang={language}")
        problems += overflow_at_200_percent(page)
    assert problems == []


STRIP_ROWS = """() => {
  const strip = document.querySelector(".help-strip");
  const calls = [...strip.querySelectorAll(".help-call")];
  const middles = (call) => {
    // The middle of each piece of text the call shows.
    const walker = document.createTreeWalker(call, NodeFilter.SHOW_TEXT);
    const found = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.getBoundingClientRect().width <= 1) continue;  // read aloud only
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const box of range.getClientRects()) {
        if (box.width > 1) found.push((box.top + box.bottom) / 2);
      }
    }
    return found;
  };
  const lines = (call) => {
    const sorted = middles(call).sort((a, b) => a - b);
    return sorted.filter((middle, i) => i === 0 || middle - sorted[i - 1] > 4).length;
  };
  return {
    calls: calls.length,
    tops: [...new Set(calls.map((call) => Math.round(call.getBoundingClientRect().top)))].length,
    lines: Math.max(...calls.map(lines)),
    right: Math.round(Math.max(...calls.map((call) => call.getBoundingClientRect().right))),
    left: Math.round(Math.min(...calls.map((call) => call.getBoundingClientRect().left))),
  };
}"""
"""The help strip's links, how many rows they take, how many text lines its tallest
words take, and how far they reach."""


@pytest.mark.browser
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_help_strip_without_a_help_place_is_one_line(
    site_without_help: Visitor, small_phone: Page, language: str
) -> None:
    """112 and the information line (1718 "in French", 1719 in German) side by side, each
    on one line of text, inside a 320 px screen."""
    small_phone.goto(f"{site_without_help.base}?lang={language}")
    small_phone.screenshot(path=str(ARTIFACTS / f"help-strip-{language}.png"))
    rows = small_phone.evaluate(STRIP_ROWS)
    assert rows["calls"] == 2
    assert (rows["tops"], rows["lines"]) == (1, 1)
    assert rows["left"] >= 0 and rows["right"] <= SCREEN["width"]
