"""Progress of long pack work (download, verify, prepare): a bar on a terminal, lines elsewhere."""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO


class Progress(Protocol):
    """What the pack tools report; `total` is in bytes, or 0 when unknown."""

    def stage(self, name: str, total: int = 0) -> None: ...

    def advance(self, amount: int) -> None: ...

    def finish(self) -> None: ...


class SilentProgress:
    """Progress that nobody reads (tests, the web app, the demo)."""

    def stage(self, name: str, total: int = 0) -> None:
        """Nothing to show."""

    def advance(self, amount: int) -> None:
        """Nothing to show."""

    def finish(self) -> None:
        """Nothing to show."""


def _megabytes(amount: int) -> str:
    return f"{amount / 1_000_000:.1f} MB"


class TerminalProgress:
    """A bar redrawn at most ten times a second on a TTY; one line per stage otherwise.

    Logs of a systemd unit or a pipe get "verify: 12.3 MB done" lines, not a
    thousand carriage returns.
    """

    WIDTH = 30
    REDRAW_SECONDS = 0.1

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stderr
        self._tty = self._out.isatty()
        self._name = ""
        self._total = 0
        self._done = 0
        self._drawn_at = 0.0
        self._started = 0.0

    def stage(self, name: str, total: int = 0) -> None:
        self.finish()
        self._name, self._total, self._done = name, total, 0
        self._started = time.monotonic()
        if self._tty:
            self._draw()

    def advance(self, amount: int) -> None:
        self._done += amount
        now = time.monotonic()
        if self._tty and now - self._drawn_at >= self.REDRAW_SECONDS:
            self._draw()

    def finish(self) -> None:
        if not self._name:
            return
        seconds = time.monotonic() - self._started
        if self._tty:
            self._draw()
            self._out.write("\n")
        else:
            amount = f" {_megabytes(self._done)}" if self._done else ""
            self._out.write(f"{self._name}:{amount} done ({seconds:.1f} s)\n")
        self._out.flush()
        self._name = ""

    def _draw(self) -> None:
        self._drawn_at = time.monotonic()
        if self._total:
            share = min(self._done / self._total, 1.0)
            filled = int(share * self.WIDTH)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            line = f"{self._name:<9} [{bar}] {share:4.0%} {_megabytes(self._done)}"
        else:
            line = f"{self._name:<9} {_megabytes(self._done)}"
        self._out.write(f"\r{line}")
        self._out.flush()
