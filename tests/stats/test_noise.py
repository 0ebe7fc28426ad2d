"""The two-sided geometric mechanism draws noise with P(k) proportional to exp(-epsilon |k|)."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable

import pytest

from portal.stats.noise import noise_for, probability, two_sided_geometric

DRAWS = 20_000


def fits(draw: Callable[[], int], epsilon: float) -> bool:
    """Whether DRAWS draws look like the mechanism's distribution: each value from -3 to 3
    within 5 standard errors of its probability, and the variance within 10 %."""
    counts = Counter(draw() for _ in range(DRAWS))
    for k in range(-3, 4):
        p = probability(k, epsilon)
        if abs(counts[k] / DRAWS - p) > 5 * math.sqrt(p * (1 - p) / DRAWS):
            return False
    a = math.exp(-epsilon)
    variance = 2 * a / (1 - a) ** 2
    mean = sum(k * n for k, n in counts.items()) / DRAWS
    observed = sum(n * (k - mean) ** 2 for k, n in counts.items()) / DRAWS
    return abs(observed - variance) <= 0.1 * variance


@pytest.mark.parametrize("epsilon", [0.5, 1.0, 2.0])
def test_the_noise_has_the_discrete_laplace_distribution(epsilon: float) -> None:
    assert fits(lambda: two_sided_geometric(epsilon), epsilon)


def test_the_check_rejects_one_sided_or_wider_noise() -> None:
    assert not fits(lambda: abs(two_sided_geometric(1.0)), 1.0)
    assert not fits(lambda: two_sided_geometric(0.5), 1.0)


def test_probabilities_add_up_to_one() -> None:
    assert sum(probability(k, 1.0) for k in range(-200, 201)) == pytest.approx(1.0)
    assert probability(0, 1.0) == pytest.approx((1 - math.exp(-1)) / (1 + math.exp(-1)))


def test_a_given_coin_gives_the_expected_draw() -> None:
    coins = iter([0.1, 0.2, 0.9, 0.5])  # heads, heads, tail | tail: 2 - 0
    assert two_sided_geometric(1.0, lambda: next(coins)) == 2


def test_off_is_no_noise_and_on_is_never_negative() -> None:
    assert [noise_for(0.0)(count) for count in (0, 7, 12)] == [0, 7, 12]
    noisy = noise_for(0.1)
    assert min(noisy(0) for _ in range(500)) == 0
    assert len({noisy(100) for _ in range(200)}) > 5


def test_epsilon_must_be_positive() -> None:
    with pytest.raises(ValueError, match="epsilon must be above 0"):
        two_sided_geometric(0.0)


def test_the_default_coin_is_the_system_random_source() -> None:
    from portal.stats import noise

    assert isinstance(noise._RANDOM, random.SystemRandom)
