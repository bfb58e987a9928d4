""""You said, we did": when a sentence staff wrote on resolving an alert may reach patients. Pure.

A sentence goes on the ward's tablets, its wall display and its printed poster, so it is published
only by someone who answers for the ward: written by a sister (or above), or written by any member of
staff and then approved, perhaps reworded, by a sister. Until then it waits, seen by staff only.
"""

from __future__ import annotations

from server.ward.alerts import MAX_PUBLIC_NOTE_CHARS, RESOLVED, AlertError

PUBLISHED, WAITING = "published", "waiting"
# Roles whose sentence goes out as written, and who may approve a colleague's.
PUBLISHERS = ("sister", "matron", "admin")
SHOWN = 3  # the kiosk rotates the latest three; the poster prints them


def may_publish(role: str | None) -> bool:
    """A sister or above answers for what patients are told."""
    return role in PUBLISHERS


def on_resolve(alert: dict, who: str, role: str | None, at: str) -> dict:
    """The alert as resolved with its sentence published (sister or above) or waiting for approval."""
    if not alert.get("public_note"):
        return dict(alert, public_note_status=None)
    if may_publish(role):
        return dict(alert, public_note_status=PUBLISHED, published_by=who, published_at=at,
                    history=alert["history"] + [{"at": at, "by": who, "event": "published"}])
    return dict(alert, public_note_status=WAITING)


def publish(alert: dict, who: str, role: str | None, at: str, text: object = None) -> dict:
    """A sister approves (and may reword) a resolved alert's sentence; raises AlertError with a plain reason."""
    if not may_publish(role):
        raise AlertError("Only a sister, matron or admin can publish a \u201cYou said, we did\u201d sentence.")
    if alert["status"] != RESOLVED:
        raise AlertError("Resolve the alert first: a sentence is published with what was done.")
    if text is not None and not isinstance(text, str):
        raise AlertError("The 'You said, we did' note must be text.")
    text = " ".join((text if text is not None else alert.get("public_note") or "").split())
    if not text:
        raise AlertError("Write the sentence patients will see before publishing it.")
    if len(text) > MAX_PUBLIC_NOTE_CHARS:
        raise AlertError(f"The 'You said, we did' note must be at most {MAX_PUBLIC_NOTE_CHARS} characters.")
    if alert.get("public_note_status") == PUBLISHED and text == alert.get("public_note"):
        return alert  # published twice (two sisters at once): once is enough
    return dict(alert, public_note=text, public_note_status=PUBLISHED, published_by=who, published_at=at,
                history=alert["history"] + [{"at": at, "by": who, "event": "published"}])


def sentence(alert: dict) -> dict:
    """What patients see of a published sentence: the words and when, never the alert or the patient."""
    return {"id": alert["id"], "text": alert["public_note"], "published_at": alert["published_at"]}


def latest(alerts: list[dict], count: int = SHOWN) -> list[dict]:
    """The ward's newest published sentences, newest first."""
    published = [a for a in alerts if a.get("public_note_status") == PUBLISHED and a.get("public_note")]
    return [sentence(a) for a in sorted(published, key=lambda a: a["published_at"], reverse=True)[:count]]


def waiting(alerts: list[dict]) -> list[dict]:
    """Sentences staff wrote that wait for a sister's approval, oldest first, with what was done beside them."""
    found = [a for a in alerts if a.get("public_note_status") == WAITING and a.get("public_note")]
    return [{"id": a["id"], "text": a["public_note"], "action": a.get("action"), "resolved_by": a.get("resolved_by"),
             "resolved_at": a.get("resolved_at")}
            for a in sorted(found, key=lambda a: a.get("resolved_at") or "")]


def board(alerts: list[dict], count: int = SHOWN) -> dict:
    """The ward's sentences as its screens show them: published ones for everyone, waiting ones for staff."""
    return {"published": latest(alerts, count), "waiting": waiting(alerts)}
