"""Guide search latency over a generated 1,000-page pack (issue 5: p95 under 20 ms).

A synthetic Easy-to-Read-like French pack is generated, prepared exactly as an
install prepares it (portal.guides.render.prepare), then searched many times
with a mix of whole words, prefixes, several words, words found nowhere, typos and
hostile text. Each call is what a request does: open the read-only index, query,
close. Baseline, in the same run: the same open + `SELECT 1` + close. The
"Did you mean …?" look-up (portal.guides.spelling.suggest, which a search page
also does) is timed on the same queries, its vocabulary read once beforehand.
The search page itself (Flask, template included) is timed in-process too.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path

from bench.harness import describe_machine
from portal import db
from portal.access.firewall import MemoryFirewall
from portal.app import create_app
from portal.config import Settings
from portal.guides.pack.names import TOPICS
from portal.guides.render import prepare
from portal.guides.search import INDEX_NAME, search
from portal.guides.spelling import load_vocabulary, suggest

TARGET_P95_MS = 20.0

# Everyday words of the guides, with their accents: the index must fold them.
VOCABULARY = (
    "carte",
    "eID",
    "code",
    "PIN",
    "itsme",
    "commune",
    "mutualité",
    "impôts",
    "déclaration",
    "pension",
    "mandat",
    "ordinateur",
    "tablette",
    "smartphone",
    "téléphone",
    "site",
    "officiel",
    "document",
    "attestation",
    "rendez-vous",
    "guichet",
    "formulaire",
    "paiement",
    "banque",
    "virement",
    "facture",
    "courrier",
    "électronique",
    "adresse",
    "identité",
    "médecin",
    "pharmacie",
    "santé",
    "emploi",
    "formation",
    "chômage",
    "allocations",
    "famille",
    "enfant",
    "logement",
    "loyer",
    "énergie",
    "train",
    "bus",
    "abonnement",
    "billet",
    "urgence",
    "police",
    "pompiers",
    "arnaque",
    "message",
    "lien",
    "mot",
    "de",
    "passe",
    "sécurité",
    "aide",
    "bénévole",
    "bibliothèque",
    "écran",
    "bouton",
    "application",
    "télécharger",
    "connexion",
    "réseau",
    "vérifier",
    "envoyer",
    "recevoir",
    "remplir",
    "signer",
    "imprimer",
    "garder",
    "ouvrir",
    "fermer",
    "choisir",
)
SENTENCE_HEADS = ("Vous", "Ouvrez", "Cliquez sur", "Gardez", "Demandez", "Vérifiez", "Tapez")
HEADINGS = (
    "Ce qu'il vous faut",
    "Étape par étape",
    "Où trouver de l'aide",
    "Comment éviter les arnaques",
)
PICTOGRAM = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 240">'
    '<circle cx="120" cy="120" r="90" fill="#2f6fde" stroke="#1a1a1a" stroke-width="12"/></svg>'
)

QUERIES: dict[str, tuple[str, ...]] = {
    "word": ("impots", "pension", "carte", "mutualite", "securite", "banque", "facture"),
    "prefix": ("pens", "decl", "ordi", "tele", "attest", "abon", "fam"),
    "several words": ("carte pin", "pension mandat", "impots declaration", "bus billet"),
    "no hit": ("xylophone", "zzzz", "kangourou", "quasar"),
    "fallback (any word)": ("xylophone impots", "kangourou pension"),
    "typo": ("pensoin", "mutualiet", "declaraton impots", "banqe", "abonemment"),
    "hostile": ('"', "AND OR NOT", "NEAR(carte pin)", "*-^", "'); DROP TABLE x; --"),
}


def sentence(rng: random.Random) -> str:
    words = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(5, 10)))
    return f"{rng.choice(SENTENCE_HEADS)} {words}."


def write_pack(folder: Path, pages: int, seed: int) -> None:
    """A pack of `pages` French guides, each with the four sections and the help line."""
    rng = random.Random(seed)
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "bench.svg").write_text(PICTOGRAM, encoding="utf-8")
    (folder / "pack.toml").write_text(
        'id = "bench"\nversion = "1.0.0"\nlanguages = ["fr"]\ndefault_language = "fr"\n'
        'min_portal_version = "0.1.0"\n\n[title]\nfr = "Banc d\'essai"\n',
        encoding="utf-8",
    )
    for number in range(1, pages + 1):
        guide_id = f"g{number:04d}-bench"
        topic_words = rng.sample(VOCABULARY, 4)
        body = [sentence(rng) for _ in range(3)]
        for heading in HEADINGS:
            body.append(f"\n## {heading}\n")
            body.extend(f"{step}. {sentence(rng)}" for step in range(1, rng.randint(4, 9)))
            if heading == HEADINGS[2]:
                body.append("\n{{ local_help }}\n")
        tags = ", ".join(f'"{word.lower()}"' for word in topic_words)
        page = folder / "guides" / guide_id / "fr.md"
        page.parent.mkdir(parents=True)
        page.write_text(
            "+++\n"
            f'id = "{guide_id}"\n'
            f'title = "{" ".join(topic_words).capitalize()} : guide {number}"\n'
            f'summary = "{sentence(rng)}"\n'
            'language = "fr"\n'
            f'topic = "{rng.choice(TOPICS)}"\n'
            f"tags = [{tags}]\n"
            "updated = 2026-11-26\n"
            'pictogram = "bench.svg"\n'
            'sources = [{name = "Belgium.be", url = "https://www.belgium.be"}]\n'
            "+++\n\n" + "\n".join(body) + "\n",
            encoding="utf-8",
        )


def percentiles(samples: Sequence[float]) -> tuple[float, float, float]:
    """p50, p95 and p99 of `samples` (seconds), in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


def timed(call: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def baseline_call(folder: Path) -> Callable[[], object]:
    """Open the index read-only, `SELECT 1`, close: what every search pays before FTS."""
    uri = (folder / INDEX_NAME).as_uri() + "?mode=ro&immutable=1"

    def call() -> object:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            return connection.execute("SELECT 1").fetchone()

    return call


def suggesting(folder: Path, query: str) -> Callable[[], object]:
    """The "Did you mean …?" look-up of one query, as a search page makes it."""
    return lambda: suggest(folder, "fr", query)


def row(name: str, samples: Sequence[float], baseline_p50: float) -> str:
    p50, p95, p99 = percentiles(samples)
    return (
        f"{name:<22} {len(samples):>6} {p50:>8.2f} {p95:>8.2f} {p99:>8.2f} "
        f"{p50 / baseline_p50:>8.1f}"
    )


def page_samples(folder: Path, data_dir: Path, queries: Sequence[str], rounds: int) -> list[float]:
    """`GET /guides/search?q=` through the whole app (in-process, template included)."""
    settings = (
        Settings()
        .replace("firewall", backend="memory")
        .replace("storage", data_dir=str(data_dir))
        .replace("network", client_identity="address")
    )
    versions = data_dir / "guides" / "versions"
    versions.mkdir(parents=True)
    folder.rename(versions / "bench")
    os.symlink("versions/bench", data_dir / "guides" / "current")
    app = create_app(settings, firewall=MemoryFirewall())
    client = app.test_client()
    samples = []
    try:
        for number in range(rounds):
            query = queries[number % len(queries)]
            started = time.perf_counter()
            response = client.get(
                "/guides/search", query_string={"q": query}, base_url="http://passerelle.lan"
            )
            samples.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"/guides/search answered {response.status_code}")
    finally:
        db.close()
    return samples


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--pages", type=int, default=1000, help="pages in the generated pack")
    parser.add_argument("--rounds", type=int, default=3000, help="searches timed")
    parser.add_argument("--page-rounds", type=int, default=500, help="search pages timed")
    parser.add_argument("--seed", type=int, default=5)
    options = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="passerelle-bench-search-") as scratch:
        folder = Path(scratch) / "pack"
        write_pack(folder, options.pages, options.seed)
        started = time.perf_counter()
        prepare(folder, Settings())
        prepare_seconds = time.perf_counter() - started
        index_kb = (folder / INDEX_NAME).stat().st_size / 1024
        print(
            f"search: {options.pages} pages prepared in {prepare_seconds:.1f} s, "
            f"index {index_kb:,.0f} KB"
        )

        everything = [query for group in QUERIES.values() for query in group]
        hits = {query: len(search(folder, "fr", query)) for query in everything}  # warm-up
        baseline = timed(baseline_call(folder), options.rounds)
        baseline_p50 = percentiles(baseline)[0]
        rng = random.Random(options.seed)
        per_group: dict[str, list[float]] = {group: [] for group in QUERIES}
        mixed: list[float] = []
        for _ in range(options.rounds):
            group = rng.choice(list(QUERIES))
            query = rng.choice(QUERIES[group])
            started = time.perf_counter()
            search(folder, "fr", query)
            elapsed = time.perf_counter() - started
            per_group[group].append(elapsed)
            mixed.append(elapsed)

        print(f"{'':<22} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'x base':>8}")
        print(row("baseline (SELECT 1)", baseline, baseline_p50))
        for group, samples in per_group.items():
            if len(samples) > 1:
                print(row(group, samples, baseline_p50))
        print(row("all searches", mixed, baseline_p50))
        started = time.perf_counter()
        load_vocabulary(folder, "fr")
        vocabulary_ms = (time.perf_counter() - started) * 1000
        suggestions = [
            sample for query in everything for sample in timed(suggesting(folder, query), 50)
        ]
        print(row("suggest (Did you mean)", suggestions, baseline_p50))
        suggest_p50, suggest_p95, _ = percentiles(suggestions)
        print(
            f"vocabulary read once: {vocabulary_ms:.1f} ms, "
            f"{len(load_vocabulary(folder, 'fr').terms)} words; suggest p50 "
            f"{suggest_p50 * 1000:.0f} µs, p95 {suggest_p95 * 1000:.0f} µs, "
            f"p50 / search p50: {suggest_p50 / percentiles(mixed)[0]:.3f}"
        )
        pages = page_samples(folder, Path(scratch) / "data", everything, options.page_rounds)
        print(row("GET /guides/search", pages, baseline_p50))
        print(f"hits per query: {', '.join(f'{q!r} {n}' for q, n in list(hits.items())[:8])} …")

    p95 = percentiles(mixed)[1]
    verdict = "PASS" if p95 < TARGET_P95_MS else "FAIL"
    print(f"search p95 {p95:.2f} ms (target < {TARGET_P95_MS:.0f} ms): {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    print(describe_machine(), flush=True)
    sys.exit(main(sys.argv[1:]))
