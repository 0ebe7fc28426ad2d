"""The session's hotspot: built once, shared by every end-to-end test, torn down at the end."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pluggy
import pytest

from tests.install import InstalledPortal
from tests.integration.hotspot import Hotspot, netns_unusable

_running: list[Hotspot] = []


def built_hotspot(request: pytest.FixtureRequest, *, tls: bool) -> Iterator[Hotspot]:
    reason = netns_unusable("nft", "dnsmasq", "conntrack", "curl")
    if reason is not None:
        pytest.skip(reason)
    installed: InstalledPortal = request.getfixturevalue("installed_portal")
    with Hotspot(installed.bin, tls=tls) as built:
        _running.append(built)
        try:
            yield built
        finally:
            _running.remove(built)


@pytest.fixture(scope="session")
def hotspot(request: pytest.FixtureRequest) -> Iterator[Hotspot]:
    """The Pi, the Internet and two phones (see hotspot.py); skips only without root or netns."""
    yield from built_hotspot(request, tls=False)


@pytest.fixture(scope="module")
def tls_hotspot(request: pytest.FixtureRequest) -> Iterator[Hotspot]:
    """Another one whose portal has a certificate for its name ([tls]), for one module."""
    yield from built_hotspot(request, tls=True)


@pytest.fixture(scope="module")
def zero2w_hotspot(request: pytest.FixtureRequest) -> Iterator[Hotspot]:
    """Another one set up as a Zero 2 W, for one module: no `portal housekeep` (its unit
    does not start there), the portal with the zero2w profile, whose one worker runs the
    housekeeping loops."""
    for built in built_hotspot(request, tls=False):
        built.processes["housekeep"].stop()
        built.processes["portal"].stop()
        built.start_portal("--profile", "zero2w")
        yield built


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    """A failed end-to-end test shows the last lines each hotspot process logged."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and _running:
        report.sections.append(("hotspot processes", _running[-1].log_tails()))
