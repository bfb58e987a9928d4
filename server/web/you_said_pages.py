"""The "You said, we did" poster (`/ward/<CODE>/you-said-we-did`): what changed, and this month's score, on A4."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import format_date

from server.ward.return_desk import month_of, month_positive
from server.web.auth import requires, viewer_of
from server.web.extensions import catalogues, ward_service

bp = Blueprint("you_said", __name__)

POSTER_SENTENCES = 5  # as many as fit an A4 sheet in large print


@bp.get("/ward/<code>/you-said-we-did")
@requires("staff")
def poster(code, staff):
    """A printable A4 poster: the ward's latest published sentences and this month's % positive."""
    service = ward_service()
    record = service.registry.ward(code) or abort(404)
    now = service.clock()
    score = month_positive(service.data_dir, service.registry, record["code"], month_of(now, service.tz), service.tz)
    return render_template(
        "you_said_poster.html",
        ward=record,
        sentences=service.you_said_we_did(record["code"], POSTER_SENTENCES)["published"],
        score=score,
        month=format_date(now.astimezone(service.tz).date(), "MMMM y"),
        notes_lang=catalogues().languages[0].tag,  # staff write the sentences in the trust's own language
        viewer=viewer_of(staff),
    )
