"""Staff sign-in, and who may watch which ward."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from shared.protocol import ProtocolError

bp = Blueprint("auth", __name__)

def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


class SignInForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


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


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths: never bounce a signed-in nurse to another host.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        staff = current_app.extensions["wardpulse"].registry.staff(form.username.data)
        if staff and check_password_hash(staff["password_hash"], form.password.data):
            session.clear()
            session["staff"] = staff["username"]
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")) or url_for("wards.ward", code=staff["ward"]))
        error = "That username and password do not match. Check them and try again."
    elif request.method == "POST":
        error = "The form had expired or was incomplete. Please try again."
    return render_template("login.html", form=form, error=error, viewer=None), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("auth.login"))


@bp.app_errorhandler(CSRFError)
def form_expired(error):
    """Every form carries a CSRF token; a missing or stale one gets a plain explanation, not a bare 400."""
    message = _("This form had expired or did not come from this site, so nothing was changed. Reload the page and try again.")
    return render_template("error.html", title=_("Please try again"), message=message, back=request.path, viewer=None), 400
