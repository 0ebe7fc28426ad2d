"""How nft scripts and listings reach the kernel: libnftables in-process, or the nft program.

Spawning `nft` costs 10-25 ms a call, most of a grant's latency; libnftables
(Debian's libnftables1, which nftables depends on) does the same parsing and
netlink work inside the daemon, through one context kept for its lifetime.
The calls act in the daemon's own network namespace, like the program would.
The program stays as the fallback where the library cannot be loaded, and lets
unit tests record the scripts they would run.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Protocol

from portal.gatekeeper.commands import CommandError, CommandRunner

LIBNFTABLES = "libnftables.so.1"
NFT_CTX_DEFAULT = 0
NFT_CTX_OUTPUT_JSON = 1 << 4
"""Values from <nftables/libnftables.h> (nftables 1.0.6); stable parts of its ABI."""


class NftFailed(Exception):
    """nft refused a script or listing.

    `summary` says how it failed, without nft's words; `output` is nft's error
    output, which quotes the script and so may hold MACs.
    """

    def __init__(self, summary: str, output: str) -> None:
        super().__init__(summary)
        self.summary = summary
        self.output = output


class NftBackend(Protocol):
    """Runs nft scripts; each `run` is one batch, which the kernel applies as one transaction."""

    def run(self, script: str) -> str:
        """Apply `script` (nft syntax, one command a line); nft's output."""

    def list_json(self, *words: str) -> str:
        """`list WORDS...` as nft's JSON document."""


class NftProgram:
    """The nft program, one process a call (`nft -f -`, `nft -j list ...`), without a shell."""

    def __init__(self, run: CommandRunner, program: str = "nft") -> None:
        self._run = run
        self.program = program

    def run(self, script: str) -> str:
        return self._call(["-f", "-"], script)

    def list_json(self, *words: str) -> str:
        return self._call(["-j", "list", *words])

    def _call(self, args: list[str], stdin: str | None = None) -> str:
        done = self._run([self.program, *args], stdin)
        if done.returncode != 0:
            raise NftFailed(f"nft exited with status {done.returncode}", done.stderr)
        return done.stdout


class NftLibrary:
    """libnftables through ctypes: one nft context, used by one thread at a time.

    Output and errors are buffered in the context rather than written to the
    daemon's stdout/stderr; reading a buffer also empties it for the next call.
    A call cannot be timed out, unlike the program; it is one netlink exchange
    with the kernel, which answers or fails.
    """

    def __init__(self, library: ctypes.CDLL) -> None:
        self._lib = library
        self._lock = threading.Lock()
        self._context: int | None = library.nft_ctx_new(NFT_CTX_DEFAULT)
        if not self._context:
            raise CommandError("libnftables could not create a context (out of memory?)")
        if library.nft_ctx_buffer_output(self._context) or library.nft_ctx_buffer_error(
            self._context
        ):
            library.nft_ctx_free(self._context)
            raise CommandError("libnftables could not buffer its output")

    @classmethod
    def load(cls, soname: str = LIBNFTABLES) -> NftLibrary:
        """Load the library and create the context; CommandError says why it cannot."""
        try:
            library = ctypes.CDLL(soname)
            _declare(library)
        except (OSError, AttributeError) as error:
            raise CommandError(f"{soname} cannot be loaded: {error}") from None
        return cls(library)

    def run(self, script: str) -> str:
        return self._call(script, 0)

    def list_json(self, *words: str) -> str:
        return self._call(f"list {' '.join(words)}\n", NFT_CTX_OUTPUT_JSON)

    def close(self) -> None:
        """Free the context; later calls raise CommandError."""
        with self._lock:
            if self._context is not None:
                self._lib.nft_ctx_free(self._context)
                self._context = None

    def _call(self, script: str, output_flags: int) -> str:
        if "\0" in script:
            raise CommandError("an nft script cannot contain a NUL byte")
        with self._lock:
            if self._context is None:
                raise CommandError("the libnftables context was closed")
            # Flags are set on every call: JSON output would also make nft try
            # to parse the script as JSON before falling back to nft syntax.
            self._lib.nft_ctx_output_set_flags(self._context, output_flags)
            status = self._lib.nft_run_cmd_from_buffer(self._context, script.encode())
            # Read both buffers every time: reading is what empties them.
            output = _text(self._lib.nft_ctx_get_output_buffer(self._context))
            errors = _text(self._lib.nft_ctx_get_error_buffer(self._context))
        if status != 0:
            raise NftFailed("nft failed", errors)
        return output


def _text(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", errors="replace")


def _declare(library: ctypes.CDLL) -> None:
    """The C signatures ctypes needs (a pointer returned as the default int would be cut)."""
    context = ctypes.c_void_p
    library.nft_ctx_new.argtypes = [ctypes.c_uint32]
    library.nft_ctx_new.restype = context
    library.nft_ctx_free.argtypes = [context]
    library.nft_ctx_free.restype = None
    for name in ("nft_ctx_buffer_output", "nft_ctx_buffer_error"):
        function = getattr(library, name)
        function.argtypes = [context]
        function.restype = ctypes.c_int
    library.nft_ctx_output_set_flags.argtypes = [context, ctypes.c_uint]
    library.nft_ctx_output_set_flags.restype = None
    library.nft_run_cmd_from_buffer.argtypes = [context, ctypes.c_char_p]
    library.nft_run_cmd_from_buffer.restype = ctypes.c_int
    for name in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
        function = getattr(library, name)
        function.argtypes = [context]
        function.restype = ctypes.c_char_p  # copied into bytes before the lock is let go
