"""Staff sign-in, and who may watch which ward."""

from __future__ import annotations

import unicodedata
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from server.clock import now_utc
from server.ward.coverage import covers, home_ward, may
from server.ward.limits import SignInGuard, SignInRefusal
from server.web.broadcast import close_screens_of
from server.web.extensions import ward_service
from shared.protocol import ProtocolError

bp = Blueprint("auth", __name__)

def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


class SignInForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


def signed_in_staff() -> dict | None:
    """The staff member of this request's session, if the account still exists and the session
    was not ended since (sign-out, a new password or "sign out everywhere" each start a new generation)."""
    username = session.get("staff")
    if not username:
        return None
    staff = ward_service().registry.staff(username)
    if staff is None or session.get("generation") != staff.get("session_generation", 0):
        return None
    return staff


def end_sessions(username: str) -> dict:
    """Sign a member of staff out everywhere: older cookies are refused and open ward screens close."""
    ended = ward_service().registry.end_sessions(username)
    close_screens_of(ended["username"])
    return ended


def ward_for_viewer(requested: object, display_token: object = None) -> tuple[str, dict]:
    """Which ward a screen may watch, and as whom; ProtocolError if it may not."""
    service = ward_service()
    if display_token:
        display = service.display_for_token(display_token)
        if requested and str(requested).upper() != display["ward"]:
            raise ProtocolError("forbidden")
        return display["ward"], {"name": display["label"], "role": "display", "read_only": True}
    staff = signed_in_staff()
    if staff is None:
        raise ProtocolError("not_signed_in")
    ward = str(requested or home_ward(staff)).upper()
    if service.registry.ward(ward) is None:
        raise ProtocolError("unknown_ward")
    if not covers(staff, ward):
        raise ProtocolError("forbidden")
    return ward, viewer_of(staff)


def requires(role: str):
    """Decorate a staff view: sign-in first (then back here), at least `role`, and the view's ward
    (`code` in the URL) must be one the staff member covers. Passes `staff=`."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            staff = signed_in_staff()
            if staff is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            ward = kwargs.get("code")
            if not may(staff, role):
                abort(403, "Your role cannot open this page.")
            if ward and not covers(staff, ward):
                abort(403, "This page belongs to a ward you do not cover.")
            return view(*args, staff=staff, **kwargs)

        return wrapper

    return decorate


def sees_overview(staff: dict) -> bool:
    """Whether someone looks after more than one ward (a matron, an admin, bank staff), so starts on the overview."""
    return len(staff["wards"]) > 1 or may(staff, "matron")


def start_page(staff: dict) -> str:
    """Where someone lands after signing in: the overview if they look after several wards, else their ward."""
    return url_for("overview.overview") if sees_overview(staff) else url_for("wards.ward", code=home_ward(staff))


def viewer_of(staff: dict) -> dict:
    return {"name": staff["username"], "role": staff["role"], "read_only": False, "overview": sees_overview(staff)}


def _sign_in_guard() -> SignInGuard:
    guard = current_app.extensions.get("wardpulse.sign_in")
    if guard is None:
        guard = current_app.extensions["wardpulse.sign_in"] = SignInGuard()
    return guard


def same_site_path(target: str | None) -> str | None:
    """`target` if it can only lead to a path on this server, else None."""
    # Browsers read "//evil", "/\evil" and "/<tab>/evil" (they drop tabs) as another host: refuse backslashes, every
    # control or invisible character (werkzeug has already decoded %09, %5C and friends) and spaces.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _refused(refusal: SignInRefusal) -> str:
    if refusal.by == "address":
        minutes = -(-refusal.seconds // 60)
        return ngettext(
            "Too many failed sign-ins from this device. Wait %(num)d minute, or ask the ward administrator.",
            "Too many failed sign-ins from this device. Wait %(num)d minutes, or ask the ward administrator.",
            minutes,
        )
    return ngettext(
        "Several wrong passwords were tried for this username, so it is slowed down. Wait %(num)d second and try again.",
        "Several wrong passwords were tried for this username, so it is slowed down. Wait %(num)d seconds and try again.",
        refusal.seconds,
    )


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = SignInForm()
    error, status, headers = None, 200, {}
    if form.validate_on_submit():
        guard, now = _sign_in_guard(), now_utc()
        # The address as the trusted proxy saw it (ProxyFix, WARDPULSE_TRUSTED_PROXIES), never a forged header.
        address, username = request.remote_addr or "", form.username.data.strip().lower()
        refusal = guard.refusal(address, username, now)
        if refusal:
            error, status, headers = _refused(refusal), 429, {"Retry-After": str(refusal.seconds)}
        else:
            staff = ward_service().registry.staff(username)
            if staff and check_password_hash(staff["password_hash"], form.password.data):
                guard.signed_in(username)
                session.clear()
                session["staff"], session["generation"] = staff["username"], staff.get("session_generation", 0)
                session.permanent = True  # remembered for a shift (PERMANENT_SESSION_LIFETIME)
                return redirect(same_site_path(request.args.get("next")) or start_page(staff))
            guard.failed(address, username, now)
            error, status = _("That username and password do not match. Check them and try again."), 401
    elif request.method == "POST":
        error, status = _("The form was incomplete. Fill in both fields and try again."), 400
    return render_template("login.html", form=form, error=error, viewer=None), status, headers


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out on the server too: every copy of this person's session cookie stops working, on
    every device (the safe choice for shared ward phones)."""
    staff = signed_in_staff()
    if staff is not None:
        end_sessions(staff["username"])
    session.clear()
    return redirect(url_for("auth.login"))


@bp.app_errorhandler(CSRFError)
def form_expired(error):
    """Every form carries a CSRF token; a missing or stale one gets a plain explanation, not a bare 400."""
    message = _("This form had expired or did not come from this site, so nothing was changed. Reload the page and try again.")
    return render_template("error.html", title=_("Please try again"), message=message, back=request.path, viewer=None), 400


@bp.app_errorhandler(403)
@bp.app_errorhandler(404)
def refused(error):
    """Plain pages for "not yours" and "not here", in the same layout as the rest."""
    titles = {403: _("You cannot open this page"), 404: _("Page not found")}
    message = error.description if error.code == 403 else _("Check the link, or go back to your ward screen.")
    return render_template("error.html", title=titles[error.code], message=message, back="/", viewer=None), error.code
