"""`python -m bench fuzz`: the route fuzz of tests/test_fuzz.py with 10,000 drawn requests.

`make test` draws about 2,000; this draws five times as many and prints how long
the run took, so a slow answer or a rare 500 has more chances to show. Exit 1
when any drawn request gets a 500, a traceback or an answer slower than 2 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Sequence

from bench.harness import PROJECT_ROOT

DEFAULT_EXAMPLES = 10_000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench fuzz", description=__doc__)
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES)
    args = parser.parse_args(argv)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_fuzz.py"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PASSERELLE_FUZZ_EXAMPLES": str(args.examples)},
        check=False,
    )
    seconds = time.monotonic() - started
    verdict = "PASS" if done.returncode == 0 else "FAIL"
    print(f"fuzz: {args.examples} drawn requests in {seconds:.0f} s — {verdict}")
    return 0 if done.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
