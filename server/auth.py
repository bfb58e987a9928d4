"""Staff sign-in, and who may watch which ward."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from server.limits import Limiter
from server.storage import now_utc
from shared.protocol import ProtocolError

ROLE_RANK = {"staff": 1, "sister": 2, "admin": 3}
SIGN_IN_ATTEMPTS = 5  # failures per username, and per address, in SIGN_IN_WINDOW
SIGN_IN_WINDOW = timedelta(minutes=15)

bp = Blueprint("auth", __name__)

def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


class SignInForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


def signed_in_staff() -> dict | None:
    """The staff member of this request's session, if the account still exists."""
    username = session.get("staff")
    if not username:
        return None
    return current_app.extensions["wardpulse"].registry.staff(username)


def ward_for_viewer(requested: object, display_token: object = None) -> tuple[str, dict]:
    """Which ward a screen may watch, and as whom; ProtocolError if it may not."""
    wards = current_app.extensions["wardpulse"]
    if display_token:
        display = wards.display_for_token(display_token)
        if requested and str(requested).upper() != display["ward"]:
            raise ProtocolError("forbidden")
        return display["ward"], {"name": display["label"], "role": "display", "read_only": True}
    staff = signed_in_staff()
    if staff is None:
        raise ProtocolError("not_signed_in")
    ward = str(requested or staff["ward"]).upper()
    if wards.registry.ward(ward) is None:
        raise ProtocolError("unknown_ward")
    if ward != staff["ward"] and staff["role"] != "admin":
        raise ProtocolError("forbidden")
    return ward, {"name": staff["username"], "role": staff["role"], "read_only": False}


def requires(role: str):
    """Decorate a staff view: sign-in first (then back here), at least `role`, and the view's ward
    (`code` in the URL) must be the staff member's own unless they are an admin. Passes `staff=`."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            staff = signed_in_staff()
            if staff is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            ward = kwargs.get("code")
            if ROLE_RANK[staff["role"]] < ROLE_RANK[role]:
                abort(403, "Your role cannot open this page.")
            if ward and ward.upper() != staff["ward"] and staff["role"] != "admin":
                abort(403, "This page belongs to another ward.")
            return view(*args, staff=staff, **kwargs)

        return wrapper

    return decorate


def viewer_of(staff: dict) -> dict:
    return {"name": staff["username"], "role": staff["role"], "read_only": False}


def _sign_in_limiter() -> Limiter:
    limiter = current_app.extensions.get("wardpulse.sign_in")
    if limiter is None:
        limiter = current_app.extensions["wardpulse.sign_in"] = Limiter(SIGN_IN_ATTEMPTS, SIGN_IN_WINDOW)
    return limiter


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths: never bounce a signed-in nurse to another host.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = SignInForm()
    error, status = None, 200
    if form.validate_on_submit():
        limiter, now = _sign_in_limiter(), now_utc()
        keys = ("user:" + form.username.data.strip().lower(), "addr:" + (request.remote_addr or ""))
        if not all(limiter.allowed(key, now) for key in keys):
            error, status = _("Too many attempts to sign in. Wait 15 minutes, or ask the ward administrator."), 429
        else:
            staff = current_app.extensions["wardpulse"].registry.staff(form.username.data)
            if staff and check_password_hash(staff["password_hash"], form.password.data):
                session.clear()
                session["staff"] = staff["username"]
                session.permanent = True  # remembered for a shift (PERMANENT_SESSION_LIFETIME)
                limiter.reset(keys[0])
                return redirect(_safe_next(request.args.get("next")) or url_for("wards.ward", code=staff["ward"]))
            for key in keys:
                limiter.hit(key, now)
            error, status = _("That username and password do not match. Check them and try again."), 401
    elif request.method == "POST":
        error, status = _("The form was incomplete. Fill in both fields and try again."), 400
    return render_template("login.html", form=form, error=error, viewer=None), status


@bp.route("/logout", methods=["POST"])
def logout():
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
