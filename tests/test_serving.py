"""The real thing: `portal demo` and `portal serve` under gunicorn, driven over HTTP."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal.config import ConfigError, Settings
from portal.machine import housekeeping_unit, housekeeps_in_worker, machine_profile, profile_for
from portal.serving import production_options
from tests.integration.processes import process_stats, wait_for
from tests.live import ROOT, Visitor, child_pids, demo_server, probe, production_server
from tests.walker import go_online

PROBE_HOST = "connectivitycheck.gstatic.com"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Visitor]:
    yield from demo_server(tmp_path / "data")


@pytest.fixture
def production(tmp_path: Path) -> Iterator[Visitor]:
    """`portal serve` with the built-in settings of a Pi 4: two worker processes."""
    yield from production_server(tmp_path, "--profile", "pi4")


def meminfo(mem_total_kb: int) -> str:
    """The first lines of /proc/meminfo on a machine with that much memory."""
    return (
        f"MemTotal:       {mem_total_kb:>8} kB\n"
        "MemFree:          182340 kB\n"
        "MemAvailable:     301220 kB\n"
    )


@pytest.mark.parametrize(
    ("mem_total_kb", "profile", "workers", "housekeeping"),
    [
        (3_884_548, "pi4", 2, "portal-housekeep"),  # a Pi 4 with 4 GB
        (905_000, "pi4", 2, "portal-housekeep"),  # a 3B+ (1 GB): under 1 GiB, the GPU's share
        (786_432, "pi4", 2, "portal-housekeep"),  # 768 MiB: the smallest with two workers
        (786_431, "zero2w", 1, "portal"),
        (427_000, "zero2w", 1, "portal"),  # a Zero 2 W (512 MB)
    ],
)
def test_the_gunicorn_profile_and_the_housekeepings_home_follow_the_machines_memory(
    settings: Settings, mem_total_kb: int, profile: str, workers: int, housekeeping: str
) -> None:
    chosen = profile_for(meminfo(mem_total_kb))
    assert chosen == profile
    assert production_options(settings, chosen)["workers"] == workers
    assert housekeeping_unit(chosen) == housekeeping
    assert housekeeps_in_worker(chosen) is (housekeeping == "portal")


def test_a_machine_that_does_not_say_its_memory_gets_the_pi4_profile(tmp_path: Path) -> None:
    assert profile_for("MemFree: 182340 kB\nMemTotal: 427 MB\n") == "pi4"
    assert machine_profile(tmp_path / "no-meminfo") == "pi4"


def test_a_gunicorn_config_file_changes_the_profiles_settings(
    settings: Settings, tmp_path: Path
) -> None:
    overrides = tmp_path / "gunicorn.conf.py"
    overrides.write_text("workers = 3\nworker_connections = 200\n", encoding="utf-8")
    options = production_options(settings, "pi4", overrides)
    assert (options["workers"], options["worker_connections"], options["timeout"]) == (3, 200, 30)


def test_a_gunicorn_config_file_cannot_give_the_zero2w_profile_more_workers(
    settings: Settings, tmp_path: Path
) -> None:
    """Each worker would run its own copy of the housekeeping."""
    overrides = tmp_path / "gunicorn.conf.py"
    overrides.write_text("workers = 2\nworker_connections = 200\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"gunicorn.conf.py: workers: cannot be set here: "):
        production_options(settings, "zero2w", overrides)
    overrides.write_text("workers = 1\nworker_connections = 200\n", encoding="utf-8")
    assert production_options(settings, "zero2w", overrides)["worker_connections"] == 200


def test_a_gunicorn_config_file_cannot_keep_the_workers_from_wiping_the_statistics_key(
    settings: Settings, tmp_path: Path
) -> None:
    overrides = tmp_path / "gunicorn.conf.py"
    overrides.write_text("def post_fork(server, worker):\n    pass\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"gunicorn.conf.py: post_fork: cannot be set here: "):
        production_options(settings, "pi4", overrides)


def test_an_unknown_profile_is_refused_by_name(settings: Settings) -> None:
    with pytest.raises(ConfigError, match=r"--profile: must be one of pi4, zero2w, not 'pi3'"):
        production_options(settings, "pi3")


def test_serve_with_the_zero2w_profile_runs_one_worker(tmp_path: Path) -> None:
    for visitor in production_server(tmp_path, "--profile", "zero2w"):
        time.sleep(1)  # a second worker, were there one, would have started by now
        assert len(child_pids(visitor.server_pid)) == 1
        said = b"profile zero2w (as asked): 1 worker(s), housekeeping in its worker"
        assert said in visitor.server_output()
        status, _, _ = probe(visitor)
        assert status == 302


@pytest.fixture
def uplink_target() -> Iterator[str]:
    """[uplink] for a monitor whose check always passes: a listening loopback port (the kernel
    completes the connections), no DNS question."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        yield f'check_targets = ["127.0.0.1:{port}"]\ndns_check_name = ""'


def uplink_verdict(data: Path) -> bool | None:
    """What the uplink monitor published in the data directory (None: nothing yet)."""
    try:
        return bool(json.loads((data / "uplink.json").read_text(encoding="utf-8"))["up"])
    except FileNotFoundError:
        return None


def grants_on_record(data: Path, change: str | None = None) -> int:
    """How many grants the book holds, after `change` (SQL) if given."""
    with contextlib.closing(sqlite3.connect(data / "portal.sqlite3", timeout=5)) as database:
        if change is not None:
            with database:
                database.execute(change)
        count: int = database.execute('SELECT count(*) FROM "grant"').fetchone()[0]
        return count


def unexpired_grants(data: Path) -> int:
    """How many grants on record have not run out by this computer's clock."""
    with contextlib.closing(sqlite3.connect(data / "portal.sqlite3", timeout=5)) as database:
        query = 'SELECT count(*) FROM "grant" WHERE expires_at > ?'
        count: int = database.execute(query, (int(time.time()),)).fetchone()[0]
        return count


def running(pid: int) -> bool:
    """Is `pid` alive (neither gone nor a zombie)?"""
    return any(each == pid and fields[0] != "Z" for each, fields in process_stats())


def test_the_zero2w_worker_runs_the_housekeeping_and_stops_it_with_itself(
    tmp_path: Path, uplink_target: str
) -> None:
    """On a Zero 2 W nothing runs beside the portal: its one worker publishes the uplink
    verdict and sweeps the book: a row that says its grant ran out while its element in
    the set has hours left, as a clock that jumped forward leaves it, follows the element
    again (the restore at start is over by then). SIGTERM ends the loops with the worker."""
    data = tmp_path / "data"
    for visitor in production_server(tmp_path, "--profile", "zero2w", uplink=uplink_target):
        wait_for(lambda: uplink_verdict(data) is True, "the uplink verdict", 10)
        go_online(visitor, "en")
        assert probe(visitor)[0] == 204
        ran_out = 'UPDATE "grant" SET expires_at = 1'  # long ago
        assert grants_on_record(data, ran_out) == 1
        assert probe(visitor)[0] == 302  # the grant view reads the book at once
        sweep = Settings().access.sweep_seconds + 10
        wait_for(lambda: unexpired_grants(data) == 1, "the sweep", sweep)
        assert probe(visitor)[0] == 204
        [worker] = child_pids(visitor.server_pid)
        os.kill(visitor.server_pid, signal.SIGTERM)
        # No request is open: the worker stops at its next tick (1 s), then its loops.
        took = wait_for(lambda pid=worker: not running(pid), "the worker's exit", 15)
        assert took < 5
        said = visitor.server_output()
        assert b"Exception during worker exit" not in said  # stop_housekeeping's failure
        assert b"housekeeping failed" not in said


@pytest.fixture
def tarpit() -> Iterator[str]:
    """A loopback port whose every new connection hangs: its one-place queue is full (the
    kernel drops the SYNs), as when the uplink's route goes nowhere."""
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        filler.connect(listener.getsockname())
        yield f"127.0.0.1:{listener.getsockname()[1]}"


def test_the_zero2w_worker_answers_while_its_uplink_check_hangs(
    tmp_path: Path, tarpit: str
) -> None:
    """Each check waits 3 s for a connection that never comes; the worker's requests do not
    (the monitor is a greenlet, its socket gevent's)."""
    uplink = (
        f'check_targets = ["{tarpit}"]\ndns_check_name = ""\n'
        "check_interval_seconds = 5\ndown_after_failures = 1"
    )
    data = tmp_path / "data"
    for visitor in production_server(tmp_path, "--profile", "zero2w", uplink=uplink):
        slowest = 0.0
        deadline = time.monotonic() + 12  # two checks at least
        while time.monotonic() < deadline:
            started = time.monotonic()
            assert probe(visitor)[0] == 302
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.1)
        assert uplink_verdict(data) is False  # the checks did run into the tarpit
        assert slowest < 1.5


def test_the_pi4_workers_leave_the_housekeeping_to_its_own_process(
    tmp_path: Path, uplink_target: str
) -> None:
    """The control: with two workers, portal-housekeep does the same work, so the portal
    publishes no uplink verdict."""
    data = tmp_path / "data"
    for visitor in production_server(tmp_path, "--profile", "pi4", uplink=uplink_target):
        go_online(visitor, "en")
        time.sleep(3)  # the zero2w worker publishes within a second of answering
        assert uplink_verdict(data) is None
        assert probe(visitor)[0] == 204


def test_demo_flips_probes_from_captive_to_online(demo: Visitor) -> None:
    status, headers, _ = probe(demo)
    assert (status, headers["Location"]) == (302, demo.base)
    assert headers["Server"].startswith("gunicorn")
    go_online(demo, "en")
    status, _, body = probe(demo)
    assert (status, body) == (204, b"")
    status, _, body = demo.request("online")
    assert status == 200 and b"You are online" in body


FORGED = {"SCRIPT_NAME": "/evil", "X-Forwarded-Proto": "https", "X-Forwarded-For": "10.9.9.9"}


def forged_request(visitor: Visitor) -> tuple[int, bytes]:
    """GET /evil/ from 127.0.0.1 with forwarding headers a trusted proxy would send."""
    port = urllib.parse.urlsplit(visitor.base).port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/evil/?lang=en", headers=FORGED)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("server", ["demo", "production"])
def test_no_forwarding_header_is_trusted_even_from_loopback(
    server: str, request: pytest.FixtureRequest
) -> None:
    visitor: Visitor = request.getfixturevalue(server)
    status, body = forged_request(visitor)
    # Trusted, SCRIPT_NAME would turn /evil/ into the start page with /evil links.
    assert status == 404
    assert b"/evil" not in body
    status, _, body = visitor.request("?lang=en")
    assert status == 200 and b'href="/lesson/onboarding/1?lang=en"' in body


def test_serve_before_the_gatekeeper_serves_lessons_and_says_access_must_wait(
    tmp_path: Path,
) -> None:
    socket = f'gatekeeper_socket = "{tmp_path / "not-yet.sock"}"'
    for visitor in production_server(tmp_path, firewall=socket):
        status, _, body = visitor.request("lesson/onboarding/1?lang=en")
        assert status == 200
        status, _, body = visitor.request("status?lang=en")
        assert status == 200
        assert b"We cannot open the Internet right now. Please try again in one minute." in body


def test_demo_error_page_is_a_page(demo: Visitor) -> None:
    status, headers, body = demo.request("nope")
    assert status == 404
    assert headers["Content-Type"].startswith("text/html")
    assert b"Traceback" not in body


def test_demo_serves_the_guide_source_it_is_given(tmp_path: Path) -> None:
    source = tmp_path / "guides-source"
    shutil.copytree(ROOT / "content", source)
    page = source / "guides" / "g01-eid" / "fr.md"
    text = page.read_text(encoding="utf-8")
    page.write_text(
        text.replace(
            'title = "La carte d\'identité électronique (eID), le code PIN et le code PUK"',
            'title = "La carte eID de notre village"',
        ),
        encoding="utf-8",
    )
    for visitor in demo_server(tmp_path / "data", "--guides", str(source)):
        status, _, body = visitor.request("guides?lang=fr")
        assert status == 200
        assert "La carte eID de notre village" in body.decode()


def server_side_inode(server_port: int, client_port: int) -> str:
    """The socket inode of the server's end of an established loopback connection."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        if (
            state == "01"  # ESTABLISHED
            and int(local.split(":")[1], 16) == server_port
            and int(remote.split(":")[1], 16) == client_port
        ):
            return inode
    raise AssertionError(f"no established connection {client_port} → {server_port}")


def process_holding(pids: set[int], inode: str) -> int:
    """Which of `pids` holds the socket `inode` open."""
    holders = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == f"socket:[{inode}]":
                    holders.add(pid)
    assert len(holders) == 1, f"socket {inode} held by {holders}"
    return holders.pop()


def probe_and_see_who_answered(visitor: Visitor, workers: set[int]) -> tuple[int, int]:
    """One Android probe on a kept-alive connection: its status, and the worker whose
    socket carried the answer (looked up while the worker still holds the connection)."""
    port = urllib.parse.urlsplit(visitor.base).port
    assert port is not None
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/generate_204", headers={"Host": PROBE_HOST})
        response = connection.getresponse()
        response.read()
        assert connection.sock is not None
        client_port = connection.sock.getsockname()[1]
        worker = process_holding(workers, server_side_inode(port, client_port))
        return response.status, worker
    finally:
        connection.close()


def test_production_workers_share_grants(production: Visitor) -> None:
    """A grant made through one worker is seen by the other: both answer the probe with 204."""
    deadline = time.monotonic() + 10
    while len(workers := child_pids(production.server_pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(workers) == 2, workers
    go_online(production, "en")
    answers: dict[int, list[int]] = {pid: [] for pid in workers}
    for _ in range(200):  # the kernel hands each new connection to whichever worker accepts
        status, worker = probe_and_see_who_answered(production, workers)
        answers[worker].append(status)
        if all(len(statuses) >= 5 for statuses in answers.values()):
            break
    seen = {pid: set(statuses) for pid, statuses in answers.items()}
    assert seen == {pid: {204} for pid in workers}, answers
