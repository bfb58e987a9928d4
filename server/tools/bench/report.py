"""The benchmark's report: statistics, ratios against the baselines, the table and the notes under it."""

from __future__ import annotations

import math
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from server.tools.bench.plan import CLIENT_BUSY_PCT, MODES, PROBE_EVERY_S, SCREENS_PER_WORKER, SMALL_BOX_KIOSKS, Plan
from server.tools.bench.servers import Lab
from shared.protocol import iso_utc


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), interpolating between the nearest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline, or None when either is missing or the baseline is zero."""
    if value is None or not baseline:
        return None
    return value / baseline


def format_number(value: float | None) -> str:
    """A number with as many digits as a reader needs: 1,520 / 12.3 / 0.93."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def cpu_model(cpuinfo: str) -> str:
    """The CPU model named in the text of /proc/cpuinfo, or 'unknown'."""
    for line in cpuinfo.splitlines():
        if line.startswith("model name") and ":" in line:
            return line.split(":", 1)[1].strip()
    return "unknown"


def machine() -> dict:
    """What this ran on, and when: CPU count and model, Python version, date."""
    cpuinfo = Path("/proc/cpuinfo")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(cpuinfo.read_text() if cpuinfo.exists() else ""),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": iso_utc(datetime.now(timezone.utc), "seconds"),
        # Other work on the machine skews every number; say how busy it was when we began.
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


@dataclass
class Cell:
    """One number in one async mode, with the baseline it is compared to."""

    value: float | None
    baseline: float | None = None
    note: str = ""  # printed across the cell instead of numbers, e.g. why there is no value
    mark: str = ""  # printed after the value, e.g. '*' when a client process may have limited it

    @property
    def ratio(self) -> float | None:
        """value / baseline."""
        return ratio(self.value, self.baseline)


@dataclass(frozen=True)
class Target:
    """A limit on a row's value, or on its ratio to the baseline."""

    limit: float
    at_most: bool = True
    on_ratio: bool = False
    other_modes: tuple[tuple[str, float], ...] = ()  # (async mode, its own limit) where it differs

    def met(self, cell: Cell, mode: str | None = None) -> bool | None:
        """True or False once there is a number to judge; None when there is none."""
        measured = cell.ratio if self.on_ratio else cell.value
        if measured is None:
            return None
        limit = dict(self.other_modes).get(mode, self.limit)
        return measured <= limit if self.at_most else measured >= limit

    def describe(self, unit: str) -> str:
        """The target as the table prints it."""
        sign = "<=" if self.at_most else ">="
        text = f"ratio {sign} {self.limit:g}" if self.on_ratio else f"{sign} {self.limit:g} {unit}".rstrip()
        return text + "".join(f" ({mode} {sign} {limit:g})" for mode, limit in self.other_modes)


@dataclass
class Row:
    """One line of the table: a measure, what its baseline is, its target and a cell per async mode."""

    section: str
    measure: str
    unit: str
    versus: str = ""
    target: Target | None = None
    cells: dict[str, Cell] = field(default_factory=dict)

    def as_json(self) -> dict:
        """The row with its ratios and verdicts worked out, for --json."""
        cells = {
            mode: dict(asdict(cell), ratio=cell.ratio, met=self.target.met(cell, mode) if self.target else None)
            for mode, cell in self.cells.items()
        }
        target = self.target.describe(self.unit) if self.target else None
        return {"section": self.section, "measure": self.measure, "unit": self.unit, "versus": self.versus,
                "target": target, "cells": cells}


MODE_COLUMNS = ("value", "baseline", "ratio", "met")


def _mode_texts(row: Row, mode: str) -> list[str] | str:
    """The four texts of a row's cell in one mode, or one note to print across them."""
    cell = row.cells.get(mode)
    if cell is None:
        return "not run"
    if cell.note:
        return cell.note
    met = row.target.met(cell, mode) if row.target else None
    verdict = {True: "yes", False: "NO", None: ""}[met]
    shown_ratio = f"{cell.ratio:.2f}x" if cell.ratio is not None else "-"
    return [format_number(cell.value) + cell.mark, format_number(cell.baseline), shown_ratio, verdict]


def _widths(table: list[list[str]]) -> list[int]:
    """Each column's width: its longest text."""
    return [max(len(line[i]) for line in table) for i in range(len(table[0]))]


def _mode_widths(texts: list[list[str] | str]) -> list[int]:
    """Column widths of one mode's group; a note printed across the group widens its first column."""
    widths = _widths([list(MODE_COLUMNS), *[t for t in texts if isinstance(t, list)]])
    note = max([len(t) for t in texts if isinstance(t, str)], default=0)
    widths[0] += max(0, note - _span(widths))
    return widths


def _span(widths: list[int]) -> int:
    """How wide a group of columns is with its separators."""
    return sum(widths) + 2 * (len(widths) - 1)


def _group(texts: list[str] | str, widths: list[int]) -> str:
    """One mode's part of a line: right-aligned numbers, or a note across them."""
    if isinstance(texts, str):
        return texts.ljust(_span(widths))
    return "  ".join(text.rjust(width) for text, width in zip(texts, widths))


def format_table(rows: list[Row], modes: tuple[str, ...] = MODES) -> str:
    """The rows as a fixed-width text table with the async modes side by side."""
    leads = [["#", "measure", "unit"], *[[row.section, row.measure, row.unit] for row in rows]]
    tails = [["baseline is", "target"], *[[row.versus, row.target.describe(row.unit) if row.target else ""] for row in rows]]
    groups = {mode: [list(MODE_COLUMNS), *[_mode_texts(row, mode) for row in rows]] for mode in modes}
    lead_w, tail_w = _widths(leads), _widths(tails)
    mode_w = {mode: _mode_widths(texts) for mode, texts in groups.items()}

    def line(lead: list[str], texts: dict[str, list[str] | str], tail: list[str]) -> str:
        """One line of the table."""
        parts = [lead[0].rjust(lead_w[0]), *(text.ljust(w) for text, w in zip(lead[1:], lead_w[1:]))]
        parts += [_group(texts[mode], mode_w[mode]) for mode in modes]
        parts += [text.ljust(w) for text, w in zip(tail, tail_w)]
        return " | ".join(parts).rstrip()

    title = line(["", "", ""], {mode: mode for mode in modes}, ["", ""])
    lines = [line(lead, {mode: groups[mode][i] for mode in modes}, tail) for i, (lead, tail) in enumerate(zip(leads, tails))]
    return "\n".join([title, lines[0], "-" * len(lines[0]), *lines[1:]])


# The headline: a durable rating may cost at most 1.4 times the bare stack's CPU (1.6 under threading).
CPU_TARGET = Target(0.7, at_most=False, other_modes=(("threading", 0.625),))


# At low load a durable rating's ack may take the bare stack's, one fsync and this much more.
ACK_SLACK_MS = 0.3


def _ms_stats(samples: list[float]) -> tuple[float | None, float | None]:
    """p50 and p99 of latency samples."""
    return percentile(samples, 50), percentile(samples, 99)


def bound_rows(results: dict[str, dict], plan: Plan) -> list[Row]:
    """Rows 1-2, the server-bound ingest, from each mode's results['bound']."""
    big = f"{plan.history[1]:,} stored"
    rows = [
        Row("1", "bare stack, 20 kiosks", "ratings/s"),
        Row("1", "bare stack, 20 kiosks", "CPU us/rating"),
        Row("1", "bare stack, 200 kiosks", "ratings/s"),
        Row("1", "bare stack, 200 kiosks", "CPU us/rating"),
        Row("2", "durable ingest, 20 kiosks", "ratings/s", "bare stack, 20 kiosks"),
        Row("2", "durable ingest, 20 kiosks", "CPU us/rating", "bare stack, 20 kiosks"),
        Row("2", "durable ingest, 200 kiosks", "ratings/s", "bare stack, 200 kiosks"),
        Row("2", "durable ingest, 200 kiosks", "CPU us/rating", "bare stack, 200 kiosks"),
        Row("2", f"durable ingest, 20 kiosks, {big}", "CPU us/rating", "nothing stored"),
        Row("2", "bare CPU / ours, 20 kiosks", "x", "", CPU_TARGET),
        Row("2", "bare CPU / ours, 200 kiosks", "x", "", CPU_TARGET),
    ]
    for mode, r in results.items():
        for row, cell in zip(rows, _bound_cells(r["bound"])):
            row.cells[mode] = cell
    return rows


def build_rows(results: dict[str, dict], plan: Plan) -> list[Row]:
    """Turn each mode's raw results into the table's rows."""
    small, big = (f"{n:,} stored" for n in plan.history)
    sockets = f"{plan.hold_sockets:,}"
    rows = [
        Row("3", f"ack p50, {small}", "ms", "bare stack"),
        Row("3", f"ack p99, {small}", "ms", "bare stack"),
        Row("3", "one append + fsync on this disk, p50", "ms"),
        Row("3", "ack p50 at low load (1 kiosk)", "ms", "bare p50 + fsync + 0.3 ms", Target(1.0, on_ratio=True)),
        Row("3", f"ack p50, {big}", "ms", small, Target(1.5, on_ratio=True)),
        Row("3", f"ack p99, {big}", "ms", small),
        Row("3", f"start-up, {small}", "s", "bare stack"),
        Row("3", f"start-up, {big}", "s", small),
        Row("4", "tap -> screen p50", "ms", "bare stack relaying"),
        Row("4", "tap -> screen p99", "ms", "bare stack relaying", Target(50)),
        Row("4", "tap -> first screen p99", "ms", "bare stack relaying"),
        Row("4", "tap -> alert p50", "ms", "(follow-up request)"),
        Row("4", "tap -> alert p99", "ms", "(follow-up request)"),
        Row("5", f"server RSS, {sockets} sockets", "MB", "bare stack, same sockets", Target(300)),
        Row("5", f"longest stall, {sockets} sockets", "ms", "bare stack, same sockets", Target(100)),
        Row("5", f"longest loop stall, {sockets} sockets", "ms", "bare stack, same sockets"),
        Row("5", f"longest stall, connecting {sockets}", "ms", "bare stack, same sockets"),
        Row("5", f"time to connect {sockets} sockets", "s", "bare stack, same sockets"),
        Row("7", "small box: ratings/s within half of 1 core", "ratings/s"),
        Row("7", "small box: CPU per rating at that rate", "CPU us/rating"),
        Row("7", f"small box: RSS holding {sockets} sockets", "MB", "", Target(300)),
    ]
    for mode, r in results.items():
        for row, cell in zip(rows, _mode_cells(r)):
            row.cells[mode] = cell
    small_box = [row for row in rows if row.section == "7"]
    return bound_rows(results, plan) + rows[:-len(small_box)] + storm_rows(results, plan) + small_box


def storm_rows(results: dict[str, dict], plan: Plan) -> list[Row]:
    """Row 6, the reconnect storm, from each mode's results['storm'] (not run: a note in its cells)."""
    rows = [
        Row("6", f"storm: {plan.hold_sockets:,} sockets back and outboxes empty", "s", "", Target(10)),
        Row("6", "storm: last screen holding a fresh snapshot", "s", "", Target(10)),
        Row("6", "storm: longest ack of a tablet tapping through it", "ms", "", Target(150)),
        Row("6", "storm: first ack after the restart", "s"),
        Row("6", "storm: server CPU per reconnecting socket", "CPU us"),
        Row("6", "storm: server CPU / busiest client process", "% of a core"),
    ]
    for mode, r in results.items():
        for row, cell in zip(rows, _storm_cells(r.get("storm"))):
            row.cells[mode] = cell
    return rows


def _mode_cells(r: dict) -> list[Cell]:
    """One mode's cells, in the order of the rows in build_rows."""
    bare_p50, bare_p99 = _ms_stats(r["bare_ack"]["ack_ms"]["main"])
    small_p50, small_p99 = _ms_stats(r["small_ack"]["ack_ms"]["main"])
    big_p50, big_p99 = _ms_stats(r["big_ack"]["ack_ms"]["main"])
    relay_p50, relay_p99 = _ms_stats(r["bare_feed"]["screen_ms"])
    feed_p50, feed_p99 = _ms_stats(r["feed"]["screen_ms"])
    startup = r["startup_s"]
    fsync = r.get("fsync_ms")
    allowed = bare_p50 + fsync + ACK_SLACK_MS if bare_p50 is not None and fsync is not None else None
    return [
        Cell(small_p50, bare_p50),
        Cell(small_p99, bare_p99),
        Cell(fsync),
        Cell(small_p50, allowed),
        Cell(big_p50, small_p50),
        Cell(big_p99, small_p99),
        Cell(startup["small"], startup["bare"]),
        Cell(startup["big"], startup["small"]),
        Cell(feed_p50, relay_p50),
        Cell(feed_p99, relay_p99),
        Cell(percentile(r["feed"]["first_screen_ms"], 99), percentile(r["bare_feed"]["first_screen_ms"], 99)),
        *_alert_cells(r["feed"]),
        *_hold_cells(r.get("hold"), r.get("bare_hold")),
        *_small_box_cells(r.get("small_box")),
    ]


def _storm_cells(storm: dict | None) -> list[Cell]:
    """Row 6: the reconnect storm after SIGKILL and restart."""
    if storm is None:
        return [Cell(None, note="not run (--quick)")] * 6
    back = max(filter(None, [storm["all_back_s"], storm["outboxes_empty_s"]]), default=None)
    busy = "*" if storm.get("client_saturated") else ""  # a client process may have set the pace
    longest = Cell(storm["longest_ack_ms"], mark="+" if storm.get("unanswered") else "")  # '+': a tap timed out
    # The server's share of a core over the busiest client's: below 1, the clients may be what is timed.
    cpu = Cell(storm.get("server_cpu_pct"), storm.get("client_busiest_pct"), mark=busy)
    return [Cell(back, mark=busy), Cell(storm["last_snapshot_s"], mark=busy), longest, Cell(storm["first_ack_s"]),
            Cell(storm.get("server_us_per_socket")), cpu]


def _small_box_cells(box: dict | None) -> list[Cell]:
    """Row 7: the server pinned to one core, or why it did not run."""
    if box is None or "skipped" in box:
        return [Cell(None, note=box["skipped"] if box else "not run (eventlet only)")] * 3
    if box["sustained"] is None:
        return [Cell(None, note="none within half a core"), Cell(None, note="-"), Cell(box["rss_mb"])]
    return [Cell(box["sustained"]), Cell(box["sustained_us"]), Cell(box["rss_mb"])]


def _bound_cells(bound: dict) -> list[Cell]:
    """Rows 1-2: ratings/s and server CPU per rating, each job's rate marked '*' if a client process was busy."""
    rate = lambda job, versus=None: Cell(bound[job]["rate"], versus and bound[versus]["rate"],  # noqa: E731
                                         mark="*" if bound[job]["client_saturated"] else "")
    cost = lambda job, versus=None: Cell(bound[job]["server_us"], versus and bound[versus]["server_us"])  # noqa: E731
    return [
        rate("bare_20"), cost("bare_20"), rate("bare_200"), cost("bare_200"),
        rate("ingest_20", "bare_20"), cost("ingest_20", "bare_20"),
        rate("ingest_200", "bare_200"), cost("ingest_200", "bare_200"),
        cost("big_20", "ingest_20"),
        Cell(ratio(bound["bare_20"]["server_us"], bound["ingest_20"]["server_us"])),
        Cell(ratio(bound["bare_200"]["server_us"], bound["ingest_200"]["server_us"])),
    ]


def _alert_cells(feed: dict) -> list[Cell]:
    """Tap -> alert p50 and p99, or why there are none."""
    # A server without alerts never sends one: the row says so instead of a number.
    if not feed["alert_ms"]:
        return [Cell(None, note="n/a (alerts not built yet)")] * 2
    return [Cell(v) for v in _ms_stats(feed["alert_ms"])]


def _hold_cells(hold: dict | None, bare: dict | None) -> list[Cell]:
    """Row 5's cells: the ward server holding sockets, next to the bare stack holding the same."""
    if hold is None or bare is None:
        return [Cell(None, note="not run (--quick)")] * 5
    longest = lambda h, phase: max(h["probe_ms"][phase], default=None)  # noqa: E731
    return [
        Cell(hold["rss_peak_mb"], bare["rss_peak_mb"]),
        Cell(longest(hold, "held"), longest(bare, "held")),
        Cell(longest(hold, "held refused"), longest(bare, "held refused")),
        Cell(longest(hold, "connect"), longest(bare, "connect")),
        Cell(hold["connect_s"], bare["connect_s"]),
    ]


def notes(results: dict[str, dict], lab: Lab) -> list[str]:
    """What a reader needs to trust the table: how things were measured, CPU use, errors."""
    return [*_method_notes(lab), *_hold_notes(results), *_storm_notes(results), *_small_box_notes(results), *_cpu_notes(results), *_error_notes(results)]


def _method_notes(lab: Lab) -> list[str]:
    """How the numbers were made: baselines, rounds, stored history, the stall probe."""
    plan = lab.plan
    lines = [
        "How: 'bare stack' is a minimal Flask-SocketIO app in the same async mode whose kiosk 'rating' handler only",
        "  acks (for tap -> screen it also relays each rating to every /staff socket), driven by the same client code.",
        f"  Ratio = value / baseline. Rows 1-4 alternate the sides of each comparison: rows 1-2 over {plan.bound_rounds} rounds,"
        f" rows 3-4 over {plan.rounds}.",
        "  Rows 1-2 are server-bound: each kiosk an asyncio python-socketio client tapping back to back (`call`, one",
        f"  rating in flight per kiosk), spread over {plan.ingest_workers} client processes; CPU us/rating = the server"
        " process's user+system CPU",
        f"  between two instants / ratings acked between them ({plan.window_s:g} s windows after {plan.warmup_s:g} s of warm-up)."
        " 'bare CPU / ours' is the headline.",
        "  Kiosks send tapped_at = now, so back-to-back taps from one kiosk are stored marked as misuse (see the README on misuse).",
        f"  Tap -> screen: {plan.feed_kiosks} kiosks tapping every ~{plan.tap_every_s:.0f} s in one client process with the"
        f" screen that times alerts; the other {plan.feed_screens - 1} screens",
        f"  in client processes of {SCREENS_PER_WORKER}, as screens are separate devices (one clock: CLOCK_MONOTONIC).",
        "  Stored history was written straight into the journal, tapped evenly from the start of last month:",
    ]
    for count, months in lab.history_months.items():
        lines.append(f"    {count:,} stored: " + ", ".join(f"{m}: {n:,}" for m, n in sorted(months.items())))
    return lines + [
        f"  Stall = the longest ack of one kiosk that sends a rating {PROBE_EVERY_S * 1000:.0f} ms after each ack,"
        " seen from outside;",
        "  it includes waiting for fsync. Loop stall = the same probe's every other rating, refused before any disk work.",
        f"  Held sockets: 10 wards, 1 in 10 a ward screen, each kiosk tapping every ~{plan.hold_tap_every_s:.0f} s"
        " (the bare stack acks them and relays nothing).",
    ]


def _small_box_notes(results: dict[str, dict]) -> list[str]:
    """Each step of the small box: asked, acked, server CPU."""
    lines = []
    for mode, r in results.items():
        box = r.get("small_box")
        if box and "steps" in box:
            steps = "; ".join(f"{s['asked']:,}/s asked: {s['rate']:,.0f}/s acked, server {s['server_cpu_pct']:.0f} %,"
                              f" {format_number(s['server_us'])} us/rating" for s in box["steps"])
            lines.append(f"  {mode}, small box (server on core 0, {SMALL_BOX_KIOSKS} kiosks on core 1, Poisson taps): {steps};"
                         f" {box['sockets']:,} sockets connected in {box['connect_s']:.1f} s")
    return lines


def _storm_notes(results: dict[str, dict]) -> list[str]:
    """How much of the storm came back, and what failed."""
    lines = []
    for mode, r in results.items():
        storm = r.get("storm")
        if storm:
            lines.append(f"  {mode}, storm: {storm['sockets_back']:,} of {storm['sockets'] - 1:,} sockets back,"
                         f" {storm['fresh_snapshots']:,} fresh snapshots, restart took {storm['restart_s']:.1f} s,"
                         f" {storm.get('unanswered', 0)} of the tapping tablet's taps unanswered within 2 s ('+');"
                         f" errors {storm['error_count']} {storm['errors'][:3]}")
            if storm.get("client_cpu_pct"):
                shares = ", ".join(f"{pct:.0f}" for pct in storm["client_cpu_pct"])
                lines.append(f"  {mode}, storm: until the last socket was done, server {format_number(storm['server_cpu_pct'])} %"
                             f" of a core; its {storm['client_processes']} client processes {shares} % each"
                             f" ('*': one passed {CLIENT_BUSY_PCT:.0f} %, so the clients may be what was timed)")
    return lines


def _hold_notes(results: dict[str, dict]) -> list[str]:
    """The stall probe's noise floor before any socket connected, and RSS at rest."""
    lines = []
    for mode, r in results.items():
        if "hold" in r:
            quiet = {name: [max(r[name]["probe_ms"][phase], default=0) for phase in ("quiet", "quiet refused")]
                     for name in ("hold", "bare_hold")}
            lines.append(f"  {mode}, before any socket connected (the noise floor): longest stall / loop stall"
                         f" {quiet['hold'][0]:.0f} / {quiet['hold'][1]:.0f} ms ward server,"
                         f" {quiet['bare_hold'][0]:.0f} / {quiet['bare_hold'][1]:.0f} ms bare stack;"
                         f" ward server RSS at rest {r['hold']['rss_idle_mb']:.0f} MB")
    return lines


def _cpu_notes(results: dict[str, dict]) -> list[str]:
    """Who was busy: if the bare stack's server is far from 100 %, the clients limit the baseline."""
    lines = ["Server / client CPU in the median round (100 % = one core):"]
    for mode, r in results.items():
        if "feed" in r:  # not in an --ingest run
            usage = ", ".join(f"{name} {r[name]['server_cpu_pct']:.0f}/{r[name]['client_cpu_pct']:.0f}" for name in ("bare_feed", "feed"))
            lines.append(f"  {mode}, tap -> screen: {usage}")
    lines.append(f"Server-bound rows (1-2): server CPU / busiest client process / all client processes, median round;"
                 f" '*' marks a job whose busiest client process passed {CLIENT_BUSY_PCT:.0f} % of a core:")
    for mode, r in ((mode, r) for mode, r in results.items() if "bound" in r):  # not in a --storm run
        usage = ", ".join(f"{name} {job['server_cpu_pct']:.0f}/{job['client_busiest_pct']:.0f}/{job['client_total_pct']:.0f}"
                          for name, job in r["bound"].items())
        lines.append(f"  {mode}: {usage}")
        spread = ", ".join(f"{name} " + "/".join(format_number(us) for us in job["server_us_rounds"]) for name, job in r["bound"].items())
        lines.append(f"  {mode}, CPU us/rating in each round: {spread}")
    return lines


def _error_notes(results: dict[str, dict]) -> list[str]:
    """Every refused or unanswered rating, by job."""
    # A refused or unanswered rating would make a rate look better than it is: never let it pass silently.
    lines = []
    for mode, r in results.items():
        jobs = {name: job for name, job in r.items() if isinstance(job, dict) and "error_count" in job}
        jobs.update({f"server-bound {name}": job for name, job in r.get("bound", {}).items()})
        jobs.update({f"{name} flow": r[name]["flow"] for name in ("hold", "bare_hold") if name in r})
        refused = {name: (job["error_count"], job["errors"][:3]) for name, job in jobs.items() if job["error_count"]}
        if refused:
            lines.append(f"  {mode}: REFUSED OR UNANSWERED RATINGS (count, first errors): {refused}")
    return lines


def busy_warning(load_average: list[float], cpus: int | None) -> str | None:
    """A warning when other work was using the machine as the run began, else None."""
    if load_average[0] <= 0.5 * (cpus or 1):
        return None
    return (f"WARNING: the machine was busy before the run began (load {load_average[0]:.1f} on {cpus} CPUs): the"
            " numbers are slower and noisier than this server can do; run again when it is idle.")


def render(info: dict, plan: Plan, rows: list[Row], lines: list[str]) -> str:
    """The whole printed report: machine and date, the table, the notes."""
    head = [
        f"WardPulse benchmark ({plan.name}), {info['date']}",
        f"machine: {info['cpus']} CPUs, {info['cpu_model']}, Python {info['python']}, {info['platform']}",
        "load average at start: " + " ".join(f"{x:.2f}" for x in info["load_average"]),
        *filter(None, [busy_warning(info["load_average"], info["cpus"])]),
        "",
    ]
    return "\n".join([*head, *([format_table(rows), ""] if rows else []), *lines])
