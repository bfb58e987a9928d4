"""Operations commands of the `wardpulse` CLI: soak, backup, restore."""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import click
from click.core import ParameterSource

from server.cli import cli, emit_result


def _given_data_dir(ctx: click.Context) -> Path | None:
    """The group's --data-dir only if typed on this command line: a soak must never land in ./var or $WARDPULSE_DATA_DIR."""
    if ctx.parent.get_parameter_source("data_dir") is ParameterSource.COMMANDLINE:
        return ctx.obj
    return None


@cli.command()
@click.option("--minutes", type=float, required=True, help="How long the kiosks tap while the server is being killed.")
@click.option("--kiosks", "kiosk_count", default=4, show_default=True, type=click.IntRange(1, 50), help="How many simulated tablets tap.")
@click.option("--seed", type=int, help="Seed for tap and kill timing (printed, so a run can be repeated). Default: random.")
@click.option("--every", default=0.1, show_default=True, type=click.FloatRange(0.005), help="Mean seconds between taps on each tablet.")
@click.option("--async-mode", type=click.Choice(["eventlet", "threading"]), default="eventlet", show_default=True, help="The server's async mode.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.pass_context
def soak(ctx: click.Context, minutes: float, kiosk_count: int, seed: int | None, every: float, async_mode: str, as_json: bool) -> None:
    """Kill the ward server with SIGKILL at random while tablets tap; check every tap is stored exactly once.

    Runs on a fresh temporary data dir (removed if all is well), or on `wardpulse --data-dir DIR soak`
    if DIR is new or empty. Exits 1 if anything was lost, doubled or unreadable.
    """
    from server.tools.soak import SoakError, SoakPlan, run_soak

    seed = random.randrange(1_000_000) if seed is None else seed
    data_dir = _given_data_dir(ctx) or Path(tempfile.mkdtemp(prefix="wardpulse-soak-"))
    plan = SoakPlan(seconds=minutes * 60, kiosks=kiosk_count, seed=seed, tap_every=every, async_mode=async_mode)
    click.echo(f"Soak: {kiosk_count} kiosks for {minutes:g} min, seed {seed}, data in {data_dir}", err=True)
    try:
        result = run_soak(plan, data_dir, progress=lambda line: click.echo(line, err=True))
    except SoakError as exc:
        raise click.ClickException(f"{exc}\n(data left in {data_dir})") from None
    emit_result(as_json, result.as_dict(), result.report())
    if result.ok and _given_data_dir(ctx) is None:
        shutil.rmtree(data_dir, ignore_errors=True)
    elif not result.ok:
        click.echo(f"The data dir is kept for inspection: {data_dir}", err=True)
        ctx.exit(1)


@cli.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def backup(data_dir: Path, dest: Path, as_json: bool) -> None:
    """Copy the data dir to DEST (new or empty), consistently, even while the server is serving."""
    from server.store.backup import BackupError, backup as make_backup

    try:
        contents = make_backup(data_dir, dest)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    emit_result(as_json, dict(contents.as_dict(), dest=str(dest)), f"Backed up {data_dir} to {dest}: {contents.summary()}.")


@cli.command()
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Restore over a data dir that holds data; what is there is moved into DATA_DIR/replaced-<time>/.")
@click.option("--check", is_flag=True, help="Only verify the backup; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def restore(data_dir: Path, src: Path, force: bool, check: bool, as_json: bool) -> None:
    """Verify the backup in SRC, then copy it into the data dir. No server may be running on the data dir."""
    from server.store.backup import BackupError, restore as put_back, verify_backup

    try:
        contents, aside = (verify_backup(src), None) if check else put_back(src, data_dir, force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    for warning in contents.warnings:
        click.echo(f"warning: {warning}", err=True)
    done = f"{src} reads back whole" if check else f"Restored {src} into {data_dir}"
    moved = f" What was there before is in {aside}." if aside else ""
    emit_result(as_json, dict(contents.as_dict(), replaced=str(aside) if aside else None), f"{done}: {contents.summary()}.{moved}")
