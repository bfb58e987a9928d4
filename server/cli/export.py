"""`wardpulse export`: every stored rating of a ward, as CSV for spreadsheets or JSONL for programs."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from server.store.journal import read_ratings, read_ward_month
from server.store.registry import Registry
from server.ward.picture import WARD_TIMEZONE
from server.ward.spreadsheet import inert_row

EXPORT_FIELDS = ("id", "ward", "score", "tapped_at", "received_at", "comment", "lang", "follow_up", "kiosk_id", "channel", "misuse")
# How each tap time was made and placed, a second version of a tap, a follow-up let through a flood (see README).
EXPORT_FIELDS += ("clock", "device_time", "clock_offset_ms", "clock_corrected", "clock_unknown", "tapped_at_sent", "amends", "flood")


@click.command()
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


COMMANDS = (export,)
