"""Which steps of each lesson this visit has seen: in the session, bound to the device.

A lesson is finished, and recorded under the device's pseudonym in the database
(portal/onboarding/path.py), only by a right answer POSTed once every step of it
was seen. What was seen lives in the signed session cookie with a tag of the
device it was seen on: an HMAC of the MAC and a random number drawn for this
visit, so the tag names no device outside the visit, and on another device the
same cookie shows nothing seen (and grants nothing: access reads the database).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable

from flask import session

from portal.onboarding.lessons import Lesson

SEEN_KEY = "seen"
"""Session key: {"nonce": this visit's random hex, "device": tag, "steps": {slug: [numbers]}}."""

DeviceTag = Callable[[str], str]
"""The visiting device's tag for a visit's nonce (LearningPaths.visit_tag, bound to its MAC)."""

Steps = dict[str, list[int]]


def _kept(tag: DeviceTag) -> tuple[str, Steps] | None:
    """This visit's nonce and seen steps, if the session's were seen on this device."""
    kept = session.get(SEEN_KEY)
    if not isinstance(kept, dict):
        return None
    nonce, device, steps = kept.get("nonce"), kept.get("device"), kept.get("steps")
    if not (isinstance(nonce, str) and isinstance(device, str) and isinstance(steps, dict)):
        return None
    return (nonce, steps) if hmac.compare_digest(device, tag(nonce)) else None


def mark_seen(lesson: Lesson, number: int, tag: DeviceTag) -> None:
    """Step `number` of `lesson` was shown to this device."""
    nonce, steps = _kept(tag) or (secrets.token_hex(16), {})
    numbers = set(steps.get(lesson.slug, []))
    if number not in numbers:
        steps = {**steps, lesson.slug: sorted(numbers | {number})}
        session[SEEN_KEY] = {"nonce": nonce, "device": tag(nonce), "steps": steps}


def first_unseen(lesson: Lesson, tag: DeviceTag) -> int | None:
    """The first step of `lesson` this device has not seen in this visit, or None."""
    _, steps = _kept(tag) or ("", {})
    seen = set(steps.get(lesson.slug, []))
    return next((step.number for step in lesson.steps if step.number not in seen), None)
