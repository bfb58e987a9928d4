"""The report of `wardpulse bench --processes`: one row per process count and route, against one process."""

from __future__ import annotations

from server.tools.bench.report import busy_warning, format_number, percentile, ratio
from server.tools.bench.shard_plan import ROUTES, ShardPlan

COLUMNS = (
    ("processes", "processes"),
    ("route", "route"),
    ("sockets", "sockets held"),
    ("rss_mb", "RSS MB (all)"),
    ("rate", "durable ratings/s"),
    ("rate_x", "x 1 process"),
    ("server_us", "server CPU us/rating"),
    ("client_cpu_pct", "client CPU %"),
    ("ack_p99_ms", "ack p99 ms"),
    ("screen_p50_ms", "tap->screen p50 ms"),
    ("screen_p99_ms", "tap->screen p99 ms"),
    ("errors", "errors"),
)


def row(processes: int, route: str, measured: dict, baseline_rate: float | None) -> dict:
    """One process count on one route, as the table shows it."""
    hold, ingest, feed = measured["hold"], measured["ingest"], measured["feed"]
    return {
        "processes": processes,
        "route": route,
        "sockets": hold["sockets"],
        "rss_mb": hold["rss_mb"],
        "rate": ingest["rate"],
        "rate_x": ratio(ingest["rate"], baseline_rate),
        "server_us": ingest["server_us"],
        "client_cpu_pct": ingest["client_total_pct"],
        "ack_p99_ms": ingest["ack_p99_ms"],
        "screen_p50_ms": percentile(feed["screen_ms"], 50),
        "screen_p99_ms": percentile(feed["screen_ms"], 99),
        "screen_samples": len(feed["screen_ms"]),
        "errors": ingest["error_count"] + feed["error_count"],
    }


def rows_from(results: dict[int, dict]) -> list[dict]:
    """Every process count's rows, each route's rate set against the fewest processes measured on that route."""
    fewest = min(results)
    return [row(n, route, results[n][route], results[fewest][route]["ingest"]["rate"])
            for n in sorted(results) for route in ROUTES]


def format_table(rows: list[dict]) -> str:
    """The rows as a plain-text table."""
    table = [[title for _key, title in COLUMNS]]
    for r in rows:
        table.append([str(r[key]) if key in ("processes", "route", "sockets", "errors") else format_number(r[key])
                      for key, _title in COLUMNS])
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(line, widths)) for line in table)


def render_processes(info: dict, plan: ShardPlan, mode: str, rows: list[dict]) -> str:
    """The whole printed report: machine, what was run, the table and how to read it."""
    return "\n".join([
        f"WardPulse benchmark, wards split over processes ({plan.name}, {mode}), {info['date']}",
        f"machine: {info['cpus']} CPUs, {info['cpu_model']}, Python {info['python']}, {info['platform']}",
        "load average at start: " + " ".join(f"{x:.2f}" for x in info["load_average"]),
        *filter(None, [busy_warning(info["load_average"], info["cpus"])]),
        "",
        format_table(rows),
        "",
        "Ten wards, ward i owned by process i mod N; one process is the plain server (no Redis), more share one data dir",
        "and Redis. direct: each socket to its process; nginx: every socket to the shipped sharded site (TLS, ?ward= map).",
        f"sockets held: {plan.hold_sockets} idle kiosks and wall displays connected at once; RSS is all ward processes' then.",
        f"durable ratings/s: {plan.ingest_kiosks_per_ward} kiosks on each ward tapping back to back at their owner, median of"
        f" {plan.rounds} rounds of {plan.window_s:g} s; server CPU per acked rating counts every ward process (and nginx on its route).",
        f"tap->screen: {plan.feed_kiosks_per_ward} kiosks on each of {plan.feed_wards} wards tapping every {plan.feed_every_s:g} s"
        " (Poisson); each ward's screen on the next process, so every rating crossed Redis (not with one process).",
    ])
