"""Install time of a generated 50 MB guide pack, against plain tar extraction of the same file.

The pack: synthetic guides (four languages, the four sections of content/README.md)
and random WebP-sized pictures, built and signed with a throw-away key. Each round
does, on a warm page cache and fresh folders:

- baseline: `tarfile` extraction of the same archive, then the SHA-256 of every file;
- install: `portal.guides.store.install_file` — free-space check, signature,
  hash-checked staging with fsync, prepare() (render + search index), switch.

Target: the pack handling alone (install minus prepare, which renders the pages and
belongs to the reading side) within 3x the baseline.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import random
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.harness import describe_machine
from portal.config import Settings
from portal.guides import render, store
from portal.guides.pack.build import build_pack
from portal.guides.pack_keys import generate_keys, load_private_key

LANGUAGES = ("fr", "nl", "de", "en")
HEADINGS = ("What you need", "Step by step", "Where to get human help", "How to avoid scams")
WORDS = ("carte", "identite", "code", "pin", "commune", "pension", "impots", "sante", "travail")
TARGET_RATIO = 3.0


def _page(guide: str, language: str, rng: random.Random, sentences: int) -> str:
    def sentence() -> str:
        return " ".join(rng.choice(WORDS) for _ in range(10)).capitalize() + "."

    sections = "".join(
        f"\n## {heading}\n\n"
        + "".join(f"{n}. {sentence()}\n" for n in range(1, sentences // 4 + 1))
        for heading in HEADINGS
    )
    return (
        f'+++\nid = "{guide}"\ntitle = "Guide {guide}"\nsummary = "{sentence()}"\n'
        f'language = "{language}"\ntopic = "commune"\ntags = ["{rng.choice(WORDS)}"]\n'
        f'updated = 2026-11-26\npictogram = "{guide}.webp"\n'
        'sources = [{name = "Belgium.be", url = "https://www.belgium.be"}]\n'
        f"+++\n\n{sentence()}\n{sections}\n{{{{ local_help }}}}\n"
    )


def make_source(folder: Path, megabytes: int, guides: int) -> None:
    """A valid pack source of about `megabytes`: pages of text, the rest in pictures."""
    rng = random.Random(5)  # the same pack every run
    (folder / "images").mkdir(parents=True)
    (folder / "pack.toml").write_text(
        'id = "passerelle-wallonie"\nversion = "2026.11.1"\n'
        'languages = ["fr", "nl", "de", "en"]\ndefault_language = "fr"\n'
        'min_portal_version = "0.1.0"\n[title]\n'
        + "".join(f'{code} = "Bench"\n' for code in LANGUAGES),
        encoding="utf-8",
    )
    picture_size = megabytes * 1_000_000 // guides
    for number in range(guides):
        guide = f"g{number:04d}"
        (folder / "guides" / guide).mkdir(parents=True)
        for language in LANGUAGES:
            text = _page(guide, language, rng, sentences=24)
            (folder / "guides" / guide / f"{language}.md").write_text(text, encoding="utf-8")
        (folder / "images" / f"{guide}.webp").write_bytes(rng.randbytes(picture_size))


def baseline(pack: Path, out: Path) -> None:
    """The least any installer does: unpack the archive and hash every file."""
    with tarfile.open(pack) as archive:
        archive.extractall(out, filter="data")
    for path in out.rglob("*"):
        if path.is_file():
            hashlib.sha256(path.read_bytes()).hexdigest()


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run(megabytes: int, guides: int, rounds: int) -> bool:
    with tempfile.TemporaryDirectory(prefix="bench-packs-") as scratch:
        root = Path(scratch)
        make_source(root / "src", megabytes, guides)
        private, public = generate_keys(root / "keys")
        pack = root / "bench.pack"
        build_seconds = _timed(lambda: build_pack(root / "src", pack, load_private_key(private)))
        size = pack.stat().st_size
        print(
            f"pack: {size / 1e6:.1f} MB, {guides} guides x {len(LANGUAGES)} languages "
            f"+ {guides} pictures; built and signed in {build_seconds:.2f} s",
            flush=True,
        )
        prepare_times: list[float] = []
        real_prepare = render.prepare

        def timed_prepare(folder: Path, settings: Settings) -> None:
            prepare_times.append(_timed(lambda: real_prepare(folder, settings)))

        render.prepare = timed_prepare
        base_times, install_times = [], []
        try:
            for number in range(rounds):
                target = root / f"plain-{number}"
                base_times.append(_timed(functools.partial(baseline, pack, target)))
                shutil.rmtree(target)
                settings = (
                    Settings()
                    .replace("storage", data_dir=str(root / f"data-{number}"))
                    .replace("guides", trusted_keys=(public,))
                )
                install_times.append(_timed(functools.partial(store.install_file, pack, settings)))
                shutil.rmtree(root / f"data-{number}")
        finally:
            render.prepare = real_prepare
    base = statistics.median(base_times)
    whole = statistics.median(install_times)
    prepare = statistics.median(prepare_times)
    handling = statistics.median(i - p for i, p in zip(install_times, prepare_times, strict=True))
    ratio = handling / base
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(
        f"median of {rounds} rounds:\n"
        f"  baseline (tarfile extract + sha256):  {base:6.2f} s\n"
        f"  install, whole:                       {whole:6.2f} s  ({whole / base:.2f}x)\n"
        f"    of which prepare (render + index):  {prepare:6.2f} s\n"
        f"    pack handling (verify, stage, switch): {handling:6.2f} s  ({ratio:.2f}x)\n"
        f"target: pack handling within {TARGET_RATIO:.1f}x the baseline: {verdict}",
        flush=True,
    )
    return ratio <= TARGET_RATIO


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when on target."""
    parser = argparse.ArgumentParser(prog="python -m bench.packs", description=__doc__)
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--guides", type=int, default=250, help="each in four languages")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    return 0 if run(args.megabytes, args.guides, args.rounds) else 1


if __name__ == "__main__":
    print(describe_machine())
    sys.exit(main())
