"""Tooling commands: `wardpulse demo`, `soak` and `bench`. The tools themselves live in server/tools/."""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import click
from click.core import ParameterSource

from server.cli.common import emit_result
from server.tools.bench.plan import MODES, BenchError
from server.tools.bench.processes import run_processes_bench
from server.tools.bench.run import run_bench
from server.tools.bench.shard_plan import parse_counts
from server.tools.demo import run_demo
from server.tools.harness import ServerFailed
from server.tools.soak import SoakError, SoakPlan, run_soak
from server.tools.study import Shift, Spell, Study, parse_pair
from server.tools.study import run as run_study


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on; 0 picks a free one.")
@click.option("--kiosks", "kiosk_count", default=6, show_default=True, help="How many simulated tablets tap (up to 6: two on each demo ward).")
@click.option("--every", default=30.0, show_default=True, help="Mean seconds between taps on each simulated tablet.")
@click.pass_obj
def demo(data_dir: Path, host: str, port: int, kiosk_count: int, every: float) -> None:
    """Start three demo wards with 60 days of history and simulated tablets; prints the links and the logins."""
    try:
        run_demo(data_dir, host, port, kiosk_count, every)
    except ServerFailed as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@click.option("--quick", is_flag=True, help="A shorter run (about 4 minutes): less history, fewer sockets, shorter timings.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write every number to this JSON file.")
@click.option("--ingest", "what", flag_value="ingest", help="Only the server-bound ingest rows: CPU per rating next to the bare stack.")
@click.option("--storm", "what", flag_value="storm", help="Only the reconnect storm (row 6): SIGKILL and restart under every socket.")
@click.option("--profile", "what", flag_value="profile", help="Record both servers under ingest with py-spy: flame graphs and top costs per rating.")
@click.option("--profile-dir", type=click.Path(file_okay=False, path_type=Path), default="bench-profile", show_default=True,
              help="Where --profile writes its flame graphs (SVG) and raw stacks.")
@click.option("--async-mode", "modes", type=click.Choice(MODES), multiple=True, help="Only this async mode (repeat for both; default both).")
@click.option("--processes", help="Instead: the wards split over this many processes (e.g. 1,2,4) with Redis, against one "
              "process, directly and through nginx; in the first --async-mode (default eventlet).")
def bench(quick: bool, json_path: Path | None, what: str | None, profile_dir: Path, modes: tuple[str, ...], processes: str | None) -> None:
    """Measure this machine's ward server next to a bare Flask-SocketIO stack; servers run on a temporary data dir."""
    try:
        if processes is not None:
            try:
                counts = parse_counts(processes)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--processes") from None
            run_processes_bench(counts, quick, json_path, (modes or MODES)[0])
            return
        run_bench(quick, json_path, what or "all", modes or MODES, profile_dir)
    except (BenchError, ServerFailed) as exc:
        raise click.ClickException(str(exc)) from None



def _given_data_dir(ctx: click.Context) -> Path | None:
    """The group's --data-dir only if typed on this command line: a soak must never land in ./var or $WARDPULSE_DATA_DIR."""
    if ctx.parent.get_parameter_source("data_dir") is ParameterSource.COMMANDLINE:
        return ctx.obj
    return None


@click.command()
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
    seed = random.randrange(1_000_000) if seed is None else seed
    data_dir = _given_data_dir(ctx) or Path(tempfile.mkdtemp(prefix="wardpulse-soak-"))
    plan = SoakPlan(seconds=minutes * 60, kiosks=kiosk_count, seed=seed, tap_every=every, async_mode=async_mode)
    click.echo(f"Soak: {kiosk_count} kiosks for {minutes:g} min, seed {seed}, data in {data_dir}", err=True)
    try:
        result = run_soak(plan, data_dir, progress=lambda line: click.echo(line, err=True))
    except (SoakError, ServerFailed) as exc:
        raise click.ClickException(f"{exc}\n(data left in {data_dir})") from None
    emit_result(as_json, result.as_dict(), result.report())
    if result.ok and _given_data_dir(ctx) is None:
        shutil.rmtree(data_dir, ignore_errors=True)
    elif not result.ok:
        click.echo(f"The data dir is kept for inspection: {data_dir}", err=True)
        ctx.exit(1)


@click.command("study-detector")
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
    result = run_study(study)
    emit_result(as_json, result, "\n".join(f"{k}: {v}" for k, v in result.items()))


COMMANDS = (demo, soak, bench, study_detector)
