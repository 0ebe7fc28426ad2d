"""Running commands and long-lived processes for the namespace topology (argv lists, no shell)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
CHECKOUT = Path(__file__).resolve().parents[2]
START_SECONDS = 30.0


class TopologyError(RuntimeError):
    """The topology could not be built, or a process did not come up."""


def clean_env(home: Path, bin_dir: Path) -> dict[str, str]:
    """No proxy settings or other variables of the caller reach the namespaces.

    Each user gets its own HOME in the run's folder: scapy keeps a cache there,
    and uid 65534 must not stumble on a root-only folder (stat() would fail).
    """
    return {"PATH": f"{bin_dir}:{SYSTEM_PATH}", "LC_ALL": "C.UTF-8", "HOME": str(home)}


def checkout_script(script: Path, *args: str) -> list[str]:
    """argv running one of the checkout's own scripts (phone.py, bench/grant_phone.py).

    Only these get the checkout on PYTHONPATH, to import the tests' helpers
    (tests.walker); the portal's own processes run the installed wheel alone.
    """
    return ["env", f"PYTHONPATH={CHECKOUT}", sys.executable, str(script), *args]


def words(command: str, *more: str) -> list[str]:
    """An argv list written like a command line; only for words without spaces."""
    return [*command.split(), *more]


def run(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    stdin: str | None = None,
    timeout: float = 30,
) -> str:
    """Run a command to completion; its stdout, or TopologyError with its stderr."""
    done = subprocess.run(
        list(argv),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise TopologyError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def wait_for(check: Callable[[], bool], what: str, timeout: float = START_SECONDS) -> float:
    """Poll `check` until it holds; the seconds it took, or TopologyError naming `what`."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise TopologyError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.05)
    return time.monotonic() - started


def process_stats() -> Iterator[tuple[int, list[str]]]:
    """Every process's pid and the fields of its /proc/PID/stat after "(command)": state,
    ppid, pgrp, ... (a process that ends meanwhile is left out)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        yield int(entry.name), fields


def group_members(pgid: int) -> list[int]:
    """Pids of the live (not zombie) processes in process group `pgid`."""
    return [pid for pid, fields in process_stats() if int(fields[2]) == pgid and fields[0] != "Z"]


@dataclass
class Process:
    """A long-running process leading its own process group, its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, argv: Sequence[str], log: Path, env: dict[str, str]) -> Process:
        with log.open("ab") as output:
            popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=log.parent,
                env=env,
                start_new_session=True,
            )
        return cls(name, popen, log)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def members(self) -> list[int]:
        """Pids of its group's live processes (gunicorn: the master and its workers)."""
        return group_members(self.popen.pid)

    def stop(self, sig: signal.Signals = signal.SIGTERM, grace: float = 5.0) -> None:
        """Signal the whole group; SIGKILL whatever outlives `grace`; wait until all are gone."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=5)
        wait_for(lambda: not self.members(), f"{self.name} to exit", 10)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
