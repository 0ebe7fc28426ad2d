"""Which steps of each lesson this visit has seen: in the session, bound to the device.

A lesson is finished, and recorded under the device's pseudonym in the database
(portal/onboarding/path.py), only by a right answer POSTed once every step of it
was seen. What was seen lives in the signed session cookie together with a tag
of the device it was seen on: a cookie carried to another device shows that
device nothing seen, and grants it nothing (access reads the database).
"""

from __future__ import annotations

from flask import session

from portal.onboarding.lessons import Lesson

SEEN_KEY = "seen"
"""Session key: {"device": tag, "steps": {lesson slug: [step numbers seen]}}."""


def _seen(tag: str) -> dict[str, list[int]]:
    kept = session.get(SEEN_KEY)
    if not isinstance(kept, dict) or kept.get("device") != tag:
        return {}
    steps = kept.get("steps")
    return steps if isinstance(steps, dict) else {}


def mark_seen(lesson: Lesson, number: int, tag: str) -> None:
    """Step `number` of `lesson` was shown to the device tagged `tag`."""
    steps = _seen(tag)
    numbers = set(steps.get(lesson.slug, []))
    if number not in numbers:
        steps = {**steps, lesson.slug: sorted(numbers | {number})}
        session[SEEN_KEY] = {"device": tag, "steps": steps}


def first_unseen(lesson: Lesson, tag: str) -> int | None:
    """The first step of `lesson` this device has not seen in this visit, or None."""
    seen = set(_seen(tag).get(lesson.slug, []))
    return next((step.number for step in lesson.steps if step.number not in seen), None)
