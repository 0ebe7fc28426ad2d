"""The real thing: `portal demo` and `portal serve` under gunicorn, driven over HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import PORTAL, Visitor, demo_server, free_port, probe, start, walk_onboarding


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Visitor]:
    yield from demo_server(tmp_path / "data")


@pytest.fixture
def production(tmp_path: Path) -> Iterator[Visitor]:
    """`portal serve` with deploy/gunicorn.conf.py: two worker processes."""
    port = free_port()
    config = tmp_path / "portal.toml"
    config.write_text(
        f"""
[network]
portal_address = "127.0.0.1"
portal_port = {port}
portal_hostname = ""
client_identity = "address"
[storage]
data_dir = "{tmp_path / "data"}"
[firewall]
backend = "memory"
""",
        encoding="utf-8",
    )
    yield from start(
        [*PORTAL, "serve", "--config", str(config)], f"http://127.0.0.1:{port}/", dict(os.environ)
    )


def test_demo_flips_probes_from_captive_to_online(demo: Visitor) -> None:
    status, headers, _ = probe(demo)
    assert (status, headers["Location"]) == (302, demo.base)
    assert headers["Server"].startswith("gunicorn")
    walk_onboarding(demo)
    status, _, body = probe(demo)
    assert (status, body) == (204, b"")
    status, _, body = demo.request("online")
    assert status == 200 and b"You are online" in body


def test_demo_error_page_is_a_page(demo: Visitor) -> None:
    status, headers, body = demo.request("nope")
    assert status == 404
    assert headers["Content-Type"].startswith("text/html")
    assert b"Traceback" not in body


def test_production_workers_share_grants(production: Visitor) -> None:
    walk_onboarding(production)
    answers = {probe(production)[0] for _ in range(30)}
    assert answers == {204}
