"""Several ward processes on one data dir (`serve --wards`): each ward has one owner, screens connect anywhere.

A ward's live picture (today's counts, the feed, the trend gauge, its alerts) is kept only by the
process that owns the ward. A screen, overview or alert action that reaches another process is served
by asking the owner over HTTP on this machine: its address is in the ward's lock file, and the shared
control token (in the data dir) authorises the question. Live events then reach the screen through the
message queue, whichever process raised them.
"""

from __future__ import annotations

import hmac
import json
import logging
import urllib.error
import urllib.request
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, jsonify, request

from server.store.ward_locks import owner_of
from server.ward.alerts import AlertError
from server.ward.overview import unanswered_row
from server.ward.wall import for_wall_display
from server.web.broadcast import (
    close_screens_of,
    drop_kiosk,
    emit_to_ward,
    screen_status,
    tell_screens_if_storage_changed,
    tell_you_said_we_did,
)
from server.web.extensions import socketio, ward_service
from shared.protocol import (
    ALERT,
    ALERT_REFUSED,
    OVERVIEW_NAMESPACE,
    OVERVIEW_WARD,
    SNAPSHOT,
    STAFF_NAMESPACE,
    ProtocolError,
)

log = logging.getLogger(__name__)

OWNER_TIMEOUT_SECONDS = 5  # a snapshot from the owner takes ~10 ms on this machine; past this, the screen retries
bp = Blueprint("shard", __name__, url_prefix="/shard")


def control_allowed() -> bool:
    """Does this request carry the control token (the CLI's, or another ward process's)?"""
    expected = current_app.config.get("CONTROL_TOKEN")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def from_owner(ward: str, what: str, body: dict | None = None, app: Flask | None = None) -> dict:
    """Ask the process that owns `ward`; ProtocolError("ward_unreachable") if none answers."""
    app = app or current_app
    owner = owner_of(Path(app.config["DATA_DIR"]), ward)
    if not owner or not owner.get("local_url"):
        raise ProtocolError("ward_unreachable")
    question = urllib.request.Request(
        f"{owner['local_url']}/shard/{ward}/{what}", data=json.dumps(body or {}).encode(),
        headers={"Authorization": f"Bearer {app.config['CONTROL_TOKEN']}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(question, timeout=OWNER_TIMEOUT_SECONDS) as answer:
            return json.load(answer)
    except (OSError, ValueError) as exc:
        log.warning("ward %s: its owner at %s did not answer %s (%s)", ward, owner["local_url"], what, exc)
        raise ProtocolError("ward_unreachable") from None


def snapshot_of(ward: str, app: Flask | None = None) -> dict:
    """Everything a ward screen shows, from the process that owns the ward (this one, or by asking)."""
    service = ward_service(app)
    return service.snapshot(ward) if service.owns(ward) else from_owner(ward, "snapshot", app=app)


def overview_of(ward: str, app: Flask | None = None) -> dict:
    """A ward's overview row, from the process that owns it; if that process is not answering, a row that says so
    (the other wards' rows are shown all the same, and this one fills in with the owner's next row)."""
    service = ward_service(app)
    if service.owns(ward):
        return service.overview(ward)
    try:
        return from_owner(ward, "overview", app=app)
    except ProtocolError:
        return unanswered_row(service.registry.ward(ward) or {"code": ward})


def kiosks_of(ward: str) -> list[dict]:
    """The ward's tablets as the admin page shows them (online, outbox, clock, last seen), from the process that owns
    the ward: a tablet's socket is only ever on its ward's owner (any other refuses it), so the owner knows them all."""
    service = ward_service()
    return service.kiosks_overview(ward) if service.owns(ward) else from_owner(ward, "kiosks")["kiosks"]


def daily_negative_of(ward: str) -> list[tuple[str, float, int]]:
    """(day, % negative, ratings) for the ward's SPC chart, from the process that owns it."""
    service = ward_service()
    rows = service.daily_negative(ward) if service.owns(ward) else from_owner(ward, "chart")["days"]
    return [tuple(row) for row in rows]


def trend_settings_of(ward: str) -> dict:
    """The ward's p0, h and their audit trail for the settings page, from the process that owns it."""
    service = ward_service()
    return service.trend_settings(ward) if service.owns(ward) else from_owner(ward, "trend_settings")


def act_on_alert(ward: str, step: dict) -> dict:
    """Take, resolve or publish an alert on the process that owns its ward; the ack for the screen."""
    if ward_service().owns(ward):
        return _act_here(ward, step)
    try:
        return from_owner(ward, "alert", step)
    except ProtocolError as refusal:
        return refusal.as_ack()


def _act_here(ward: str, step: dict) -> dict:
    service = ward_service()
    trouble_before = service.storage_problem
    try:
        alert = service.act_on_alert(ward, step.get("id"), step["who"], step["step"], step.get("action"), step.get("public_note"),
                                     role=step.get("role"))
    except AlertError as refusal:
        refused = {"ok": False, "error": ALERT_REFUSED, "message": str(refusal)}
        if refusal.alert:  # another step won: this screen shows the winner at once
            refused["alert"] = refusal.alert
        return refused
    emit_to_ward(service, ALERT, alert)
    if alert.get("public_note"):
        tell_you_said_we_did(service, ward)
    tell_screens_if_storage_changed(service, trouble_before)
    return {"ok": True, "alert": alert}


@bp.post("/<ward>/<what>")
def answer(ward: str, what: str):
    """Another ward process asks this one, the ward's owner, for a screen's snapshot or row, or to act on an alert."""
    if not control_allowed():
        abort(403)
    if not ward_service().owns(ward):
        abort(409, f"this process does not serve ward {ward}")
    if what == "snapshot":
        return jsonify(ward_service().snapshot(ward))
    if what == "overview":
        return jsonify(ward_service().overview(ward))
    if what == "alert":
        return jsonify(_act_here(ward, request.get_json(silent=True) or {}))
    if what == "kiosks":
        return jsonify({"kiosks": ward_service().kiosks_overview(ward)})
    if what == "chart":
        return jsonify({"days": ward_service().daily_negative(ward)})
    if what == "trend_settings":
        return jsonify(ward_service().trend_settings(ward))
    abort(404)


def local_rooms(namespace: str, prefix: str) -> list[str]:
    """The rooms of this process's own sockets whose names start with `prefix` (e.g. "ward:")."""
    rooms = socketio.server.manager.rooms.get(namespace, {})
    return [room for room in list(rooms) if isinstance(room, str) and room.startswith(prefix)]


def resync_screens(app: Flask) -> None:
    """Redis is back after a loss: every screen on this process redraws from a fresh snapshot, every overview row
    is sent again, so nothing raised elsewhere meanwhile is missing."""
    with app.app_context():
        for prefix, read_only in (("ward:", False), ("display:", True)):
            for room in local_rooms(STAFF_NAMESPACE, prefix):
                try:
                    snapshot = snapshot_of(room.split(":", 1)[1], app)
                except ProtocolError:
                    continue  # its owner is down too: the screen resyncs when it reconnects
                snapshot = dict(snapshot, status=screen_status(ward_service(app)))
                socketio.server.emit(SNAPSHOT, for_wall_display(snapshot) if read_only else snapshot,
                                     namespace=STAFF_NAMESPACE, to=room, ignore_queue=True)
        for room in local_rooms(OVERVIEW_NAMESPACE, "overview:"):
            row = overview_of(room.split(":", 1)[1], app)
            socketio.server.emit(OVERVIEW_WARD, row, namespace=OVERVIEW_NAMESPACE, to=room, ignore_queue=True)


class RegistryWatch:
    """What this process last saw of the registry, so that a change made by another process (heard through the
    queue, or found when Redis returns) is acted on here: a revoked tablet cut off, signed-out staff's screens
    closed, a ward's new settings taken up by its owner. Reads themselves always see the file as it is."""

    def __init__(self, app: Flask):
        self.app = app
        self.seen = self._now()

    def _now(self) -> tuple[set, dict, dict]:
        registry = ward_service(self.app).registry
        return ({k["id"] for k in registry.kiosks() if k["revoked_at"]},
                {s["username"]: s.get("session_generation", 0) for s in registry.all_staff()},
                {w["code"]: w.get("settings_changed_at") for w in registry.wards()})

    def changed_here(self) -> None:
        """This process made a change (and acted on it itself): only later changes are news."""
        self.seen = self._now()

    def changed_elsewhere(self) -> None:
        with self.app.app_context():
            service = ward_service(self.app)
            (revoked, generations, settings), now = self.seen, self._now()
            self.seen = now
            service.registry_changed()
            for kiosk_id in now[0] - revoked:
                drop_kiosk(kiosk_id)
            for username, generation in now[1].items():
                if generation != generations.get(username, 0):
                    close_screens_of(username)
            for ward, changed_at in now[2].items():
                if service.owns(ward) and changed_at != settings.get(ward):
                    service.settings_changed(ward)
