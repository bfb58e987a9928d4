"""The matrons' overview (`/overview`): every ward the viewer covers on one live screen, and the
monthly return of those wards as a download. The rows come over Socket.IO (`events.overview_connect`)."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _

from server.ward.coverage import covered
from server.ward.return_desk import month_of
from server.web.auth import requires, viewer_of
from server.web.extensions import ward_service
from server.web.trust_admin import return_file
from shared import protocol

bp = Blueprint("overview", __name__)

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@bp.get("/overview")
@requires("staff")
def overview(staff):
    """One live screen of every ward the viewer covers (an admin: all), wards with open alerts first."""
    service = ward_service()
    config = {
        "namespace": protocol.OVERVIEW_NAMESPACE,
        "events": {"overview": protocol.OVERVIEW, "ward": protocol.OVERVIEW_WARD},
        # The script puts each row's code in place of the placeholder.
        "ward_url": url_for("wards.ward", code="__WARD__"),
    }
    # The month offered for the return is last month: the one a trust submits in the first days of this one.
    last_month = month_of(service.clock().astimezone(service.tz).replace(day=1) - timedelta(days=1), service.tz)
    return render_template("overview.html", viewer=viewer_of(staff), client_config=config, month=last_month)


@bp.get("/overview/return.<fmt>")
@requires("staff")
def monthly_return_file(fmt, staff):
    """The monthly FFT return (Ward sheet as csv, or the whole workbook) for the wards the viewer covers."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    service = ward_service()
    month = request.args.get("month") or month_of(service.clock(), service.tz)
    if not MONTH.fullmatch(month):
        message = _("Choose a month as its year and month, e.g. 2026-11.")
        return render_template("error.html", title=_("Please try again"), message=message, back=url_for("overview.overview"),
                               viewer=viewer_of(staff)), 400
    return return_file(month, fmt, covered(staff, [w["code"] for w in service.registry.wards()]))
