"""An Arabic guide as Chromium lays it out: right to left, its phone numbers in dialling order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import ARTIFACTS
from tests.live import Visitor

DOC_STOP = "00800 2123 2123"

# The left edge and top of each space-separated group of `text`, in logical order,
# as laid out in the first text node of the page that holds it.
GROUPS = """text => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    let start = node.data.indexOf(text);
    if (start < 0) continue;
    return text.split(" ").map(group => {
      const range = document.createRange();
      range.setStart(node, start);
      range.setEnd(node, start + group.length);
      start += group.length + 1;
      const box = range.getBoundingClientRect();
      return [box.left, box.top];
    });
  }
  return null;
}"""


@pytest.fixture
def wide_phone(browser: Browser) -> Iterator[Page]:
    """A phone held sideways: wide enough that the number's line does not wrap."""
    context = browser.new_context(viewport={"width": 900, "height": 640})
    page = context.new_page()
    yield page
    context.close()


def groups_left_to_right(page: Page, text: str) -> bool:
    boxes = page.evaluate(GROUPS, text)
    assert boxes is not None, text
    assert len({top for _left, top in boxes}) == 1, boxes  # on one line
    lefts = [left for left, _top in boxes]
    return lefts == sorted(lefts)


@pytest.mark.browser
def test_a_bare_number_in_right_to_left_text_is_shown_backwards(wide_phone: Page) -> None:
    """What the test below guards against: without isolation, the groups swap places."""
    wide_phone.set_content(
        f'<html lang="ar" dir="rtl"><body><p>رقم DOC STOP هو {DOC_STOP}. المكالمة مجانية.</p>'
    )
    assert not groups_left_to_right(wide_phone, DOC_STOP)


@pytest.mark.browser
def test_an_arabic_guide_reads_right_to_left_and_its_numbers_as_dialled(
    portal: Visitor, wide_phone: Page
) -> None:
    wide_phone.goto(f"{portal.base}guides/g01-eid?lang=ar")
    ARTIFACTS.mkdir(exist_ok=True)
    wide_phone.screenshot(path=str(ARTIFACTS / "guide-ar-g01-eid.png"), full_page=True)
    article = wide_phone.locator("article.guide")
    assert article.evaluate("element => getComputedStyle(element).direction") == "rtl"
    assert groups_left_to_right(wide_phone, DOC_STOP)
    assert groups_left_to_right(wide_phone, "+32 2 518 2123")
    # The back arrow of "All guides" points the way an Arabic reader goes back.
    arrow = wide_phone.locator(".guide-nav .arrow")
    assert arrow.evaluate("element => getComputedStyle(element).transform") == (
        "matrix(-1, 0, 0, 1, 0, 0)"
    )
