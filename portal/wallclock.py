"""What the portal does when the wall clock jumps: the one place that says it.

A Raspberry Pi has no battery-backed clock. It boots at the time fake-hwclock last saved,
or in 1970, and NTP then moves it forward by months or years; a bad time source, or a
volunteer's `date`, can also step it back. So what the portal measures is real elapsed
time wherever it can be, and what it dates is marked when the clock cannot be believed:

- Grants (portal/access/book.py) last their session of real elapsed time, as the kernel's
  element timeout in the set `allowed` counts it, on a monotonic clock. Every sweep and
  restore moves a row that disagrees with its element by CLOCK_STEP_SECONDS or more to
  the element's expiry; idleness is the element's countdown. So a jump forward ends no
  grant, a step back makes none last longer; until the next sweep (access.sweep_seconds),
  a worker may say a grant ended, or not. After a power cut the Pi cannot tell how long it
  was off: a grant put back into the set before NTP answers lasts what the clock then left
  it, and never more than one session.
- Statistics (portal/stats/tally.py) are dated (synced=1) only while the clock is
  synchronised and not behind the latest hour already counted as dated: a step back never
  adds to an hour or a day the clock had left; what it counts is kept apart (synced=0),
  in no week or month, as are counts before the first synchronisation.
- Learning paths (portal/onboarding/path.py) are kept 90 days after the device's last
  visit. A visit never moves that date back; a jump forward, as `ClockSteps` sees it in the
  housekeeping, moves the dates the old clock gave with it. So no path is forgotten early;
  one may be kept longer, by as long as the clock was behind.
- An admin session, and a delay after failed sign-ins (portal/admin), never last longer
  because the clock stepped back.
- Waits and timings (the keeper's minute, timeouts, durations) use time.monotonic; the
  times shown to people (until when access lasts, since when the uplink is down) are the
  wall clock's, right once it is.
"""

from __future__ import annotations

import time

from portal.access.firewall import Clock

CLOCK_STEP_SECONDS = 60
"""A difference smaller than this is the time it took to write two things, never a step
(nothing is rewritten for it: the SD card wears out)."""


class ClockSteps:
    """How far the wall clock stepped between two looks: the change of its distance to the
    monotonic clock (NTP's slewing moves both alike; only a step changes it)."""

    def __init__(self, clock: Clock = time.time, monotonic: Clock = time.monotonic) -> None:
        self._clock = clock
        self._monotonic = monotonic
        self._offset = clock() - monotonic()

    def stepped(self) -> float:
        """Seconds the wall clock stepped since the last look (negative: back), 0 for less
        than CLOCK_STEP_SECONDS."""
        offset = self._clock() - self._monotonic()
        step, self._offset = offset - self._offset, offset
        return step if abs(step) >= CLOCK_STEP_SECONDS else 0.0
