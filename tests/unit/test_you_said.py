"""server/ward/you_said.py: who publishes a "You said, we did" sentence, and which ones patients see."""

from __future__ import annotations

import pytest

from server.ward.alerts import AlertError, new_alert, resolve
from server.ward.wall import for_wall_display
from server.ward.you_said import PUBLISHED, WAITING, board, latest, may_publish, on_resolve, publish

AT = "2026-11-26T10:05:00.000Z"
LATER = "2026-11-26T11:00:00.000Z"


def resolved(note="You said the tea was cold: we now check it", at=AT, who="sam"):
    alert = new_alert("follow_up", "7B", "2026-11-26T10:00:00.000Z", "A patient would like a word", {"id": "r1", "score": "poor"})
    return resolve(alert, who, at, "Spoke to the patient", note)


@pytest.mark.parametrize("role, publishes", [
    ("staff", False), ("sister", True), ("matron", True), ("admin", True), ("display", False), (None, False), ("", False),
])
def test_a_sister_or_above_publishes(role, publishes):
    assert may_publish(role) is publishes


@pytest.mark.parametrize("role, status, published_by", [
    ("sister", PUBLISHED, "sam"),
    ("admin", PUBLISHED, "sam"),
    ("staff", WAITING, None),
])
def test_a_sentence_written_on_resolving_is_published_or_waits_by_role(role, status, published_by):
    alert = on_resolve(resolved(), "sam", role, AT)
    assert alert["public_note_status"] == status
    assert alert.get("published_by") == published_by
    assert (alert["history"][-1]["event"] == "published") is (status == PUBLISHED)


def test_no_sentence_means_nothing_to_publish():
    assert on_resolve(resolved(note=None), "sam", "sister", AT)["public_note_status"] is None


@pytest.mark.parametrize("role, text, published_text", [
    ("sister", None, "You said the tea was cold: we now check it"),  # approved as written
    ("sister", "  We now   check the tea  ", "We now check the tea"),  # reworded by the sister
    ("matron", None, "You said the tea was cold: we now check it"),
])
def test_a_sister_approves_a_waiting_sentence_and_may_reword_it(role, text, published_text):
    waiting = on_resolve(resolved(), "sam", "staff", AT)
    done = publish(waiting, "pat", role, LATER, text)
    assert (done["public_note_status"], done["public_note"], done["published_by"], done["published_at"]) == (
        PUBLISHED, published_text, "pat", LATER)


@pytest.mark.parametrize("role, alert, text, reason", [
    ("staff", on_resolve(resolved(), "sam", "staff", AT), None, "Only a sister"),
    ("sister", new_alert("comment", "7B", AT, "x", {"id": "r", "score": "poor"}), "We did it", "Resolve the alert first"),
    ("sister", on_resolve(resolved(note=None), "sam", "staff", AT), None, "Write the sentence"),
    ("sister", on_resolve(resolved(), "sam", "staff", AT), "   ", "Write the sentence"),
    ("sister", on_resolve(resolved(), "sam", "staff", AT), "x" * 281, "at most 280"),
    ("sister", on_resolve(resolved(), "sam", "staff", AT), ["not", "text"], "must be text"),
])
def test_publishing_is_refused_with_a_plain_reason(role, alert, text, reason):
    with pytest.raises(AlertError, match=reason):
        publish(alert, "pat", role, LATER, text)


def test_publishing_twice_changes_nothing():
    once = publish(on_resolve(resolved(), "sam", "staff", AT), "pat", "sister", LATER)
    assert publish(once, "jo", "sister", "2026-11-26T12:00:00.000Z") is once


def test_patients_see_the_latest_three_published_newest_first_and_nothing_else():
    alerts = [on_resolve(resolved(note=f"Change {i}", at=f"2026-11-2{i}T10:00:00.000Z"), "sam", "sister", f"2026-11-2{i}T10:00:00.000Z")
              for i in range(1, 6)]
    alerts.append(on_resolve(resolved(note="Not approved yet"), "sam", "staff", AT))
    alerts.append(resolved(note="Resolved before publishing existed"))  # no status: never shown
    shown = latest(alerts)
    assert [s["text"] for s in shown] == ["Change 5", "Change 4", "Change 3"]
    assert set(shown[0]) == {"id", "text", "published_at"}  # never the patient's comment, score or alert
    assert [w["text"] for w in board(alerts)["waiting"]] == ["Not approved yet"]


def test_a_wall_display_never_gets_a_sentence_still_waiting_for_a_sister():
    waiting = on_resolve(resolved(note="Not approved yet"), "sam", "staff", AT)
    assert for_wall_display(waiting)["public_note"] is None
    published = publish(waiting, "pat", "sister", LATER)
    assert for_wall_display(published)["public_note"] == "Not approved yet"
