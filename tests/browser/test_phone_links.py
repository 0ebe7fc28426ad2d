"""Every phone number a villager sees in Chromium is one tap away: a `tel:` link (`sms:`
for 8112) that dials exactly the digits shown."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Page

from portal.config import Settings
from tests.browser.walk import walk_in_browser
from tests.live import Visitor

PHONE = re.compile(
    r"(?<![\w.+/-])"
    r"(?:112|101|1718|1719|1733|8112"  # the service numbers the lessons and guides give
    r"|(?:\+|00)[0-9](?:[ ./]?[0-9]){7,14}"  # +32 2 518 2123, 00800 2123 2123
    r"|0[1-9](?:[ ./]?[0-9]){7,8})"  # 078 170 170, 02 518 2123, 0470 12 34 56
    r"(?![\w]|[.,/-]\w| BE\b)"  # not "112.be", nor the "112 BE" app's name
)
"""Phone numbers as this test reads them (written apart from portal/phones.py on purpose)."""

TEXTS = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (parent.closest("script, style, code, pre, audio")) continue;
    const link = parent.closest("a");
    found.push({
      text: node.textContent,
      href: link ? link.getAttribute("href") : null,
      button: parent.closest("button") !== null,
    });
  }
  return found;
}"""
"""Every text a visitor sees, with the address of the link it is in (or null)."""


def dialled(number: str) -> str:
    return ("+" if number.startswith("+") else "") + re.sub(r"[^0-9]", "", number)


def phone_problems(page: Page) -> tuple[list[str], set[str]]:
    """The page's phone numbers that are not a link dialling them; its tel:/sms: links."""
    problems = []
    links = set()
    texts = page.evaluate(TEXTS)
    for i, text in enumerate(texts):
        href = text["href"]
        if href and href.startswith(("tel:", "sms:")):
            links.add(href)
            # A link's words may name what it calls ("Emergency", the help place): every
            # number among them is the one it dials.
            for number in PHONE.findall(text["text"]):
                scheme = "sms:" if dialled(number) == "8112" else "tel:"
                if href != scheme + dialled(number):
                    problems.append(f"{number!r} links to {href}")
            continue
        if href is not None or text["button"]:
            # A link cannot hold a second link (a guide card, a web address), and an
            # answer button must answer when tapped, not dial.
            continue
        # Read with the neighbouring texts: "112" in <bdi> is followed by " BE" in the next.
        before = texts[i - 1]["text"][-1:] if i else ""
        after = texts[i + 1]["text"][:4] if i + 1 < len(texts) else ""
        context = before + text["text"] + after
        problems += [
            f"{match.group(0)!r} is not a link"
            for match in PHONE.finditer(context)
            if len(before) <= match.start() and match.end() <= len(context) - len(after)
        ]
    return problems, links


@pytest.mark.browser
@pytest.mark.parametrize("language", Settings().site.languages)  # each language the site offers
def test_every_phone_number_on_the_flows_pages_is_a_link(
    portal: Visitor, phone: Page, language: str
) -> None:
    seen: dict[str, list[str]] = {}
    links: set[str] = set()

    def check(name: str) -> None:
        problems, found = phone_problems(phone)
        seen[name] = problems
        links.update(found)

    walk_in_browser(phone, portal.base, language, check)  # start, every step, online
    lesson = f"/lesson/human-help/{{}}?lang={language}"
    for number in range(1, 7):
        phone.goto(urljoin(portal.base, lesson.format(number)))
        check(f"human-help {number}")
    for path in ["/privacy", "/status", "/guides", "/guides/g01-eid", "/guides/g11-emergencies"]:
        phone.goto(urljoin(portal.base, f"{path}?lang={language}"))
        check(path)
    assert {name: problems for name, problems in seen.items() if problems} == {}
    expected = {"tel:112", "tel:101", "tel:1733", "sms:8112", "tel:0080021232123"}
    expected |= {"tel:+3225182123", "tel:1719" if language == "de" else "tel:1718"}
    assert expected <= links, sorted(links)
