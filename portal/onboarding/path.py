"""A device's personal learning path, without an account.

Progress is filed under HMAC(site key, MAC): the table never holds a MAC, and
a new site key makes old rows unlinkable (they expire after 90 days anyway). Those are 90
days of the device's absence, whatever the clock did (portal/wallclock.py).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta

from portal.access.firewall import Clock
from portal.models import LearningPath
from portal.onboarding.lessons import ONBOARDING, Lesson, LessonLibrary

RETENTION = timedelta(days=90)


class LearningPaths:
    def __init__(self, site_key: bytes, lessons: LessonLibrary, clock: Clock) -> None:
        self._site_key = site_key
        self._lessons = lessons
        self._clock = clock

    def _today(self) -> date:
        return datetime.fromtimestamp(self._clock(), UTC).date()

    def device(self, mac: str) -> str:
        return hmac.new(self._site_key, mac.encode("ascii"), hashlib.sha256).hexdigest()

    def visit_tag(self, mac: str, nonce: str) -> str:
        """What a visit's session names the device by (portal/onboarding/progress.py): bound
        to the MAC and the visit's random `nonce`, not the key its path is filed under."""
        tagged = f"visit {nonce} {mac}".encode("ascii", "replace")
        return hmac.new(self._site_key, tagged, hashlib.sha256).hexdigest()[:32]

    def finished(self, mac: str) -> list[Lesson]:
        """Lessons this device has finished, in the path's order."""
        done = set(LearningPath.finished(self.device(mac)))
        return [lesson for lesson in self._lessons.path if lesson.slug in done]

    def has_finished(self, mac: str, slug: str) -> bool:
        """Has this device finished the lesson `slug` (within 90 days)?"""
        return slug in LearningPath.finished(self.device(mac))

    def returning(self, mac: str) -> bool:
        """Has this device done the mandatory lesson before (within 90 days)?"""
        return self.has_finished(mac, ONBOARDING)

    def record(self, mac: str, lesson: Lesson, language: str) -> None:
        LearningPath.record(self.device(mac), lesson.slug, self._today(), language)

    def language_of(self, mac: str | None) -> str:
        """The language this device last finished a lesson in (within 90 days), or ""."""
        return LearningPath.language_of(self.device(mac)) if mac else ""

    def next_lesson(self, mac: str | None) -> Lesson | None:
        """The first lesson of the path this device has not finished yet."""
        done = set(LearningPath.finished(self.device(mac))) if mac else set()
        return next((lesson for lesson in self._lessons.path if lesson.slug not in done), None)


def forget_old_paths(today: date) -> int:
    """Delete paths of devices not seen for 90 days."""
    return LearningPath.forget_before(today - RETENTION)


def follow_clock_jump(before: date, today: date) -> int:
    """The clock jumped forward from `before` to `today`: the paths it had dated up to
    `before` move with it, so the days it skipped count for none of them (portal/wallclock.py).
    Returns how many moved."""
    return LearningPath.move_forward(before, (today - before).days)
