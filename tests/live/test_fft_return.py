"""The monthly FFT return counts what the ward screen counted, day by day, and leaves out what it left out."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import timedelta

from openpyxl import load_workbook

from kiosk.client import make_rating
from server.ward.monthly_return import COUNT_COLUMNS
from shared.fft import SCORES
from shared.protocol import KIOSK_NAMESPACE, RATING, parse_utc

from support import Screen, kiosk_socket

# Three of the ward's days: the last two of November (23:50 GMT is still the 30th in London) and 1 December.
DAYS = {"2026-11-29T14:00:00Z": "2026-11-29", "2026-11-30T23:50:00Z": "2026-11-30", "2026-12-01T09:00:00Z": "2026-12-01"}


def tap_a_day(live_server, clock: str, scores: list[str], burst: int) -> dict:
    """Restart the server on that day, tap the scores a minute apart and a burst within seconds; the screen's counts."""
    live_server.stop()
    live_server.start(clock=clock)
    tablet = kiosk_socket(live_server.url, live_server.add_kiosk()["token"])
    start = parse_utc(clock) - timedelta(minutes=4)
    taps = [make_rating(score, tapped_at=start + timedelta(seconds=10 * i)) for i, score in enumerate(scores)]
    taps += [make_rating("very_poor", tapped_at=start + timedelta(seconds=100 + i)) for i in range(burst)]  # a child hammering
    for rating in taps:
        assert tablet.call(RATING, rating, namespace=KIOSK_NAMESPACE)["ok"]
    tablet.disconnect()
    screen = Screen(live_server.url, {"token": live_server.add_display()["token"]}).connect()
    stats = screen.snapshots[0]["stats"]
    screen.close()
    assert stats["date"] == DAYS[clock]
    return stats["counts"]


def test_each_days_counts_on_the_ward_screen_add_up_to_the_months_return(live_server, tmp_path):
    live_server.cli("trust", "set", "--org-code", "RXX", "--name", "Example Hospitals NHS Trust")
    live_server.cli("ward", "set", "7B", "--site-code", "RXX01", "--site-name", "General",
                    "--specialty", "326 - ACUTE INTERNAL MEDICINE")
    shown = {day: tap_a_day(live_server, clock, scores, burst) for (clock, day), (scores, burst) in zip(DAYS.items(), [
        (["very_good", "good", "good", "poor", "dont_know", "neither"], 0),
        (["very_good", "very_poor", "good"], 12),
        (["good", "good"], 0),
    ])}
    november = Counter(shown["2026-11-29"]) + Counter(shown["2026-11-30"])
    assert sum(november.values()) >= 9  # the days' taps, and the burst's first few before it looked like misuse

    result = live_server.cli("fft-return", "--month", "2026-11")
    (row,) = csv.DictReader(io.StringIO(result.stdout))
    assert [int(row[c]) for c in COUNT_COLUMNS] == [november[s] for s in SCORES]
    assert (row["Org code"], row["Site code"], row["Ward name"], row["Spec 1"]) == ("RXX", "RXX01", "Ward 7B", "326 - ACUTE INTERNAL MEDICINE")
    assert int(row["Total Responses"]) == sum(november.values())

    stored = [json.loads(line) for line in live_server.cli("export", "--ward", "7B", "--format", "jsonl", "--month", "2026-11").stdout.splitlines()]
    misuse = sum(r["misuse"] for r in stored)
    assert misuse > 0 and len(stored) == sum(november.values()) + misuse
    assert f"possible misuse are not counted: {misuse}" in result.stderr

    live_server.cli("fft-return", "--month", "2026-12", "--format", "xlsx", "--output", str(tmp_path / "december.xlsx"))
    book = load_workbook(tmp_path / "december.xlsx")
    ward = dict(zip([c.value for c in book["Ward"][1]], [c.value for c in book["Ward"][2]]))
    assert [ward[c] for c in COUNT_COLUMNS] == [shown["2026-12-01"][s] for s in SCORES]
    modes = dict(zip([c.value for c in book["Collection mode"][1]], [c.value for c in book["Collection mode"][2]]))
    assert modes["Electronic Discharge"] == 2 and modes["Online"] == 0
