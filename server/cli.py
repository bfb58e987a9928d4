"""The `wardpulse` command line.

Admin commands work whether or not a server is running. The running server holds an exclusive
lock on the data dir; when a command finds it taken, it sends the command to the server's
control endpoint (address in `server.json`, bearer token in `control.token`, both in the data
dir and readable only by the service user), so the change takes effect at once and the server
stays the only writer.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from server.admin import run_command
from server.auth import hash_password
from server.picture import WARD_TIMEZONE
from server.spreadsheet import inert_row
from server.storage import (
    ROLES,
    AdminError,
    DataDirLock,
    Registry,
    StorageUnavailable,
    read_ratings,
    read_ward_month,
    write_atomically,
)

SERVER_INFO = "server.json"
CONTROL_TOKEN = "control.token"
EXPORT_FIELDS = ("id", "ward", "score", "tapped_at", "received_at", "comment", "lang", "follow_up", "kiosk_id", "channel", "misuse")
# How each tap time was made and placed, a second version of a tap, a follow-up let through a flood (see README).
EXPORT_FIELDS += ("clock", "device_time", "clock_offset_ms", "clock_corrected", "clock_unknown", "tapped_at_sent", "amends", "flood")


def emit_result(as_json: bool, result: dict, human: str) -> None:
    """With --json: one JSON object on stdout and nothing else."""
    click.echo(json.dumps(result) if as_json else human)


def public_url(data_dir: Path) -> str:
    """The address tablets and phones use: --public-url / WARDPULSE_PUBLIC_URL, else the running server's."""
    if os.environ.get("WARDPULSE_PUBLIC_URL"):
        return os.environ["WARDPULSE_PUBLIC_URL"].rstrip("/")
    info = data_dir / SERVER_INFO
    if info.exists():
        return json.loads(info.read_text())["public_url"]
    return "http://127.0.0.1:5000"


def admin(data_dir: Path, command: str, **args) -> dict:
    """Run an admin command on the data dir, through the running server if there is one."""
    lock = DataDirLock(data_dir)
    if lock.try_acquire():
        try:
            return run_command(Registry(data_dir), command, args)
        except (AdminError, StorageUnavailable) as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            lock.release()
    return _via_server(data_dir, command, args)


def _via_server(data_dir: Path, command: str, args: dict) -> dict:
    deadline = time.monotonic() + 10
    while not (data_dir / SERVER_INFO).exists():  # a server that is still starting
        if time.monotonic() > deadline:
            raise click.ClickException("the data dir is locked but no server answers: is one starting?")
        time.sleep(0.2)
    info = json.loads((data_dir / SERVER_INFO).read_text())
    token = (data_dir / CONTROL_TOKEN).read_text().strip()
    request = urllib.request.Request(
        info["local_url"] + "/control",
        data=json.dumps({"command": command, "args": args}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)["result"]
    except urllib.error.HTTPError as exc:
        try:
            message = json.load(exc)["message"]
        except ValueError:
            message = f"the server refused the command (HTTP {exc.code})"
        raise click.ClickException(message) from None
    except urllib.error.URLError as exc:
        raise click.ClickException(f"could not reach the running server at {info['local_url']}: {exc.reason}") from None


@click.group()
@click.option(
    "--data-dir",
    envvar="WARDPULSE_DATA_DIR",
    default="./var",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where ratings, the ward registry and secrets are kept.",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: Path) -> None:
    """WardPulse: real-time Friends and Family Test feedback for hospital wards."""
    ctx.obj = data_dir


# --------------------------------------------------------------------------- serve


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all).")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on; 0 picks a free one.")
@click.option(
    "--async-mode",
    type=click.Choice(["eventlet", "threading"]),
    default="eventlet",
    show_default=True,
    help="eventlet for production; threading needs no monkey-patching.",
)
@click.option("--public-url", envvar="WARDPULSE_PUBLIC_URL", help="Address tablets and phones use, e.g. https://wardpulse.trust.nhs.uk.")
@click.option(
    "--trusted-proxies",
    type=click.IntRange(0),
    help="How many proxies (nginx: 1) sit in front and may tell the client's address, scheme and host in "
    "X-Forwarded-* headers. Default: WARDPULSE_TRUSTED_PROXIES, else 0 (such headers are ignored).",
)
@click.pass_obj
def serve(data_dir: Path, host: str, port: int, async_mode: str, public_url: str | None, trusted_proxies: int | None) -> None:
    """Run the ward server."""
    from server.app import create_app, socketio
    from server.events import keep_alerts_saved
    from server.entry import listen_and_serve, offload_for
    from server.heap import HeapKeeper

    lock = DataDirLock(data_dir)
    if not lock.try_acquire():
        raise click.ClickException(f"another WardPulse server is already using {data_dir}")
    control_token = secrets.token_urlsafe(32)
    write_atomically(data_dir / CONTROL_TOKEN, control_token, mode=0o600)
    config = {"DATA_DIR": str(data_dir), "ASYNC_MODE": async_mode, "OFFLOAD": offload_for(async_mode), "CONTROL_TOKEN": control_token}
    if trusted_proxies is not None:
        config["TRUSTED_PROXIES"] = trusted_proxies
    try:
        app = create_app(config)
    except ValueError as exc:  # a mistyped setting: say which, plainly
        lock.release()
        raise click.ClickException(str(exc)) from None

    def on_listening(bound_port: int) -> None:
        local_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        local_url = f"http://{local_host}:{bound_port}"
        shown = public_url or (f"http://{socket.getfqdn()}:{bound_port}" if host in ("0.0.0.0", "::") else local_url)
        info = {"pid": os.getpid(), "local_url": local_url, "public_url": shown.rstrip("/"), "async_mode": async_mode}
        write_atomically(data_dir / SERVER_INFO, json.dumps(info))
        app.config["PUBLIC_URL"] = info["public_url"]
        click.echo(f"WardPulse ward server listening on {local_url} ({async_mode}); data in {data_dir}", err=False)
        sys.stdout.flush()

    def stop(*_signal) -> None:
        # Every acked rating is already fsync'd, so there is nothing to flush: tidy up and leave at once
        # rather than wait for idle tablets and wall screens to close their websockets.
        (data_dir / SERVER_INFO).unlink(missing_ok=True)
        app.extensions["wardpulse"].close()
        lock.release()
        os._exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    HeapKeeper().start()  # after start-up, so the history just loaded is frozen too
    socketio.start_background_task(keep_alerts_saved, app.extensions["wardpulse"])
    listen_and_serve(app, host, port, async_mode, on_listening)


# --------------------------------------------------------------------------- admin


@cli.group()
def ward() -> None:
    """Wards."""


@ward.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The ward's name as staff and patients know it.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def ward_add(data_dir: Path, code: str, name: str, as_json: bool) -> None:
    """Add a ward with a short CODE (letters, digits, dashes)."""
    result = admin(data_dir, "add_ward", code=code, name=name)
    emit_result(as_json, result, f"Added ward {result['code']}: {result['name']}")


@cli.group()
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
    url = f"{public_url(data_dir)}/kiosk/#enroll={made['token']}"
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


@cli.group()
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
    url = f"{public_url(data_dir)}/ward/{made['ward']}?display={made['token']}"
    result = {"display_id": made["id"], "ward": made["ward"], "token": made["token"], "url": url}
    emit_result(as_json, result, f"Wall screen link for ward {made['ward']}:\n{url}")


@cli.group()
def staff() -> None:
    """Staff accounts."""


@staff.command("add")
@click.argument("username")
@click.option("--ward", "ward_code", required=True, help="The staff member's ward.")
@click.option("--role", type=click.Choice(ROLES), default="staff", show_default=True, help="What they may do.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def staff_add(data_dir: Path, username: str, ward_code: str, role: str, as_json: bool) -> None:
    """Add a staff account; the password is asked for (or read from stdin)."""
    password_hash = hash_password(_read_password())
    result = admin(data_dir, "add_staff", username=username, ward=ward_code, role=role, password_hash=password_hash)
    emit_result(as_json, result, f"Added {result['role']} {result['username']} on ward {result['ward']}.")


@staff.command("passwd")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def staff_passwd(data_dir: Path, username: str, as_json: bool) -> None:
    """Give a staff account a new password (asked for, or read from stdin); signs it out everywhere."""
    result = admin(data_dir, "set_password", username=username, password_hash=hash_password(_read_password()))
    emit_result(as_json, result, f"New password for {result['username']}; every device they were signed in on is signed out.")


@staff.command("sign-out")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def staff_sign_out(data_dir: Path, username: str, as_json: bool) -> None:
    """Sign a staff member out on every device at once (a lost phone, a shared password)."""
    result = admin(data_dir, "end_sessions", username=username)
    emit_result(as_json, result, f"{result['username']} is signed out everywhere.")


def _read_password() -> str:
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    return password


# --------------------------------------------------------------------------- export


@cli.command()
@click.option("--ward", "ward_code", required=True, help="Code of the ward.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True, help="Output format.")
@click.option("--month", help="Only ratings tapped in this month of the ward's calendar (Europe/London), YYYY-MM.")
@click.pass_obj
def export(data_dir: Path, ward_code: str, fmt: str, month: str | None) -> None:
    """Print every stored rating of a ward, one per row or line."""
    if month is not None and not (len(month) == 7 and month[4] == "-" and month.replace("-", "").isdigit()):
        raise click.BadParameter("use the form YYYY-MM, e.g. 2026-11", param_hint="--month")
    ward_code = ward_code.upper()
    if Registry(data_dir).ward(ward_code) is None:
        raise click.ClickException(f"there is no ward {ward_code}")
    if month is None:
        stored = read_ratings(data_dir, ward_code)
    else:  # the same months the ward screen and chart count in (WARDPULSE_TIMEZONE, as `serve` reads it)
        stored = read_ward_month(data_dir, ward_code, month, ZoneInfo(os.environ.get("WARDPULSE_TIMEZONE", WARD_TIMEZONE)))
    ratings = sorted(stored, key=lambda r: (r["tapped_at"], r["id"]))
    out = sys.stdout
    if fmt == "jsonl":
        for r in ratings:
            out.write(json.dumps({k: r.get(k) for k in EXPORT_FIELDS}) + "\n")
        return
    # JSONL is data for programs and stays as stored; CSV is for spreadsheets, so no cell may run.
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, extrasaction="ignore", quoting=csv.QUOTE_NONNUMERIC)
    writer.writeheader()
    for r in ratings:
        writer.writerow(inert_row(dict(r, follow_up=json.dumps(r["follow_up"]) if r.get("follow_up") is not None else "")))


# --------------------------------------------------------------------------- demo


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on; 0 picks a free one.")
@click.option("--kiosks", "kiosk_count", default=3, show_default=True, help="How many simulated tablets tap.")
@click.option("--every", default=30.0, show_default=True, help="Mean seconds between taps on each simulated tablet.")
@click.pass_obj
def demo(data_dir: Path, host: str, port: int, kiosk_count: int, every: float) -> None:
    """Start a demo ward with simulated tablets; prints the kiosk and ward screen links and a login."""
    from server.demo import run_demo

    run_demo(data_dir, host, port, kiosk_count, every)


# --------------------------------------------------------------------------- bench


@cli.command()
@click.option("--quick", is_flag=True, help="A shorter run (under 2 minutes): less history, fewer sockets, shorter timings.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write every number to this JSON file.")
def bench(quick: bool, json_path: Path | None) -> None:
    """Measure this machine's ward server next to a bare Flask-SocketIO stack; servers run on a temporary data dir."""
    from server.bench import BenchError, run_bench

    try:
        run_bench(quick, json_path)
    except BenchError as exc:
        raise click.ClickException(str(exc)) from None


@cli.command("study-detector")
@click.option("--volume", type=click.FloatRange(min=0.1), required=True, help="Ratings a day on each ward (Poisson arrivals).")
@click.option("--p", "p", type=click.FloatRange(0.001, 0.9), required=True, help="Each rating's chance of being poor or very poor.")
@click.option("--days", type=click.FloatRange(min=1), required=True, help="Days simulated from each ward's first rating.")
@click.option("--wards", type=click.IntRange(min=1), required=True, help="How many wards (one trust, one ward service).")
@click.option("--seed", type=int, required=True, help="Random seed: the same seed gives the same figures.")
@click.option("--from-day", type=click.FloatRange(min=0), default=30, show_default=True, help="Count false alerts from this day on.")
@click.option("--weekday", help="Seven rates, Monday to Sunday (P1,...,P7), instead of --p.")
@click.option("--spell", help="DAY:DAYS:FACTOR: a bad spell; its alerts are not counted as false.")
@click.option("--shift", help="DAY:FACTOR: a lasting rise; false alerts are counted until it, delays after it.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def study_detector(volume, p, days, wards, seed, from_day, weekday, spell, shift, as_json) -> None:
    """Simulate wards through the ward service and count false trend alerts (and delays after a --shift)."""
    from server.study import Shift, Spell, Study, parse_pair, run

    try:
        rates = tuple(float(v) for v in weekday.split(",")) if weekday else None
        if rates is not None and (len(rates) != 7 or not all(0 < v < 1 for v in rates)):
            raise ValueError("--weekday needs seven rates between 0 and 1, Monday to Sunday")
        study = Study(
            volume, p, days, wards, seed, from_day, rates,
            Spell(*parse_pair(spell, 3)) if spell else None,
            Shift(*parse_pair(shift, 2)) if shift else None,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    result = run(study)
    emit_result(as_json, result, "\n".join(f"{k}: {v}" for k, v in result.items()))


# Operations commands live in their own module and register on the group when imported.
from server import ops  # noqa: E402,F401
