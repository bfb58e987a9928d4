"""What a corridor wall display may see: every rating, alert and snapshot, without patients' words. Pure."""

from __future__ import annotations

from server.ward import alerts as lifecycle
from server.ward.you_said import WAITING

# What patients wrote and where they are: for signed-in staff only, never a corridor wall display.
_PATIENT_WORDS = ("comment", "location")


def for_wall_display(payload: dict) -> dict:
    """A copy of a rating, alert or snapshot without patients' words (marked as hidden instead)."""
    if "recent" in payload:
        return dict(payload, recent=[for_wall_display(r) for r in payload["recent"]],
                    open_alerts=[for_wall_display(a) for a in payload["open_alerts"]],
                    you_said_we_did=for_wall_display(payload.get("you_said_we_did") or {"published": []}))
    if "published" in payload:  # "You said, we did": the published sentences are public, those waiting are not
        return {k: v for k, v in payload.items() if k != "waiting"}
    hidden = {k: None for k in _PATIENT_WORDS if k in payload}
    if payload.get("themes"):  # what a comment is about is read from the patient's words
        hidden["themes"] = []
    if payload.get("follow_up"):
        hidden["follow_up"] = {}
    if payload.get("public_note_status") == WAITING:  # not yet approved by a sister: not for a corridor
        hidden["public_note"] = None
    if payload.get("kind") == "comment":  # the matched phrase is the patient's word too
        hidden["summary"], hidden["detail"] = lifecycle.comment_summary(None), {}
    elif "comment" in (payload.get("reasons") or ()):
        hidden["summary"], hidden["detail"] = lifecycle.both_summary(None), {}
    return dict(payload, **hidden, words_hidden=any(payload.get(k) for k in _PATIENT_WORDS))
