"""Staff pages beyond the ward screen: ward settings (sister), kiosks, wards and staff (admin),
kiosk enrollment by QR, and the bedside poster that lets patients use their own phone."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FloatField, PasswordField, SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from server.store.registry import ROLES, AdminError
from server.ward.alerts import DEFAULT_URGENT_PHRASES
from server.web import trust_admin
from server.web.auth import end_sessions, hash_password, requires, viewer_of
from server.web.broadcast import drop_kiosk, tell_kiosk_how_to_start, tell_kiosks_how_to_start
from server.web.extensions import catalogues, ward_service
from server.web.kiosk_words import ward_start
from server.web.links import public_link
from server.web.qr import qr_svg
from server.web.routes import answers_for_page, kiosk_config, kiosk_languages
from server.web.shards import kiosks_of, trend_settings_of
from shared.fft import QUESTION
from shared.protocol import ERRORS, ProtocolError

bp = Blueprint("manage", __name__)


def _registry_changed_or_error(action) -> str | None:
    """Run an admin change; a plain error message if it cannot be done."""
    try:
        action()
    except AdminError as refusal:
        return str(refusal)
    ward_service().registry_changed()
    return None


# --------------------------------------------------------------------------- ward settings (sister)


WORDING_CHOICES = [SelectChoice("standard", _l("Standard")), SelectChoice("easy", _l("Easy read")), SelectChoice("children", _l("Children's ward"))]
FOLLOW_WARD = "ward"  # a tablet's wording choice meaning "as the ward's settings say"


class SettingsForm(FlaskForm):
    kiosk_language = SelectField(_l("Language each new patient starts in"))
    kiosk_wording = SelectField(_l("Wording of the question"), choices=WORDING_CHOICES)
    urgent_phrases = TextAreaField(_l("Urgent phrases, one per line"), validators=[Length(max=5000)])
    trend_volume = FloatField(_l("Expected ratings a day (blank: from the ward's history)"), validators=[Optional(), NumberRange(1, 5000)])
    trend_p0 = FloatField(_l("Usual % poor or very poor (blank: from the ward's history)"), validators=[Optional(), NumberRange(1, 30)])


@bp.route("/ward/<code>/settings", methods=["GET", "POST"])
@requires("sister")
def settings(code, staff):
    """Sisters tune what raises an immediate alert and how the trend detector sees their ward."""
    record = ward_service().registry.ward(code) or abort(404)
    offered = catalogues()
    form = SettingsForm(
        kiosk_language=ward_start(record, offered)["lang"],
        kiosk_wording=ward_start(record, offered)["wording"],
        urgent_phrases="\n".join(record.get("urgent_phrases") or DEFAULT_URGENT_PHRASES),
        trend_volume=record.get("trend_volume"),
        trend_p0=record.get("trend_p0") * 100 if record.get("trend_p0") else None,
    )
    form.kiosk_language.choices = [SelectChoice(lang.tag, f"{lang.english_name} – {lang.name}") for lang in offered.languages]
    error = None
    if form.validate_on_submit():
        phrases = form.urgent_phrases.data.splitlines()
        p0 = form.trend_p0.data / 100 if form.trend_p0.data else None
        error = _registry_changed_or_error(
            lambda: ward_service().registry.update_ward_settings(record["code"], phrases, form.trend_volume.data or None, p0)
        )
        error = error or _registry_changed_or_error(
            lambda: ward_service().registry.set_kiosk_start(record["code"], form.kiosk_language.data, form.kiosk_wording.data)
        )
        if error is None:
            ward_service().settings_changed(record["code"])
            tell_kiosks_how_to_start(ward_service(), offered, record["code"])
            flash(_("Settings saved."))
            return redirect(url_for("manage.settings", code=record["code"]))
    return render_template("settings.html", ward=record, form=form, error=error, viewer=viewer_of(staff),
                           trend=trend_settings_of(record["code"]), catalogues=offered)


# --------------------------------------------------------------------------- admin


class WardForm(FlaskForm):
    code = StringField(_l("Ward code"), validators=[DataRequired(), Length(max=16)])
    name = StringField(_l("Ward name"), validators=[DataRequired(), Length(max=100)])


class StaffForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    # Ticked boxes: an account may cover several wards (a matron, bank staff); the first is their home ward.
    wards = SelectMultipleField(_l("Wards they cover"), validators=[DataRequired()], widget=ListWidget(prefix_label=False),
                                option_widget=CheckboxInput())
    role = SelectField(_l("Role"), choices=[SelectChoice(r) for r in ROLES])
    password = PasswordField(_l("Password (at least 8 characters)"), validators=[DataRequired(), Length(min=8, max=256)])


class KioskForm(FlaskForm):
    label = StringField(_l("Where the tablet stands"), validators=[DataRequired(), Length(max=60)])


class KioskWordingForm(FlaskForm):
    wording = SelectField(_l("Wording"), choices=[SelectChoice(FOLLOW_WARD, _l("As the ward")), *WORDING_CHOICES])


@bp.route("/admin", methods=["GET", "POST"])
@requires("admin")
def admin(staff):
    """Wards and staff accounts."""
    ward_form, staff_form = WardForm(prefix="ward"), StaffForm(prefix="staff")
    staff_form.wards.choices = [SelectChoice(w["code"], f"{w['code']} – {w['name']}") for w in ward_service().registry.wards()]
    error = None
    if request.form.get("add") == "ward" and ward_form.validate_on_submit():
        error = _registry_changed_or_error(lambda: ward_service().registry.add_ward(ward_form.code.data, ward_form.name.data))
    elif request.form.get("add") == "staff" and staff_form.validate_on_submit():
        error = _registry_changed_or_error(
            lambda: ward_service().registry.add_staff(
                staff_form.username.data, staff_form.wards.data, staff_form.role.data, hash_password(staff_form.password.data)
            )
        )
    elif request.method == "POST":
        error = _("Check the form: every field is needed, and passwords have at least 8 characters.")
    if request.method == "POST" and error is None:
        flash(_("Saved."))
        return redirect(url_for("manage.admin"))
    return render_template(
        "admin.html",
        wards=ward_service().registry.wards(),
        people=sorted(ward_service().registry.all_staff(), key=lambda s: (s["wards"], s["username"])),
        ward_form=ward_form,
        staff_form=staff_form,
        error=error,
        viewer=viewer_of(staff),
        catalogues=catalogues(),
        **trust_admin.admin_context(),
    ), (400 if error else 200)


@bp.post("/admin/staff/<username>/sign-out")
@requires("admin")
def sign_out_everywhere(username, staff):
    """End every session of a staff account at once (a lost phone, a password seen by someone else)."""
    try:
        ended = end_sessions(username)
    except AdminError:
        abort(404)
    flash(_("%(username)s is signed out on every device.", username=ended["username"]))
    return redirect(url_for("manage.admin"))


@bp.route("/admin/ward/<code>/kiosks", methods=["GET", "POST"])
@requires("admin")
def kiosks(code, staff):
    """The ward's tablets: online, last seen, today's ratings, possible misuse; add one by QR, revoke one."""
    record = ward_service().registry.ward(code) or abort(404)
    form = KioskForm()
    if form.validate_on_submit():
        kiosk = ward_service().registry.add_kiosk(record["code"], form.label.data)
        ward_service().registry_changed()
        made = ward_service().registry.add_enrollment(kiosk["id"])
        # Post/redirect/get: a reload must not add another kiosk. The one-time QR is shown once.
        session["enrollment"] = {
            "kiosk": {"id": kiosk["id"], "label": kiosk["label"]},
            "url": public_link("manage.enroll", code=made["code"]),
            "expires_at": made["expires_at"],
        }
        return redirect(url_for("manage.kiosks", code=record["code"]))
    enrollment = session.pop("enrollment", None)
    if enrollment:
        enrollment["qr"] = qr_svg(enrollment["url"], _("Enrollment QR code"))
    try:
        tablets, unanswered = kiosks_of(record["code"]), False  # as the ward's owner sees them
    except ProtocolError:  # its owner is down: the tablets are listed, how they are is not known
        tablets, unanswered = ward_service().kiosks_overview(record["code"]), True
    return render_template(
        "kiosks.html",
        ward=record,
        kiosks=tablets,
        unanswered=unanswered,
        refusal_reasons=ERRORS,
        form=form,
        wording_forms={k["id"]: KioskWordingForm(prefix=k["id"], wording=k.get("wording") or FOLLOW_WARD) for k in ward_service().registry.kiosks(record["code"])},
        enrollment=enrollment,
        viewer=viewer_of(staff),
    )


@bp.post("/admin/kiosks/<kiosk_id>/revoke")
@requires("admin")
def revoke(kiosk_id, staff):
    """Revoke a tablet: its socket is dropped at once and its token refused from then on."""
    try:
        kiosk = ward_service().registry.revoke_kiosk(kiosk_id)
    except AdminError:
        abort(404)
    ward_service().registry_changed()
    drop_kiosk(kiosk_id)
    flash(_("Kiosk %(label)s revoked.", label=kiosk["label"]))
    return redirect(url_for("manage.kiosks", code=kiosk["ward"]))


@bp.post("/admin/kiosks/<kiosk_id>/wording")
@requires("admin")
def kiosk_wording(kiosk_id, staff):
    """Give one tablet its own wording (a children's corner on an adult ward), or let it follow its ward's."""
    form = KioskWordingForm(prefix=kiosk_id)
    if not form.validate_on_submit():
        abort(400)
    wording = None if form.wording.data == FOLLOW_WARD else form.wording.data
    try:
        kiosk = ward_service().registry.set_kiosk_wording(kiosk_id, wording)
    except AdminError:
        abort(404)
    ward_service().registry_changed()
    tell_kiosk_how_to_start(ward_service(), catalogues(), kiosk)
    flash(_("Kiosk %(label)s: wording saved.", label=kiosk["label"]))
    return redirect(url_for("manage.kiosks", code=kiosk["ward"]))


# --------------------------------------------------------------------------- tablets and phones


@bp.get("/kiosk/enroll/<code>")
def enroll(code):
    """A tablet scanned the enrollment QR: spend the one-time code and hand the tablet its device token."""
    try:
        kiosk = ward_service().registry.use_enrollment(code)
    except AdminError as refusal:
        return render_template("error.html", title=_("This QR code cannot be used"), message=str(refusal), back="/kiosk", viewer=None), 410
    ward_service().registry_changed()
    # The token travels in the #fragment: browsers never send it back to a server or into a log.
    return redirect(url_for("kiosk.page") + "#enroll=" + kiosk["token"])


@bp.get("/w/<code>")
def own_device(code):
    """The bedside poster's link: the same question on a patient's own phone, no enrollment."""
    record = ward_service().registry.ward(code) or abort(404)
    config = dict(kiosk_config(), own_ward=record["code"], device_key="wardpulse.own.device")
    return render_template(
        "kiosk.html", answers=answers_for_page(), client_config=config, own_ward=record, **kiosk_languages(record)
    )


@bp.get("/ward/<code>/poster")
@requires("staff")
def poster(code, staff):
    """A printable A4 card with the QR code for patients' own phones."""
    record = ward_service().registry.ward(code) or abort(404)
    url = public_link("manage.own_device", code=record["code"])
    return render_template(
        "poster.html", ward=record, url=url, qr=qr_svg(url, _("QR code to give feedback")), question=_(QUESTION), viewer=viewer_of(staff)
    )
