"""The speaker beside each step: serves the step's narration clip and tells templates its URL.

Only clips whose names the current lesson texts give are ever served, so a
request cannot reach another file, and an old text's clip is never played.
With no clip in the cache the page simply shows no speaker.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, send_file, url_for

from portal.context import services
from portal.i18n import current_language
from portal.onboarding.lessons import Lesson, LessonStep
from portal.onboarding.narration import MIMETYPE

speaker = Blueprint("speaker", __name__)

CLIP_MAX_AGE = 86400
"""Clips change only with the lesson texts; the URL carries the clip's version anyway."""


def narration_url(lesson: Lesson, step: LessonStep) -> str | None:
    """Where the step's clip in the page's language is, or None when there is none."""
    language = current_language()
    clip = services().narration.clip(step, language)
    if clip is None:
        return None
    return url_for(
        "speaker.clip", slug=lesson.slug, number=step.number, lang=language, v=clip.stem[:8]
    )


@speaker.app_context_processor
def speaker_context() -> dict[str, object]:
    return {"narration_url": narration_url}


@speaker.get("/narration/<slug>/<int:number>/<lang>.mp3")
def clip(slug: str, number: int, lang: str) -> Response:
    lesson = services().lessons.get(slug)
    step = lesson.step(number) if lesson is not None else None
    if step is None or lang not in services().settings.site.languages:
        abort(404)
    path = services().narration.clip(step, lang)
    if path is None:
        abort(404)
    # conditional=True answers Range requests with 206: iOS Safari's <audio> needs them.
    response = send_file(
        path,
        mimetype=MIMETYPE,
        conditional=True,
        max_age=CLIP_MAX_AGE,
        download_name=f"{slug}-{number}-{lang}.mp3",
    )
    response.headers["Cache-Control"] = f"public, max-age={CLIP_MAX_AGE}"
    return response
