"""Real Chromium (Debian's package) driven by Playwright against a real gunicorn demo."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.live import Visitor, demo_server
from tests.system import missing

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = missing("chromium")
    if reason is not None:
        print(f"browser tests skipped: {reason}")
        for item in items:
            if "tests/browser" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """One Playwright for the session: its sync API allows no second one at a time."""
    with sync_playwright() as running:
        yield running


def launch(playwright: Playwright, *flags: str, home: Path | None = None) -> Browser:
    """Debian's Chromium with the project's flags (and these), HOME set to `home` if given."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[*CHROMIUM_FLAGS, *flags],
        env=None if home is None else {**os.environ, "HOME": str(home)},
    )


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = launch(playwright)
    yield launched
    launched.close()


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Visitor]:
    yield from demo_server(tmp_path / "data")


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A small phone screen."""
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_without_javascript(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 320, "height": 640}, java_script_enabled=False)
    page = context.new_page()
    yield page
    context.close()
