"""Optional noise on exported counts: the two-sided geometric (discrete Laplace) mechanism.

A count c is published as c + X - Y, X and Y independent geometric variables with
P(X = k) = (1 - a) a^k, a = exp(-epsilon): P(noise = k) is proportional to a^|k|, which
makes each published count epsilon-differentially private for one change of 1 in it
(Ghosh, Roughgarden, Sundararajan 2009). Each geometric variable is drawn as the number of
heads before the first tail of a coin that shows heads with probability a, the coin being
the operating system's random source (`secrets`): no float logarithm, whose rounding can
leak which value was noised (Mironov 2012), and no predictable generator.

Why not a library (PyPI, 2026-12-03, manylinux aarch64 wheels for CPython 3.11): opendp
0.16.0 is 56.6 MB; diffprivlib 0.6.6 is 0.18 MB but pulls numpy 2.4.6 (16.0 MB), scipy
1.17.1 (33.1 MB) and scikit-learn 1.9.1 (9.0 MB); PyDP (python-dp 1.1.5) has no arm64 Linux
wheel (pip falls back to the 2020 pure-Python 0.1.0). This mechanism is twenty lines, its
distribution checked by tests/stats/test_noise.py.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable

_RANDOM = secrets.SystemRandom()

Noise = Callable[[int], int]
"""Takes a count, returns the count to publish."""


def geometric(a: float, uniform: Callable[[], float] = _RANDOM.random) -> int:
    """Heads before the first tail, heads with probability `a` (0 <= a < 1)."""
    heads = 0
    while uniform() < a:
        heads += 1
    return heads


def two_sided_geometric(epsilon: float, uniform: Callable[[], float] = _RANDOM.random) -> int:
    """One draw of discrete Laplace noise for `epsilon` (> 0)."""
    if not epsilon > 0:
        raise ValueError("epsilon must be above 0")
    a = math.exp(-epsilon)
    return geometric(a, uniform) - geometric(a, uniform)


def probability(k: int, epsilon: float) -> float:
    """P(noise = k) of the two-sided geometric mechanism."""
    a = math.exp(-epsilon)
    return (1 - a) / (1 + a) * a ** abs(k)


def noise_for(epsilon: float) -> Noise:
    """The noise an export applies: none when epsilon is 0 (off), else a fresh draw for each
    count, never below 0 (a negative count tells nothing more: it only looks wrong)."""
    if epsilon == 0:
        return lambda count: count
    return lambda count: max(0, count + two_sided_geometric(epsilon))
