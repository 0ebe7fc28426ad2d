"""Which DNS the Pi's dnsmasq gives guests: the real answers while the uplink is up, the
Pi's own address for the probe hosts while it is down (offline mode, so phones still show
the portal).

`portal render-config` writes each file in both variants beside dnsmasq.conf; dnsmasq
reads the active ones (`servers-file`, `addn-hosts`). Switching copies both variants over
the active files (each atomically) and sends dnsmasq SIGHUP, which re-reads them without
a restart: DHCP, its leases and the other guests' DNS go on. The portal is unprivileged
and dnsmasq is not its process, so the gatekeeper (root) switches, on the portal's `dns`
request. Being root, it trusts nothing in the folder: variants are read without following
a link, whole files of a bounded size, all before anything is written, and the signal goes
only to a process that is dnsmasq, through a pidfd (no pid reused in between). The file
names are owned here; portal/netconfig/dnsmasq.py uses them.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import tempfile
import threading
from pathlib import Path

DNS_FOLDER = "dns"
"""The rendered folder's subfolder with these files: the one place the gatekeeper may write
(never beside the unit files, which would let it write itself a unit)."""
SERVERS_FILE = "dns-servers.conf"
"""dnsmasq's servers-file: the upstreams, and (offline) the probe hosts kept local."""
HOSTS_FILE = "dns-hosts"
"""dnsmasq's addn-hosts file: (offline) the probe hosts at the Pi's address."""
ACTIVE_FILES = (SERVERS_FILE, HOSTS_FILE)
MAX_FILE_BYTES = 256 * 1024
"""Far more than the rendered files (a few KiB); a bigger one is not ours."""
DNSMASQ = "dnsmasq"
"""The program name (/proc/PID/comm) the pid file must lead to."""

PID = re.compile(r"[1-9][0-9]{0,9}")


class DnsSwitchError(RuntimeError):
    """A variant file or dnsmasq's pid file is missing or wrong, or dnsmasq is not running."""


def variant(name: str, uplink_up: bool) -> str:
    """The rendered variant of the active file `name` for an uplink that is up or down."""
    stem, dot, suffix = name.partition(".")
    state = "up" if uplink_up else "down"
    return f"{stem}-{state}{dot}{suffix}"


def read_plain_file(path: Path) -> bytes:
    """A regular file's bytes, never through a symbolic link, at most MAX_FILE_BYTES."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        raise DnsSwitchError(f"cannot read {path.name}: {error.strerror}") from None
    with os.fdopen(handle, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            raise DnsSwitchError(f"{path.name} is not a rendered file")
        return stream.read(MAX_FILE_BYTES + 1)


class DnsSwitch:
    def __init__(self, folder: Path, pid_file: Path, program: str = DNSMASQ) -> None:
        self.folder = folder
        self.pid_file = pid_file
        self.program = program
        self._lock = threading.Lock()
        self._signalled: bytes | None = None
        """What dnsmasq was last told to read (None: nothing since this gatekeeper started),
        so a failed signal, or files re-rendered with other upstreams, are done again."""

    def apply(self, uplink_up: bool) -> bool:
        """Make the variants for `uplink_up` active and have dnsmasq re-read them; nothing
        is done (no SIGHUP, which also empties dnsmasq's cache) when dnsmasq has them.
        Returns whether dnsmasq was told."""
        with self._lock:  # one switch at a time: both files always from the same state
            wanted = {
                name: read_plain_file(self.folder / variant(name, uplink_up))
                for name in ACTIVE_FILES
            }
            told = b"\0".join(wanted.values())
            changed = [
                self._replace(self.folder / name, content) for name, content in wanted.items()
            ]
            if not any(changed) and self._signalled == told:
                return False
            self._signal_dnsmasq()
            self._signalled = told
            return True

    def _replace(self, active: Path, content: bytes) -> bool:
        """Write `content` over `active` unless it holds it already; whether it wrote."""
        try:
            if read_plain_file(active) == content:
                return False
        except DnsSwitchError:
            pass  # missing, or not a plain file: replaced (a rename never follows a link)
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

    def _signal_dnsmasq(self) -> None:
        pid = self._dnsmasq_pid()
        try:
            handle = os.pidfd_open(pid)
        except (OSError, OverflowError):  # no such process, or beyond any pid
            raise DnsSwitchError("dnsmasq is not running") from None
        try:
            # The pidfd holds this very process: checked, then signalled, no pid reuse between.
            try:
                name = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
            except OSError:
                raise DnsSwitchError("dnsmasq is not running") from None
            if name != self.program:
                raise DnsSwitchError("dnsmasq's pid file names another program")
            signal.pidfd_send_signal(handle, signal.SIGHUP)
        except ProcessLookupError:
            raise DnsSwitchError("dnsmasq is not running") from None
        finally:
            os.close(handle)

    def _dnsmasq_pid(self) -> int:
        try:
            text = read_plain_file(self.pid_file).decode("ascii").strip()
        except (DnsSwitchError, UnicodeDecodeError):
            raise DnsSwitchError("dnsmasq's pid file cannot be read") from None
        if not PID.fullmatch(text):
            raise DnsSwitchError("dnsmasq's pid file holds no process number")
        return int(text)
