"""An in-process gatekeeper for tests: the real server and allowed set over a recording runner.

Commands are recorded, not executed: the runner stands in for nft and conntrack
and answers like a calm kernel (optionally a slow one).
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from portal.gatekeeper.allowed_set import AllowedSet
from portal.gatekeeper.commands import Completed
from portal.gatekeeper.nft import NftProgram
from portal.gatekeeper.server import GatekeeperServer

MAC = "02:11:22:33:44:55"

# What `nft -j list set inet portal allowed` printed with nftables 1.0.6.
NFT_LIST_JSON = json.dumps(
    {
        "nftables": [
            {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
            {
                "set": {
                    "family": "inet",
                    "name": "allowed",
                    "table": "portal",
                    "type": "ether_addr",
                    "flags": ["timeout"],
                    "elem": [
                        {
                            "elem": {
                                "val": MAC,
                                "timeout": 3600,
                                "expires": 3599,
                                "counter": {"packets": 7, "bytes": 700},
                            }
                        }
                    ],
                }
            },
        ]
    }
)


class RecordingRunner:
    """Stands in for nft and conntrack: records argv and stdin, answers like a calm kernel."""

    def __init__(self, seconds_per_call: float = 0.0) -> None:
        self.calls: list[tuple[list[str], str | None]] = []
        self.failure: Completed | None = None
        self.seconds_per_call = seconds_per_call

    def __call__(self, argv: Sequence[str], stdin: str | None = None) -> Completed:
        self.calls.append((list(argv), stdin))
        time.sleep(self.seconds_per_call)
        if self.failure is not None:
            return self.failure
        if argv[0] == "conntrack":
            return Completed(1, "", "0 flow entries have been deleted.\n")
        return Completed(0, NFT_LIST_JSON if "-j" in argv else "", "")


@contextmanager
def socket_folder() -> Iterator[Path]:
    """A short path (AF_UNIX paths are limited to 108 bytes) that another uid can reach;
    removed when the block ends."""
    path = Path(tempfile.mkdtemp(prefix="gk-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def running_gatekeeper(
    path: Path,
    runner: RecordingRunner,
    *,
    allowed_uid: int,
    neighbour_table: Path,
    socket_mode: int = 0o600,
    **options: Any,
) -> Iterator[GatekeeperServer]:
    """A gatekeeper serving on the socket `path` (short: AF_UNIX allows 108 bytes) in a
    thread, until the block ends."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        path.chmod(socket_mode)
        listener.listen()
        allowed = AllowedSet(
            NftProgram(runner, "nft"),
            runner,
            conntrack="conntrack",
            neighbour_table=neighbour_table,
        )
        server = GatekeeperServer(listener, allowed, allowed_uid, **options)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            thread.join(timeout=5)
