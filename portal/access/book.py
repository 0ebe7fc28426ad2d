"""The grant lifecycle: give, extend, withdraw, expire, idle out, restore after a reboot.

The database is the store of record; the firewall enforces. A grant reaches the
firewall before its row is written, a withdrawal after its row is deleted, so a
firewall failure leaves no grant on record that is not enforced. A write that fails
after the firewall change (the card full, say) takes that change back at once; what
the set still holds without a record (the firewall did not answer then either) is
swept away. The firewall is never called while a give or withdraw holds the database's
write lock: a slow gatekeeper must not make every other writer wait on it.

When the wall clock jumps (portal/wallclock.py says what every part does), a grant
lasts its session of real elapsed time, as its element's timeout in the kernel does: the
set is the measure of a grant's time (`_follow_the_set`, idleness in `_idle`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from portal.access.firewall import Clock, Firewall, FirewallError
from portal.access.view import GrantView
from portal.gatekeeper.protocol import MAX_SYNC_GRANTS, FirewallEntry
from portal.models import Grant, writing
from portal.wallclock import CLOCK_STEP_SECONDS

log = logging.getLogger(__name__)


@dataclass
class _Activity:
    packets: int
    left_at_change: int
    """The element's seconds left when its packet counter last moved: what it has counted
    down since is real time, whatever the wall clock did."""


class GrantBook:
    def __init__(
        self,
        firewall: Firewall,
        view: GrantView,
        *,
        session_seconds: int,
        idle_seconds: int,
        clock: Clock,
    ) -> None:
        self.firewall = firewall
        self.view = view
        self.session_seconds = session_seconds
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._activity: dict[str, _Activity] = {}
        self._strays: set[str] = set()
        """Set entries without a grant at the last sweep."""
        self._restored = threading.Event()

    def _now(self) -> int:
        return int(self._clock())

    def now(self) -> int:
        """The book's clock (Unix seconds): what its grants' times are counted against."""
        return self._now()

    def give(self, mac: str) -> Grant:
        """Grant access for a full session from now (extends an existing grant); if its row
        cannot be written, the firewall goes back to what the record says and the error
        is raised."""
        self.firewall.grant(mac, self.session_seconds)
        try:
            grant = Grant.give(mac, self._now(), self.session_seconds)
        except Exception:
            # The record is as before the give: only a failure pays for reading it (the
            # grant view may read every grant on record).
            self._take_back(mac, self.seconds_left(mac))
            raise
        log.info("access granted for %d s", self.session_seconds)
        return grant

    def _take_back(self, mac: str, left: int | None) -> None:
        """Undo a grant whose row was not written: the time left on record, or no access."""
        try:
            if left:
                self.firewall.grant(mac, left)
            else:
                self.firewall.revoke(mac)
        except FirewallError as error:
            log.warning("a grant not on record stays until the sweep: %s", error)

    def withdraw(self, mac: str) -> None:
        Grant.withdraw(mac)
        self.firewall.revoke(mac)
        self._activity.pop(mac, None)

    def seconds_left(self, mac: str) -> int | None:
        """Remaining access for `mac`, read from memory (no database write)."""
        expires = self.view.expires_at(mac)
        return None if expires is None else max(0, expires - self._now())

    @property
    def enforcing(self) -> bool:
        """Has the firewall taken this worker's grants on record (can access be given)?"""
        return self._restored.is_set()

    def restore(self) -> int:
        """After a reboot, a ruleset reload or a gatekeeper that came late: put every
        unexpired grant the set lacks back into it; returns how many were put back.

        Every worker calls this when it starts. It only adds, never replaces, and holds
        the write lock meanwhile, so a grant or a withdrawal by another worker can
        neither be dropped nor undone by this worker's snapshot. An empty set gets one
        sync (at most MAX_SYNC_GRANTS entries); anything else is added one by one.
        """
        with writing():
            now = self._now()
            on_record = Grant.expiries()
            entries = self.firewall.list()
            self._follow_the_set(on_record, entries, now)
            Grant.purge_expired(now)
            present = {entry.mac for entry in entries}
            missing = [
                (grant.mac, min(left, self.session_seconds))
                for grant in Grant.unexpired(now)
                if grant.mac not in present and (left := grant.seconds_left(now)) > 0
            ]
            first = missing[:MAX_SYNC_GRANTS] if not present else []
            if first:
                self.firewall.sync(dict(first))
            for mac, left in missing[len(first) :]:
                self.firewall.grant(mac, left)
        self._restored.set()
        return len(missing)

    def _try_restore(self, next_try: float) -> bool:
        """One `restore`; a failure is logged with when the next try comes."""
        try:
            self.restore()
        except FirewallError as error:
            log.warning("firewall not ready (%s); access waits, next try in %g s", error, next_try)
        except Exception:  # e.g. the database busy: a retrying thread must live on
            log.exception("restoring grants failed; next try in %g s", next_try)
        else:
            return True
        return False

    def keep_restoring(
        self,
        stop: threading.Event,
        first_wait: float = 1.0,
        longest_wait: float = 30.0,
        *,
        tried: bool = False,
    ) -> bool:
        """Retry `restore` until it works or `stop` is set: the gatekeeper, or its ruleset,
        may come up after the portal. `tried`: the first try was made already, wait first.
        Returns whether the grants were restored."""
        wait = first_wait
        if not tried and self._try_restore(wait):
            return True
        while not stop.wait(wait):
            wait = min(wait * 2, longest_wait)
            if self._try_restore(wait):
                return True
        return False

    def restore_in_background(self) -> None:
        """Restore now if the firewall answers, else keep trying in a thread (lessons and
        guides are served meanwhile)."""
        if not self._try_restore(1.0):
            threading.Thread(
                target=self.keep_restoring,
                args=(threading.Event(),),
                kwargs={"tried": True},
                name="restore",
                daemon=True,
            ).start()

    def sweep(self) -> list[str]:
        """Housekeeping: purge expired grants, withdraw idle ones and any unrecorded entry.

        Returns the MACs withdrawn (kept in memory only, for the caller's count).
        """
        now = self._now()
        on_record = Grant.expiries()  # read before the set: see _follow_the_set
        entries = self.firewall.list()
        self._follow_the_set(on_record, entries, now)
        Grant.purge_expired(now)
        recorded = {g.mac for g in Grant.unexpired(now)}
        withdrawn, strays = [], set()
        for entry in entries:
            if entry.mac not in recorded:
                # A grant reaches the set just before its row commits, so one made
                # during this sweep looks unrecorded: a stray must be seen twice.
                if entry.mac not in self._strays:
                    strays.add(entry.mac)
                    continue
            elif not self._idle(entry):
                continue
            self.withdraw(entry.mac)
            withdrawn.append(entry.mac)
        self._strays = strays
        for mac in set(self._activity) - recorded:
            del self._activity[mac]
        if withdrawn:
            log.info("withdrew access of %d idle or unrecorded device(s)", len(withdrawn))
        return withdrawn

    def _follow_the_set(
        self, on_record: list[tuple[str, int]], entries: list[FirewallEntry], now: int
    ) -> int:
        """Move every row whose expiry is CLOCK_STEP_SECONDS or more from its element's
        (the wall clock stepped since it was written) to the element's; returns how many.

        `on_record` was read before `entries` were listed, and a row moves only if it is
        still as read: a grant given in between (its element first, then its row) is
        never moved back to the timeout its element had before."""
        expiries = {entry.mac: now + entry.seconds_left for entry in entries}
        moved = 0
        for mac, expires_at in on_record:
            shift = expiries.get(mac, expires_at) - expires_at
            if abs(shift) >= CLOCK_STEP_SECONDS:
                moved += Grant.shift(mac, expires_at, shift)
        if moved:
            log.warning("the clock stepped: %d grant(s) follow their firewall timeout", moved)
        return moved

    def _idle(self, entry: FirewallEntry) -> bool:
        seen = self._activity.get(entry.mac)
        if (
            seen is None
            or entry.packets != seen.packets
            or entry.seconds_left > seen.left_at_change
        ):
            # New, active, or granted again (its timeout started over).
            self._activity[entry.mac] = _Activity(entry.packets, entry.seconds_left)
            return False
        return seen.left_at_change - entry.seconds_left >= self.idle_seconds
