"""The README is a newcomer's map: its layout names every top-level part of the package."""

from __future__ import annotations

from tests.live import ROOT


def layout_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Layout", 1)[1]
    return section.split("```", 2)[1]


def test_readme_layout_names_every_top_level_module() -> None:
    block = layout_block()
    package = ROOT / "portal"
    parts = {
        path.name + ("/" if path.is_dir() and not path.is_symlink() else "")
        for path in package.iterdir()
        if path.name not in {"__init__.py", "__pycache__"}
    }
    words = set(block.split())
    unnamed = sorted(part for part in parts if part not in words)
    assert unnamed == []
    assert {"app.py", "gatekeeper/", "resources.py", "migrations.py"} <= words
