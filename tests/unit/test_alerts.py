"""server/alerts.py: the alert lifecycle and urgent phrases."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from server.ward.alerts import (
    DEFAULT_URGENT_PHRASES,
    AlertError,
    acknowledge,
    new_alert,
    patient_alert,
    resolve,
    urgent_phrase,
)
from server.ward.wall import for_wall_display

RATING = {"id": "r1", "score": "poor", "comment": "Cold tea", "follow_up": {"location": "Bay 3"}}


def fresh():
    return new_alert("follow_up", "7B", "2026-11-26T10:00:00.000Z", "A patient would like a word", RATING)


def test_a_new_alert_is_open_with_a_long_random_token():
    alert = fresh()
    assert alert["status"] == "open"
    assert alert["location"] == "Bay 3"
    assert len(alert["follow_up_token"]) >= 32  # 24 random bytes, URL-safe
    assert fresh()["follow_up_token"] != alert["follow_up_token"]


def test_open_acknowledged_resolved_with_an_audit_trail():
    alert = acknowledge(fresh(), "jo", "2026-11-26T10:01:00.000Z")
    assert (alert["status"], alert["acknowledged_by"]) == ("acknowledged", "jo")
    done = resolve(alert, "sam", "2026-11-26T10:05:00.000Z", "Spoke to the patient; new tea", "You said the tea was cold: we now check it")
    assert done["status"] == "resolved"
    assert (done["resolved_by"], done["action"]) == ("sam", "Spoke to the patient; new tea")
    assert [h["event"] for h in done["history"]] == ["raised", "acknowledged", "resolved"]


def test_resolving_an_open_alert_acknowledges_it_on_the_way():
    done = resolve(fresh(), "sam", "2026-11-26T10:05:00.000Z", "Sorted")
    assert done["acknowledged_by"] == "sam"
    assert [h["event"] for h in done["history"]] == ["raised", "acknowledged", "resolved"]


@pytest.mark.parametrize(
    "action, note, message",
    [("", None, "Say what was done"), ("   ", None, "Say what was done"), (None, None, "Say what was done"),
     ("x" * 1001, None, "at most 1000"), ("ok", "y" * 281, "at most 280"), ("ok", 5, "must be text")],
)
def test_resolving_needs_what_was_done(action, note, message):
    with pytest.raises(AlertError, match=message):
        resolve(fresh(), "sam", "2026-11-26T10:05:00.000Z", action, note)


def test_a_resolved_alert_cannot_be_acted_on_again():
    done = resolve(fresh(), "sam", "2026-11-26T10:05:00.000Z", "Sorted")
    with pytest.raises(AlertError):
        acknowledge(done, "jo", "2026-11-26T10:06:00.000Z")
    with pytest.raises(AlertError):
        resolve(done, "jo", "2026-11-26T10:06:00.000Z", "Again")


@pytest.mark.parametrize(
    "comment, phrase",
    [
        ("I felt UNSAFE at night", "unsafe"),
        ("my pain  not\ncontrolled since yesterday", "pain not controlled"),
        ("The nurse was rough with me", "rough with me"),
        ("Staff were unhurried and kind", None),  # whole words only
        ("Lovely ward", None),
        (None, None),
    ],
)
def test_urgent_phrases(comment, phrase):
    assert urgent_phrase(comment, DEFAULT_URGENT_PHRASES) == phrase


def test_a_ward_can_use_its_own_phrases():
    assert urgent_phrase("the buzzer is broken", ["buzzer"]) == "buzzer"
    assert urgent_phrase("I felt unsafe", ["buzzer"]) is None


@pytest.mark.parametrize(
    "resolved_at, shown",
    [
        ("2026-11-26T14:02:00.000Z", "14:02"),  # GMT: the ward's clock is UTC
        ("2026-07-01T13:02:00.000Z", "14:02"),  # BST: an hour ahead
    ],
)
@pytest.mark.parametrize("late_step", ["acknowledge", "resolve"])
def test_a_step_on_a_resolved_alert_is_refused_with_who_and_when_and_the_alert(resolved_at, shown, late_step):
    done = resolve(fresh(), "J Smith", resolved_at, "Sat with her")
    london = ZoneInfo("Europe/London")
    with pytest.raises(AlertError) as refused:
        if late_step == "acknowledge":
            acknowledge(done, "nurse", "2026-11-26T15:00:00.000Z", london)
        else:
            resolve(done, "nurse", "2026-11-26T15:00:00.000Z", "Also sat with her", tz=london)
    assert str(refused.value) == f"This alert was already resolved by J Smith at {shown}."
    assert refused.value.alert == done


@pytest.mark.parametrize("follow_up, comment, kind, reasons, in_summary", [
    ({"location": "Bay 3"}, "I felt unsafe at night", "follow_up", ["follow_up", "comment"], "\u201cunsafe\u201d"),
    ({}, None, "follow_up", ["follow_up"], "come and talk to them"),
    (None, "I felt unsafe at night", "comment", ["comment"], "\u201cunsafe\u201d"),
    (None, "Lovely staff", None, None, None),
])
def test_one_card_per_patient_with_every_reason_on_it(follow_up, comment, kind, reasons, in_summary):
    rating = {"id": "r1", "score": "poor", "comment": comment, "follow_up": follow_up}
    alert = patient_alert("7B", "2026-11-26T10:00:00.000Z", rating, urgent_phrase(comment, DEFAULT_URGENT_PHRASES))
    if kind is None:
        assert alert is None
        return
    assert (alert["kind"], alert["reasons"], alert["rating_id"]) == (kind, reasons, "r1")
    assert in_summary in alert["summary"]


def test_a_wall_display_never_sees_the_phrase_of_a_card_with_both_reasons():
    rating = {"id": "r1", "score": "poor", "comment": "I felt unsafe", "follow_up": {"location": "Bay 3"}}
    wall = for_wall_display(patient_alert("7B", "2026-11-26T10:00:00.000Z", rating, "unsafe"))
    assert "unsafe" not in str(wall) and "Bay 3" not in str(wall)
    assert wall["reasons"] == ["follow_up", "comment"] and wall["words_hidden"] is True
