"""`python -m bench [NAME ...]`: run every benchmark in turn, or only the ones named."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from bench import (
    appliance,
    counting,
    fuzz,
    grant_flood,
    grants,
    growth,
    join_storm,
    memory,
    packs,
    probes,
    sd_writes,
    search,
    slow_guests,
    stats_dashboard,
    steady_state,
)
from bench.harness import describe_machine

Benchmark = Callable[[Sequence[str]], int]
"""Takes its own command-line options; returns 0 when on target."""

BENCHMARKS: dict[str, Benchmark] = {
    "probes": probes.main,
    "packs": packs.main,
    "search": search.main,
    "grants": grants.main,
    "fuzz": fuzz.main,
    "slow_guests": slow_guests.main,
    "memory": memory.main,
    "appliance": appliance.main,
    "stats_dashboard": stats_dashboard.main,
    "counting": counting.main,
    "join_storm": join_storm.main,
    "growth": growth.main,
    "sd_writes": sd_writes.main,
    "steady_state": steady_state.main,
    "grant_flood": grant_flood.main,
}
"""Adding a benchmark is one line here."""


def main(argv: Sequence[str]) -> int:
    names = list(argv) or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    print(describe_machine(), flush=True)
    failed = [name for name in names if BENCHMARKS[name]([]) != 0]
    if failed:
        print(f"off target or failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
