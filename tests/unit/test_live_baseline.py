"""The ward service keeps each ward's p0 and h current by its own clock, without Flask (server/live.py)."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from server.ward.service import WardService
from shared.protocol import iso_utc

START = datetime(2026, 3, 2, tzinfo=timezone.utc)


class Ward:
    """One ward on a ward service whose clock the test moves."""

    def __init__(self, data_dir, now=START):
        self.now = now
        self.server = WardService(data_dir, clock=lambda: self.now)
        if self.server.registry.ward("7B") is None:
            self.server.registry.add_ward("7B", "Ward 7B")
            self.server.registry.add_kiosk("7B")
            self.server.registry_changed()
        self.kiosk = dict(self.server.registry.kiosks("7B")[0], channel="kiosk")
        self.rng = random.Random(5)
        self.alerts = []

    def days(self, count: int, per_day: int, p: float) -> None:
        """Ratings spread over `count` days; each trend alert is acknowledged an hour later."""
        for _ in range(count * per_day):
            self.now += timedelta(days=1 / per_day)
            payload = {"id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                       "score": "poor" if self.rng.random() < p else "good", "tapped_at": iso_utc(self.now)}
            ack, _, raised = self.server.receive_rating(self.kiosk, payload, self.now)
            assert ack["ok"]
            for alert in raised:
                self.alerts.append(alert)
                self.server.act_on_alert("7B", alert["id"], "sister", "acknowledge")

    def trend(self) -> dict:
        return self.server.trend_settings("7B")


def test_p0_and_h_follow_the_wards_own_rate_each_day_without_waiting_for_an_alert(tmp_path):
    ward = Ward(tmp_path)
    ward.days(20, 20, 0.03)
    assert ward.alerts == []
    settings = ward.trend()
    assert settings["p0"] == pytest.approx(0.03, abs=0.012)  # was the 8 % default until 900 ratings and an alert
    assert settings["per_day"] == pytest.approx(20, rel=0.1)  # its own volume, not the default 30
    whys = [change["why"] for change in settings["changes"]]
    assert whys[-1] == "first use" and whys.count("daily") >= 5
    # Below one at the estimate: h allows for 400 ratings not yet pinning the rate down.
    assert 0.2 <= settings["false_alerts_per_100_days"] <= 1.0
    assert settings["at"] == settings["changes"][0]["at"]  # newest first
    ward.server.close()


def test_a_bad_spell_is_left_out_of_the_baseline_and_the_trail_survives_a_restart(tmp_path):
    ward = Ward(tmp_path)
    ward.days(30, 30, 0.08)
    before = ward.trend()["p0"]
    ward.days(14, 30, 0.24)  # a fortnight at three times the usual rate
    assert len([a for a in ward.alerts if a["kind"] == "trend"]) >= 3
    ward.days(2, 30, 0.08)
    after = ward.trend()["p0"]
    # Left in, 14 of 46 days at 24 % would have lifted p0 to about 13 %.
    assert after == pytest.approx(before, rel=0.2)
    trail = ward.trend()["changes"]
    ward.server.close()
    restarted = Ward(tmp_path, ward.now)
    assert restarted.trend()["changes"][: len(trail)] == trail or restarted.trend()["changes"][1:] == trail
    assert restarted.trend()["p0"] == pytest.approx(after, rel=0.05)
    restarted.server.close()
