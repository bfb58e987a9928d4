"""The ward service on its own: ratings in, the ward's picture and alerts out, with no Flask and no sockets."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from kiosk.client import make_rating
from server.ward.service import WardService
from server.ward.wall import for_wall_display

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def service(tmp_path):
    service = WardService(tmp_path, follow_up_link=lambda token: f"https://wardpulse.example/f/{token}")
    service.registry.add_ward("7B", "Ward 7B")
    yield service
    service.close()


@pytest.fixture
def tablet(service):
    made = service.registry.add_kiosk("7B", "Day room")
    service.registry_changed()
    return service.kiosk_for_token(made["token"])


def test_the_ward_service_loads_without_flask():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, server.ward.service; print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'flask_socketio', 'werkzeug')))"],
        capture_output=True, text=True, check=True,
    )
    assert loaded.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "score, counts_as",
    [("very_good", "positive_pct"), ("good", "positive_pct"), ("poor", "negative_pct"), ("very_poor", "negative_pct")],
)
def test_a_rating_in_shows_in_the_picture(service, tablet, score, counts_as):
    ack, item, raised = service.receive_rating(tablet, make_rating(score, tapped_at=NOW - timedelta(minutes=1)), now=NOW)
    assert ack == {"ok": True, "id": item["id"], "duplicate": False}
    assert raised == []
    assert item["stats"]["counts"][score] == 1 and item["stats"][counts_as] == 100.0
    assert item["kiosk_label"] == "Day room" and item["seq"] == 1
    snapshot = service.snapshot("7B", now=NOW)
    assert [r["id"] for r in snapshot["recent"]] == [item["id"]]
    assert snapshot["stats"]["total"] == 1 and snapshot["open_alerts"] == []


def test_a_rating_no_screen_watches_builds_no_feed_item_yet_keeps_its_place_in_the_feed(service, tablet):
    asked = []
    ack, item, _ = service.receive_rating(tablet, make_rating("poor", tapped_at=NOW - timedelta(minutes=2)), now=NOW,
                                          watched=lambda ward: asked.append(ward) and False)
    assert ack["ok"] and not ack["duplicate"] and item is None and asked == ["7B"]
    snapshot = service.snapshot("7B", now=NOW)
    assert snapshot["seq"] == 1 and snapshot["stats"]["total"] == 1 and len(snapshot["recent"]) == 1
    ack, item, _ = service.receive_rating(tablet, make_rating("good", tapped_at=NOW - timedelta(minutes=1)), now=NOW,
                                          watched=lambda ward: True)
    assert item["seq"] == 2 and item["stats"]["total"] == 2  # a screen that joined in between sees no gap


def test_a_resend_is_acked_as_a_duplicate_and_counted_once(service, tablet):
    rating = make_rating("good", tapped_at=NOW - timedelta(minutes=1))
    service.receive_rating(tablet, rating, now=NOW)
    ack, item, raised = service.receive_rating(tablet, rating, now=NOW)
    assert ack["ok"] and ack["duplicate"] and item is None and raised == []
    assert service.snapshot("7B", now=NOW)["stats"]["total"] == 1


@pytest.mark.parametrize(
    "comment, follow_up, kinds",
    [
        (None, {"location": "Bay 3"}, ["follow_up"]),
        ("I am scared and nobody came", None, ["comment"]),
        ("Lovely staff", None, []),
    ],
)
def test_a_rating_that_needs_someone_raises_its_alert(service, tablet, comment, follow_up, kinds):
    rating = make_rating("poor", comment=comment, follow_up=follow_up, tapped_at=NOW - timedelta(minutes=1))
    ack, _, raised = service.receive_rating(tablet, rating, now=NOW)
    assert [a["kind"] for a in raised] == kinds
    assert all(a["follow_up_url"] == f"https://wardpulse.example/f/{a['follow_up_token']}" for a in raised)
    assert ack.get("alert_durable", True) is True
    assert [a["id"] for a in service.active_alerts("7B")] == [a["id"] for a in raised]


def test_an_alert_is_acknowledged_then_resolved(service, tablet):
    rating = make_rating("very_poor", follow_up={"location": "Bed 4"}, tapped_at=NOW - timedelta(minutes=1))
    _, _, [alert] = service.receive_rating(tablet, rating, now=NOW)
    taken = service.act_on_alert("7B", alert["id"], "sister", "acknowledge")
    assert taken["status"] == "acknowledged" and taken["acknowledged_by"] == "sister"
    done = service.act_on_alert("7B", alert["id"], "sister", "resolve", "talked_to_patient", "Sorted with the patient")
    assert done["status"] == "resolved"
    assert service.active_alerts("7B") == []


def test_you_said_we_did_is_worked_out_once_per_change_of_the_wards_alerts(service, tablet):
    board = service.you_said_we_did("7B")
    assert board["published"] == []
    assert service.you_said_we_did("7B") is board  # every tablet's clock reading: no copy of every alert
    rating = make_rating("very_poor", follow_up={"location": "Bed 4"}, tapped_at=NOW - timedelta(minutes=1))
    _, _, [alert] = service.receive_rating(tablet, rating, now=NOW)
    service.act_on_alert("7B", alert["id"], "pat", "resolve", "Answered the bell", "We now answer bells sooner", role="sister")
    assert [s["text"] for s in service.you_said_we_did("7B")["published"]] == ["We now answer bells sooner"]


def test_wall_displays_get_no_patient_words(service, tablet):
    rating = make_rating("poor", comment="Call me on the ward", follow_up={"location": "Bay 2"}, tapped_at=NOW - timedelta(minutes=1))
    _, item, [alert] = service.receive_rating(tablet, rating, now=NOW)
    assert for_wall_display(item)["comment"] is None and for_wall_display(item)["follow_up"] == {}
    assert for_wall_display(item)["words_hidden"] is True
    wall_alert = for_wall_display(alert)
    assert wall_alert["comment"] is None and wall_alert["location"] is None and wall_alert["words_hidden"] is True


def test_a_run_of_negative_ratings_raises_one_trend_alert(service, tablet):
    raised = []
    for minute in range(60):
        _, _, alerts = service.receive_rating(tablet, make_rating("very_poor", tapped_at=NOW - timedelta(minutes=60 - minute)), now=NOW)
        raised += alerts
    assert [a["kind"] for a in raised] == ["trend"]
    assert service.snapshot("7B", now=NOW)["trend"]["held"] is True
