"""Running the privileged programs (conntrack, and nft without libnftables): argv, no shell.

Behind a small interface so unit tests record the argv (and stdin) they would
run without root, while the network-namespace tests run the real binaries.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

COMMAND_TIMEOUT_SECONDS = 20.0
"""nft on a 10,000-element batch takes well under a second; a hang must not last."""


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


class CommandError(RuntimeError):
    """A command could not be run at all (missing binary, timeout)."""


class CommandRunner(Protocol):
    def __call__(self, argv: Sequence[str], stdin: str | None = None) -> Completed:
        """Run `argv` (the first item a program path), feeding `stdin`; never via a shell."""


def find_program(name: str) -> str:
    """Absolute path of a system program, so the daemon does not depend on its PATH."""
    path = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        raise CommandError(f"{name} not found in /usr/sbin, /usr/bin, /sbin or /bin")
    return path


class SubprocessRunner:
    """The real runner: subprocess with an argv list, captured output and a timeout."""

    def __init__(self, timeout: float = COMMAND_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout

    def __call__(self, argv: Sequence[str], stdin: str | None = None) -> Completed:
        try:
            # argv is built by this package from validated values and fixed program paths.
            done = subprocess.run(  # noqa: S603
                list(argv),
                input=stdin,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CommandError(f"{argv[0]} did not finish within {self.timeout:g} s") from None
        except OSError as error:
            raise CommandError(f"{argv[0]} could not be started: {error.strerror}") from None
        return Completed(done.returncode, done.stdout, done.stderr)
