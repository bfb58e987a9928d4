"""HTTP views: health, the kiosk page, the ward screen and the admin control endpoint."""

from __future__ import annotations

from pathlib import Path

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
from server.store.admin import run_command
from server.store.atomic import StorageUnavailable
from server.store.registry import AdminError, NotFound
from server.ward import spc
from server.ward.you_said import may_publish
from server.web import fonts, speech
from server.web.auth import ward_for_viewer
from server.web.broadcast import close_screens_of, drop_kiosk, tell_kiosk_how_to_start
from server.web.extensions import catalogues, message_queue, ward_service
from server.web.kiosk_words import page_context, ward_start
from server.web.shards import control_allowed, daily_negative_of
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
    service = ward_service()
    ok, reason = service.storage_writable()
    if ok and service.storage_problem:  # the data dir takes a probe, but a file in it still refuses writes
        ok, reason = False, service.storage_problem
    # Kiosks whose clock is more than a minute off: their taps are placed on the server's clock.
    body = {"ok": ok, "storage": reason, "protocol": protocol.PROTOCOL_VERSION, "kiosk_clocks_off": service.clocks_off()}
    queue = message_queue()
    if queue is not None:  # ward processes: which wards, and whether events from the others arrive (not needed to save)
        body.update(wards=sorted(service.owned or ()), message_queue=queue.health())
    return jsonify(body), (200 if ok else 503)


@bp.get("/favicon.ico")
def favicon():
    """The WardPulse mark for browser tabs: browsers ask for /favicon.ico on every page, and a 404 is a console error."""
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)


def vendor(filename):
    """Browser libraries installed from the npm lock file, served locally: wards have no internet."""
    return send_from_directory(current_app.config["VENDOR_DIR"], filename, max_age=3600)


def kiosk_config() -> dict:
    """What the tablet page's script needs to know, from `shared/` so nothing is defined twice."""
    return {
        "namespace": protocol.KIOSK_NAMESPACE,
        "rating_event": protocol.RATING,
        "max_comment": protocol.MAX_COMMENT_CHARS,
        "max_location": protocol.MAX_LOCATION_CHARS,
        "thank_you_seconds": 5,
        "idle_seconds": 60,
        "token_key": "wardpulse.kiosk.token",
        "ward_key": "wardpulse.kiosk.ward",  # the tablet's ward, for the ?ward= of each connection
        "ward_query": protocol.WARD_QUERY,
        "wrong_server_error": protocol.WRONG_SERVER,
        "outbox_key": "wardpulse.kiosk.outbox",
        "status_event": protocol.KIOSK_STATUS,
        "clock_event": protocol.CLOCK,
        "retry_errors": sorted(protocol.RETRY_LATER),
        "pause_seconds": 3,  # after each thank-you: one person cannot tap faster than this
        "start_event": protocol.KIOSK_START,
        "start_key": "wardpulse.kiosk.start",
        "text_sizes": [100, 125, 150, 175, 200],
        "audio_url": url_for("speech.clip", tag="TAG", clip="CLIP"),
        "hold_ms": 600,  # pressing an answer this long reads it out instead of choosing it
        "you_said_event": protocol.YOU_SAID_WE_DID,
        "you_said_key": "wardpulse.kiosk.you_said",
        "you_said_seconds": 8,  # each of the latest three sentences in turn
    }


def kiosk_languages(ward: dict | None = None) -> dict:
    """The kiosk page's languages and words, starting in the ward's language (a tablet learns its ward on connecting)."""
    offered = catalogues()
    audio = speech.languages_with_audio(Path(current_app.config["DATA_DIR"]), offered)
    # Staff write "You said, we did" in the trust's own language: the first catalogue's.
    return dict(page_context(offered, ward_start(ward, offered), audio), font_stylesheets=fonts.stylesheets(),
                notes_lang=offered.languages[0].tag)


@kiosk_pages.get("/sw.js")
def service_worker():
    """The kiosk's service worker, served from /kiosk/ so it may keep the whole kiosk page for offline reloads."""
    response = send_from_directory(kiosk.STATIC, "sw.js", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/kiosk/"
    return response


@kiosk_pages.get("/", strict_slashes=False)
def page():
    """The ward tablet's question page. Its device token arrives in the enrollment link's #fragment."""
    return render_template("kiosk.html", answers=answers_for_page(), client_config=kiosk_config(), **kiosk_languages())


@bp.get("/")
def index():
    return redirect(url_for("auth.login"))


def viewer_or_redirect(code: str):
    """(ward code, viewer) for a staff page, or a response sending the browser to sign in."""
    try:
        return ward_for_viewer(code, request.args.get("display")), None
    except protocol.ProtocolError as refusal:
        if refusal.code == "not_signed_in":
            return None, redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(404 if refusal.code == "unknown_ward" else 403, refusal.message)


@bp.get("/ward/<code>")
def ward(code):
    """The nurses'-station screen: signed-in staff, or a wall display with its read-only token."""
    found, to_sign_in = viewer_or_redirect(code)
    if to_sign_in:
        return to_sign_in
    (ward_code, viewer), display_token = found, request.args.get("display")
    record = ward_service().registry.ward(ward_code)
    config = {
        "namespace": protocol.STAFF_NAMESPACE,
        "ward": ward_code,
        "ward_query": protocol.WARD_QUERY,
        "display_token": display_token,
        "events": {
            "snapshot": protocol.SNAPSHOT,
            "rating": protocol.RATING,
            "alert": protocol.ALERT,
            "status": protocol.STATUS,
            "you_said_we_did": protocol.YOU_SAID_WE_DID,
        },
        "answers": answers_for_page(),
        "languages": {lang.tag: lang.english_name for lang in catalogues().languages},
        "acknowledge_event": protocol.ACKNOWLEDGE_ALERT,
        "resolve_event": protocol.RESOLVE_ALERT,
        "publish_event": protocol.PUBLISH_NOTE,
        "chart_url": url_for("wards.chart", code=ward_code, display=display_token),
        "themes": ward_service().themes.names,
    }
    return render_template(
        "ward.html", ward={"code": ward_code, "name": record["name"]}, viewer=viewer, client_config=config,
        may_publish=may_publish(viewer.get("role")),
    )


@bp.get("/ward/<code>/chart")
def chart(code):
    """Daily % negative over 60 days as a Making Data Count SPC chart (context; the CUSUM pages)."""
    found, to_sign_in = viewer_or_redirect(code)
    if to_sign_in:
        return to_sign_in
    ward_code, viewer = found
    service = ward_service()
    try:
        spc_chart = spc.xmr(daily_negative_of(ward_code))  # from the ward's owner, if another process keeps it
    except protocol.ProtocolError as refusal:
        abort(503, refusal.message)
    signals = sum(1 for p in spc_chart.points if p.direction)
    summary = _("%(days)d days shown; %(signals)d with a special-cause signal.", days=len(spc_chart.points), signals=signals)
    return render_template(
        "chart.html",
        ward=service.registry.ward(ward_code),
        viewer=viewer,
        chart=spc_chart,
        geo=spc.layout(spc_chart),
        summary=summary,
        back=url_for("wards.ward", code=ward_code, display=request.args.get("display")),
    )


@bp.post("/control")
def control():
    """Admin commands from `wardpulse` on this machine while the server runs (bearer token in the data dir)."""
    if not control_allowed():
        abort(403)
    body = request.get_json(silent=True) or {}
    service = ward_service()
    try:
        result = run_command(service.registry, body.get("command"), body.get("args") or {})
    except NotFound as exc:
        return jsonify({"ok": False, "message": str(exc)}), 404
    except (AdminError, TypeError) as exc:
        return jsonify({"ok": False, "message": str(exc)}), 409
    except StorageUnavailable as exc:
        return jsonify({"ok": False, "message": f"could not save: {exc}"}), 503
    service.registry_changed()
    if body.get("command") == "revoke_kiosk":
        result["dropped_sockets"] = drop_kiosk(result["id"])
    if body.get("command") == "set_kiosk_wording":
        tell_kiosk_how_to_start(service, catalogues(), result)
    if body.get("command") in ("set_password", "end_sessions"):
        close_screens_of(result["username"])
    return jsonify({"ok": True, "result": result})
