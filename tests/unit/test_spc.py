"""server/spc.py: Making Data Count XmR limits and the four signals, on hand-built series."""

from __future__ import annotations

import pytest

from server.ward.spc import CONCERN, IMPROVEMENT, xmr


def series(values):
    return [(f"2026-10-{i + 1:02d}", float(v), 20) for i, v in enumerate(values)]


def flagged(chart, rule=None):
    return [i for i, p in enumerate(chart.points) if (rule in p.signals if rule else p.direction)]


def test_limits_are_mean_plus_minus_2_66_mean_moving_range():
    chart = xmr(series([10, 12, 8, 10]))
    assert chart.mean == pytest.approx(10)
    # moving ranges 2, 4, 2 -> mean 8/3
    assert chart.upper == pytest.approx(10 + 2.66 * 8 / 3)
    assert chart.lower == pytest.approx(10 - 2.66 * 8 / 3)


def test_common_cause_variation_has_no_signal():
    chart = xmr(series([10, 12, 9, 11, 10, 12, 9, 11, 10, 12]))
    assert flagged(chart) == []


def test_a_point_beyond_the_upper_limit_is_a_concern():
    chart = xmr(series([10, 11, 10, 11, 10, 11, 10, 40, 10, 11]))
    assert flagged(chart, "beyond_limit") == [7]
    assert chart.points[7].direction == CONCERN


def test_a_point_below_the_lower_limit_is_an_improvement():
    chart = xmr(series([30, 31, 30, 31, 30, 31, 30, 0, 30, 31, 30, 31]))
    assert flagged(chart, "beyond_limit") == [7]
    assert chart.points[7].direction == IMPROVEMENT


def test_two_of_three_near_a_limit_on_one_side():
    values = [10, 12] * 12 + [15.5, 11, 15.5] + [10, 12] * 3
    chart = xmr(series(values))
    near = chart.mean + (chart.upper - chart.mean) * 2 / 3
    assert near < 15.5 < chart.upper  # near the limit, not beyond it
    assert flagged(chart, "two_of_three") == [24, 26]
    assert flagged(chart) == [24, 26]
    assert chart.points[24].direction == CONCERN


def test_a_run_of_seven_above_the_mean():
    values = [10, 8, 10, 8, 10, 8, 11, 11.5, 11, 11.5, 11, 11.5, 11, 8, 10, 8]
    chart = xmr(series(values))
    assert flagged(chart, "run") == list(range(6, 13))


def test_six_on_one_side_is_not_a_run():
    values = [10, 8, 10, 8, 10, 8, 11, 11.5, 11, 11.5, 11, 11.5, 8, 10, 8, 9]
    assert flagged(xmr(series(values)), "run") == []


def test_a_point_on_the_mean_breaks_a_run():
    base = [8, 12] * 4
    values = base + [11, 11, 11, None, 11, 11, 11] + [8, 12] * 3
    # Put the middle point exactly on the mean of the whole series.
    filled = [v if v is not None else 0 for v in values]
    others = [v for v in values if v is not None]
    mean_point = (sum(others)) / len(others)
    filled[values.index(None)] = mean_point
    chart = xmr(series(filled))
    assert chart.mean == pytest.approx(mean_point)
    assert flagged(chart, "run") == []


def test_seven_rising_points_are_a_trend():
    values = [10, 12, 10, 12, 4, 5, 6, 7, 8, 9, 10, 8, 10, 12]
    chart = xmr(series(values))
    assert flagged(chart, "trend") == list(range(4, 11))
    assert chart.points[8].direction == CONCERN


def test_seven_falling_points_are_an_improvement_trend():
    values = [10, 12, 10, 12, 16, 15, 14, 13, 12, 11, 10, 12, 10, 12]
    chart = xmr(series(values))
    assert flagged(chart, "trend") == list(range(4, 11))
    assert chart.points[6].direction == IMPROVEMENT


def test_equal_neighbours_break_a_trend():
    values = [10, 12, 10, 12, 4, 5, 6, 6, 7, 8, 9, 12, 10, 12]
    assert flagged(xmr(series(values)), "trend") == []


@pytest.mark.parametrize("values", [[], [5]])
def test_too_few_points_have_no_limits(values):
    chart = xmr(series(values))
    assert chart.upper is None and flagged(chart) == []
