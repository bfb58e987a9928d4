"""The trust's side of `/admin`: its organisation code, name and collection modes, each ward's site and
specialties (the codes the monthly return is filed under), and the monthly return as a download."""

from __future__ import annotations

import io
from datetime import date, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from server.store.atomic import StorageUnavailable
from server.store.registry import AdminError
from server.ward.monthly_return import DEFAULT_MODES, ward_sheet_csv, write_xlsx
from server.ward.return_desk import month_of, monthly_return
from server.web.auth import requires, viewer_of
from server.web.extensions import ward_service
from shared.fft import COLLECTION_MODES

bp = Blueprint("trust_admin", __name__)

FORMATS = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
MODE_CHOICES = [SelectChoice(mode) for mode in COLLECTION_MODES]


class TrustForm(FlaskForm):
    org_code = StringField(_l("Organisation code (ODS), e.g. RXX"), validators=[DataRequired(), Length(max=9)])
    name = StringField(_l("Trust name"), validators=[DataRequired(), Length(max=200)])
    kiosk_mode = SelectField(_l("Ward tablets are reported as"), choices=MODE_CHOICES)
    own_device_mode = SelectField(_l("Patients' own phones (bedside poster) are reported as"), choices=MODE_CHOICES)


class WardCodesForm(FlaskForm):
    name = StringField(_l("Ward name"), validators=[DataRequired(), Length(max=100)])
    site_code = StringField(_l("Site code (ODS), e.g. RXX01"), validators=[Optional(), Length(max=9)])
    site_name = StringField(_l("Site name"), validators=[Optional(), Length(max=200)])
    specialty_1 = StringField(_l("Specialty 1, e.g. 326 - ACUTE INTERNAL MEDICINE"), validators=[Optional(), Length(max=120)])
    specialty_2 = StringField(_l("Specialty 2 (optional)"), validators=[Optional(), Length(max=120)])


class ReturnForm(FlaskForm):
    class Meta:
        csrf = False  # a download (GET) that changes nothing

    month = StringField(_l("Month"), validators=[DataRequired()])
    format = SelectField(_l("Format"), choices=[SelectChoice("xlsx", _l("Spreadsheet (xlsx): every sheet")),
                                                SelectChoice("csv", _l("CSV: the Ward sheet"))])


def trust_form() -> TrustForm:
    """The trust form filled with what is set now (the defaults where the trust has not mapped a channel)."""
    trust = ward_service().registry.trust()
    modes = {**DEFAULT_MODES, **(trust.get("modes") or {})}
    return TrustForm(prefix="trust", org_code=trust.get("org_code"), name=trust.get("name"),
                     kiosk_mode=modes["kiosk"], own_device_mode=modes["own_device"])


def last_month() -> str:
    """The month a return is usually filed for: the one before this (in the wards' calendar)."""
    service = ward_service()
    first = date.fromisoformat(month_of(service.clock(), service.tz) + "-01")
    return (first - timedelta(days=1)).strftime("%Y-%m")


def admin_context() -> dict:
    """What the trust part of `/admin` shows: the trust's codes, their form, the return's month picker, and
    why the trust's themes file is not used, if it is not."""
    return {"trust": ward_service().registry.trust(), "trust_form": trust_form(),
            "return_form": ReturnForm(formdata=None, month=last_month(), format="xlsx"),
            "themes_problem": ward_service().themes_problem}


def _saved_or_error(change) -> str | None:
    """Run a registry change; a plain error if it cannot be done (nothing is changed then)."""
    try:
        change()
    except AdminError as refusal:
        return str(refusal)[:1].upper() + str(refusal)[1:] + "."
    except StorageUnavailable as problem:
        return _("Could not save: %(problem)s", problem=str(problem))
    ward_service().registry_changed()
    return None


@bp.route("/admin/trust", methods=["GET", "POST"])
@requires("admin")
def trust(staff):
    """The trust's organisation code and name, and how each channel is reported in the monthly return."""
    form = trust_form() if request.method == "GET" else TrustForm(prefix="trust")
    error = None
    if form.validate_on_submit():
        modes = {"kiosk": form.kiosk_mode.data, "own_device": form.own_device_mode.data}
        error = _saved_or_error(lambda: ward_service().registry.set_trust(form.org_code.data, form.name.data, modes))
        if error is None:
            flash(_("Trust codes saved."))
            return redirect(url_for("manage.admin"))
    elif request.method == "POST":
        error = _("Check the form: the organisation code and the trust name are both needed.")
    return render_template("trust.html", form=form, error=error, viewer=viewer_of(staff)), (400 if error else 200)


@bp.route("/admin/ward/<code>/codes", methods=["GET", "POST"])
@requires("admin")
def ward_codes(code, staff):
    """A ward's name, site and up to two specialties, as the monthly return files it."""
    record = ward_service().registry.ward(code) or abort(404)
    specialties = list(record.get("specialties") or []) + ["", ""]
    form = WardCodesForm(name=record["name"], site_code=record.get("site_code"), site_name=record.get("site_name"),
                         specialty_1=specialties[0], specialty_2=specialties[1])
    error = None
    if form.validate_on_submit():
        error = _saved_or_error(lambda: ward_service().registry.set_ward(
            record["code"], name=form.name.data, site_code=form.site_code.data or "", site_name=form.site_name.data or "",
            specialties=[form.specialty_1.data or "", form.specialty_2.data or ""]))
        if error is None:
            flash(_("Ward %(code)s: codes saved.", code=record["code"]))
            return redirect(url_for("manage.admin"))
    elif request.method == "POST":
        error = _("Check the form: a ward needs a name, and each field has a length limit.")
    return render_template("ward_codes.html", ward=record, form=form, error=error, viewer=viewer_of(staff)), (400 if error else 200)


@bp.get("/admin/return")
@requires("admin")
def download_return(staff):
    """The monthly FFT return for every ward, as `wardpulse fft-return` makes it: the Ward sheet (csv) or every sheet (xlsx)."""
    form = ReturnForm(request.args)
    month = form.month.data or ""
    if not (form.validate() and len(month) == 7 and month[4] == "-" and month.replace("-", "").isdigit()
            and 1 <= int(month[5:]) <= 12):
        message = _("Choose a month as YYYY-MM (for example 2026-11) and a format, csv or xlsx.")
        return render_template("error.html", title=_("The return cannot be made"), message=message,
                               back=url_for("manage.admin"), viewer=viewer_of(staff)), 400
    return return_file(month, form.format.data)


def return_file(month: str, fmt: str, codes: list[str] | None = None) -> Response:
    """The monthly return of the given wards (default: all) as an attachment: the Ward sheet (csv) or every sheet (xlsx)."""
    service = ward_service()
    monthly = monthly_return(service.data_dir, service.registry, month, service.tz, codes, finder=service.themes)
    if fmt == "csv":
        body = ward_sheet_csv(monthly).encode("utf-8")
    else:
        out = io.BytesIO()
        write_xlsx(monthly, out)
        body = out.getvalue()
    headers = {"Content-Disposition": f'attachment; filename="fft-return-{month}.{fmt}"', "Cache-Control": "private, no-store"}
    return Response(body, mimetype=FORMATS[fmt], headers=headers)
