"""server/ward/baseline.py: p0 shrunk toward the trust's rate, h raised for what p0 may still be, spells set aside."""

from __future__ import annotations

import math
import random

import pytest

from server.ward.baseline import (
    MAX_SPREAD,
    PRIOR_RATINGS,
    SpellLedger,
    baseline_from,
    estimate,
    pooled_rate,
    rates_it_may_be,
    trigamma,
    volume_for,
    weekday_pattern,
)
from server.ward.trends import chain_run_length, restart_units, threshold_for


@pytest.mark.parametrize("x, expected", [(1.0, math.pi**2 / 6), (0.5, math.pi**2 / 2), (10.0, 0.1051663357)])
def test_trigamma_matches_known_values(x, expected):
    assert trigamma(x) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "negatives, counted, prior, p0",
    [
        (0, 0, 0.08, 0.08),  # a new ward: the trust's rate
        (0, 0, 0.15, 0.15),
        (3, 10, 0.08, (0.08 * PRIOR_RATINGS + 3) / (PRIOR_RATINGS + 10)),  # a few ratings move it part way
        (200, 10_000, 0.08, 0.0202),  # no 2 % floor: a 2 % ward is a 2 % ward
        (3000, 10_000, 0.08, 0.2996),  # no 30 % ceiling either
        (4000, 10_000, 0.08, 0.3994),
    ],
)
def test_estimate_shrinks_toward_the_prior_until_the_wards_own_ratings_decide(negatives, counted, prior, p0):
    assert estimate(negatives, counted, prior).p0 == pytest.approx(p0, abs=1e-4)


def test_fewer_ratings_mean_a_wider_estimate():
    spreads = [estimate(round(0.08 * n), n).spread for n in (0, 100, 1000, 10_000)]
    assert spreads == sorted(spreads, reverse=True)


@pytest.mark.parametrize("per_day", [5, 30, 300])
@pytest.mark.parametrize("p", [0.02, 0.08, 0.3])
def test_h_is_raised_for_an_uncertain_p0_and_settles_to_the_plain_one(per_day, p):
    young = baseline_from(estimate(round(p * 100), 100), per_day)
    settled = baseline_from(estimate(round(p * 1_000_000), 1_000_000), per_day)
    assert young.h > settled.h
    assert settled.h == pytest.approx(threshold_for(per_day, settled.p0), abs=0.1)
    assert 0.7 <= settled.expected_false_alerts() <= 1.16  # the nearest lattice step; see test_trends


@pytest.mark.parametrize("n", [150, 900, 5000])
@pytest.mark.parametrize("p", [0.02, 0.08, 0.3])
def test_false_alerts_averaged_over_wards_whose_estimate_came_from_n_ratings_are_one_per_100_days(p, n):
    """Wards drawn from the posterior of one estimate: the mean false-alert rate is the target, not above it."""
    per_day, rng = 30, random.Random(n)
    base = baseline_from(estimate(round(p * n), n, p), per_day)
    rates = []
    for _ in range(400):
        true_p = rng.betavariate(*_posterior(p, n))
        ratings = chain_run_length(true_p, base.up, base.down, base.limit, restart_units(base.limit))
        rates.append(100 * per_day / ratings)
    mean = sum(rates) / len(rates)
    # The quadrature uses a logit-normal for the beta posterior (wider at small n), and caps the spread.
    assert 0.5 <= mean <= 1.6


def _posterior(p, n):
    a = p * PRIOR_RATINGS + round(p * n)
    return a, PRIOR_RATINGS + n - a


def test_the_rates_it_may_be_span_the_posterior_and_their_weights_sum_to_one():
    points = rates_it_may_be(0.08, 0.3)
    assert sum(w for _, w in points) == pytest.approx(1.0)
    assert min(p for p, _ in points) < 0.04 < 0.16 < max(p for p, _ in points)


def test_a_ward_with_no_ratings_is_judged_with_the_capped_spread():
    assert estimate(0, 0).spread > MAX_SPREAD
    assert baseline_from(estimate(0, 0), 30).h < 4 * threshold_for(30)  # uncapped it would be 20 times


@pytest.mark.parametrize(
    "volume, days, default, expected",
    [(0, 0, 30, 30), (600, 2, 30, 300), (20, 2, 30, 30), (35, 7, 30, 5), (8400, 28, 30, 300)],
)
def test_volume_is_measured_after_a_week_and_never_below_the_default_before(volume, days, default, expected):
    assert volume_for(volume, days, default) == pytest.approx(expected)


@pytest.mark.parametrize("negatives, counted, expected", [(0, 0, 0.08), (40, 499, 0.08), (60, 500, 0.12), (0, 900, 0.08)])
def test_pooled_rate_needs_enough_ratings(negatives, counted, expected):
    assert pooled_rate(negatives, counted) == pytest.approx(expected)


def test_a_spell_with_one_or_two_alerts_goes_back_into_the_baseline():
    ledger = SpellLedger()
    ledger.alarm("2026-03-01")
    ledger.alarm("2026-03-01")
    ledger.back_to_usual("2026-03-02", 4)
    assert ledger.excluded({"2026-03-01", "2026-03-02"}) == set()
    assert ledger.take("2026-03-07") is False  # no third alert within four days: closed, nothing set aside
    assert ledger.first == "" and ledger.set_aside == set()


def test_a_spell_with_three_alerts_is_set_aside_first_to_last_day_and_survives_a_restart():
    ledger = SpellLedger()
    ledger.alarm("2026-03-01")
    ledger.take("2026-03-02")
    ledger.alarm("2026-03-02")
    ledger.alarm("2026-03-02")
    reopened = SpellLedger.from_saved(ledger.saved())  # a restart mid-spell
    assert reopened.excluded({"2026-02-28", "2026-03-01", "2026-03-05"}) == {"2026-03-01", "2026-03-05"}  # still going on
    ledger.back_to_usual("2026-03-03", 2)
    assert ledger.take("2026-03-05") is False  # waits for a further alert until 5 March
    assert ledger.take("2026-03-06") is True
    restored = SpellLedger.from_saved(ledger.saved())
    days = {f"2026-03-0{d}" for d in range(1, 8)}
    assert restored.excluded(days) == {"2026-03-01", "2026-03-02", "2026-03-03"}
    restored.forget_before("2026-03-02")
    assert restored.excluded(days) == {"2026-03-02", "2026-03-03"}


def test_a_spell_whose_detector_touched_zero_between_alerts_is_set_aside_whole():
    # Inside a 3x spell the detector is back at zero now and then; closed there, the days until the
    # next alert went back into p0 (a quarter of a 28-day spell's ratings at 5 a day).
    ledger = SpellLedger()
    ledger.alarm("2026-03-01")
    ledger.back_to_usual("2026-03-03", 6)
    ledger.take("2026-03-06")
    ledger.alarm("2026-03-05")
    ledger.alarm("2026-03-06")
    ledger.back_to_usual("2026-03-08", 6)
    assert ledger.take("2026-03-15") is True
    assert ledger.excluded({f"2026-03-{d:02d}" for d in range(1, 16)}) == {f"2026-03-0{d}" for d in range(1, 9)}


def test_a_checkpoint_from_before_whole_days_is_read():
    saved = {"set_aside": {"2026-03-01": [3, 30]}, "open_days": {"2026-03-04": [2, 9], "2026-03-05": [1, 4]}, "alarms": 2}
    ledger = SpellLedger.from_saved(saved)
    assert ledger.set_aside == {"2026-03-01"} and ledger.first == "2026-03-04" and ledger.alarms == 2


def _weekday_counts(rates, per_weekday, seed):
    rng = random.Random(seed)
    return [(sum(rng.random() < r for _ in range(per_weekday)), per_weekday) for r in rates]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_weekday_pattern_is_seen_in_a_ward_without_one(seed):
    assert weekday_pattern(_weekday_counts([0.08] * 7, 1200, seed)) is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_real_weekday_pattern_raises_h(seed):
    counts = _weekday_counts([0.064, 0.12, 0.064, 0.064, 0.12, 0.064, 0.064], 1200, seed)
    pattern = weekday_pattern(counts)
    assert pattern is not None and sum(share for _, share in pattern) == pytest.approx(1, abs=0.03)
    assert max(ratio for ratio, _ in pattern) > 1.2
    own = estimate(sum(n for n, _ in counts), sum(c for _, c in counts))
    assert baseline_from(own, 100, pattern=pattern).h > baseline_from(own, 100).h
