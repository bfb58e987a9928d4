"""Making Data Count: an XmR (SPC) view of daily % negative. Pure logic.

Limits are mean +/- 2.66 x mean moving range. Signals: a point beyond a limit; 2 of 3 points
beyond two thirds of the way to a limit on one side; a run of 7 on one side of the mean; 7 points
in a row each higher (or lower) than the one before. For % negative, high is a concern (orange)
and low an improvement (blue); everything else is common-cause variation (grey).
"""

from __future__ import annotations

from dataclasses import dataclass, field

RUN = 7
TREND = 7
CONCERN, IMPROVEMENT = "concern", "improvement"


@dataclass
class Point:
    day: str
    value: float
    ratings: int
    signals: list[str] = field(default_factory=list)  # rule names
    direction: str | None = None  # CONCERN, IMPROVEMENT or None (common cause)


@dataclass
class Chart:
    points: list[Point]
    mean: float | None
    upper: float | None
    lower: float | None


def _mark(point: Point, rule: str, above: bool) -> None:
    if rule not in point.signals:
        point.signals.append(rule)
    direction = CONCERN if above else IMPROVEMENT
    # A point can carry both only in pathological series; concern wins, it is the one to act on.
    if point.direction != CONCERN:
        point.direction = direction


def xmr(series: list[tuple[str, float, int]]) -> Chart:
    """Limits and signals for (day, value, ratings) points in day order."""
    points = [Point(day, value, n) for day, value, n in series]
    if len(points) < 2:
        return Chart(points, points[0].value if points else None, None, None)
    values = [p.value for p in points]
    mean = sum(values) / len(values)
    moving = [abs(b - a) for a, b in zip(values, values[1:])]
    spread = 2.66 * sum(moving) / len(moving)
    upper, lower = mean + spread, mean - spread

    for p in points:
        if p.value > upper:
            _mark(p, "beyond_limit", True)
        elif p.value < lower:
            _mark(p, "beyond_limit", False)

    near_upper, near_lower = mean + spread * 2 / 3, mean - spread * 2 / 3
    for i in range(len(points) - 2):
        trio = points[i : i + 3]
        for above, beyond in ((True, [p for p in trio if p.value > near_upper]), (False, [p for p in trio if p.value < near_lower])):
            if len(beyond) >= 2:
                for p in beyond:
                    _mark(p, "two_of_three", above)

    def side(value: float) -> int:
        return (value > mean) - (value < mean)  # a point on the mean breaks a run

    _runs(points, [side(v) for v in values], RUN, "run")
    steps = [0] + [(b > a) - (b < a) for a, b in zip(values, values[1:])]  # equal neighbours break a trend
    # A trend of N points is N-1 steps the same way.
    _runs(points, steps, TREND - 1, "trend", include_previous=True)
    return Chart(points, mean, upper, lower)


def _runs(points: list[Point], signs: list[int], length: int, rule: str, include_previous: bool = False) -> None:
    """Mark every point in a stretch of at least `length` equal non-zero signs."""
    i = 0
    while i < len(signs):
        j = i
        while j < len(signs) and signs[j] == signs[i]:
            j += 1
        if signs[i] != 0 and j - i >= length:
            first = i - 1 if include_previous else i
            for p in points[first:j]:
                _mark(p, rule, signs[i] > 0)
        i = j


@dataclass
class Layout:
    """Chart coordinates for an SVG of the given size (y grows downwards)."""

    width: int
    height: int
    points: list[tuple[float, float, Point]]
    mean_y: float | None
    upper_y: float | None
    lower_y: float | None
    top_value: float
    ticks: list[tuple[float, str]]


def layout(chart: Chart, width: int = 900, height: int = 320, pad: int = 40) -> Layout:
    """Place the points and limit lines; % negative runs from 0 at the bottom."""
    values = [p.value for p in chart.points] + [v for v in (chart.upper, chart.mean) if v is not None]
    top = max(values + [10.0]) * 1.1

    def y(value: float) -> float:
        return round(height - pad - (height - 2 * pad) * max(value, 0.0) / top, 1)

    step = (width - 2 * pad) / max(len(chart.points) - 1, 1)
    placed = [(round(pad + i * step, 1), y(p.value), p) for i, p in enumerate(chart.points)]
    ticks = [(y(top * f / 4), f"{top * f / 4:.0f}%") for f in range(5)]
    return Layout(
        width,
        height,
        placed,
        y(chart.mean) if chart.mean is not None else None,
        y(chart.upper) if chart.upper is not None else None,
        y(chart.lower) if chart.lower is not None and chart.lower > 0 else None,
        top,
        ticks,
    )
