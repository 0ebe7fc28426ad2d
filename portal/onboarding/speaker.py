"""The speakers: beside each step, each answer and the main sentence of the start and online
pages. Serves their narration clips and tells templates their URLs.

Only clips whose names the current texts give are ever served, so a request cannot
reach another file, and an old text's clip is never played. With no clip in the
cache the page simply shows no speaker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, send_file, url_for

from portal.context import services
from portal.i18n import current_language
from portal.onboarding.lessons import Lesson, LessonStep
from portal.onboarding.narration import MIMETYPE, PAGES, answer_speech, page_speech, step_speech

speaker = Blueprint("speaker", __name__)

CLIP_MAX_AGE = 86400
"""Clips change only with the texts; the URL carries the clip's version anyway."""


def _url(endpoint: str, text: str | None, language: str, **values: Any) -> str | None:
    clip = services().narration.clip(text, language)
    if clip is None:
        return None
    return url_for(endpoint, lang=language, v=clip.stem[:8], **values)


def narration_url(lesson: Lesson, step: LessonStep) -> str | None:
    """Where the step's clip in the page's language is, or None when there is none."""
    language = current_language()
    return _url(
        "speaker.clip", step_speech(step, language), language, slug=lesson.slug, number=step.number
    )


def answer_narration_url(lesson: Lesson, step: LessonStep, choice: int) -> str | None:
    """Where the clip of answer `choice` (from 1) of the step's check is, or None."""
    if step.check is None:
        return None
    language = current_language()
    text = answer_speech(step.check.answers[choice - 1], language)
    return _url(
        "speaker.answer_clip", text, language, slug=lesson.slug, number=step.number, choice=choice
    )


def page_narration_url(page: str) -> str | None:
    """Where the clip of the page's main sentence is, or None."""
    language = current_language()
    return _url("speaker.page_clip", page_speech(page, language), language, page=page)


@speaker.app_context_processor
def speaker_context() -> dict[str, object]:
    return {
        "narration_url": narration_url,
        "answer_narration_url": answer_narration_url,
        "page_narration_url": page_narration_url,
    }


def _step_or_404(slug: str, number: int, lang: str) -> LessonStep:
    lesson = services().lessons.get(slug)
    step = lesson.step(number) if lesson is not None else None
    if step is None or lang not in services().settings.site.languages:
        abort(404)
    return step


def _send(path: Path | None, download_name: str) -> Response:
    if path is None:
        abort(404)
    # conditional=True answers Range requests with 206: iOS Safari's <audio> needs them.
    response = send_file(
        path,
        mimetype=MIMETYPE,
        conditional=True,
        max_age=CLIP_MAX_AGE,
        download_name=download_name,
    )
    response.headers["Cache-Control"] = f"public, max-age={CLIP_MAX_AGE}"
    return response


@speaker.get("/narration/<slug>/<int:number>/<lang>.mp3")
def clip(slug: str, number: int, lang: str) -> Response:
    step = _step_or_404(slug, number, lang)
    path = services().narration.clip(step_speech(step, lang), lang)
    return _send(path, f"{slug}-{number}-{lang}.mp3")


@speaker.get("/narration/<slug>/<int:number>/<int:choice>/<lang>.mp3")
def answer_clip(slug: str, number: int, choice: int, lang: str) -> Response:
    step = _step_or_404(slug, number, lang)
    if step.check is None or not 1 <= choice <= len(step.check.answers):
        abort(404)
    path = services().narration.clip(answer_speech(step.check.answers[choice - 1], lang), lang)
    return _send(path, f"{slug}-{number}-{choice}-{lang}.mp3")


@speaker.get("/narration/page/<page>/<lang>.mp3")
def page_clip(page: str, lang: str) -> Response:
    if page not in PAGES or lang not in services().settings.site.languages:
        abort(404)
    return _send(services().narration.clip(page_speech(page, lang), lang), f"{page}-{lang}.mp3")
