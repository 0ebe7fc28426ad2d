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

from portal.onboarding.lessons import Lesson, LessonLibrary, LessonStep

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

CLIP_BUDGET = 30 * 1024
"""Bytes one clip may take; a longer one is reported, as its sentence is too long anyway."""

RECIPE_VERSION = 1
"""Bump to rebuild every clip when the way clips are made changes outside the settings."""

_CLIP = re.compile(r"^[0-9a-f]{32}\.(mp3|part)$")
TOOL_TIMEOUT = 60


class NarrationError(RuntimeError):
    """Narration cannot be built: a tool is missing or failed; the message says which."""


def spoken_text(step: LessonStep, language: str) -> str | None:
    """What the speaker says: the step's sentence, then its check question if it has one."""
    sentence = step.text.get(language)
    if not sentence:
        return None
    if step.check is not None and step.check.question.get(language):
        return f"{sentence} {step.check.question[language]}"
    return sentence


def clip_name(step: LessonStep, language: str) -> str | None:
    """The cache file name for this step in this language, or None if it cannot be narrated."""
    voice = VOICES.get(language)
    text = spoken_text(step, language)
    if voice is None or text is None:
        return None
    recipe = json.dumps([RECIPE_VERSION, voice, SPEECH, ENCODER, text], ensure_ascii=False)
    return hashlib.sha256(recipe.encode("utf-8")).hexdigest()[:32] + ".mp3"


@dataclass(frozen=True)
class NarrationCache:
    """The folder of clips; it answers only for clips whose name the lessons give."""

    folder: Path

    def clip(self, step: LessonStep, language: str) -> Path | None:
        name = clip_name(step, language)
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


def synthesise(tools: Tools, voice: str, text: str, target: Path) -> None:
    """Speak `text` with `voice` into the MP3 file `target`, which appears whole or not at all."""
    wave = _run([tools.espeak, "-v", voice, *SPEECH, "--stdin", "--stdout"], text.encode("utf-8"))
    partial = target.with_suffix(".part")
    _run([tools.lame, "--quiet", *ENCODER, "-", str(partial)], wave)
    partial.replace(target)


@dataclass(frozen=True)
class LessonNarration:
    """What one lesson's run did."""

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
    """Clip name → what to say, for every step of `lessons` in `languages`."""
    wanted = {}
    for lesson in lessons:
        for step in lesson.steps:
            for language in languages:
                name = clip_name(step, language)
                text = spoken_text(step, language)
                if name is not None and text is not None:
                    where = f"lesson {lesson.slug}, step {step.number}, {language}"
                    wanted[name] = _Clip(VOICES[language], text, where)
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
    """Make the missing clips of every lesson (or of `only`) and delete clips no lesson needs.

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
    reports = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for lesson in library.path:
            if chosen and lesson.slug not in chosen:
                continue
            started = time.monotonic()
            clips = _wanted([lesson], languages)
            missing = [name for name in clips if not (folder / name).is_file()]
            jobs = [
                pool.submit(synthesise, tools, clips[name].voice, clips[name].text, folder / name)
                for name in missing
            ]
            for job in jobs:
                job.result()
            report = LessonNarration(
                lesson.slug, len(missing), len(clips) - len(missing), time.monotonic() - started
            )
            progress(report.line())
            for name in missing:
                if (folder / name).stat().st_size > CLIP_BUDGET:
                    progress(f"warning: {clips[name].where} is over {CLIP_BUDGET // 1024} KB")
            reports.append(report)
    needed = _wanted(library.path, languages)
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
