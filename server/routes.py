"""HTTP views: health, the kiosk page, the ward screen and the admin control endpoint."""

from __future__ import annotations

import hmac

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _

import kiosk
from server.admin import run_command
from server.auth import ward_for_viewer
from server.storage import AdminError, NotFound, StorageUnavailable, storage_writable
from shared import protocol
from shared.fft import ANSWERS

bp = Blueprint("wards", __name__)
kiosk_pages = Blueprint(
    "kiosk", __name__, url_prefix="/kiosk", template_folder=str(kiosk.TEMPLATES), static_folder=str(kiosk.STATIC)
)


def answers_for_page() -> list[dict]:
    return [
        {"code": a.code, "label": _(a.label), "positive": a.positive, "negative": a.negative} for a in ANSWERS
    ]


@bp.get("/healthz")
def healthz():
    ok, reason = storage_writable(current_app.extensions["wardpulse"].data_dir)
    body = {"ok": ok, "storage": reason, "protocol": protocol.PROTOCOL_VERSION}
    return jsonify(body), (200 if ok else 503)


def vendor(filename):
    """Browser libraries installed from the npm lock file, served locally: wards have no internet."""
    return send_from_directory(current_app.config["VENDOR_DIR"], filename, max_age=3600)


@kiosk_pages.get("/", strict_slashes=False)
def page():
    """The ward tablet's question page. Its device token arrives in the enrollment link's #fragment."""
    config = {
        "namespace": protocol.KIOSK_NAMESPACE,
        "rating_event": protocol.RATING,
        "max_comment": protocol.MAX_COMMENT_CHARS,
        "max_location": protocol.MAX_LOCATION_CHARS,
        "thank_you_seconds": 5,
        "idle_seconds": 60,
        "token_key": "wardpulse.kiosk.token",
        "outbox_key": "wardpulse.kiosk.outbox",
    }
    return render_template("kiosk.html", answers=answers_for_page(), client_config=config)


@bp.get("/")
def index():
    return redirect(url_for("auth.login"))


@bp.get("/ward/<code>")
def ward(code):
    """The nurses'-station screen: signed-in staff, or a wall display with its read-only token."""
    display_token = request.args.get("display")
    try:
        ward_code, viewer = ward_for_viewer(code, display_token)
    except protocol.ProtocolError as refusal:
        if refusal.code == "not_signed_in":
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(404 if refusal.code == "unknown_ward" else 403, refusal.message)
    record = current_app.extensions["wardpulse"].registry.ward(ward_code)
    config = {
        "namespace": protocol.STAFF_NAMESPACE,
        "ward": ward_code,
        "display_token": display_token,
        "events": {
            "snapshot": protocol.SNAPSHOT,
            "rating": protocol.RATING,
            "alert": protocol.ALERT,
            "status": protocol.STATUS,
        },
        "answers": answers_for_page(),
    }
    return render_template(
        "ward.html", ward={"code": ward_code, "name": record["name"]}, viewer=viewer, client_config=config
    )


@bp.post("/control")
def control():
    """Admin commands from `wardpulse` on this machine while the server runs (bearer token in the data dir)."""
    expected = current_app.config.get("CONTROL_TOKEN")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        abort(403)
    body = request.get_json(silent=True) or {}
    wards = current_app.extensions["wardpulse"]
    try:
        result = run_command(wards.registry, body.get("command"), body.get("args") or {})
    except NotFound as exc:
        return jsonify({"ok": False, "message": str(exc)}), 404
    except (AdminError, TypeError) as exc:
        return jsonify({"ok": False, "message": str(exc)}), 409
    except StorageUnavailable as exc:
        return jsonify({"ok": False, "message": f"could not save: {exc}"}), 503
    wards.registry_changed()
    if body.get("command") == "revoke_kiosk":
        from server.events import drop_kiosk

        result["dropped_sockets"] = drop_kiosk(result["id"])
    return jsonify({"ok": True, "result": result})
