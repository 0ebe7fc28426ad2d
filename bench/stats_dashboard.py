"""The commune's /stats dashboard over a year of village data (issue 13: p95 under 300 ms).

A year and a month of StatCount rows (tests/stats_year.py: every period, every metric, the
labels of guides, lessons and languages) are written into a fresh database; the statistics
blueprint is served by the admin app to a signed-in commune account (tests/stats/conftest.py).
Each timed call is one whole request in-process through Flask's test client: the report's queries,
suppression, fourteen SVG charts with their tables, the template. Baseline, in the same run
and in turns with it: the methodology page of the same app (same layout, no figures). The
CSV export is timed the same way, for reference. Wall-clock times count; the CPU time of
this process is printed beside them, as on a shared machine the wall clock includes waiting
for a CPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from unittest.mock import patch

from bench.harness import describe_machine
from portal import db
from portal.models import StatCount
from tests.conftest import make_settings
from tests.stats.conftest import TODAY, stats_desk
from tests.stats_year import fill

TARGET_P95_MS = 300.0
LAST_DAY = date(2026, 12, 2)
YEAR = "year=2026"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stats_dashboard")
    parser.add_argument("--rounds", type=int, default=60, help="timed requests of each page")
    options = parser.parse_args(list(argv))
    # Seen on a day when 2026 is over (as in its tests): every table of the year is shown.
    # The first request records what it shows; the timed ones read that record too.
    with (
        patch("portal.stats.views.today", lambda: TODAY),
        patch("portal.stats.report.today", lambda: TODAY),
        tempfile.TemporaryDirectory(prefix="bench-stats-") as folder,
    ):
        client = stats_desk(make_settings(Path(folder) / "data"))
        with client.application.app_context():
            started = time.perf_counter()
            rows = fill(LAST_DAY)
            filled = time.perf_counter() - started
            files = (Path(folder) / "data").glob(f"{db.DATABASE_FILE}*")  # with its WAL
            size = sum(path.stat().st_size for path in files)
            assert StatCount.select().count() == rows
        pages = {
            "baseline: /stats/methodology": "/admin/stats/methodology?lang=fr",
            "dashboard: /stats (a year)": f"/admin/stats?{YEAR}&lang=fr",
            "export: /stats/export.csv (a year)": f"/admin/stats/export.csv?{YEAR}",
        }
        for path in pages.values():  # warm up: templates compiled, catalogs loaded
            response = client.get(path)
            if response.status_code != 200:
                print(f"{path} answered {response.status_code}: nothing to measure")
                return 1
        timings: dict[str, list[float]] = {name: [] for name in pages}
        cpu: dict[str, list[float]] = {name: [] for name in pages}
        for _ in range(options.rounds):  # in turns, so a busy moment hits each alike
            for name, path in pages.items():
                started, started_cpu = time.perf_counter(), time.process_time()
                client.get(path).close()
                timings[name].append((time.perf_counter() - started) * 1000)
                cpu[name].append((time.process_time() - started_cpu) * 1000)
        db.close()
    print(describe_machine())
    print(f"data: {rows} StatCount rows written in {filled:.1f} s, database {size / 1e6:.1f} MB")
    base = statistics.median(timings["baseline: /stats/methodology"])
    print(f"load average during the run: {os.getloadavg()[0]:.1f}")
    print(
        f"{'page':38} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'p50 x base':>10}"
        f" {'CPU p50':>8} {'CPU p95':>8}"
    )
    for name, samples in timings.items():
        p50 = statistics.median(samples)
        print(
            f"{name:38} {len(samples):>4} {p50:>8.2f} {percentile(samples, 0.95):>8.2f} "
            f"{percentile(samples, 0.99):>8.2f} {p50 / base:>10.1f}"
            f" {statistics.median(cpu[name]):>8.2f} {percentile(cpu[name], 0.95):>8.2f}"
        )
    p95 = percentile(timings["dashboard: /stats (a year)"], 0.95)
    verdict = "PASS" if p95 < TARGET_P95_MS else "FAIL"
    print(f"dashboard p95 {p95:.1f} ms (target under {TARGET_P95_MS:.0f} ms): {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
