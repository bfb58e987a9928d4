"""Socket.IO handlers. Thin: authenticate, call the ward server, emit."""

from __future__ import annotations

import logging

from flask import current_app, request, session
from flask_socketio import ConnectionRefusedError, emit, join_room

from server.app import socketio
from server.auth import ward_for_viewer
from shared.protocol import KIOSK_NAMESPACE, RATING, SNAPSHOT, STAFF_NAMESPACE, ProtocolError

log = logging.getLogger(__name__)


def ward_room(ward: str) -> str:
    return f"ward:{ward}"


def kiosk_room(kiosk_id: str) -> str:
    return f"kiosk:{kiosk_id}"


def _refuse(refusal: ProtocolError) -> ConnectionRefusedError:
    # Socket.IO clients see the message as err.message and the dict as err.data.
    return ConnectionRefusedError(refusal.message, {"error": refusal.code, "message": refusal.message})


def _auth(auth: object) -> dict:
    return auth if isinstance(auth, dict) else {}


@socketio.on("connect", namespace=KIOSK_NAMESPACE)
def kiosk_connect(auth=None):
    """A ward tablet connects with its device token; unknown or revoked tokens are refused with the reason."""
    try:
        kiosk = current_app.extensions["wardpulse"].kiosk_for_token(_auth(auth).get("token"))
    except ProtocolError as refusal:
        raise _refuse(refusal) from None
    session["kiosk"] = kiosk  # per-connection copy, never sent back as a cookie
    join_room(kiosk_room(kiosk["id"]))


@socketio.on(RATING, namespace=KIOSK_NAMESPACE)
def kiosk_rating(payload=None):
    """A tablet sends one tap. Acked once durable; the ward's screens get it as a `rating` event."""
    ack, item = current_app.extensions["wardpulse"].receive_rating(session["kiosk"], payload)
    if item is not None:
        socketio.emit(RATING, item, namespace=STAFF_NAMESPACE, to=ward_room(item["ward"]))
    return ack


@socketio.on("connect", namespace=STAFF_NAMESPACE)
def staff_connect(auth=None):
    """A ward screen (staff session or display token) connects; it gets a full snapshot, then live events."""
    auth = _auth(auth)
    try:
        ward, _viewer = ward_for_viewer(auth.get("ward"), auth.get("token"))
    except ProtocolError as refusal:
        raise _refuse(refusal) from None
    join_room(ward_room(ward))
    emit(SNAPSHOT, current_app.extensions["wardpulse"].snapshot(ward))


@socketio.on_error_default
def on_error(exc):
    # A bug must never take the server down; the tablet will resend what was not acked.
    log.exception("socket handler failed (sid %s): %s", request.sid, exc)


def drop_kiosk(kiosk_id: str) -> int:
    """Disconnect every socket of a revoked kiosk at once."""
    sids = [sid for sid, _ in socketio.server.manager.get_participants(KIOSK_NAMESPACE, kiosk_room(kiosk_id))]
    for sid in sids:
        socketio.server.disconnect(sid, namespace=KIOSK_NAMESPACE)
    return len(sids)
