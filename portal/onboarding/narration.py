"""Audio narration of lesson steps: espeak-ng speech, encoded as small MP3 files in a cache.

A clip's file name is a hash of everything that made it (voice, text, speech and
encoder settings). The portal finds a step's clip by computing the same name, so
it never serves audio for an old text; `narrate` makes only the clips that are
missing and deletes those no lesson needs any more.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from portal.onboarding.lessons import Answer, Lesson, LessonLibrary, LessonStep, Texts

NARRATION_FOLDER = "narration"
"""The cache's folder inside the data directory."""

MIMETYPE = "audio/mpeg"
"""MP3: the one format every old iPhone and cheap Android plays in <audio>."""

VOICES = {
    # Belgian French reads numbers the Belgian way (septante, nonante).
    "fr": "fr-be",
    "nl": "nl",
    "de": "de",
    "en": "en-gb",
    "ar": "ar",
    "uk": "uk",
    "tr": "tr",
    "it": "it",
    "ro": "ro",
}
"""espeak-ng voice for each portal language; a language without one gets no narration."""

SPEECH = ("-s", "150")
"""A little slower than espeak-ng's 175 words a minute: the listeners are beginners."""

ENCODER = ("-m", "m", "--resample", "16", "-b", "24", "--noreplaygain")
"""Mono, 16 kHz, 24 kbit/s constant bit rate: clear speech at about 3 KB a second."""

CLIP_BUDGET = 40 * 1024
"""Bytes one clip may take (about 13 s); a longer one is reported, as its sentence is too
long anyway. Trixie's espeak-ng (1.52) says Ukrainian about half again as slowly as
Bookworm's: a step of two short sentences takes up to 12 s there (35 KB)."""

RECIPE_VERSION = 2
"""Bump to rebuild every clip when the way clips are made changes outside the settings."""

_CLIP = re.compile(r"^[0-9a-f]{32}\.(mp3|part)$")
TOOL_TIMEOUT = 60


class NarrationError(RuntimeError):
    """Narration cannot be built: a tool is missing or failed; the message says which."""


def said(texts: Texts, speech: Texts, language: str) -> str | None:
    """How the speaker says `texts` in `language`: as its speech table has it, else as written."""
    return speech.get(language) or texts.get(language) or None


def step_speech(step: LessonStep, language: str) -> str | None:
    """What the step's speaker says: its sentence, then its check question if it has one."""
    sentence = said(step.text, step.speech, language)
    if sentence is None:
        return None
    question = said(step.check.question, step.check.speech, language) if step.check else None
    return f"{sentence} {question}" if question else sentence


def answer_speech(answer: Answer, language: str) -> str | None:
    """What an answer's small speaker says: its label."""
    return said(answer.label, answer.speech, language)


PAGES = ("start", "online")
"""The pages whose main sentence has a speaker (start.html, online.html)."""


def page_speech(page: str, language: str) -> str:
    """What the page's speaker says in `language` (needs an app context): its main sentence
    from the catalogs, where the context "speech" gives it as it is said (vowelled Arabic)."""
    from flask_babel import force_locale, pgettext

    with force_locale(language):
        said = {
            "start": [
                pgettext("speech", "First, a short lesson with pictures. Then you are online.")
            ],
            "online": [
                pgettext("speech", "You are online."),
                pgettext("speech", "When the time is over, open your browser."),
            ],
        }[page]
    return " ".join(said)


def clip_name(text: str | None, language: str) -> str | None:
    """The cache file name for `text` said in `language`, or None if it cannot be narrated."""
    voice = VOICES.get(language)
    if voice is None or text is None:
        return None
    recipe = json.dumps([RECIPE_VERSION, voice, SPEECH, ENCODER, text], ensure_ascii=False)
    return hashlib.sha256(recipe.encode("utf-8")).hexdigest()[:32] + ".mp3"


@dataclass(frozen=True)
class NarrationCache:
    """The folder of clips; it answers only for clips whose name a text to say gives."""

    folder: Path

    def clip(self, text: str | None, language: str) -> Path | None:
        name = clip_name(text, language)
        if name is None:
            return None
        path = self.folder / name
        return path if path.is_file() else None


@dataclass(frozen=True)
class Tools:
    """Full paths of the two programs that make a clip."""

    espeak: str
    lame: str

    @classmethod
    def find(cls) -> Tools:
        espeak = shutil.which("espeak-ng")
        if espeak is None:
            raise NarrationError(
                "espeak-ng is not installed: install the Debian package 'espeak-ng' "
                "(apt install espeak-ng)"
            )
        lame = shutil.which("lame")
        if lame is None:
            raise NarrationError(
                "lame is not installed: install the Debian package 'lame' (apt install lame)"
            )
        return cls(espeak=espeak, lame=lame)


def _run(argv: list[str], data: bytes) -> bytes:
    try:
        done = subprocess.run(  # noqa: S603 — argv list of a resolved program, no shell
            argv, input=data, capture_output=True, check=True, timeout=TOOL_TIMEOUT
        )
    except subprocess.CalledProcessError as error:
        problem = error.stderr.decode("utf-8", "replace").strip() or f"exit {error.returncode}"
        raise NarrationError(f"{Path(argv[0]).name} failed: {problem}") from error
    except subprocess.TimeoutExpired as error:
        raise NarrationError(f"{Path(argv[0]).name} took over {TOOL_TIMEOUT} s") from error
    return done.stdout


UNSAID = str.maketrans("", "", '«»\u2039\u203a“”„"')  # guillemets, single ones, curly, straight
"""Quotation marks, which espeak-ng 1.52 (Debian Trixie) reads out by name: "«назад»"
took three seconds more than "назад"."""


def synthesise(tools: Tools, voice: str, text: str, target: Path) -> None:
    """Speak `text` with `voice` into the MP3 file `target`, which appears whole or not at all."""
    spoken = text.translate(UNSAID).encode("utf-8")
    wave = _run([tools.espeak, "-v", voice, *SPEECH, "--stdin", "--stdout"], spoken)
    partial = target.with_suffix(".part")
    _run([tools.lame, "--quiet", *ENCODER, "-", str(partial)], wave)
    partial.replace(target)


@dataclass(frozen=True)
class LessonNarration:
    """What one lesson's run did (or the pages', under the slug "pages")."""

    slug: str
    made: int
    kept: int
    seconds: float

    def line(self) -> str:
        return f"{self.slug}: {self.made} made, {self.kept} kept ({self.seconds:.1f} s)"


@dataclass(frozen=True)
class _Clip:
    voice: str
    text: str
    where: str


def _wanted(lessons: Iterable[Lesson], languages: Iterable[str]) -> dict[str, _Clip]:
    """Clip name → what to say, for every step and answer of `lessons` in `languages`."""
    wanted = {}
    for lesson in lessons:
        for step in lesson.steps:
            where = f"lesson {lesson.slug}, step {step.number}"
            for language in languages:
                said_here = [(step_speech(step, language), where)]
                if step.check:
                    said_here += [
                        (answer_speech(answer, language), f"{where}, answer {number}")
                        for number, answer in enumerate(step.check.answers, start=1)
                    ]
                for text, place in said_here:
                    name = clip_name(text, language)
                    if name is not None and text is not None:
                        wanted[name] = _Clip(VOICES[language], text, f"{place}, {language}")
    return wanted


def _pages_wanted(languages: Iterable[str]) -> dict[str, _Clip]:
    """Clip name → what to say, for every page with a speaker in `languages`."""
    from portal.i18n import catalog_app
    from portal.resources import TRANSLATIONS, bundled

    wanted = {}
    with catalog_app(bundled(*TRANSLATIONS), typeset=False).app_context():
        for page in PAGES:
            for language in languages:
                text = page_speech(page, language)
                name = clip_name(text, language)
                if name is not None:
                    wanted[name] = _Clip(VOICES[language], text, f"page {page}, {language}")
    return wanted


def narrate(
    library: LessonLibrary,
    languages: tuple[str, ...],
    folder: Path,
    *,
    only: Iterable[str] = (),
    tools: Tools | None = None,
    workers: int = os.cpu_count() or 2,
    progress: Callable[[str], None] = print,
) -> list[LessonNarration]:
    """Make the missing clips of the pages and of every lesson (or of `only`), and delete
    clips nothing needs any more.

    Clips of lessons outside `only` are kept while their text is current.
    """
    # Imported here: the web workers import this module for NarrationCache alone.
    from concurrent.futures import ThreadPoolExecutor

    tools = tools or Tools.find()
    chosen = set(only)
    unknown = chosen - {lesson.slug for lesson in library.path}
    if unknown:
        raise NarrationError(f"no lesson named {', '.join(sorted(unknown))}")
    folder.mkdir(parents=True, exist_ok=True)
    pages = _pages_wanted(languages)
    # The pages first: the start page is the first a visitor sees.
    groups = [("pages", pages)] + [
        (lesson.slug, _wanted([lesson], languages))
        for lesson in library.path
        if not chosen or lesson.slug in chosen
    ]
    reports = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for slug, clips in groups:
            started = time.monotonic()
            missing = [name for name in clips if not (folder / name).is_file()]
            jobs = [
                pool.submit(synthesise, tools, clips[name].voice, clips[name].text, folder / name)
                for name in missing
            ]
            for job in jobs:
                job.result()
            report = LessonNarration(
                slug, len(missing), len(clips) - len(missing), time.monotonic() - started
            )
            progress(report.line())
            for name in missing:
                if (folder / name).stat().st_size > CLIP_BUDGET:
                    progress(f"warning: {clips[name].where} is over {CLIP_BUDGET // 1024} KB")
            reports.append(report)
    needed = _wanted(library.path, languages) | pages
    stale = [
        path
        for path in folder.iterdir()
        if _CLIP.match(path.name) and (path.suffix == ".part" or path.name not in needed)
    ]
    for path in stale:
        path.unlink(missing_ok=True)
    if stale:
        progress(f"deleted {len(stale)} clip(s) no lesson needs any more")
    return reports
