"""A join storm: hundreds of phones finishing the lesson and going online at the same moment.

Every phone has a loopback address of its own (127.0.1.x: on a laptop the demo
identity derives its MAC from the address), walks the onboarding lesson against
real `portal serve` (PRODUCTION_OPTIONS: two gevent workers) and asks for access.
No phone may meet a 500, and no finished lesson or grant may be lost. The portal
enforces through the memory firewall, or through a real gatekeeper whose nft
calls take a while, so that greenlets of one worker interleave: each must keep
its own database connection and transaction.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.gatekeepers import RecordingRunner, running_gatekeeper, socket_folder
from tests.live import Visitor, production_server
from tests.walker import FlowError, HttpTransport, go_online

PHONES = 200
PARALLEL = 48


@pytest.fixture(params=["memory firewall", "slow gatekeeper"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Visitor, Path]]:
    database = tmp_path / "data" / "portal.sqlite3"
    if request.param == "memory firewall":
        for visitor in production_server(tmp_path):
            yield visitor, database
        return
    runner = RecordingRunner(seconds_per_call=0.02)
    with socket_folder() as sockets:
        path = sockets / "gatekeeper.sock"
        with running_gatekeeper(
            path, runner, allowed_uid=os.getuid(), neighbour_table=sockets / "no-arp"
        ):
            for visitor in production_server(tmp_path, firewall=f'gatekeeper_socket = "{path}"'):
                yield visitor, database


def phone(base: str, number: int) -> str:
    """One phone's whole first visit; "online", or what went wrong."""
    source = f"127.0.1.{number}"
    try:
        go_online(HttpTransport(base, source), "fr")
    except (FlowError, OSError) as error:  # OSError: no answer within the walker's 10 s
        return f"{type(error).__name__}: {error}"
    return "online"


def test_a_join_storm_loses_nothing_and_never_answers_500(
    served: tuple[Visitor, Path],
) -> None:
    visitor, database = served
    with ThreadPoolExecutor(PARALLEL) as pool:
        outcomes = list(pool.map(lambda number: phone(visitor.base, number), range(1, PHONES + 1)))
    failed = [outcome for outcome in outcomes if outcome != "online"]
    assert failed == []
    with sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True) as connection:
        grants = connection.execute('SELECT count(*) FROM "grant"').fetchone()[0]
        paths = connection.execute(
            "SELECT count(*) FROM learning_path WHERE lessons = 'onboarding'"
        ).fetchone()[0]
    assert (grants, paths) == (200, 200)
