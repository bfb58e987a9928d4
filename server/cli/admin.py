"""`wardpulse ward|kiosk|display|staff`: wards, tablets, wall screens and staff accounts."""

from __future__ import annotations

from pathlib import Path

import click

from server.cli.common import admin, emit_result, public_url, read_password
from server.store.registry import ROLES
from server.web.app import page_routes
from server.web.auth import hash_password
from server.web.links import link
from shared.fft import WORDINGS


@click.group()
def ward() -> None:
    """Wards."""


def return_options(command):
    """The codes a ward is reported under in the monthly FFT return (`wardpulse fft-return`)."""
    command = click.option("--specialty", "specialties", multiple=True,
                           help='Main specialty, up to two, e.g. "326 - ACUTE INTERNAL MEDICINE".')(command)
    command = click.option("--site-name", help="Name of that site.")(command)
    command = click.option("--site-code", help="NHS code of the site the ward is on, e.g. RXX01.")(command)
    return command


@ward.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The ward's name as staff and patients know it.")
@return_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def ward_add(data_dir: Path, code: str, name: str, site_code: str | None, site_name: str | None,
             specialties: tuple[str, ...], as_json: bool) -> None:
    """Add a ward with a short CODE (letters, digits, dashes)."""
    result = admin(data_dir, "add_ward", code=code, name=name, site_code=site_code, site_name=site_name,
                   specialties=list(specialties) or None)
    emit_result(as_json, result, f"Added ward {result['code']}: {result['name']}")


@ward.command("set")
@click.argument("code")
@click.option("--name", help="A new name for the ward.")
@return_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def ward_set(data_dir: Path, code: str, name: str | None, site_code: str | None, site_name: str | None,
             specialties: tuple[str, ...], as_json: bool) -> None:
    """Change a ward's name or the codes it is reported under; options left out stay as they are."""
    result = admin(data_dir, "set_ward", code=code, name=name, site_code=site_code, site_name=site_name,
                   specialties=list(specialties) or None)
    emit_result(as_json, result, f"Ward {result['code']}: {result['name']}, site {result.get('site_code') or '-'}, "
                                 f"specialties {', '.join(result.get('specialties') or []) or '-'}")


@click.group()
def kiosk() -> None:
    """Ward tablets."""


@kiosk.command("add")
@click.option("--ward", "ward_code", required=True, help="Code of the ward the tablet stands on.")
@click.option("--label", help="Where the tablet is, e.g. 'Day room'.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def kiosk_add(data_dir: Path, ward_code: str, label: str | None, as_json: bool) -> None:
    """Enroll a tablet: prints its token and the link to open on it."""
    made = admin(data_dir, "add_kiosk", ward=ward_code, label=label)
    # /kiosk/ (with the slash) is inside the service worker's scope, so the page reloads offline too.
    url = link(page_routes(), public_url(data_dir), "kiosk.page", fragment=f"enroll={made['token']}")
    result = {"kiosk_id": made["id"], "ward": made["ward"], "label": made["label"], "token": made["token"], "enroll_url": url}
    emit_result(as_json, result, f"Kiosk {made['id']} ({made['label']}) on ward {made['ward']}.\nOpen on the tablet: {url}")


@kiosk.command("revoke")
@click.argument("kiosk_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def kiosk_revoke(data_dir: Path, kiosk_id: str, as_json: bool) -> None:
    """Revoke a tablet: its connection is dropped at once and refused from then on."""
    result = admin(data_dir, "revoke_kiosk", kiosk_id=kiosk_id)
    result.pop("token_hash", None)
    emit_result(as_json, result, f"Kiosk {result['id']} revoked.")


@kiosk.command("set")
@click.argument("kiosk_id")
@click.option("--wording", required=True, type=click.Choice([*WORDINGS, "ward"]),
              help="How this tablet words the question; 'ward' follows the ward's setting.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def kiosk_set(data_dir: Path, kiosk_id: str, wording: str, as_json: bool) -> None:
    """Give one tablet its own wording, e.g. children for the children's corner of an adult ward."""
    result = admin(data_dir, "set_kiosk_wording", kiosk_id=kiosk_id, wording=None if wording == "ward" else wording)
    emit_result(as_json, result, f"Kiosk {result['id']} words the question: {result['wording'] or 'as its ward does'}.")


@click.group()
def display() -> None:
    """Read-only wall screens for the nurses' station."""


@display.command("add")
@click.option("--ward", "ward_code", required=True, help="Code of the ward to show.")
@click.option("--label", help="Where the screen hangs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def display_add(data_dir: Path, ward_code: str, label: str | None, as_json: bool) -> None:
    """Make a read-only link for a wall screen."""
    made = admin(data_dir, "add_display", ward=ward_code, label=label)
    url = link(page_routes(), public_url(data_dir), "wards.ward", code=made["ward"], display=made["token"])
    result = {"display_id": made["id"], "ward": made["ward"], "token": made["token"], "url": url}
    emit_result(as_json, result, f"Wall screen link for ward {made['ward']}:\n{url}")


@click.group()
def staff() -> None:
    """Staff accounts."""


@staff.command("add")
@click.argument("username")
@click.option("--ward", "ward_codes", required=True, multiple=True,
              help="A ward the account covers; repeat for several (a matron, bank staff). The first is their home ward.")
@click.option("--role", type=click.Choice(ROLES), default="staff", show_default=True,
              help="What they may do: staff, sister, matron (a sister on every ward she covers), admin (every ward).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def staff_add(data_dir: Path, username: str, ward_codes: tuple[str, ...], role: str, as_json: bool) -> None:
    """Add a staff account; the password is asked for (or read from stdin)."""
    password_hash = hash_password(read_password())
    result = admin(data_dir, "add_staff", username=username, wards=list(ward_codes), role=role, password_hash=password_hash)
    emit_result(as_json, result, f"Added {result['role']} {result['username']} on {'ward' if len(result['wards']) == 1 else 'wards'} "
                                 f"{', '.join(result['wards'])}.")


@staff.command("passwd")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def staff_passwd(data_dir: Path, username: str, as_json: bool) -> None:
    """Give a staff account a new password (asked for, or read from stdin); signs it out everywhere."""
    result = admin(data_dir, "set_password", username=username, password_hash=hash_password(read_password()))
    emit_result(as_json, result, f"New password for {result['username']}; every device they were signed in on is signed out.")


@staff.command("sign-out")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def staff_sign_out(data_dir: Path, username: str, as_json: bool) -> None:
    """Sign a staff member out on every device at once (a lost phone, a shared password)."""
    result = admin(data_dir, "end_sessions", username=username)
    emit_result(as_json, result, f"{result['username']} is signed out everywhere.")


COMMANDS = (ward, kiosk, display, staff)
