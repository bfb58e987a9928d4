"""The follow-up page a staff phone opens from an alert's QR code (`/f/<token>`).

The QR code is a locator, not a key: the page still needs a signed-in member of staff of that ward.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from server.clock import now_utc
from server.ward.alerts import ACTIVE
from server.ward.coverage import covers
from server.ward.you_said import may_publish
from server.web.auth import requires, signed_in_staff
from server.web.extensions import ward_service
from server.web.links import public_link
from server.web.qr import qr_svg
from server.web.shards import act_on_alert
from shared.fft import BY_CODE
from shared.protocol import iso_utc

bp = Blueprint("followup", __name__)

LINK_LIFETIME = timedelta(days=7)


def _alert_for(token: str) -> tuple[dict | None, dict | None]:
    """(alert, staff) if this signed-in staff member may act on the alert behind the token."""
    staff = signed_in_staff()
    if staff is None:
        return None, None
    alert = ward_service().find_alert("follow_up_token", token)
    if alert is None:
        abort(404)
    if not covers(staff, alert["ward"]):
        abort(403)
    return alert, staff


def _active(alert: dict) -> bool:
    fresh = alert["raised_at"] >= iso_utc(now_utc() - LINK_LIFETIME)
    return alert["status"] in ACTIVE and fresh


@bp.route("/f/<token>", methods=["GET", "POST"])
def follow_up(token):
    """Show what the patient said and let staff say "I'm on it" or record what was done."""
    alert, staff = _alert_for(token)
    if staff is None:
        return redirect(url_for("auth.login", next=request.path))
    viewer = {"name": staff["username"], "role": staff["role"], "read_only": False}
    error = None
    publishing = request.form.get("step") == "publish"
    if request.method == "POST" and (_active(alert) or publishing):
        step = request.form.get("step") if request.form.get("step") in ("resolve", "publish") else "acknowledge"
        # Done by the ward's owner (this process, or another ward process), which tells the screens.
        done = act_on_alert(alert["ward"], {"id": alert["id"], "who": staff["username"], "step": step, "role": staff["role"],
                                            "action": request.form.get("action"), "public_note": request.form.get("public_note")})
        if done["ok"]:
            return redirect(url_for("followup.follow_up", token=token))
        error = done["message"]
        alert = done.get("alert") or alert  # another step won: show the alert as it now stands
    answer = BY_CODE.get(alert["score"] or "")
    return render_template(
        "followup.html",
        alert=alert,
        answer=_(answer.label) if answer else None,
        active=_active(alert),
        may_publish=may_publish(staff["role"]),
        error=error,
        viewer=viewer,
    ), (400 if error else 200)


@bp.get("/f/<token>/qr.svg")
def follow_up_qr(token):
    """The alert's QR code. It holds only the link, which still needs a signed-in member of staff."""
    url = public_link("followup.follow_up", token=token)
    return Response(qr_svg(url, _("Follow-up QR code")), mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/a/<short_code>")
@requires("staff")
def typed(short_code, staff):
    """The short code printed under the QR code, for a phone that cannot scan."""
    alert = ward_service().find_alert("short_code", short_code.strip().upper())
    if alert is None:
        abort(404)
    return redirect(url_for("followup.follow_up", token=alert["follow_up_token"]))
