"""End to end as on a Zero 2 W: the portal's one worker is the housekeeping (no `portal
housekeep` runs), unprivileged, and talks to the gatekeeper for it: a grant gone from the
book leaves the kernel's set, and the DNS follows the uplink.

A hotspot of its own (tests/integration/conftest.py, zero2w_hotspot). Phone 1 onboards.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from portal.config import Settings
from tests.integration.hotspot import (
    CHECK_INTERVAL_SECONDS,
    CHECK_TIMEOUT_SECONDS,
    NOBODY,
    PORTAL_ADDRESS,
    PORTAL_URL,
    UPSTREAM_ADDRESS,
    UPSTREAM_BODY,
    Hotspot,
    wait_for,
)

pytestmark = pytest.mark.netns

PROBE_HOST = "connectivitycheck.gstatic.com"


def grants_on_record(hotspot: Hotspot, change: str | None = None) -> int:
    """How many grants the portal's book holds, after `change` (SQL) if given."""
    path = hotspot.data_dir / "portal.sqlite3"
    with contextlib.closing(sqlite3.connect(path, timeout=5)) as database:
        if change is not None:
            with database:
                database.execute(change)
        count: int = database.execute('SELECT count(*) FROM "grant"').fetchone()[0]
        return count


def dns_answer(hotspot: Hotspot, name: str) -> list[str]:
    """What the Pi's DNS answers phone 2 about `name` (nothing, while it waits for an
    upstream out of reach)."""
    namespace = hotspot.phones[1].namespace
    answer = hotspot.phone_tool(namespace, "dns", PORTAL_ADDRESS, name, "--type", "A")
    return list(answer.get("answers", []))


def test_only_the_portal_runs_and_it_holds_no_privilege(zero2w_hotspot: Hotspot) -> None:
    assert not zero2w_hotspot.processes["housekeep"].alive()
    pids = zero2w_hotspot.processes["portal"].members()
    assert len(pids) == 2  # gunicorn's master and its one worker
    for pid in pids:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        status = dict(line.split(":", 1) for line in lines)
        assert status["Uid"].split() == [str(NOBODY)] * 4
        for capabilities in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(status[capabilities], 16) == 0, capabilities


def test_a_grant_gone_from_the_book_leaves_the_kernels_set(
    zero2w_hotspot: Hotspot,
) -> None:
    """Only the worker's sweep can do it: the kernel's timeout is hours away, and the
    restore at the worker's start is over. (A row made to run out by hand would not do: a
    row follows its element's timeout, which is what a grant lasts, portal/wallclock.py.)"""
    hotspot, who = zero2w_hotspot, zero2w_hotspot.phones[0]
    walked = hotspot.phone_tool(who.namespace, "onboard", PORTAL_URL, "--lang", "fr")
    assert walked["outcome"] == "online", walked
    assert who.mac in hotspot.kernel_set()
    assert hotspot.fetch(who.namespace, f"http://{UPSTREAM_ADDRESS}/") is not None
    assert grants_on_record(hotspot, 'DELETE FROM "grant"') == 0
    # The set's entry, on no record, is seen twice (a grant being made looks the same for
    # a moment) and withdrawn by the second sweep.
    sweep = Settings().access.sweep_seconds + 10
    wait_for(lambda: who.mac not in hotspot.kernel_set(), "the entry's withdrawal", 2 * sweep)
    answer = hotspot.fetch(who.namespace, f"http://{UPSTREAM_ADDRESS}/")
    assert answer is not None and UPSTREAM_BODY not in answer.body  # the portal again


def test_the_dns_follows_the_uplink(zero2w_hotspot: Hotspot) -> None:
    """The worker's uplink monitor has the gatekeeper switch dnsmasq's files."""
    hotspot = zero2w_hotspot
    window = CHECK_INTERVAL_SECONDS + CHECK_TIMEOUT_SECONDS + 5
    assert dns_answer(hotspot, PROBE_HOST) == [UPSTREAM_ADDRESS]
    hotspot.run_in_upstream(["ip", "link", "set", "wan0", "down"])
    try:
        wait_for(lambda: dns_answer(hotspot, PROBE_HOST) == [PORTAL_ADDRESS], "offline DNS", window)
    finally:
        hotspot.run_in_upstream(["ip", "link", "set", "wan0", "up"])
    wait_for(lambda: dns_answer(hotspot, PROBE_HOST) == [UPSTREAM_ADDRESS], "online DNS", window)
