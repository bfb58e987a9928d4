"""The one module that sends to sockets: ward rooms, wall displays without patients' words, dropping devices.

Handlers and views never call `socketio.emit` themselves, so what a wall display may see is decided here only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask_socketio import emit

from server.ward.overview import overview_order
from server.ward.service import WardService
from server.ward.wall import for_wall_display
from server.web.extensions import socketio, ward_service
from server.web.kiosk_words import ward_start
from server.web.languages import Catalogues
from server.web.message_queue import WardQueue
from shared.protocol import (
    KIOSK_NAMESPACE,
    KIOSK_START,
    OVERVIEW,
    OVERVIEW_NAMESPACE,
    OVERVIEW_WARD,
    RATING,
    SNAPSHOT,
    STAFF_NAMESPACE,
    STATUS,
    YOU_SAID_WE_DID,
)

log = logging.getLogger(__name__)

RETRY_ALERTS_SECONDS = 3  # how soon an alert the disk refused is tried again, with no rating needed
# A ward's overview row is worked out at most this often, however fast its tablets tap: a row for every
# rating cost a ward process 89 % of its rating handler (it must send rows whether or not an overview is open).
OVERVIEW_ROW_SECONDS = 0.5
_rows_due: set[str] = set()  # wards whose row is on its way


def ward_room(ward: str, read_only: bool = False) -> str:
    """Signed-in staff and corridor wall displays of a ward listen in separate rooms."""
    return f"{'display' if read_only else 'ward'}:{ward}"


def kiosk_room(kiosk_id: str) -> str:
    return f"kiosk:{kiosk_id}"


def ward_kiosks_room(ward: str) -> str:
    """Every tablet and own phone of a ward: told when the ward's start language or wording changes."""
    return f"kiosks:{ward}"


def tell_kiosks_how_to_start(service: WardService, catalogues: Catalogues, ward: str) -> None:
    """Send a ward's connected kiosks its language and wording for each new patient."""
    start = ward_start(service.registry.kiosk_start(ward), catalogues)
    socketio.emit(KIOSK_START, start, namespace=KIOSK_NAMESPACE, to=ward_kiosks_room(ward))
    # Then each tablet with its own wording, so the ward's does not overwrite it (one server: sent in order).
    for kiosk in service.registry.kiosks(ward):
        if kiosk.get("wording") and not kiosk["revoked_at"]:
            tell_kiosk_how_to_start(service, catalogues, kiosk)


def tell_kiosk_how_to_start(service: WardService, catalogues: Catalogues, kiosk: dict) -> None:
    """Send one tablet its start: its ward's language, and its own wording else the ward's."""
    start = ward_start(service.registry.kiosk_start(kiosk["ward"], kiosk["id"]), catalogues)
    socketio.emit(KIOSK_START, start, namespace=KIOSK_NAMESPACE, to=kiosk_room(kiosk["id"]))


def screens_of(username: str) -> str:
    """The Socket.IO room holding every ward screen a member of staff has open."""
    return "staff:" + username


def emit_to_ward(service: WardService, event: str, payload: dict) -> None:
    """Send an event to every screen of its ward; wall displays get it without what patients wrote."""
    ward = payload["ward"]
    socketio.emit(event, payload, namespace=STAFF_NAMESPACE, to=ward_room(ward))
    if _listened(service, STAFF_NAMESPACE, ward_room(ward, read_only=True)):  # the copy is only made for a wall
        socketio.emit(event, for_wall_display(payload), namespace=STAFF_NAMESPACE, to=ward_room(ward, read_only=True))
    tell_overviews(service, ward)


def screens_watch(service: WardService) -> Callable[[str], bool]:
    """Whether any screen of a ward could be sent a rating: with none, its feed item is not even built
    (its live figures and wall copy were about 15 µs of a rating's CPU under eventlet, py-spy)."""
    return lambda ward: _listened(service, STAFF_NAMESPACE, ward_room(ward)) or _listened(
        service, STAFF_NAMESPACE, ward_room(ward, read_only=True))


def tell_ward_of_rating(service: WardService, ward: str, item: dict | None) -> None:
    """A new rating: its ward's screens get its feed item if one was built, the overviews their row either way."""
    if item is None:
        tell_overviews(service, ward)
    else:
        emit_to_ward(service, RATING, item)


def _listened(service: WardService, namespace: str, room: str) -> bool:
    """Someone is in the room; with ward processes sharing a message queue, one may be on another process: always."""
    return service.owned is not None or room in socketio.server.manager.rooms.get(namespace, {})


def overview_room(ward: str) -> str:
    """Overview screens of everyone who covers a ward: only they are ever sent its row."""
    return f"overview:{ward}"


def tell_overviews(service: WardService, ward: str) -> None:
    """Send a ward's fresh row to the overview screens covering it, at most once per OVERVIEW_ROW_SECONDS;
    with none open (on a one-process server), nothing is even worked out."""
    room = overview_room(ward)
    if not _listened(service, OVERVIEW_NAMESPACE, room):
        return
    if ward in _rows_due:
        return  # the row already on its way will be worked out after this change
    _rows_due.add(ward)
    socketio.start_background_task(_send_overview_row, service, ward, room)


def _send_overview_row(service: WardService, ward: str, room: str) -> None:
    socketio.sleep(OVERVIEW_ROW_SECONDS)
    _rows_due.discard(ward)  # before working it out: a change from now on sends another row
    socketio.emit(OVERVIEW_WARD, service.overview(ward), namespace=OVERVIEW_NAMESPACE, to=room)


def send_overview(rows: list[dict]) -> None:
    """Answer an overview screen that just connected with a row for each of its wards, in order."""
    emit(OVERVIEW, {"wards": overview_order(rows)})


def tell_you_said_we_did(service: WardService, ward: str) -> None:
    """Send a ward's "You said, we did" sentences to its tablets and phones (published only) and its screens."""
    board = service.you_said_we_did(ward)
    socketio.emit(YOU_SAID_WE_DID, {"ward": ward, "published": board["published"]}, namespace=KIOSK_NAMESPACE, to=ward_kiosks_room(ward))
    emit_to_ward(service, YOU_SAID_WE_DID, dict(board, ward=ward))


def send_snapshot(snapshot: dict, read_only: bool) -> None:
    """Answer a ward screen that just connected with everything it shows; a wall display's without patients' words.
    The banners as this process sees them (the snapshot may come from the ward's owner)."""
    snapshot = dict(snapshot, status=screen_status(ward_service()))
    emit(SNAPSHOT, for_wall_display(snapshot) if read_only else snapshot)


def screen_status(service: WardService) -> dict:
    """The screens' banners: storage health and, for ward processes sharing a queue, whether the others' events arrive."""
    status = service.status()
    if isinstance(socketio.server.manager, WardQueue):
        status["others_ok"] = socketio.server.manager.listening
    return status


def tell_screens_if_storage_changed(service: WardService, trouble_before: str | None) -> None:
    """Show or clear the storage banner on every ward's screens (the disk is shared) when it changed."""
    if (trouble_before is None) != (service.storage_problem is None):
        socketio.emit(STATUS, screen_status(service), namespace=STAFF_NAMESPACE)


def tell_own_screens_how_things_stand(service: WardService) -> None:
    """The message queue was lost or is back: this process's screens show or clear the banner (sent here only)."""
    socketio.server.emit(STATUS, screen_status(service), namespace=STAFF_NAMESPACE, ignore_queue=True)


def keep_alerts_saved(service: WardService) -> None:
    """Background task of `serve`: retry alerts the disk refused until they are durable; clear the banner then."""
    while True:
        socketio.sleep(RETRY_ALERTS_SECONDS)
        trouble_before = service.storage_problem
        if trouble_before is None:
            continue
        try:
            service.retry_unsaved()
        except Exception:  # a bug here must not end the retries
            log.exception("retrying unsaved alerts failed")
        tell_screens_if_storage_changed(service, trouble_before)


def _disconnect(namespace: str, room: str) -> int:
    sids = [sid for sid, _ in socketio.server.manager.get_participants(namespace, room)]
    for sid in sids:
        socketio.server.disconnect(sid, namespace=namespace)
    return len(sids)


def drop_kiosk(kiosk_id: str) -> int:
    """Disconnect every socket of a revoked kiosk at once."""
    return _disconnect(KIOSK_NAMESPACE, kiosk_room(kiosk_id))


def close_screens_of(username: str) -> int:
    """Disconnect the ward and overview screens of someone whose sessions were just ended; they cannot reconnect."""
    return sum(_disconnect(namespace, screens_of(username)) for namespace in (STAFF_NAMESPACE, OVERVIEW_NAMESPACE))
