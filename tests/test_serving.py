"""The real thing: `portal demo` and `portal serve` under gunicorn, driven over HTTP."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import PORTAL, ROOT, Visitor, demo_server, free_port, probe, start, walk_onboarding


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


def test_production_workers_share_grants(production: Visitor) -> None:
    walk_onboarding(production)
    answers = {probe(production)[0] for _ in range(30)}
    assert answers == {204}
