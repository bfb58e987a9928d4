"""`wardpulse trust set` and `wardpulse fft-return`: the trust's codes and the monthly return to NHS England."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from server.cli.common import admin, emit_result
from server.store.registry import Registry
from server.ward.monthly_return import ward_sheet_csv, write_xlsx
from server.ward.picture import WARD_TIMEZONE
from server.ward.return_desk import monthly_return
from server.ward.theme_list import trust_themes


def month_option(value: str) -> str:
    """A month as YYYY-MM, or a plain error."""
    if not (len(value) == 7 and value[4] == "-" and value.replace("-", "").isdigit() and 1 <= int(value[5:]) <= 12):
        raise click.BadParameter("use the form YYYY-MM, e.g. 2026-11", param_hint="--month")
    return value


@click.group()
def trust() -> None:
    """The trust: its NHS organisation code and name, for the monthly return."""


@trust.command("set")
@click.option("--org-code", help="The trust's NHS organisation code, e.g. RXX.")
@click.option("--name", help="The trust's name.")
@click.option("--collection-mode", "modes", multiple=True, metavar="CHANNEL=MODE",
              help='Report a channel under another mode, e.g. kiosk="Paper Discharge" (channels: kiosk, own_device).')
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def trust_set(data_dir: Path, org_code: str | None, name: str | None, modes: tuple[str, ...], as_json: bool) -> None:
    """Set the trust's code and name (and, if the trust wishes, how each channel is reported)."""
    if any("=" not in m for m in modes):
        raise click.BadParameter('give CHANNEL=MODE, e.g. kiosk="Paper Discharge"', param_hint="--collection-mode")
    result = admin(data_dir, "set_trust", org_code=org_code, name=name, modes=dict(m.split("=", 1) for m in modes))
    emit_result(as_json, result, f"Trust {result.get('org_code', '-')}: {result.get('name', '-')}")


@click.command("fft-return")
@click.option("--month", required=True, callback=lambda ctx, param, value: month_option(value),
              help="The month of tapping (Europe/London), YYYY-MM.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True,
              help="csv: the Ward sheet on stdout; xlsx: the Ward, Site, Organisation, Collection mode and Themes sheets.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file (needed for xlsx).")
@click.pass_obj
def fft_return(data_dir: Path, month: str, fmt: str, output: Path | None) -> None:
    """The monthly Friends and Family Test return to NHS England."""
    if fmt == "xlsx" and output is None:
        raise click.BadParameter("an xlsx workbook needs a file: add --output return.xlsx", param_hint="--output")
    # Counted in the wards' calendar, as the ward screen counts.
    tz = ZoneInfo(os.environ.get("WARDPULSE_TIMEZONE", WARD_TIMEZONE))
    finder, problem = trust_themes(data_dir)
    if problem:
        click.echo(problem, err=True)
    monthly = monthly_return(data_dir, Registry(data_dir), month, tz, finder=finder)
    if fmt == "xlsx":
        write_xlsx(monthly, output)
    elif output is not None:
        output.write_text(ward_sheet_csv(monthly))
    else:
        sys.stdout.write(ward_sheet_csv(monthly))
    click.echo(monthly.note, err=True)


COMMANDS = (trust, fft_return)
