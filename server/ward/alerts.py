"""Alerts and their lifecycle: open -> acknowledged -> resolved. Pure logic."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime, timezone, tzinfo

KINDS = ("trend", "follow_up", "comment")
OPEN, ACKNOWLEDGED, RESOLVED = "open", "acknowledged", "resolved"
ACTIVE = (OPEN, ACKNOWLEDGED)
MAX_ACTION_CHARS = 1000
MAX_PUBLIC_NOTE_CHARS = 280

# Words in a comment that mean someone should go and see the patient now. Wards can edit their list.
DEFAULT_URGENT_PHRASES = (
    "abuse",
    "abused",
    "hurt",
    "hurting",
    "unsafe",
    "not safe",
    "scared",
    "frightened",
    "afraid",
    "pain not controlled",
    "in pain",
    "no pain relief",
    "neglect",
    "neglected",
    "hit me",
    "shouted at",
    "rough with me",
    "fell",
    "suicidal",
    "kill myself",
    "self harm",
    "safeguarding",
    "help me",
)


SHORT_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L to misread


class AlertError(ValueError):
    """A lifecycle step that cannot be done; the message says why, in plain English."""

    def __init__(self, message: str, alert: dict | None = None):
        super().__init__(message)
        self.alert = alert  # the alert as it stands, when another step got there first


def already_resolved(alert: dict, tz: tzinfo) -> AlertError:
    """The refusal for a step that lost the race to a resolve: who resolved it, and when (ward time)."""
    at = datetime.fromisoformat(alert["resolved_at"]).astimezone(tz)
    return AlertError(f"This alert was already resolved by {alert['resolved_by']} at {at:%H:%M}.", alert)


def new_alert(kind: str, ward: str, raised_at: str, summary: str, rating: dict | None = None, detail: dict | None = None) -> dict:
    """A fresh open alert with its follow-up token (a locator for the QR code: 192 random bits)."""
    if kind not in KINDS:
        raise AlertError(f"unknown alert kind {kind!r}")
    return {
        "id": str(uuid.uuid4()),
        "ward": ward,
        "kind": kind,
        "status": OPEN,
        "raised_at": raised_at,
        "summary": summary,
        "detail": detail or {},
        "rating_id": rating["id"] if rating else None,
        "score": rating["score"] if rating else None,
        "comment": rating.get("comment") if rating else None,
        "location": ((rating or {}).get("follow_up") or {}).get("location"),
        # Why it was raised: one card per patient, so a request to talk that also has an urgent comment
        # is one alert of kind follow_up with both reasons. Screens older than `reasons` read `kind`.
        "reasons": [kind],
        "follow_up_token": secrets.token_urlsafe(24),
        # For typing when a phone cannot scan: it only leads to sign-in, like the QR code.
        "short_code": "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(6)),
        "acknowledged_by": None,
        "acknowledged_at": None,
        "resolved_by": None,
        "resolved_at": None,
        "action": None,
        "public_note": None,
        "history": [{"at": raised_at, "by": None, "event": "raised"}],
    }


def acknowledge(alert: dict, who: str, at: str, tz: tzinfo = timezone.utc) -> dict:
    """Someone is on it. Acknowledging twice is harmless; a resolved alert stays resolved."""
    if alert["status"] == RESOLVED:
        raise already_resolved(alert, tz)
    if alert["status"] == ACKNOWLEDGED:
        return alert
    return dict(
        alert,
        status=ACKNOWLEDGED,
        acknowledged_by=who,
        acknowledged_at=at,
        history=alert["history"] + [{"at": at, "by": who, "event": "acknowledged"}],
    )


def resolve(alert: dict, who: str, at: str, action: object, public_note: object = None, tz: tzinfo = timezone.utc) -> dict:
    """Close the loop: what was done, and optionally a "You said, we did" sentence for patients."""
    if alert["status"] == RESOLVED:
        raise already_resolved(alert, tz)
    action = action.strip() if isinstance(action, str) else ""
    if not action:
        raise AlertError("Say what was done before resolving the alert.")
    if len(action) > MAX_ACTION_CHARS:
        raise AlertError(f"What was done must be at most {MAX_ACTION_CHARS} characters.")
    if public_note is not None and not isinstance(public_note, str):
        raise AlertError("The 'You said, we did' note must be text.")
    public_note = (public_note or "").strip() or None
    if public_note and len(public_note) > MAX_PUBLIC_NOTE_CHARS:
        raise AlertError(f"The 'You said, we did' note must be at most {MAX_PUBLIC_NOTE_CHARS} characters.")
    acknowledged = acknowledge(alert, who, at, tz)
    return dict(
        acknowledged,
        status=RESOLVED,
        resolved_by=who,
        resolved_at=at,
        action=action,
        public_note=public_note,
        history=acknowledged["history"] + [{"at": at, "by": who, "event": "resolved"}],
    )


def urgent_phrase(comment: str | None, phrases: tuple[str, ...] | list[str]) -> str | None:
    """The first urgent phrase found in a comment, as whole words, ignoring case."""
    if not comment:
        return None
    text = " ".join(comment.lower().split())
    for phrase in phrases:
        if re.search(r"\b" + re.escape(" ".join(phrase.lower().split())) + r"\b", text):
            return phrase
    return None


def follow_up_summary() -> str:
    # The location is shown beside the summary, to signed-in staff only.
    return "A patient would like a member of staff to come and talk to them"


def comment_summary(phrase: str | None) -> str:
    if phrase is None:
        return "An urgent comment came in: sign in to read it and check on the patient"
    return f"A comment mentions \u201c{phrase}\u201d: please read it and check on the patient"


def both_summary(phrase: str | None) -> str:
    if phrase is None:
        return "A patient would like a member of staff to come and talk to them, and their comment is urgent: sign in to read it"
    return f"A patient would like a member of staff to come and talk to them, and their comment mentions \u201c{phrase}\u201d"


def patient_alert(ward: str, raised_at: str, rating: dict, phrase: str | None) -> dict | None:
    """The one alert a patient's rating raises: asking for someone, an urgent comment, or both on one card."""
    asks = rating.get("follow_up") is not None
    if asks and phrase:
        alert = new_alert("follow_up", ward, raised_at, both_summary(phrase), rating, {"phrase": phrase})
        return dict(alert, reasons=["follow_up", "comment"])
    if asks:
        return new_alert("follow_up", ward, raised_at, follow_up_summary(), rating)
    if phrase:
        return new_alert("comment", ward, raised_at, comment_summary(phrase), rating, {"phrase": phrase})
    return None
