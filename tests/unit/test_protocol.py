"""shared/protocol.py: payload validation, table-driven."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.protocol import ERRORS, MAX_COMMENT_CHARS, ProtocolError, validate_rating

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
        ({"tapped_at": "2026-11-19T09:59:00Z"}, "tapped_at_too_old"),
        ({"tapped_at": "2026-11-26T10:06:00Z"}, "tapped_at_in_future"),
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
