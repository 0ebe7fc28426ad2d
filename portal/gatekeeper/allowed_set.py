"""The nftables set `inet portal allowed` and the conntrack entries of revoked devices.

Every change is one nft batch (see `nft`), which the kernel applies as a single
transaction: a grant never leaves a moment without access, a sync never shows
a half-filled set. Values reaching a script were validated by `protocol`
(MACs are `xx:xx:xx:xx:xx:xx` hex, lengths are integers), so nothing in a
script comes from the caller verbatim.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from portal.gatekeeper.commands import CommandError, CommandRunner
from portal.gatekeeper.neighbours import NEIGHBOUR_TABLE, neighbours
from portal.gatekeeper.nft import NftBackend, NftFailed
from portal.gatekeeper.protocol import MAC_TEXT, FirewallEntry, normalise_mac

log = logging.getLogger(__name__)

FAMILY, TABLE, SET = "inet", "portal", "allowed"
SET_REF = f"{FAMILY} {TABLE} {SET}"
SYNC_ELEMENTS_PER_LINE = 512
"""Keeps each line of a big sync batch short; the batch is still one transaction."""
CONNTRACK_NOTHING_DELETED = 1
"""conntrack -D exits 1 when no entry matched: not an error for a revoke."""


class SetError(RuntimeError):
    """nft refused or failed; the message quotes nft's first error line with MACs masked."""


def _masked(text: str) -> str:
    return MAC_TEXT.sub("xx:xx:xx:xx:xx:xx", text)


class AllowedSet:
    """Grants, revokes, lists and syncs the elements of @allowed through nft.

    `nft` applies the scripts; `run` runs conntrack (a program either way).
    """

    def __init__(
        self,
        nft: NftBackend,
        run: CommandRunner,
        *,
        conntrack: str | None = "conntrack",
        neighbour_table: Path = NEIGHBOUR_TABLE,
        wifi_interface: str | None = None,
    ) -> None:
        self._nft = nft
        self._run = run
        self._conntrack = conntrack
        self._neighbour_table = neighbour_table
        self._wifi_interface = wifi_interface
        self._lock = threading.Lock()
        """Changes are applied in the order they arrive, one batch at a time."""

    def grant(self, mac: str, seconds: int) -> None:
        """Let `mac` through for `seconds`, replacing any remaining time.

        add-then-delete makes the delete safe whether or not the element exists;
        the final add sets the new timeout. Re-granting restarts the element's
        packet counter (the portal reads any change of it as activity).
        """
        self._apply(
            f"add element {SET_REF} {{ {mac} }}\n"
            f"delete element {SET_REF} {{ {mac} }}\n"
            f"add element {SET_REF} {{ {mac} timeout {seconds}s }}\n"
        )

    def revoke(self, mac: str) -> None:
        """Remove `mac` (present or not), then cut its open connections."""
        self._apply(f"add element {SET_REF} {{ {mac} }}\ndelete element {SET_REF} {{ {mac} }}\n")
        self._drop_connections(mac)

    def sync(self, grants: Mapping[str, int]) -> None:
        """Make the set hold exactly `grants` (mac → seconds), in one transaction."""
        lines = [f"flush set {SET_REF}\n"]
        items = [f"{mac} timeout {seconds}s" for mac, seconds in sorted(grants.items())]
        for start in range(0, len(items), SYNC_ELEMENTS_PER_LINE):
            chunk = ", ".join(items[start : start + SYNC_ELEMENTS_PER_LINE])
            lines.append(f"add element {SET_REF} {{ {chunk} }}\n")
        self._apply("".join(lines))

    def entries(self) -> list[FirewallEntry]:
        """Every element with its remaining time and packet counter (`nft -j list set`)."""
        try:
            listing = self._nft.list_json("set", FAMILY, TABLE, SET)
        except (CommandError, NftFailed) as error:
            raise _set_error(error) from None
        try:
            return sorted(parse_set_json(listing), key=lambda entry: entry.mac)
        except (ValueError, KeyError, TypeError) as error:
            raise SetError(f"unexpected nft JSON: {type(error).__name__}") from None

    def counters(self) -> dict[str, int]:
        """Bytes each element has carried since it was added (`nft -j list set`)."""
        try:
            listing = self._nft.list_json("set", FAMILY, TABLE, SET)
        except (CommandError, NftFailed) as error:
            raise _set_error(error) from None
        try:
            return parse_set_bytes(listing)
        except (ValueError, KeyError, TypeError) as error:
            raise SetError(f"unexpected nft JSON: {type(error).__name__}") from None

    def _apply(self, script: str) -> None:
        with self._lock:
            try:
                self._nft.run(script)
            except (CommandError, NftFailed) as error:
                raise _set_error(error) from None

    def client_addresses(self, mac: str) -> list[str]:
        """The IPv4 addresses the neighbour table holds for `mac` (on the Wi-Fi side)."""
        return [
            neighbour.address
            for neighbour in neighbours(self._neighbour_table, mac=mac)
            if self._wifi_interface is None or neighbour.interface == self._wifi_interface
        ]

    def _drop_connections(self, mac: str) -> None:
        """Delete the conntrack entries the device opened, so established flows stop."""
        if self._conntrack is None:
            log.warning("conntrack is not installed: open connections survive a revoke")
            return
        for address in self.client_addresses(mac):
            try:
                done = self._run([self._conntrack, "-D", "-s", address])
            except CommandError as error:
                log.warning("revoke: conntrack failed: %s", error)
                continue
            if done.returncode not in (0, CONNTRACK_NOTHING_DELETED):
                log.warning("revoke: conntrack exited with status %d", done.returncode)


def _set_error(error: CommandError | NftFailed) -> SetError:
    if isinstance(error, CommandError):
        return SetError(str(error))
    first = next((line for line in error.output.splitlines() if line.strip()), "")
    return SetError(f"{error.summary}: {_masked(first)}")


def _elements(text: str) -> Iterable[str | dict[str, Any]]:
    document: dict[str, Any] = json.loads(text)
    for item in document["nftables"]:
        found = item.get("set") if isinstance(item, dict) else None
        if found:
            yield from found.get("elem", [])


def parse_set_bytes(text: str) -> dict[str, int]:
    """MAC → bytes counted, from `nft -j list set` output (a bare element: 0)."""
    counters: dict[str, int] = {}
    for element in _elements(text):
        if isinstance(element, str):
            counters[normalise_mac(element)] = 0
            continue
        inner = element["elem"]
        counter = inner.get("counter") or {}
        counters[normalise_mac(inner["val"])] = int(counter.get("bytes", 0))
    return counters


def parse_set_json(text: str) -> Iterable[FirewallEntry]:
    """Elements of `nft -j list set` output.

    nft 1.0.6 writes an element with attributes as
    {"elem": {"val": "aa:..", "timeout": 3600, "expires": 3599,
    "counter": {"packets": 0, "bytes": 0}}}, and a bare element as its value.
    An element without a timeout (only ever added by hand) reports 0 seconds left.
    """
    for element in _elements(text):
        if isinstance(element, str):
            yield FirewallEntry(normalise_mac(element), 0, 0)
            continue
        inner = element["elem"]
        counter = inner.get("counter") or {}
        yield FirewallEntry(
            normalise_mac(inner["val"]),
            int(inner.get("expires", 0)),
            int(counter.get("packets", 0)),
        )
