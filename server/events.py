"""Socket.IO handlers. Thin: authenticate, call the ward server, emit."""

from __future__ import annotations

import logging

from flask import current_app, request, session
from flask_socketio import ConnectionRefusedError, emit, join_room

from server.app import socketio
from server.auth import screens_of, signed_in_staff, ward_for_viewer
from server.kiosk_words import ward_start
from server.live import OWN_DEVICE, for_wall_display, tablet_report
from server.storage import now_utc
from server.alerts import AlertError
from shared.protocol import (
    ACKNOWLEDGE_ALERT,
    ALERT,
    ALERT_REFUSED,
    CLOCK,
    KIOSK_NAMESPACE,
    KIOSK_START,
    KIOSK_STATUS,
    RATING,
    RESOLVE_ALERT,
    SNAPSHOT,
    STAFF_NAMESPACE,
    STATUS,
    ProtocolError,
    handshake_offset_ms,
    iso_utc,
)

log = logging.getLogger(__name__)


def ward_room(ward: str, read_only: bool = False) -> str:
    """Signed-in staff and corridor wall displays of a ward listen in separate rooms."""
    return f"{'display' if read_only else 'ward'}:{ward}"


def emit_to_ward(event: str, payload: dict) -> None:
    """Send an event to every screen of its ward; wall displays get it without what patients wrote."""
    socketio.emit(event, payload, namespace=STAFF_NAMESPACE, to=ward_room(payload["ward"]))
    socketio.emit(event, for_wall_display(payload), namespace=STAFF_NAMESPACE, to=ward_room(payload["ward"], read_only=True))


def kiosk_room(kiosk_id: str) -> str:
    return f"kiosk:{kiosk_id}"


def ward_kiosks_room(ward: str) -> str:
    """Every tablet and own phone of a ward: told when the ward's start language or wording changes."""
    return f"kiosks:{ward}"


def tell_kiosks_how_to_start(ward: str) -> None:
    """Send a ward's connected kiosks its language and wording for each new patient."""
    record = current_app.extensions["wardpulse"].registry.kiosk_start(ward)
    start = ward_start(record, current_app.extensions["wardpulse_languages"])
    socketio.emit(KIOSK_START, start, namespace=KIOSK_NAMESPACE, to=ward_kiosks_room(ward))


def _refuse(refusal: ProtocolError) -> ConnectionRefusedError:
    # Socket.IO clients see the message as err.message and the dict as err.data.
    return ConnectionRefusedError(refusal.message, {"error": refusal.code, "message": refusal.message})


def _auth(auth: object) -> dict:
    return auth if isinstance(auth, dict) else {}


@socketio.on("connect", namespace=KIOSK_NAMESPACE)
def kiosk_connect(auth=None):
    """A ward tablet connects with its device token (or a patient's phone with the poster's ward code)."""
    auth, wards = _auth(auth), current_app.extensions["wardpulse"]
    try:
        if "own_ward" in auth:
            kiosk = wards.own_device(auth.get("own_ward"), auth.get("device"))
        else:
            kiosk = wards.kiosk_for_token(auth.get("token"))
    except ProtocolError as refusal:
        if refusal.code == "revoked_token":
            wards.kiosk_refused(auth.get("token"), auth)  # what it still holds, for the admin page
        raise _refuse(refusal) from None
    # The tablet's clock as it connected: a rough offset (no round trip) until it measures its own.
    kiosk["clock_offset_ms"] = handshake_offset_ms(auth.get("device_time"), now_utc())
    session["kiosk"] = kiosk  # per-connection copy, never sent back as a cookie
    join_room(kiosk_room(kiosk["id"]))
    join_room(ward_kiosks_room(kiosk["ward"]))
    wards.kiosk_connected(kiosk["id"], +1)
    if kiosk.get("channel") != OWN_DEVICE:
        wards.kiosk_report(kiosk["id"], dict(auth, clock_offset_ms=kiosk["clock_offset_ms"]))


@socketio.on("disconnect", namespace=KIOSK_NAMESPACE)
def kiosk_disconnect(*_reason):
    """A tablet went away: the admin page shows it offline once its last socket is gone."""
    if "kiosk" in session:
        current_app.extensions["wardpulse"].kiosk_connected(session["kiosk"]["id"], -1)


@socketio.on(KIOSK_STATUS, namespace=KIOSK_NAMESPACE)
def kiosk_status(payload=None):
    """A tablet reports its outbox size, its measured clock offset and the ratings it gave up on."""
    update = tablet_report(payload)
    if "clock_offset_ms" in update:
        session["kiosk"]["clock_offset_ms"] = update["clock_offset_ms"]
    current_app.extensions["wardpulse"].kiosk_report(session["kiosk"]["id"], update)


@socketio.on(CLOCK, namespace=KIOSK_NAMESPACE)
def kiosk_clock(*_payload):
    """A tablet times this request to learn the server's clock; the ack carries it, and the ward's
    language and wording for each new patient (`start`), which the tablet keeps for offline reloads."""
    wards = current_app.extensions["wardpulse"]
    start = ward_start(wards.registry.kiosk_start(session["kiosk"]["ward"]), current_app.extensions["wardpulse_languages"])
    return {"start": start, "server_time": iso_utc(now_utc())}


@socketio.on(RATING, namespace=KIOSK_NAMESPACE)
def kiosk_rating(payload=None, *extra):
    """A tablet sends one tap. Acked once durable; the ward's screens get it as `rating`, and any `alert` it raised."""
    if extra:
        return ProtocolError("invalid_payload").as_ack()
    wards = current_app.extensions["wardpulse"]
    trouble_before = wards.storage_problem
    ack, item, raised = wards.receive_rating(session["kiosk"], payload)
    ack["server_time"] = iso_utc(now_utc())  # every ack is also a reading of the server's clock
    if item is not None:
        emit_to_ward(RATING, item)
    for alert in raised:
        emit_to_ward(ALERT, alert)
    tell_screens_if_storage_changed(wards, trouble_before)
    return ack


def tell_screens_if_storage_changed(wards, trouble_before: str | None) -> None:
    """Show or clear the storage banner on every ward's screens (the disk is shared) when it changed."""
    if (trouble_before is None) != (wards.storage_problem is None):
        socketio.emit(STATUS, wards.status(), namespace=STAFF_NAMESPACE)


@socketio.on("connect", namespace=STAFF_NAMESPACE)
def staff_connect(auth=None):
    """A ward screen (staff session or display token) connects; it gets a full snapshot, then live events."""
    auth = _auth(auth)
    try:
        ward, viewer = ward_for_viewer(auth.get("ward"), auth.get("token"))
    except ProtocolError as refusal:
        raise _refuse(refusal) from None
    session["ward"], session["viewer"] = ward, viewer
    join_room(ward_room(ward, viewer["read_only"]))
    if not viewer["read_only"]:
        join_room(screens_of(viewer["name"]))  # closed when this person signs out anywhere
    snapshot = current_app.extensions["wardpulse"].snapshot(ward)
    emit(SNAPSHOT, for_wall_display(snapshot) if viewer["read_only"] else snapshot)


def _act_on_alert(step: str, payload: object) -> dict:
    viewer = session.get("viewer") or {}
    if viewer.get("read_only", True):
        return ProtocolError("read_only").as_ack()
    if signed_in_staff() is None:  # signed out, or out everywhere, since this screen connected
        return ProtocolError("not_signed_in").as_ack()
    payload = payload if isinstance(payload, dict) else {}
    wards = current_app.extensions["wardpulse"]
    trouble_before = wards.storage_problem
    try:
        alert = wards.act_on_alert(
            session["ward"], payload.get("id"), viewer["name"], step, payload.get("action"), payload.get("public_note")
        )
    except AlertError as refusal:
        refused = {"ok": False, "error": ALERT_REFUSED, "message": str(refusal)}
        if refusal.alert:  # another step won: this screen shows the winner at once
            refused["alert"] = refusal.alert
        return refused
    emit_to_ward(ALERT, alert)
    tell_screens_if_storage_changed(wards, trouble_before)
    return {"ok": True, "alert": alert}


@socketio.on(ACKNOWLEDGE_ALERT, namespace=STAFF_NAMESPACE)
def acknowledge_alert(payload=None):
    """Signed-in staff take an alert ("I'm on it"); every screen of the ward gets the updated `alert`."""
    return _act_on_alert("acknowledge", payload)


@socketio.on(RESOLVE_ALERT, namespace=STAFF_NAMESPACE)
def resolve_alert(payload=None):
    """Signed-in staff record what was done; every screen of the ward gets the resolved `alert`."""
    return _act_on_alert("resolve", payload)


@socketio.on_error_default
def on_error(exc):
    """A bug must never take the server down: log it and tell the sender to keep its rating and retry."""
    log.exception("socket handler failed (sid %s): %s", request.sid, exc)
    return ProtocolError("server_error").as_ack()


RETRY_ALERTS_SECONDS = 3  # how soon an alert the disk refused is tried again, with no rating needed


def keep_alerts_saved(wards) -> None:
    """Background task of `serve`: retry alerts the disk refused until they are durable; clear the banner then."""
    while True:
        socketio.sleep(RETRY_ALERTS_SECONDS)
        trouble_before = wards.storage_problem
        if trouble_before is None:
            continue
        try:
            wards.retry_unsaved()
        except Exception:  # a bug here must not end the retries
            log.exception("retrying unsaved alerts failed")
        tell_screens_if_storage_changed(wards, trouble_before)


def drop_kiosk(kiosk_id: str) -> int:
    """Disconnect every socket of a revoked kiosk at once."""
    sids = [sid for sid, _ in socketio.server.manager.get_participants(KIOSK_NAMESPACE, kiosk_room(kiosk_id))]
    for sid in sids:
        socketio.server.disconnect(sid, namespace=KIOSK_NAMESPACE)
    return len(sids)
