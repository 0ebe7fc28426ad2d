"""Chromium, trusting a CA made here, walks the onboarding on the portal's HTTPS name."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Error, Playwright

from tests.browser.conftest import launch
from tests.browser.walk import walk_in_browser
from tests.certificates import Authority
from tests.live import TLS_HOSTNAME, Visitor, free_port, probe, production_server
from tests.system import missing

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(missing("certutil") is not None, reason=str(missing("certutil"))),
]


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return Authority(tmp_path_factory.mktemp("ca"))


def home_trusting(authority: Authority, home: Path) -> Path:
    """A HOME whose NSS database (what Chromium on Linux reads) trusts `authority`."""
    database = home / ".pki" / "nssdb"
    database.mkdir(parents=True)
    certutil = ["certutil", "-d", f"sql:{database}"]
    subprocess.run([*certutil, "-N", "--empty-password"], check=True, capture_output=True)
    subprocess.run(
        [*certutil, "-A", "-t", "C,,", "-n", "Passerelle Test CA", "-i", str(authority.ca_file)],
        check=True,
        capture_output=True,
    )
    return home


def chromium(playwright: Playwright, home: Path) -> Browser:
    """Chromium with `home`, sending the portal's name to loopback."""
    return launch(playwright, f"--host-resolver-rules=MAP {TLS_HOSTNAME} 127.0.0.1", home=home)


@pytest.fixture(scope="module")
def trusting(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory, authority: Authority
) -> Iterator[Browser]:
    launched = chromium(playwright, home_trusting(authority, tmp_path_factory.mktemp("home")))
    yield launched
    launched.close()


@pytest.fixture
def server(tmp_path: Path, authority: Authority) -> Iterator[Visitor]:
    yield from production_server(
        tmp_path,
        tls=authority.issue(TLS_HOSTNAME),
        https_port=free_port(),
        trusted=authority.ca_file,
    )


def https_base(server: Visitor) -> str:
    return f"https://{TLS_HOSTNAME}:{server.https_port}/"


def test_onboarding_over_https_opens_the_internet(trusting: Browser, server: Visitor) -> None:
    context = trusting.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    try:
        assert probe(server)[1]["Location"] == https_base(server)
        walk_in_browser(page, https_base(server), "fr")
        assert page.url.startswith(https_base(server))
    finally:
        context.close()
    assert probe(server)[0] == 204


def test_a_browser_that_does_not_trust_the_authority_is_stopped(
    playwright: Playwright, tmp_path: Path, server: Visitor
) -> None:
    # The same Chromium with an empty HOME: the trusted authority is all that differs.
    browser = chromium(playwright, tmp_path)
    try:
        with pytest.raises(Error, match="ERR_CERT_AUTHORITY_INVALID"):
            browser.new_page().goto(https_base(server))
    finally:
        browser.close()
