"""The commune's statistics pages in Debian's Chromium, over a year of village data: the
dashboard and the printed yearly report photographed into test-artifacts/, axe-core finding
no serious or critical violation, the Content-Security-Policy never broken."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, ConsoleMessage, Page, Response
from werkzeug.serving import make_server

from portal import db
from portal.admin.accounts import add_account
from portal.admin.app import create_admin_app
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_accessibility import AXE_OPTIONS, SERIOUS
from tests.conftest import make_settings
from tests.stats.conftest import OFFICER, TODAY, pin
from tests.stats_year import fill
from tests.test_admin import VOLUNTEER

LAST_DAY = date(2026, 12, 2)
YEAR = "year=2026"


@pytest.fixture(scope="module")
def stats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The admin app, with the officer's account and a year of figures, on a loopback port,
    on a day when 2026 is over (tests/stats/conftest.py's TODAY): all of it is shown."""
    settings = make_settings(Path(tmp_path_factory.mktemp("stats")) / "data")
    app = create_admin_app(settings)
    add_account(OFFICER[0], "commune", OFFICER[1])
    add_account(VOLUNTEER[0], "volunteer", VOLUNTEER[1])
    with app.app_context():
        fill(LAST_DAY)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    with pytest.MonkeyPatch.context() as patch:
        pin(patch, TODAY)
        thread.start()
        yield f"http://127.0.0.1:{server.server_port}/admin"
        server.shutdown()
    db.close()


@pytest.fixture
def desk(browser: Browser, stats_server: str) -> Iterator[tuple[Page, list[str]]]:
    """The officer at a desk computer."""
    yield from signed_in(browser, stats_server, OFFICER)


@pytest.fixture
def volunteer_desk(browser: Browser, stats_server: str) -> Iterator[tuple[Page, list[str]]]:
    yield from signed_in(browser, stats_server, VOLUNTEER)


def signed_in(
    browser: Browser, stats_server: str, account: tuple[str, str]
) -> Iterator[tuple[Page, list[str]]]:
    """A desk computer's window, signed in as `account`; bypass_csp only lets axe-core in,
    console errors are kept."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        # A refused load is kept by its address below (the browser's own favicon request aside).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def failed(response: Response) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            errors.append(f"{response.status} {response.url}")

    page.on("console", keep)
    page.on("response", failed)
    page.goto(f"{stats_server}/login")  # signing in first, as at the desk
    page.fill("#name", account[0])
    page.fill("#password", account[1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{stats_server}/")
    yield page, errors
    context.close()


def axe_problems(page: Page, name: str) -> list[str]:
    problems = []
    for violation in Axe().run(page, options=AXE_OPTIONS).response["violations"]:
        if violation["impact"] in SERIOUS or violation["id"] == "color-contrast-enhanced":
            targets = [node["target"] for node in violation["nodes"]][:5]
            problems.append(f"{name}: axe {violation['id']} ({violation['impact']}) {targets}")
    return problems


@pytest.mark.browser
@pytest.mark.parametrize("language", ["fr", "nl", "de", "ar"])
def test_statistics_pages_are_accessible(
    stats_server: str, desk: tuple[Page, list[str]], language: str
) -> None:
    page, errors = desk
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    for name, path in (
        ("dashboard", f"/stats?{YEAR}"),
        ("report", "/stats/report/2026?"),
        ("methodology", "/stats/methodology?"),
    ):
        page.goto(f"{stats_server}{path}&lang={language}")
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("lang") == language
        if name == "dashboard":
            page.screenshot(path=str(ARTIFACTS / f"stats-dashboard-{language}.png"), full_page=True)
            assert (
                page.locator("svg.chart[role=img] > title").count() == 14
            )  # 4 weekly, 5 monthly, 3 by label, 2 of the uplink and data
        problems += axe_problems(page, f"{language}-{name}")
    assert problems == []
    assert errors == []


@pytest.mark.browser
def test_the_yearly_report_prints_every_figure(
    stats_server: str, desk: tuple[Page, list[str]]
) -> None:
    page, errors = desk
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{stats_server}/stats/report/2026?lang=fr")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.screenshot(path=str(ARTIFACTS / "stats-report-print-fr.png"), full_page=True)
    # On paper the navigation goes, and no table hides figures behind a scroll bar.
    assert page.locator(".admin-header nav").is_hidden()
    heights = page.eval_on_selector_all(
        ".figures-scroll", "boxes => boxes.map(b => b.scrollHeight - b.clientHeight)"
    )
    assert heights and max(heights) == 0
    page.pdf(path=str(ARTIFACTS / "stats-report-chromium-fr.pdf"), format="A4")
    assert errors == []


@pytest.mark.browser
@pytest.mark.parametrize("language", ["fr", "nl", "de", "ar"])
def test_the_volunteers_pages_are_accessible_and_a_refused_pack_says_so(
    stats_server: str, volunteer_desk: tuple[Page, list[str]], language: str, tmp_path: Path
) -> None:
    page, errors = volunteer_desk
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    page.goto(f"{stats_server}/status?lang={language}")
    problems += axe_problems(page, f"{language}-status")
    page.goto(f"{stats_server}/packs/?lang={language}")
    problems += axe_problems(page, f"{language}-packs")
    not_a_pack = tmp_path / "holiday-photos.pack"
    not_a_pack.write_bytes(b"not a pack at all" * 100)
    page.set_input_files("#pack", str(not_a_pack))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_url(f"{stats_server}/packs/")
    assert page.locator("[data-outcome=refused][role=alert]").is_visible()
    page.screenshot(path=str(ARTIFACTS / f"admin-packs-refused-{language}.png"), full_page=True)
    problems += axe_problems(page, f"{language}-packs-refused")
    assert problems == []
    assert errors == []
