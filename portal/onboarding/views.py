"""The villager's path: language → lesson steps → check → access → "You are online".

Every step is a plain page with a link or a form POST, so it works without
JavaScript and in the iOS captive mini-browser.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from functools import partial

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from portal.context import client_mac, services
from portal.i18n import clock_time, current_language, duration
from portal.numbers import visitor_number
from portal.onboarding import progress
from portal.onboarding.lessons import ONBOARDING, Lesson, LessonStep

onboarding = Blueprint("onboarding", __name__)


def _lesson_or_404(slug: str) -> Lesson:
    lesson = services().lessons.get(slug)
    if lesson is None:
        abort(404)
    return lesson


def _step_or_404(lesson: Lesson, number: int) -> LessonStep:
    step = lesson.step(number)
    if step is None:
        abort(404)
    return step


def _identified_mac() -> str:
    mac = client_mac()
    if mac is None:
        abort(400)
    return mac


@onboarding.get("/")
def start() -> str:
    """Language choice; a returning device may go straight online and is offered a lesson."""
    found = services()
    mac = client_mac()
    found.stats.count("visits", current_language(), mac)
    online = mac is not None and found.book.seconds_left(mac) is not None
    returning = mac is not None and found.paths.returning(mac)
    return render_template(
        "start.html",
        online=online,
        returning=returning,
        next_lesson=found.paths.next_lesson(mac) if returning else None,
        lesson=found.lessons.onboarding,
    )


def _next_url(lesson: Lesson, step: LessonStep, trail: str) -> str:
    if step.number < len(lesson.steps):
        return url_for(".step", slug=lesson.slug, number=step.number + 1, seen=trail)
    return url_for(".finish", slug=lesson.slug)


def _render_step(lesson: Lesson, step: LessonStep, trail: str, wrong: int | None = None) -> str:
    return render_template(
        "step.html",
        lesson=lesson,
        step=step,
        total=len(lesson.steps),
        next_url=_next_url(lesson, step, trail),
        back_url=url_for(".step", slug=lesson.slug, number=step.number - 1, seen=trail)
        if step.number > 1
        else url_for(".start"),
        trail=trail,
        wrong=wrong,
        sent_back=request.args.get(SENT_BACK) == "1",
    )


def _device_tag(mac: str | None) -> progress.DeviceTag:
    # A device the portal cannot identify is never granted: its trail needs no binding.
    return partial(services().paths.visit_tag, mac or "")


SENT_BACK = "back"
"""In the address of a step a visitor was sent back to: the page says why (step.html)."""
WRONG = "wrong"
"""In the address of a question step after a wrong answer: which one (step.html says so)."""


def _resume(lesson: Lesson, trail: str = "", steps: AbstractSet[int] = frozenset()) -> BaseResponse:
    """To the first step of `lesson` not in `steps` (the ones its `trail` says this device
    saw); to its check if it saw them all. The step then says to look at it first."""
    number = progress.first_unseen(lesson, steps) or len(lesson.steps)
    target = url_for(".step", slug=lesson.slug, number=number, seen=trail or None, back="1")
    return redirect(target, 303)


@onboarding.get("/lesson/<slug>/<int:number>")
def step(slug: str, number: int) -> str:
    lesson = _lesson_or_404(slug)
    current = _step_or_404(lesson, number)
    tag = _device_tag(client_mac())
    nonce, steps = progress.seen(lesson, request.args.get(progress.TRAIL, ""), tag)
    trail = progress.trail_with(lesson, nonce, steps | {number}, tag)
    return _render_step(lesson, current, trail, wrong=_wrong_answer(current))


def _wrong_answer(step: LessonStep) -> int | None:
    """The wrong answer a visitor chose, from the address the answer sent it to; None when
    there is none (or the address names no wrong answer of this step's question)."""
    chosen = visitor_number(request.args.get(WRONG, ""))
    if step.check is None or chosen is None or not 1 <= chosen <= len(step.check.answers):
        return None
    return None if step.check.answers[chosen - 1].correct else chosen


@onboarding.post("/lesson/<slug>/<int:number>")
def answer(slug: str, number: int) -> str | BaseResponse:
    """The check question answered. The right answer finishes the lesson for this device,
    in the database, if it saw every step of the lesson first (its trail says so). A
    device the portal cannot identify (no MAC: it can never be granted) sees the end
    page, with nothing recorded."""
    lesson = _lesson_or_404(slug)
    current = _step_or_404(lesson, number)
    if current.check is None:
        abort(405)
    chosen = visitor_number(request.form.get("answer", ""))
    if chosen is None or not 1 <= chosen <= len(current.check.answers):
        abort(400)
    mac = client_mac()
    trail = request.form.get(progress.TRAIL, "")
    if not current.check.answers[chosen - 1].correct:
        # To a page of its own (POST, redirect, GET): Back and reload never resend the form.
        # No body: the phone follows the address at once, and the page stays under 30 KB.
        target = url_for(".step", slug=slug, number=number, seen=trail or None, wrong=chosen)
        return Response(status=303, headers={"Location": target})
    if mac is not None:
        _, steps = progress.seen(lesson, trail, _device_tag(mac))
        if progress.first_unseen(lesson, steps) is not None:
            return _resume(lesson, trail, steps)
        found = services()
        if not found.paths.has_finished(mac, slug):  # counted once a device, not at each resend
            found.stats.count("lessons", slug, mac)
            if slug == ONBOARDING:
                found.stats.count("completions")
        found.paths.record(mac, lesson, current_language())
    return redirect(_next_url(lesson, current, trail), 303)


@onboarding.get("/lesson/<slug>/done")
def finish(slug: str) -> str | BaseResponse:
    """The end of a lesson this device finished; for the onboarding lesson, the button that
    opens the Internet."""
    lesson = _lesson_or_404(slug)
    mac = client_mac()
    if mac is None:
        return render_template("finish.html", lesson=lesson, opens_access=False)
    if not services().paths.has_finished(mac, slug):
        return _resume(lesson)
    return render_template(
        "finish.html",
        lesson=lesson,
        opens_access=slug == ONBOARDING,
        session=duration(services().settings.access.session_minutes),
    )


@onboarding.post("/access")
def grant_access() -> BaseResponse:
    """Grant access to a device that finished the onboarding lesson, now or within 90 days:
    as the database says for this device, whatever its links carry. A device with more than
    half a session left is only sent to its online page: there is nothing to add yet."""
    mac = _identified_mac()
    found = services()
    if not found.paths.returning(mac):
        return _resume(found.lessons.onboarding)
    left = found.book.seconds_left(mac)
    if left is not None and not more_time_helps(left):
        # Nothing worth adding: a tap again, or a flood of them, costs no write and no firewall
        # change, only the grant view's read.
        return redirect(url_for(".online"), 303)
    found.book.give(mac)
    if left is None:  # "more time" extends a grant: not a new one
        found.stats.count("grants", "", mac)
    return redirect(url_for(".online"), 303)


def more_time_helps(left: int) -> bool:
    """Whether "Get more time" is offered with `left` seconds of access: only when at most
    half a session is left (sooner, a new session adds little and the button only puzzles)
    and the firewall takes grants (otherwise the tap would end on an error page)."""
    book = services().book
    return book.enforcing and left <= book.session_seconds // 2


@onboarding.get("/online")
def online() -> str | BaseResponse:
    found = services()
    mac = client_mac()
    expires = found.book.view.expires_at(mac) if mac else None
    if mac is None or expires is None:
        return redirect(url_for(".start"), 303)
    return render_template(
        "online.html",
        until=clock_time(expires),
        idle=duration(found.settings.access.idle_minutes),
        more_time=more_time_helps(found.book.seconds_left(mac) or 0),
        portal_url=found.settings.public_url,
        learned=found.paths.finished(mac),
        next_lesson=found.paths.next_lesson(mac),
    )


@onboarding.get("/pictogram/<slug>/<name>")
def pictogram(slug: str, name: str) -> Response:
    lesson = _lesson_or_404(slug)
    if not name.endswith(".svg"):
        abort(404)
    response: Response = send_from_directory(lesson.folder, name, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    # An SVG opened on its own must not run script, whatever a lesson folder holds.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
