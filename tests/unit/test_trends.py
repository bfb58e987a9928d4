"""server/trends.py: the CUSUM against its published reference values, by exact calculation and seeded simulation."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from server.ward.trends import Baseline, TrendDetector, chain_run_length, gamma_for, lattice, limit_for, restart_units, run_length, threshold_for

P0, P1 = 0.08, 0.24
GAMMA = gamma_for(P0)


def detector(h: float = 4.0, p0: float = P0) -> TrendDetector:
    return TrendDetector(Baseline(p0=p0, h=h))


def run_length_of(d: TrendDetector, rng: random.Random, p_before: float, p_after: float = None, shift_at: int = 0, limit: int = 200_000):
    """Ratings until the detector alarms (1-based), for a Bernoulli stream whose rate shifts at `shift_at`."""
    p_after = p_before if p_after is None else p_after
    for i in range(limit):
        p = p_before if i < shift_at else p_after
        if d.observe(str(i), f"{i:09d}", "poor" if rng.random() < p else "good"):
            return i + 1
    return None


def test_gamma_is_the_reference_value():
    assert GAMMA == pytest.approx(4 / 27, rel=1e-3)


@pytest.mark.parametrize("p, expected", [(P0, 3072), (P1, 39.4)])
def test_exact_run_lengths_match_the_reference(p, expected):
    assert run_length(p, GAMMA, 4.0) == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("per_day", [5, 10, 30, 100, 300])
@pytest.mark.parametrize("p0", [0.02, 0.04, 0.08, 0.15, 0.3])
def test_threshold_is_the_h_nearest_100_days_between_false_alerts(per_day, p0):
    """Counting the restart at h/2 after each acknowledged alert, as the ward lives it."""
    base = Baseline(p0, threshold_for(per_day, p0))

    def days_between(limit):
        return chain_run_length(p0, base.up, base.down, limit, restart_units(limit)) / per_day

    assert days_between(base.limit - 1) < 100 < days_between(base.limit + 1)
    nearest = min((base.limit - 1, base.limit, base.limit + 1), key=lambda k: abs(math.log(days_between(k) / 100)))
    assert nearest == base.limit
    assert days_between(base.limit) == pytest.approx(100, rel=0.16)  # 30 % wards at 300 a day: the coarsest


def alarm_gaps(d: TrendDetector, rng: random.Random, p: float, alarms: int) -> list[int]:
    """Ratings between alarms of a detector acknowledged at once after each (it restarts at h/2)."""
    gaps, since, i = [], 0, 0
    while len(gaps) < alarms:
        since += 1
        if d.observe(str(i), f"{i:09d}", "poor" if rng.random() < p else "good"):
            gaps.append(since)
            since = 0
            d.acknowledge()
        i += 1
    return gaps


@pytest.mark.parametrize("p0", [0.02, 0.04, 0.08, 0.11, 0.15, 0.23, 0.3])
def test_the_detector_realises_the_run_length_h_was_tuned_on(p0):
    """The detector steps by the lattice's whole units, so its simulated ARL0 is the computed one (+-10 %)."""
    rng = random.Random(int(p0 * 1000))
    base = Baseline(p0, threshold_for(5, p0), per_day=5)
    computed = chain_run_length(p0, base.up, base.down, base.limit, restart_units(base.limit))
    gaps = alarm_gaps(TrendDetector(base), rng, p0, 1200)
    # 1200 gaps of a nearly geometric variable: the mean is within 3 standard errors (9 %) of the truth.
    assert statistics.mean(gaps) == pytest.approx(computed, rel=0.09)
    assert base.expected_false_alerts() == pytest.approx(100 * 5 / computed)
    # h moves in whole lattice steps: the nearest one is within 11 % of one false alert per 100 days.
    assert base.expected_false_alerts() == pytest.approx(1.0, abs=0.11)


def test_in_control_run_length_by_simulation():
    rng = random.Random(20261126)
    lengths = [run_length_of(detector(), rng, P0) for _ in range(2000)]
    assert statistics.mean(lengths) == pytest.approx(3072, rel=0.05)


def test_out_of_control_run_length_by_simulation():
    rng = random.Random(1)
    lengths = [run_length_of(detector(), rng, P1) for _ in range(5000)]
    assert statistics.mean(lengths) == pytest.approx(39.4, rel=0.05)


def test_delay_after_a_shift_at_rating_1000():
    rng = random.Random(7)
    delays = []
    for _ in range(2000):
        alarm_at = run_length_of(detector(), rng, P0, P1, shift_at=1000)
        if alarm_at > 1000:  # runs that alarmed before the shift are dropped
            delays.append(alarm_at - 1000)
    assert len(delays) > 1300  # about exp(-1000/3072) = 72 % of runs get past the shift
    assert statistics.mean(delays) <= 40
    assert statistics.quantiles(delays, n=10)[-1] <= 75


@pytest.mark.parametrize("per_day", [5, 10])
def test_volume_table_by_simulation(per_day):
    rng = random.Random(per_day)
    base = Baseline(P0, threshold_for(per_day))
    gaps = alarm_gaps(TrendDetector(base), rng, P0, 1500)
    assert statistics.mean(gaps) / per_day == pytest.approx(100, rel=0.1)


def test_same_seed_gives_the_same_alerts():
    def positions(seed):
        rng = random.Random(seed)
        d, found = detector(), []
        for i in range(20_000):
            if d.observe(str(i), f"{i:09d}", "poor" if rng.random() < 0.12 else "good"):
                found.append(i)
                d.acknowledge()
        return found

    assert positions(5) == positions(5)
    assert positions(5) != positions(6)
    assert len(positions(5)) > 3


def test_dont_know_is_skipped():
    d = detector(h=1.0)
    for i in range(10):
        assert d.observe(f"dk{i}", f"2026-11-26T09:{i:02d}:00Z", "dont_know") is None
    assert d.b == 0.0 and d.window == []


def test_after_an_alert_it_holds_until_acknowledged_then_restarts_at_half_h():
    d = detector()
    stamps = iter(f"2026-11-26T09:{m:02d}:00Z" for m in range(60))
    alarms = [d.observe(str(i), next(stamps), "very_poor") for i in range(5)]
    assert alarms[:4] == [None] * 4 and alarms[4] is not None
    assert alarms[4].summary() == "5 of the last 5 ratings were poor or very poor — usually 1 in 12"
    assert all(d.observe(f"h{i}", next(stamps), "poor") is None for i in range(20))  # held
    d.acknowledge()
    assert d.b == pytest.approx(2.0)
    assert d.observe("a", next(stamps), "poor") is None
    assert d.observe("b", next(stamps), "poor") is None
    assert d.observe("c", next(stamps), "poor") is not None  # 2 + 3 x 0.852 >= 4: sooner than from zero


def test_the_summary_counts_the_run_since_b_was_last_zero():
    d = detector()
    scores = ["good"] * 20 + ["poor", "good", "poor", "poor", "good", "very_poor", "poor", "poor"]
    alarm = None
    for i, score in enumerate(scores):
        alarm = d.observe(str(i), f"2026-11-26T09:{i:02d}:00Z", score) or alarm
    assert alarm is not None
    assert (alarm.negatives, alarm.counted) == (6, 8)


def test_late_ratings_are_judged_in_tap_order():
    rng = random.Random(3)
    taps = [(f"2026-11-26T{h:02d}:{m:02d}:00Z", f"id{h}{m}", rng.choice(["good", "good", "good", "poor"])) for h in range(9, 12) for m in range(0, 60, 3)]
    in_order = detector(h=50)
    for tapped_at, rid, score in taps:
        in_order.observe(rid, tapped_at, score)
    late = detector(h=50)
    # An offline kiosk's first 15 taps arrive after everything else.
    for tapped_at, rid, score in taps[15:] + taps[:15]:
        late.observe(rid, tapped_at, score)
    assert late.b == pytest.approx(in_order.b)
    assert late.window == in_order.window


def test_a_late_rating_that_completes_a_trend_alarms():
    d = detector()
    for i, minute in enumerate([1, 2, 3, 5]):
        assert d.observe(f"n{i}", f"2026-11-26T09:{minute:02d}:00Z", "poor") is None
    assert d.observe("late", "2026-11-26T09:04:00Z", "very_poor") is not None


def test_ratings_before_the_cutoff_are_ignored():
    d = detector()
    d.cutoff = "2026-11-26T09:00:00Z"
    assert d.observe("old", "2026-11-26T08:59:00Z", "poor") is None
    assert d.window == []


def test_checkpoint_and_fold_keep_the_state_across_a_restart():
    d = detector()
    for i in range(3):
        d.observe(str(i), f"2026-11-1{i}T09:00:00Z", "poor")
    assert d.fold("2026-11-12T00:00:00Z")  # the first two are final
    restored = TrendDetector.from_checkpoint(d.checkpoint())
    restored.observe("2", "2026-11-12T09:00:00Z", "poor")  # replayed from the journal
    assert restored.b == pytest.approx(d.b)
    assert restored.cutoff == "2026-11-11T09:00:00Z"


def test_the_search_for_h_ends_near_the_target_when_long_run_lengths_lose_their_digits():
    # A 30 % ward: past a few hundred lattice units the exact run length is beyond what a float can
    # tell (it comes out negative), and a search started up there (the last h) used to gallop for ever.
    down, den = lattice(gamma_for(0.3168))
    up = den - down
    limit = limit_for(8000, lambda k: chain_run_length(0.3168, up, down, k, restart_units(k)), guess=537)
    assert chain_run_length(0.3168, up, down, limit, restart_units(limit)) == pytest.approx(8000, rel=0.5)
