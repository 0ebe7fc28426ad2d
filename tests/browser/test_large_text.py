"""Text at 200% on a 320 x 640 phone, in every language, on every page a villager meets:
nothing overflows its box, no word breaks outside a hyphenation point (unless the word
alone is wider than its line), the help strip's numbers stay whole on one line, and the
speaker's playing state moves nothing below it.

How the text is made twice as big: Chromium's own font-size setting, doubled (its profile's
default font sizes, 32 px and 26 px for Chromium's 16 and 13), as a person sets it in the
browser. That is what a phone's "large text" does to a page: the default text size grows,
so every size in rem and em grows with it, media queries in em included, while pixel sizes
(pictures, borders, touch targets) stay. Zooming the page (a smaller viewport or a device
scale factor) would grow the pictures too; a style injected after load would leave the em
media queries as they were; CDP's Page.setFontSizes is undone by Playwright's screenshots.

Turkish has no hyphenation dictionary (portal/typography.py): a Turkish word wider than
the line ("arayabilirsiniz?" at 200%) breaks where the line ends, as any word wider than
every line there may.

One server for the module, as in test_first_screen: the help strip at its widest, and every
speaker shown. Full-page screenshots at 200% go to test-artifacts/large-text-*.png.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Playwright

from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS
from tests.browser.test_first_screen import HELP, LANGUAGES, SCREEN, with_every_speaker
from tests.live import Visitor, production_server
from tests.walker import LESSONS, ONBOARDING

FONT_SIZES_AT_200_PERCENT = {"default_font_size": 32, "default_fixed_font_size": 26}
"""Twice Chromium's default font sizes (16 px and 13 px), as its settings page stores them."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Visitor]:
    folder = tmp_path_factory.mktemp("large-text")
    with_every_speaker(folder / "data")
    yield from production_server(folder, tables=HELP)


@pytest.fixture(scope="module")
def large_text_phone(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Page]:
    """One 320 x 640 phone whose browser is set to show text at 200%, for the module."""
    ARTIFACTS.mkdir(exist_ok=True)
    profile = tmp_path_factory.mktemp("large-text-profile")
    (profile / "Default").mkdir()
    preferences = {"webkit": {"webprefs": FONT_SIZES_AT_200_PERCENT}}
    (profile / "Default" / "Preferences").write_text(json.dumps(preferences), encoding="utf-8")
    context = playwright.chromium.launch_persistent_context(
        profile, executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, viewport=SCREEN
    )
    page = context.new_page()
    yield page
    context.close()


PROBLEMS = """(numbers) => {
  const problems = [];
  const name = (element) => element.tagName.toLowerCase()
    + (element.className && typeof element.className === "string"
      ? "." + element.className.trim().split(/\\s+/).join(".") : "");
  // Read aloud, not shown (clip-path: inset(50%)): not laid out for the eye.
  const unseen = (element) => {
    for (let node = element; node; node = node.parentElement) {
      if (getComputedStyle(node).clipPath !== "none") return true;
    }
    return false;
  };
  const width = document.documentElement.clientWidth;
  const sideways = document.documentElement.scrollWidth - width;
  if (sideways > 0) problems.push(`the page scrolls ${sideways} px sideways`);
  for (const element of document.body.querySelectorAll("*")) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || unseen(element)) continue;
    if (element.clientWidth > 0 && element.scrollWidth > element.clientWidth) {
      const by = element.scrollWidth - element.clientWidth;
      problems.push(`${name(element)} overflows its box by ${by} px`);
    }
    if (box.right > width + 1 || box.left < -1) {
      problems.push(`${name(element)} passes the screen's edge (x ${Math.round(box.left)}`
        + ` to ${Math.round(box.right)})`);
    }
  }
  // The lines a range of text is laid out on: its boxes' vertical middles, a line apart.
  const lines = (range) => {
    const middles = [];
    for (const rect of range.getClientRects()) {
      if (rect.width === 0) continue;
      const middle = (rect.top + rect.bottom) / 2;
      if (!middles.some((seen) => Math.abs(seen - middle) < rect.height / 2)) middles.push(middle);
    }
    return middles;
  };
  // The widest a line can be where the text is: its part of the page, less the padding and
  // borders of the boxes it sits in (a picture or a neighbour that crushes it does not count).
  const lineWidth = (element) => {
    const region = element.closest("header, aside, main, footer") || document.body;
    let width = region.clientWidth;
    for (let box = element; box; box = box.parentElement) {
      const style = getComputedStyle(box);
      if (style.display !== "inline") {
        width -= parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
        if (box !== region) {
          width -= parseFloat(style.borderLeftWidth) + parseFloat(style.borderRightWidth);
        }
      }
      if (box === region) break;
    }
    return width;
  };
  // A word may break after a soft hyphen, a hyphen, a dash or a slash; elsewhere only if
  // the word alone is wider than the widest line there.
  const mayBreakAfter = "\\u00ad-\\u2010\\u2013\\u2014/\\u200b";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const parent = text.parentElement;
    if (!parent || parent.closest("script, style, audio") || unseen(parent)) continue;
    for (const word of text.data.matchAll(/\\S+/g)) {
      range.setStart(text, word.index);
      range.setEnd(text, word.index + word[0].length);
      if (lines(range).length < 2) continue;
      let wide = 0;
      let previous = null;
      const breaks = [];  // where the word is broken though it may not be there
      for (let i = 0; i < word[0].length; i += 1) {
        range.setStart(text, word.index + i);
        range.setEnd(text, word.index + i + 1);
        // The last box: a letter after a soft hyphen's break also has the hyphen's.
        const rect = [...range.getClientRects()].filter((found) => found.width > 0).pop();
        if (!rect) continue;
        wide += rect.width;
        if (previous && rect.top >= previous.rect.bottom - 1
            && !mayBreakAfter.includes(word[0][previous.at])) {
          breaks.push(previous.at + 1);
        }
        previous = { rect, at: i };
      }
      if (breaks.length && wide <= lineWidth(parent)) {
        const marked = word[0].split("").map((unit, at) => (breaks.includes(at) ? "|" : "") + unit);
        problems.push(`${name(parent)}: "${marked.join("")}" broken mid-word`);
      }
    }
  }
  const shown = [...document.querySelectorAll(".help-strip bdi")];
  for (const number of numbers) {
    const found = shown.find((element) => element.textContent.trim() === number);
    if (!found) {
      problems.push(`no help number "${number}"`);
      continue;
    }
    range.selectNodeContents(found);
    const count = lines(range).length;
    if (count !== 1) problems.push(`help number "${number}" on ${count} lines`);
  }
  return problems;
}"""
"""Everything on the page, as it is now, that text at 200% breaks; `numbers`: the help strip's
phone numbers, each to be on one line."""

HELP_NUMBERS = ["112", "+32 85 21 00 00"]
"""The emergency number and the help place's phone of HELP, as the strip shows them."""

PLACES = """() => [...document.querySelectorAll("[data-action], .button:not(.speaker-button)")].map(
  (element) => {
  const box = element.getBoundingClientRect();
  return [element.textContent.trim(), Math.round(box.left), Math.round(box.top),
    Math.round(box.width), Math.round(box.height)];
  })"""
"""Where each action and button but the speaker is: its words and its box, rounded to the pixel."""

PLAYING = """(on) => {
  for (const button of document.querySelectorAll(".speaker:not(.small) .speaker-button")) {
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }
}"""
"""The big speaker buttons shown as speaker.js shows them while they play (on), or stopped.
The clips here are empty placeholders: tapping would stop at once."""


def look(page: Page, name: str) -> list[str]:
    """The page at 200% kept in test-artifacts/; what overflows or breaks on it, and, if it
    has a speaker, what moves or overflows while the speaker plays."""
    page.wait_for_load_state()  # speaker.js has made its button
    page.screenshot(path=str(ARTIFACTS / f"large-text-{name}.png"), full_page=True)
    found = page.evaluate(PROBLEMS, HELP_NUMBERS)
    problems = [f"{name}: {problem}" for problem in found]
    if page.locator(".speaker:not(.small) .speaker-button:visible").count():
        before = page.evaluate(PLACES)
        page.evaluate(PLAYING, True)
        after = page.evaluate(PLACES)
        playing = page.evaluate(PROBLEMS, HELP_NUMBERS)
        page.screenshot(path=str(ARTIFACTS / f"large-text-{name}-playing.png"), full_page=True)
        page.evaluate(PLAYING, False)
        moved = [f"{was} -> {now}" for was, now in zip(before, after, strict=True) if was != now]
        problems += [f"{name}: pressing the speaker moved {place}" for place in moved]
        problems += [
            f"{name} while playing: {problem}" for problem in playing if problem not in found
        ]
    return problems


@pytest.mark.browser
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_start_page_at_200_percent(
    site: Visitor, large_text_phone: Page, language: str
) -> None:
    large_text_phone.goto(f"{site.base}?lang={language}")
    assert large_text_phone.evaluate("getComputedStyle(document.body).fontSize") == "36px"
    assert look(large_text_phone, f"{language}-start") == []


@pytest.mark.browser
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_step_at_200_percent(site: Visitor, large_text_phone: Page, language: str) -> None:
    """Every step of every lesson, its question, and the question after a wrong answer."""
    page = large_text_phone
    problems: list[str] = []
    for route in LESSONS.values():
        for number in range(1, route.steps + 1):
            page.goto(f"{site.base.rstrip('/')}{route.step(number)}?lang={language}")
            problems += look(page, f"{language}-{route.slug}-{number}")
        page.click(f'[data-action="answer"][value="{route.wrong}"]')
        page.locator('.feedback[role="alert"]').wait_for()
        problems += look(page, f"{language}-{route.slug}-wrong")
    assert problems == []


@pytest.mark.browser
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_other_pages_at_200_percent(
    site: Visitor, large_text_phone: Page, language: str
) -> None:
    """The onboarding lesson's end page, "You are online", the pages the header and footer
    lead to, a guide, a search and a page that does not exist."""
    page = large_text_phone
    base = site.base.rstrip("/")
    page.goto(f"{base}{ONBOARDING.step(1)}?lang={language}")
    for _ in range(1, ONBOARDING.steps):
        page.click('[data-action="next"]')
    page.click(f'[data-action="answer"][value="{ONBOARDING.right}"]')
    page.wait_for_url(f"**{ONBOARDING.done}?*")
    problems = look(page, f"{language}-finish")
    page.click('[data-action="next"]')
    page.wait_for_url("**/online?*")
    problems += look(page, f"{language}-online")
    others = ["", "lessons", "guides", "guides/g04-myminfin", "guides/search?q=impots"]
    for other in [*others, "privacy", "status", "no-such-page"]:
        page.goto(f"{base}/{other}{'&' if '?' in other else '?'}lang={language}")
        name = other.replace("/", "-").split("?")[0] or "start-online"
        problems += look(page, f"{language}-{name}")
    assert problems == []
