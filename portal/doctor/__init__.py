"""`portal doctor`: is this hotspot working? A table of checks, each with a fix in plain words.

Two places to run it, as root (it sends DHCP, reads the firewall):
- on the Pi (`portal doctor`): the ruleset, the Internet, DNS, the portal, the
  clock, the free space and the radio (portal/doctor/pi_side.py);
- on a laptop joined to the hotspot's Wi-Fi (`portal doctor --wifi IFACE`): what
  a phone meets, DHCP, DNS, the probe, the API, HTTPS and the admin port
  (portal/doctor/wifi_side.py).

On the Pi, portal-report.timer writes the table beside portal.toml on the boot
partition (portal-doctor.txt) after every start and daily, for a volunteer without a
shell. It exits 0 only when no check failed; a warning (a radio that takes fewer phones
than `wifi.max_clients`) is shown with its fix and does not fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from portal.files import replace_file

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True)
class Finding:
    """One check's verdict: what was seen and, unless all is well, what to do."""

    check: str
    verdict: str
    """OK, WARN or FAIL."""
    seen: str
    fix: str = ""


def ok(check: str, seen: str) -> Finding:
    return Finding(check, OK, seen)


def warn(check: str, seen: str, fix: str) -> Finding:
    return Finding(check, WARN, seen, fix)


def fail(check: str, seen: str, fix: str) -> Finding:
    return Finding(check, FAIL, seen, fix)


def report(title: str, findings: Sequence[Finding]) -> str:
    """The table a volunteer reads: one line a check, its fix indented below."""
    width = max(len(finding.check) for finding in findings)
    lines = [title, ""]
    for finding in findings:
        lines.append(f"  {finding.verdict:<4}  {finding.check:<{width}}  {finding.seen}")
        if finding.fix:
            lines.append(f"  {'':<4}  {'':<{width}}  Fix: {finding.fix}")
    failed = sum(finding.verdict == FAIL for finding in findings)
    warned = sum(finding.verdict == WARN for finding in findings)
    lines.append("")
    if failed:
        lines.append(f"{failed} of {len(findings)} checks failed: see the fixes above.")
    elif warned:
        lines.append(f"All {len(findings)} checks passed, {warned} with a warning.")
    else:
        lines.append(f"All {len(findings)} checks passed.")
    return "\n".join(lines)


def dated(title: str, when: datetime) -> str:
    """A report's title for the boot partition, where no terminal says when it was made."""
    return f"{title}, {when:%Y-%m-%d at %H:%M} (UTC)"


def write_report(path: Path, text: str) -> None:
    """The table for a volunteer's laptop (portal-doctor.txt beside portal.toml), with
    Windows line ends for any editor, Notepad included."""
    replace_file(path, text.replace("\n", "\r\n").encode("utf-8") + b"\r\n")


def passed(findings: Sequence[Finding]) -> bool:
    return all(finding.verdict != FAIL for finding in findings)


__all__ = [
    "FAIL",
    "OK",
    "WARN",
    "Finding",
    "dated",
    "fail",
    "ok",
    "passed",
    "report",
    "warn",
    "write_report",
]
