"""Socket.IO handlers. Thin: authenticate, call the ward service, hand what changed to `broadcast`."""

from __future__ import annotations

import functools
import logging

from flask import request, session
from flask_socketio import ConnectionRefusedError, join_room

from server.clock import now_utc
from server.ward.coverage import covered
from server.ward.presence import tablet_report
from server.ward.service import OWN_DEVICE, WardService
from server.web.auth import signed_in_staff, ward_for_viewer
from server.web.broadcast import (
    emit_to_ward,
    kiosk_room,
    overview_room,
    screens_of,
    screens_watch,
    send_overview,
    send_snapshot,
    tell_overviews,
    tell_screens_if_storage_changed,
    tell_ward_of_rating,
    ward_kiosks_room,
    ward_room,
)
from server.web.extensions import catalogues, socketio, ward_service
from server.web.kiosk_words import ward_start
from server.web.serving import handshake_done
from server.web.shards import act_on_alert, overview_of, snapshot_of
from shared.protocol import (
    ACKNOWLEDGE_ALERT,
    ALERT,
    CLOCK,
    KIOSK_NAMESPACE,
    KIOSK_STATUS,
    OVERVIEW_NAMESPACE,
    PUBLISH_NOTE,
    RATING,
    RESOLVE_ALERT,
    STAFF_NAMESPACE,
    WRONG_SERVER,
    ProtocolError,
    handshake_offset_ms,
    iso_utc,
)

log = logging.getLogger(__name__)


def _refuse(refusal: ProtocolError, **more) -> ConnectionRefusedError:
    # Socket.IO clients see the message as err.message and the dict as err.data.
    return ConnectionRefusedError(refusal.message, {"error": refusal.code, "message": refusal.message, **more})


def _auth(auth: object) -> dict:
    return auth if isinstance(auth, dict) else {}


def kiosk_connect(auth=None):
    """A ward tablet connects with its device token (or a patient's phone with the poster's ward code)."""
    auth, service = _auth(auth), ward_service()
    try:
        if "own_ward" in auth:
            kiosk = service.own_device(auth.get("own_ward"), auth.get("device"))
        else:
            kiosk = service.kiosk_for_token(auth.get("token"))
    except ProtocolError as refusal:
        if refusal.code == "revoked_token":
            service.kiosk_refused(auth.get("token"), auth)  # what it still holds, for the admin page
        raise _refuse(refusal) from None
    if not service.owns(kiosk["ward"]):  # another ward process keeps this ward: the tablet learns which ward to ask for
        raise _refuse(ProtocolError(WRONG_SERVER), ward=kiosk["ward"])
    # The tablet's clock as it connected: a rough offset (no round trip) until it measures its own.
    kiosk["clock_offset_ms"] = handshake_offset_ms(auth.get("device_time"), now_utc())
    session["kiosk"] = kiosk  # per-connection copy, never sent back as a cookie
    join_room(kiosk_room(kiosk["id"]))
    join_room(ward_kiosks_room(kiosk["ward"]))
    service.kiosk_connected(kiosk["id"], +1)
    if kiosk.get("channel") != OWN_DEVICE:
        service.kiosk_report(kiosk["id"], dict(auth, clock_offset_ms=kiosk["clock_offset_ms"]))
        tell_overviews(service, kiosk["ward"])  # one tablet fewer offline


def kiosk_disconnect(*_reason):
    """A tablet went away: the admin page shows it offline once its last socket is gone."""
    if "kiosk" in session:
        ward_service().kiosk_connected(session["kiosk"]["id"], -1)
        if session["kiosk"].get("channel") != OWN_DEVICE:
            tell_overviews(ward_service(), session["kiosk"]["ward"])


def kiosk_status(payload=None):
    """A tablet reports its outbox size, its measured clock offset and the ratings it gave up on."""
    update = tablet_report(payload)
    if "clock_offset_ms" in update:
        session["kiosk"]["clock_offset_ms"] = update["clock_offset_ms"]
    ward_service().kiosk_report(session["kiosk"]["id"], update)


def kiosk_clock(*_payload):
    """A tablet times this request to learn the server's clock; the ack carries it, and the language
    and wording (its own, else its ward's) for each new patient (`start`), which the tablet keeps for offline reloads,
    and the ward's latest "You said, we did" sentences (so a tablet that reconnects shows the current ones)."""
    service, ward = ward_service(), session["kiosk"]["ward"]
    start = ward_start(service.registry.kiosk_start(ward, session["kiosk"].get("id")), catalogues())
    return {"start": start, "server_time": iso_utc(now_utc()), "you_said_we_did": service.you_said_we_did(ward)["published"], "ward": ward}


def kiosk_rating(service: WardService, kiosk: dict, payload=None, *extra):
    """A tablet sends one tap. Acked once durable; the ward's screens get it as `rating`, and any `alert` it raised."""
    if extra:
        return ProtocolError("invalid_payload").as_ack()
    trouble_before = service.storage_problem
    ack, item, raised = service.receive_rating(kiosk, payload, watched=screens_watch(service))
    ack["server_time"] = iso_utc(now_utc())  # every ack is also a reading of the server's clock
    if ack.get("ok") and not ack["duplicate"]:
        tell_ward_of_rating(service, kiosk["ward"], item)
    for alert in raised:
        emit_to_ward(service, ALERT, alert)
    tell_screens_if_storage_changed(service, trouble_before)
    return ack


def rating_event(sid: str, *args) -> dict:
    """`rating`, the event a busy ward sends hundreds of times a second, as Socket.IO itself calls it.

    Flask-SocketIO would build a Flask request for every event (URL matching, the session copy): about
    a fifth of a rating's CPU under eventlet (py-spy). A rating needs none of it, only its tablet as the
    connect handler kept it and the app's ward service, passed as arguments, not found through Flask's context."""
    environ = socketio.server.get_environ(sid, namespace=KIOSK_NAMESPACE) or {}
    kiosk = environ.get("saved_session", {}).get("kiosk")
    if kiosk is None:  # Socket.IO calls only connected sockets' handlers, whose connect kept their tablet
        log.error("rating from socket %s with no tablet kept at connect", sid)
        return ProtocolError("server_error").as_ack()
    try:
        return kiosk_rating(ward_service(environ["flask.app"]), kiosk, *args)
    except Exception as exc:  # as on_error does for every other event: never a lost ack
        log.exception("rating handler failed (sid %s): %s", sid, exc)
        return ProtocolError("server_error").as_ack()


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
    try:
        snapshot = snapshot_of(ward)  # from the ward's owner, if another ward process keeps it
    except ProtocolError as refusal:
        raise _refuse(refusal) from None
    send_snapshot(snapshot, viewer["read_only"])


def overview_connect(auth=None):
    """A signed-in member of staff opens the overview: a row for every ward they cover, then each row as it changes.

    Only the rooms of covered wards are joined, so another ward's row can never reach this socket."""
    staff = signed_in_staff()
    if staff is None:
        raise _refuse(ProtocolError("not_signed_in"))
    service = ward_service()
    wards = covered(staff, sorted(w["code"] for w in service.registry.wards()))
    for ward in wards:  # joined before the rows are read: a change meanwhile arrives after them, never lost
        join_room(overview_room(ward))
    join_room(screens_of(staff["username"]))  # closed when this person signs out anywhere
    send_overview([overview_of(ward) for ward in wards])  # a ward whose owner is not answering: a row saying so


def _act_on_alert(step: str, payload: object) -> dict:
    viewer = session.get("viewer") or {}
    if viewer.get("read_only", True):
        return ProtocolError("read_only").as_ack()
    staff = signed_in_staff()
    if staff is None:  # signed out, or out everywhere, since this screen connected
        return ProtocolError("not_signed_in").as_ack()
    payload = payload if isinstance(payload, dict) else {}
    # role: as the account stands now, whether a sentence is published at once. Done by the ward's owner.
    return act_on_alert(session["ward"], {"id": payload.get("id"), "who": viewer["name"], "step": step, "role": staff["role"],
                                          "action": payload.get("action"), "public_note": payload.get("public_note")})


def acknowledge_alert(payload=None):
    """Signed-in staff take an alert ("I'm on it"); every screen of the ward gets the updated `alert`."""
    return _act_on_alert("acknowledge", payload)


def resolve_alert(payload=None):
    """Signed-in staff record what was done; every screen of the ward gets the resolved `alert`."""
    return _act_on_alert("resolve", payload)


def publish_note(payload=None):
    """A sister publishes a resolved alert's "You said, we did" sentence (perhaps reworded); tablets show it at once."""
    return _act_on_alert("publish", payload)


def on_error(exc):
    """A bug must never take the server down: log it and tell the sender to keep its rating and retry."""
    log.exception("socket handler failed (sid %s): %s", request.sid, exc)
    return ProtocolError("server_error").as_ack()


HANDLERS = (  # (event, namespace, handler): what each kind of socket may send; and `rating`, see rating_event
    ("connect", KIOSK_NAMESPACE, kiosk_connect),
    ("disconnect", KIOSK_NAMESPACE, kiosk_disconnect),
    (KIOSK_STATUS, KIOSK_NAMESPACE, kiosk_status),
    (CLOCK, KIOSK_NAMESPACE, kiosk_clock),
    ("connect", STAFF_NAMESPACE, staff_connect),
    (ACKNOWLEDGE_ALERT, STAFF_NAMESPACE, acknowledge_alert),
    (RESOLVE_ALERT, STAFF_NAMESPACE, resolve_alert),
    ("connect", OVERVIEW_NAMESPACE, overview_connect),
    (PUBLISH_NOTE, STAFF_NAMESPACE, publish_note),
)


def _then_next_handshake(connect):
    """A connect handler that lets the next waiting socket start its handshake once it is done (server/web/serving.py)."""

    @functools.wraps(connect)
    def connected(auth=None):
        try:
            return connect(auth)
        finally:
            handshake_done(request.environ)

    return connected


def register(socketio) -> None:
    """Attach the handlers to the app's Socket.IO server (called by the app factory after init_app)."""
    for event, namespace, handler in HANDLERS:
        socketio.on_event(event, _then_next_handshake(handler) if event == "connect" else handler, namespace=namespace)
    socketio.server.on(RATING, rating_event, namespace=KIOSK_NAMESPACE)
    socketio.on_error_default(on_error)
