"""shared/protocol.py: payload validation, table-driven."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.protocol import ERRORS, MAX_COMMENT_CHARS, ProtocolError, clock_offset_ms, place_tap, validate_rating

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)
GOOD = {"id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "score": "good", "tapped_at": "2026-11-26T09:59:00Z"}


def refused(payload) -> str:
    with pytest.raises(ProtocolError) as caught:
        validate_rating(payload, NOW)
    return caught.value.code


@pytest.mark.parametrize(
    "change, code",
    [
        ({"id": "1B4E28BA2FA141D2883F0016D3CCA427"}, "invalid_id"),
        ({"id": None}, "invalid_id"),
        ({"id": 12}, "invalid_id"),
        ({"score": "Good"}, "invalid_score"),
        ({"score": None}, "invalid_score"),
        ({"score": ["good"]}, "invalid_score"),
        ({"tapped_at": 1764150000}, "invalid_tapped_at"),
        ({"tapped_at": "2026-11-26T09:59:00+01:00"}, "invalid_tapped_at"),
        ({"tapped_at": "2026-11-26 09:59"}, "invalid_tapped_at"),
        ({"device_time": "yesterday"}, "invalid_clock"),
        ({"device_time": "2026-11-26T09:59:00+01:00"}, "invalid_clock"),
        ({"clock_offset_ms": "7200000"}, "invalid_clock"),
        ({"clock_offset_ms": 1.5}, "invalid_clock"),
        ({"clock_offset_ms": True}, "invalid_clock"),
        ({"clock_offset_ms": 10**15}, "invalid_clock"),
        ({"clock": "fine"}, "invalid_clock"),
        ({"comment": 42}, "invalid_comment"),
        ({"comment": "a\x00b"}, "invalid_comment"),
        ({"comment": "a\x1bb"}, "invalid_comment"),
        ({"comment": "lone \ud800 surrogate"}, "invalid_comment"),
        ({"comment": "é" * (MAX_COMMENT_CHARS + 1)}, "comment_too_long"),
        ({"lang": "english please"}, "invalid_lang"),
        ({"lang": 7}, "invalid_lang"),
        ({"follow_up": True}, "invalid_follow_up"),
        ({"follow_up": {"location": "Bay 3", "name": "Mrs Smith"}}, "invalid_follow_up"),
        ({"follow_up": {"location": 3}}, "invalid_follow_up"),
        ({"follow_up": {"location": "B" * 41}}, "location_too_long"),
        ({"ward": "4A"}, "unknown_field"),
    ],
)
def test_bad_fields_are_refused_with_their_code(change, code):
    assert refused(dict(GOOD, **change)) == code


@pytest.mark.parametrize("missing", ["id", "score", "tapped_at"])
def test_required_fields(missing):
    payload = {k: v for k, v in GOOD.items() if k != missing}
    assert refused(payload) == "missing_field"


@pytest.mark.parametrize("payload", [None, "good", 3, ["good"], b"bytes"])
def test_non_objects_are_refused(payload):
    assert refused(payload) == "invalid_payload"


@pytest.mark.parametrize(
    "change, expect",
    [
        ({}, {"comment": None, "follow_up": None}),
        ({"comment": "  Kind staff \n"}, {"comment": "Kind staff"}),
        ({"comment": "   "}, {"comment": None}),
        ({"comment": "Très bien 👍 — شكرا"}, {"comment": "Très bien 👍 — شكرا"}),
        ({"comment": "é" * MAX_COMMENT_CHARS}, {"comment": "é" * MAX_COMMENT_CHARS}),
        ({"follow_up": {}}, {"follow_up": {}}),
        ({"follow_up": {"location": " Bay 3 bed 2 "}}, {"follow_up": {"location": "Bay 3 bed 2"}}),
        ({"lang": "pa-IN"}, {"lang": "pa-IN"}),
        ({"tapped_at": "2026-11-19T10:00:00.000Z"}, {"tapped_at": "2026-11-19T10:00:00.000Z"}),
        ({"tapped_at": "2026-11-26T10:04:59+00:00"}, {"tapped_at": "2026-11-26T10:04:59.000Z"}),
        ({"id": GOOD["id"].upper()}, {"id": GOOD["id"]}),
    ],
)
def test_valid_ratings_are_normalised(change, expect):
    rating = validate_rating(dict(GOOD, **change), NOW)
    for key, value in expect.items():
        assert getattr(rating, key) == value


def test_every_error_code_has_a_plain_sentence():
    for code, message in ERRORS.items():
        assert message.endswith(".") and len(message) > 20, code


def test_seven_days_is_the_limit_exactly():
    edge = (NOW - timedelta(days=7)).isoformat().replace("+00:00", "Z")
    assert validate_rating(dict(GOOD, tapped_at=edge), NOW).tapped_at.startswith("2026-11-19T10:00:00")


HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize(
    "tapped, device_time, offsets, trusted, placed, mark",
    [
        # A tablet that read the server's clock: its time stands.
        ("2026-11-26T09:59:00Z", None, (), True, "2026-11-26T09:59:00Z", None),
        ("2026-11-26T10:04:59Z", None, (), True, "2026-11-26T10:04:59Z", None),
        ("2026-11-19T10:00:00Z", None, (), True, "2026-11-19T10:00:00Z", None),
        # Two hours fast, nothing to correct it with: stored at the moment it arrived, marked.
        ("2026-11-26T12:00:00Z", None, (), True, "2026-11-26T10:00:00Z", "clock_unknown"),
        # Nine days slow, the same.
        ("2026-11-17T09:59:00Z", None, (None,), True, "2026-11-26T10:00:00Z", "clock_unknown"),
        # Two hours fast with the offset measured on connecting: moved back onto the server's clock.
        ("2026-11-26T11:59:00Z", None, (None, -2 * HOUR_MS), True, "2026-11-26T09:59:00Z", "clock_corrected"),
        ("2026-11-17T09:58:00Z", "2026-11-17T09:58:00Z", (9 * DAY_MS,), True, "2026-11-26T09:58:00Z", "clock_corrected"),
        # The tablet's own offset is tried before the connection's; a stale one that still misses is skipped.
        ("2026-11-26T12:00:00Z", "2026-11-26T12:00:00Z", (0, -2 * HOUR_MS), True, "2026-11-26T10:00:00Z", "clock_corrected"),
        # A correction never lands in the future.
        ("2026-11-26T12:03:00Z", None, (-2 * HOUR_MS,), True, "2026-11-26T10:00:00Z", "clock_corrected"),
        # An offset that gives another impossible time is no help.
        ("2026-11-26T12:00:00Z", None, (DAY_MS,), True, "2026-11-26T10:00:00Z", "clock_unknown"),
        # An unchecked clock two hours slow still looks like a time: moved by the known offset.
        ("2026-11-26T07:59:00Z", "2026-11-26T07:59:00Z", (None, 2 * HOUR_MS), False, "2026-11-26T09:59:00Z", "clock_corrected"),
        # ...but a few seconds off is within what the tablet's clock could be: left as it is.
        ("2026-11-26T09:59:00Z", "2026-11-26T09:59:00Z", (None, 3_000), False, "2026-11-26T09:59:00Z", None),
        ("2026-11-26T07:59:00Z", "2026-11-26T07:59:00Z", (None, None), False, "2026-11-26T07:59:00Z", None),
    ],
)
def test_a_tap_is_placed_on_the_servers_clock(tapped, device_time, offsets, trusted, placed, mark):
    moment, got_mark = place_tap(at(tapped), NOW, at(device_time) if device_time else None, offsets, trusted)
    assert (moment, got_mark) == (at(placed), mark)


@pytest.mark.parametrize(
    "sent, received, server_time, device_time, offset, rtt",
    [
        # Clocks agree; the server read its clock halfway through a 200 ms round trip.
        (10.0, 10.2, "2026-11-26T10:00:00.100Z", "2026-11-26T10:00:00.000Z", 0, 200),
        # The tablet is two hours fast.
        (5.0, 5.05, "2026-11-26T10:00:00.025Z", "2026-11-26T12:00:00.000Z", -2 * HOUR_MS, 50),
        # Nine days slow.
        (0.0, 0.0, "2026-11-26T10:00:00Z", "2026-11-17T10:00:00Z", 9 * DAY_MS, 0),
        # A monotonic clock never runs backwards, but a bad reading must not make a negative round trip.
        (3.0, 2.0, "2026-11-26T10:00:01Z", "2026-11-26T10:00:00Z", 1000, 0),
    ],
)
def test_clock_offset_from_one_timed_request(sent, received, server_time, device_time, offset, rtt):
    assert clock_offset_ms(sent, received, at(server_time), at(device_time)) == (offset, rtt)


def test_a_rating_with_a_wrong_clock_is_stored_not_refused_and_keeps_what_was_sent():
    payload = dict(GOOD, tapped_at="2026-11-26T12:00:00Z", device_time="2026-11-26T12:00:00Z", clock="unknown")
    rating = validate_rating(payload, NOW, connection_offset_ms=-2 * HOUR_MS)
    record = rating.record()
    assert record["tapped_at"] == "2026-11-26T10:00:00.000Z" and record["clock_corrected"] is True
    assert record["tapped_at_sent"] == record["device_time"] == "2026-11-26T12:00:00.000Z"
    # A resend is recognised by what the tablet sent, not by where the server placed it.
    assert rating.fields()["tapped_at"] == "2026-11-26T12:00:00.000Z"
