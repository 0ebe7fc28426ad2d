"""Which DNS the Pi's dnsmasq gives guests: the real answers while the uplink is up, the
Pi's own address for the probe hosts while it is down (offline mode, so phones still show
the portal).

`portal render-config` writes each file in both variants beside dnsmasq.conf; dnsmasq
reads the active ones (`servers-file`, `addn-hosts`). Switching copies a variant over
the active file (atomically) and sends dnsmasq SIGHUP, which re-reads both without a
restart: DHCP, its leases and the other guests' DNS go on. The portal is unprivileged
and dnsmasq is not its process, so the gatekeeper (root) switches, on the portal's
`dns` request. The file names are owned here; portal/netconfig/dnsmasq.py uses them.
"""

from __future__ import annotations

import os
import re
import signal
import tempfile
from pathlib import Path

SERVERS_FILE = "dns-servers.conf"
"""dnsmasq's servers-file: the upstreams, and (offline) the probe hosts kept local."""
HOSTS_FILE = "dns-hosts"
"""dnsmasq's addn-hosts file: (offline) the probe hosts at the Pi's address."""
ACTIVE_FILES = (SERVERS_FILE, HOSTS_FILE)

PID = re.compile(r"[1-9][0-9]{0,9}")


class DnsSwitchError(RuntimeError):
    """A variant file or dnsmasq's pid file is missing or wrong."""


def variant(name: str, uplink_up: bool) -> str:
    """The rendered variant of the active file `name` for an uplink that is up or down."""
    stem, dot, suffix = name.partition(".")
    state = "up" if uplink_up else "down"
    return f"{stem}-{state}{dot}{suffix}"


class DnsSwitch:
    def __init__(self, folder: Path, pid_file: Path) -> None:
        self.folder = folder
        self.pid_file = pid_file

    def apply(self, uplink_up: bool) -> bool:
        """Make the variant for `uplink_up` active and have dnsmasq re-read it; nothing is
        done (no SIGHUP, which also empties dnsmasq's cache) when it is active already.
        Returns whether anything changed."""
        changed = [
            name
            for name in ACTIVE_FILES
            if self._replace(self.folder / name, self.folder / variant(name, uplink_up))
        ]
        if not changed:
            return False
        try:
            os.kill(self._dnsmasq_pid(), signal.SIGHUP)
        except ProcessLookupError:
            raise DnsSwitchError("dnsmasq is not running") from None
        return True

    def _replace(self, active: Path, source: Path) -> bool:
        """Copy `source` over `active` unless they hold the same; whether it copied."""
        try:
            content = source.read_bytes()
        except OSError as error:
            raise DnsSwitchError(f"cannot read {source.name}: {error.strerror}") from None
        try:
            if active.read_bytes() == content:
                return False
        except OSError:
            pass  # missing or unreadable: written afresh
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{active.name}.")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
            os.chmod(temporary, 0o644)  # dnsmasq re-reads it after dropping privileges
            os.replace(temporary, active)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return True

    def _dnsmasq_pid(self) -> int:
        try:
            text = self.pid_file.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            raise DnsSwitchError("dnsmasq's pid file cannot be read") from None
        if not PID.fullmatch(text):
            raise DnsSwitchError("dnsmasq's pid file holds no process number")
        return int(text)
