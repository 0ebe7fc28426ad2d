"""The speaker button in real Chromium: it says when it plays, stops when tapped again, and
only one clip plays at a time (the answers' small speakers included)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.live import Visitor
from tests.system import require

PLAYING = "Lecture… Arrêter"
"""The French label while it plays; at 18 px it keeps to one line on a 320 px phone."""
STOPPED = "Écouter"


@pytest.fixture(autouse=True)
def speech_tools() -> None:
    """The demo narrates the onboarding lesson only when it can."""
    require("espeak-ng", "lame")


def paused(speaker: Locator) -> bool:
    return bool(speaker.locator("audio").evaluate("audio => audio.paused"))


def says(button: Locator, words: str) -> None:
    """What the button shows and what a screen reader hears: the same words."""
    expect(button).to_have_accessible_name(words)
    assert button.inner_text().strip() == words


def height(element: Locator) -> float:
    box = element.bounding_box()
    assert box is not None
    return float(box["height"])


def background(element: Locator) -> str:
    return str(element.evaluate("node => getComputedStyle(node).backgroundColor"))


@pytest.mark.browser
def test_the_speaker_says_it_plays_and_stops_when_tapped_again(
    portal: Visitor, phone: Page
) -> None:
    phone.goto(f"{portal.base}lesson/onboarding/1?lang=fr")
    speaker = phone.locator(".speaker").first
    button = speaker.locator(".speaker-button")
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-pressed", "false")
    says(button, STOPPED)
    stopped_colour = background(button)
    stopped_height = height(button)

    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    says(button, PLAYING)
    assert not paused(speaker)
    next_colour = background(phone.locator('[data-action="next"]'))
    assert background(button) not in {next_colour, stopped_colour}
    assert height(button) == stopped_height, "the buttons below moved"

    button.click()
    expect(button).to_have_attribute("aria-pressed", "false")
    says(button, STOPPED)
    assert paused(speaker)


@pytest.mark.browser
def test_an_answer_speaker_stops_the_other_clips(portal: Visitor, phone: Page) -> None:
    phone.goto(f"{portal.base}lesson/onboarding/5?lang=fr")
    question = phone.locator(".speaker:not(.small)")
    first, second = phone.locator(".choice .speaker").all()
    question.locator(".speaker-button").click()
    expect(question.locator(".speaker-button")).to_have_attribute("aria-pressed", "true")

    first.locator(".speaker-button").click()
    expect(first.locator(".speaker-button")).to_have_attribute("aria-pressed", "true")
    expect(question.locator(".speaker-button")).to_have_attribute("aria-pressed", "false")
    assert paused(question) and not paused(first)

    second.locator(".speaker-button").click()
    expect(second.locator(".speaker-button")).to_have_attribute("aria-pressed", "true")
    expect(first.locator(".speaker-button")).to_have_attribute("aria-pressed", "false")
    assert paused(first) and not paused(second)
