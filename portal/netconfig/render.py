"""Writing every rendered network file into one folder (`portal render-config`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from portal.config import Settings
from portal.netconfig.dnsmasq import render_dnsmasq
from portal.netconfig.nftables import render_ruleset

RENDERED_FILES: dict[str, Callable[[Settings], str]] = {
    "portal.nft": render_ruleset,
    "dnsmasq.conf": render_dnsmasq,
}
"""File name → renderer; the deployment issue adds hostapd and systemd here."""


def write_config(settings: Settings, out_dir: Path) -> list[Path]:
    """Render every file into `out_dir`; each file is replaced atomically (never half-written).

    Every file is rendered before any is written: a value one renderer refuses
    leaves none of them changed, never a new ruleset beside an old dnsmasq.conf.
    """
    rendered = {name: render(settings) for name, render in RENDERED_FILES.items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in rendered.items():
        target = out_dir / name
        handle, temporary = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(content)
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written.append(target)
    return written
