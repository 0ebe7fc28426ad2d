"""Which steps of a lesson this visit has seen: carried in the lesson's own links, bound to
the device, with no cookie.

A lesson is finished, and recorded under the device's pseudonym in the database
(portal/onboarding/path.py), only by a right answer POSTed once every step of it
was seen. What was seen travels as a trail in every link and form of the lesson
(`seen=`), signed with the portal's secret key: the lesson, the steps seen, and a
tag of the device they were seen on, an HMAC of the MAC and a random number drawn
when the lesson began, so the tag names no device outside that walk. On another
device the same trail shows nothing seen (and grants nothing: access reads the
database). Phones that lose or refuse cookies walk the lesson all the same.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from collections.abc import Set as AbstractSet

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from portal.onboarding.lessons import Lesson

TRAIL = "seen"
"""The query and form field that carries a lesson's trail."""

DeviceTag = Callable[[str], str]
"""The visiting device's tag for a walk's nonce (LearningPaths.visit_tag, bound to its MAC)."""


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key or "", salt="lesson trail")


def seen(lesson: Lesson, trail: str, tag: DeviceTag) -> tuple[str, set[int]]:
    """The walk's nonce and the steps of `lesson` its trail says this device saw; a new
    nonce and nothing when the trail is missing, forged, another lesson's or another
    device's."""
    try:
        kept = _signer().loads(trail) if trail else None
    except BadData:
        kept = None
    if isinstance(kept, dict) and kept.get("lesson") == lesson.slug:
        nonce, device, steps = kept.get("nonce"), kept.get("device"), kept.get("steps")
        if (
            isinstance(nonce, str)
            and isinstance(device, str)
            and isinstance(steps, list)
            and hmac.compare_digest(device, tag(nonce))
        ):
            return nonce, {n for n in steps if isinstance(n, int)}
    return secrets.token_hex(16), set()


def trail_with(lesson: Lesson, nonce: str, steps: set[int], tag: DeviceTag) -> str:
    """The trail for links onward from a page, with `steps` seen."""
    known = sorted(n for n in steps if lesson.step(n) is not None)
    return str(
        _signer().dumps(
            {"lesson": lesson.slug, "nonce": nonce, "device": tag(nonce), "steps": known}
        )
    )


def first_unseen(lesson: Lesson, steps: AbstractSet[int]) -> int | None:
    """The first step of `lesson` not in `steps`, or None when all were seen."""
    return next((step.number for step in lesson.steps if step.number not in steps), None)
