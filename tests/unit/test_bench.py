"""server/tools/bench/: the pure parts (statistics, ratios, the table, how work is dealt out), no benchmark run."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from server.store.journal import RatingJournal, fingerprint
from server.tools.bench import bound, profile, report, run, servers, smallbox, storm
from server.tools.bench import load as bench_load
from server.tools.bench import plan as bench_plan
from server.tools.bench.report import Cell, Row, Target


@pytest.mark.parametrize(
    "values, q, expected",
    [
        ([], 50, None),
        ([7.0], 99, 7.0),
        ([1, 2, 3, 4], 50, 2.5),
        ([4, 1, 3, 2], 50, 2.5),  # order does not matter
        ([1, 2, 3, 4], 0, 1),
        ([1, 2, 3, 4], 100, 4),
        (list(range(1, 101)), 99, 99.01),
    ],
)
def test_percentile_interpolates_between_nearest_ranks(values, q, expected):
    assert report.percentile(values, q) == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    "value, baseline, expected",
    [(816, 1563, 816 / 1563), (None, 10, None), (10, None, None), (10, 0, None), (0, 5, 0.0)],
)
def test_ratio_is_value_over_baseline_or_none(value, baseline, expected):
    assert report.ratio(value, baseline) == expected


@pytest.mark.parametrize(
    "value, shown", [(None, "-"), (1520.4, "1,520"), (12.34, "12.3"), (0.934, "0.93"), (100, "100"), (-3.5, "-3.50")]
)
def test_numbers_show_the_digits_a_reader_needs(value, shown):
    assert report.format_number(value) == shown


@pytest.mark.parametrize(
    "target, cell, met",
    [
        (Target(0.7, at_most=False, on_ratio=True), Cell(800, 1000), True),
        (Target(0.7, at_most=False, on_ratio=True), Cell(600, 1000), False),
        (Target(1.5, on_ratio=True), Cell(1.6, 1.0), False),
        (Target(50), Cell(49.9), True),
        (Target(50), Cell(50.0), True),
        (Target(50), Cell(50.1), False),
        (Target(50), Cell(None, note="n/a"), None),
        (Target(0.7, at_most=False, on_ratio=True), Cell(800, None), None),
    ],
)
def test_a_target_judges_the_value_or_the_ratio(target, cell, met):
    assert target.met(cell) is met


def test_targets_describe_themselves_in_the_rows_unit():
    assert Target(50).describe("ms") == "<= 50 ms"
    assert report.CPU_TARGET.describe("x") == ">= 0.7 x (threading >= 0.625)"
    assert Target(0.7, at_most=False, on_ratio=True).describe("ratings/s") == "ratio >= 0.7"


def table_rows() -> list[Row]:
    return [
        Row("2", "durable ingest, 20 kiosks", "ratings/s", "bare stack", Target(0.7, at_most=False, on_ratio=True),
            {"eventlet": Cell(800, 1600), "threading": Cell(1200, 1500)}),
        Row("4", "tap -> alert p99", "ms", "", None,
            {"eventlet": Cell(None, note="n/a (alerts not built yet)"), "threading": Cell(None, note="n/a (alerts not built yet)")}),
        Row("5", "server RSS", "MB", "no sockets", Target(300), {"eventlet": Cell(90.7, 57.3)}),
    ]


def test_table_puts_the_modes_side_by_side_with_ratio_and_verdict():
    lines = report.format_table(table_rows()).splitlines()
    assert "eventlet" in lines[0] and "threading" in lines[0]
    assert lines[0].index("eventlet") < lines[0].index("threading")
    ingest = lines[3]
    assert "0.50x" in ingest and "NO" in ingest and "0.80x" in ingest and "yes" in ingest
    assert "ratio >= 0.7" in ingest


def test_table_prints_notes_across_a_cell_and_keeps_the_columns_lined_up():
    lines = report.format_table(table_rows()).splitlines()
    assert lines[4].count("n/a (alerts not built yet)") == 2
    assert "not run" in lines[5]
    separators = {tuple(i for i, ch in enumerate(line) if ch == "|")[:5] for line in (lines[1], *lines[3:])}
    assert len(separators) == 1


def test_row_json_carries_ratio_and_verdict():
    row = table_rows()[0].as_json()
    assert row["cells"]["eventlet"]["ratio"] == 0.5
    assert row["cells"]["eventlet"]["met"] is False
    assert row["target"] == "ratio >= 0.7"


def test_cpu_model_is_read_from_proc_cpuinfo_text():
    text = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n"
    assert report.cpu_model(text) == "AMD EPYC 7B13"
    assert report.cpu_model("") == "unknown"


@pytest.mark.parametrize("load, cpus, warned", [([0.3, 0.2, 0.1], 2, False), ([1.0, 0.5, 0.5], 2, False), ([3.8, 4.0, 4.2], 2, True)])
def test_a_busy_machine_is_called_out_above_the_table(load, cpus, warned):
    warning = report.busy_warning(load, cpus)
    assert (warning is not None) is warned
    if warned:
        assert "load 3.8 on 2 CPUs" in warning


def test_chunks_deal_items_round_robin():
    assert run.chunks(list(range(7)), 3) == [[0, 3, 6], [1, 4], [2, 5]]


def test_merged_results_pool_samples_by_phase_and_add_errors():
    a = {"error_count": 1, "errors": ["TimeoutError"], "ack_ms": {"quiet": [1.0], "held": [2.0]}, "screen_ms": [3.0], "alert_ms": []}
    b = {"error_count": 0, "errors": [], "ack_ms": {"held": [4.0]}, "screen_ms": [5.0], "alert_ms": [6.0]}
    merged = run.merge_results([a, b])
    assert merged["ack_ms"] == {"quiet": [1.0], "held": [2.0, 4.0]}
    assert merged["screen_ms"] == [3.0, 5.0] and merged["alert_ms"] == [6.0]
    assert merged["error_count"] == 1 and merged["errors"] == ["TimeoutError"]


def job(rate=None, ack_ms=(), screen_ms=(), alert_ms=()) -> dict:
    return {"rate": rate, "ack_ms": {"main": list(ack_ms)}, "screen_ms": list(screen_ms),
            "first_screen_ms": list(screen_ms)[:3], "alert_ms": list(alert_ms)}


def bound_job(rate: float, server_us: float, busiest: float = 30.0) -> dict:
    return {"rate": rate, "server_us": server_us, "server_us_rounds": [server_us], "server_cpu_pct": 90.0,
            "client_busiest_pct": busiest, "client_total_pct": 3 * busiest, "client_saturated": busiest > 70,
            "error_count": 0, "errors": []}


def mode_results(with_alerts: bool, hold: dict | None, bare_hold: dict | None = None) -> dict:
    return {
        "bound": {"bare_20": bound_job(6000, 150), "ingest_20": bound_job(4000, 200), "bare_200": bound_job(5000, 160, busiest=80),
                  "ingest_200": bound_job(3000, 320), "big_20": bound_job(4000, 210)},
        "bare_ack": job(ack_ms=[1.0] * 10),
        "small_ack": job(ack_ms=[2.0] * 10),
        "big_ack": job(ack_ms=[2.5] * 10),
        "bare_feed": job(screen_ms=[5.0] * 10),
        "feed": job(screen_ms=[10.0] * 10, alert_ms=[30.0, 40.0] if with_alerts else []),
        "startup_s": {"bare": 0.4, "small": 0.5, "big": 2.0},
        "fsync_ms": 0.5,
        "hold": hold,
        "bare_hold": bare_hold,
    }


def test_rows_compare_each_number_with_its_baseline():
    plan = bench_plan.QUICK
    hold = {"rss_peak_mb": 90.0, "rss_idle_mb": 60.0, "connect_s": 5.0,
            "probe_ms": {"quiet": [3.0, 40.0], "connect": [270.0], "held": [20.0, 57.0], "held refused": [9.0]}}
    bare_hold = {"rss_peak_mb": 80.0, "rss_idle_mb": 50.0, "connect_s": 2.5,
                 "probe_ms": {"quiet": [3.0], "connect": [50.0], "held": [38.0], "held refused": [6.0]}}
    rows = {row.measure: row for row in report.build_rows({"eventlet": mode_results(True, hold, bare_hold)}, plan)}
    cell = lambda name: rows[name].cells["eventlet"]  # noqa: E731
    costs = [row for row in rows.values() if row.unit == "CPU us/rating" and row.section in ("1", "2")]
    assert [c.cells["eventlet"].value for c in costs] == [150, 160, 200, 320, 210]
    assert [c.cells["eventlet"].baseline for c in costs] == [None, None, 150, 160, 200]
    assert cell("bare CPU / ours, 20 kiosks").value == 0.75
    assert rows["bare CPU / ours, 20 kiosks"].target.met(cell("bare CPU / ours, 20 kiosks"), "eventlet")
    assert cell("bare CPU / ours, 200 kiosks").value == 0.5
    assert not rows["bare CPU / ours, 200 kiosks"].target.met(cell("bare CPU / ours, 200 kiosks"), "eventlet")
    assert cell("ack p50, 100,000 stored").ratio == 1.25
    assert cell("one append + fsync on this disk, p50").value == 0.5
    assert cell("ack p50 at low load (1 kiosk)").baseline == 1.0 + 0.5 + 0.3  # bare p50, one fsync, 0.3 ms
    assert not rows["ack p50 at low load (1 kiosk)"].target.met(cell("ack p50 at low load (1 kiosk)"))
    assert cell("start-up, 100,000 stored").ratio == 4.0
    assert cell("tap -> screen p99").ratio == 2.0
    assert cell("tap -> first screen p99").value == 10.0
    assert cell("tap -> alert p50").value == 35.0
    assert cell("longest stall, 500 sockets").value == 57.0
    assert cell("longest stall, 500 sockets").baseline == 38.0
    assert cell("longest loop stall, 500 sockets").ratio == 1.5
    assert cell("server RSS, 500 sockets").ratio == 90.0 / 80.0
    assert cell("time to connect 500 sockets").ratio == 2.0


def test_rows_say_why_a_number_is_missing():
    rows = {row.measure: row for row in report.build_rows({"threading": mode_results(False, None)}, bench_plan.QUICK)}
    assert rows["tap -> alert p99"].cells["threading"].note == "n/a (alerts not built yet)"
    assert rows["server RSS, 500 sockets"].cells["threading"].note == "not run (--quick)"


def test_one_fsync_is_timed_on_the_benchs_own_disk(tmp_path):
    assert 0 < servers.fsync_ms(tmp_path, times=5) < 1000
    assert list(tmp_path.iterdir()) == []  # the probe file is gone


def test_held_sockets_are_spread_over_ten_wards_in_workers_of_a_few_hundred():
    wards = (bench_plan.WARD, *bench_plan.OTHER_WARDS)
    devices = {
        "kiosks": {w: [f"{w}-k{i}" for i in range(200 if w == bench_plan.WARD else bench_plan.KIOSKS_PER_OTHER_WARD)] for w in wards},
        "displays": {w: f"{w}-d" for w in wards},
    }
    lab = SimpleNamespace(devices=devices, plan=bench_plan.FULL)
    specs = run.hold_specs(lab, 2000)
    assert len(specs) == 5
    assert all(len(s["kiosks"]) + len(s["screens"]) == 400 for s in specs)
    kiosks = [k for s in specs for k in s["kiosks"]]
    screens = [d for s in specs for d in s["screens"]]
    assert len(kiosks) == 1800 and len(screens) == 200
    assert {k.split("-")[0] for k in kiosks} == set(wards)
    assert all(screens.count(f"{w}-d") == 20 for w in wards)


def test_prefilled_history_is_what_the_server_would_have_stored(tmp_path):
    now = datetime(2026, 11, 3, 12, 0, tzinfo=timezone.utc)
    months = servers.prefill(tmp_path, 1000, ["k-1234abcd", "k-5678ef01"], now)
    assert set(months) == {"2026-10", "2026-11"} and sum(months.values()) == 1000
    loaded = RatingJournal(tmp_path).load_recent(now, days=40)
    assert len(loaded) == len({r["id"] for r in loaded}) == 1000
    first = loaded[0]
    fields = {k: first[k] for k in ("id", "score", "tapped_at", "comment", "lang", "follow_up")}
    assert first["fingerprint"] == fingerprint(fields)
    assert first["ward"] == bench_plan.WARD
    assert {r["kiosk_id"] for r in loaded} == {"k-1234abcd", "k-5678ef01"}
    assert max(r["tapped_at"] for r in loaded) < "2026-11-03T12:00"


def test_a_round_counts_only_what_happened_in_its_window_and_maps_screens_to_taps_by_id():
    load = bench_load.Load({"url": "http://unused"})
    load.sent = {"a": 10.000, "b": 10.500, "late": 11.900}
    load.acks = [("main", 9.0, 9.5), ("main", 10.000, 10.002), ("main", 10.500, 10.504), ("main", 11.900, 12.5)]
    load.deliveries = [("a", 10.010), ("a", 10.030), ("b", 10.506), ("unknown", 10.6), ("late", 12.6)]
    result = load.result(start=10.0, end=12.0)
    assert result["acks"] == 2 and result["rate"] == 1.0
    assert result["ack_ms"] == {"main": [2.0, 4.0]}
    merged = run.merge_results([result])
    assert merged["screen_ms"] == [10.0, 30.0, 6.0]
    assert sorted(merged["first_screen_ms"]) == [6.0, 10.0]


def test_screens_in_other_client_processes_are_timed_against_the_kiosks_taps():
    taps = {"ack_ms": {}, "error_count": 0, "errors": [], "alert_ms": [], "sent": {"a": 10.0, "b": 10.5},
            "delivered": [("a", 10.004)]}
    screens = [{"ack_ms": {}, "error_count": 0, "errors": [], "alert_ms": [], "sent": {},
                "delivered": [("a", 10.002), ("b", 10.52), ("c", 10.6)]},
               {"ack_ms": {}, "error_count": 0, "errors": [], "alert_ms": [], "sent": {},
                "delivered": [("b", 10.51)]}]
    merged = run.merge_results([taps, *screens])
    assert merged["screen_ms"] == [4.0, 2.0, 20.0, 10.0]
    assert sorted(merged["first_screen_ms"]) == [2.0, 10.0]
    assert "sent" not in merged  # rounds keep latencies, not the raw taps


def test_ward_screens_watch_from_their_own_client_processes():
    devices = {"kiosks": {bench_plan.WARD: [f"k{i}" for i in range(200)]}, "displays": {bench_plan.WARD: "d"}}
    lab = SimpleNamespace(devices=devices, plan=bench_plan.FULL, kiosk_tokens=lambda n: devices["kiosks"][bench_plan.WARD][:n])
    server, specs = run.job_specs(lab)["feed"]
    assert server == "feed" and run.job_specs(lab)["bare_feed"][1] == specs
    tapping, *watching = specs
    assert len(tapping["kiosks"]) == 100 and tapping["screens"] == ["d"] and tapping["alert_probes"] == 2
    assert [len(s["screens"]) for s in watching] == [5, 5, 5, 4]
    assert not any(s.get("kiosks") or s.get("alert_probes") for s in watching)


@pytest.mark.parametrize("mode, ratio, met", [("eventlet", 0.68, False), ("threading", 0.68, True), ("threading", 0.6, False), (None, 0.7, True)])
def test_the_cpu_target_is_looser_under_threading(mode, ratio, met):
    assert report.CPU_TARGET.met(Cell(ratio), mode) is met


def test_a_rate_whose_client_was_busy_is_marked_in_the_table():
    rows = report.bound_rows({"eventlet": mode_results(True, None)}, bench_plan.QUICK)
    table = report.format_table(rows).splitlines()
    bare_200_rate = next(line for line in table if "bare stack, 200 kiosks" in line and "ratings/s" in line)
    ours_20_rate = next(line for line in table if "durable ingest, 20 kiosks " in line and "ratings/s" in line)
    assert "5,000*" in bare_200_rate and "*" not in ours_20_rate


def test_a_server_bound_round_counts_the_acks_between_the_two_cpu_readings():
    workers = [{"acked": [(9.9, 1.0), (10.1, 2.0), (10.6, 4.0)], "error_count": 0, "errors": []},
               {"acked": [(10.3, 3.0), (11.2, 9.0)], "error_count": 1, "errors": ["TimeoutError"]}]
    figures = bound.window_figures(workers, start=10.0, end=11.0, server_cpu_s=0.0009, client_cpu_s=[0.2, 0.5])
    assert figures["acks"] == 3 and figures["rate"] == pytest.approx(3.0)
    assert figures["server_us"] == pytest.approx(300.0)
    assert figures["server_cpu_pct"] == pytest.approx(0.09)
    assert figures["client_cpu_pct"] == pytest.approx([20.0, 50.0])
    assert figures["ack_p50_ms"] == 3.0 and figures["error_count"] == 1


def test_rounds_summarise_to_medians_and_the_busiest_client_process():
    rounds = [dict(bound.window_figures([{"acked": [(1.5, 1.0)] * n, "error_count": 0, "errors": []}], 1.0, 2.0, cpu, clients),
                   client_total_pct=sum(clients) * 100)
              for n, cpu, clients in [(100, 0.02, [0.3, 0.2]), (100, 0.04, [0.75, 0.1]), (100, 0.03, [0.3, 0.3])]]
    summary = bound.summarise(rounds)
    assert summary["server_us"] == pytest.approx(300.0)
    assert summary["client_busiest_pct"] == pytest.approx(75.0) and summary["client_saturated"]


def test_kiosks_are_dealt_over_the_plans_client_processes():
    lab = SimpleNamespace(devices={"kiosks": {bench_plan.WARD: [f"k{i}" for i in range(200)]}}, plan=bench_plan.FULL)
    parts = bound.kiosk_parts(lab, 20)
    assert len(parts) == bench_plan.FULL.ingest_workers and sum(len(p["kiosks"]) for p in parts) == 20
    assert len({k for p in parts for k in p["kiosks"]}) == 20


RAW_STACKS = """<module> (server/__main__.py:3);run (eventlet/hubs/hub.py:10);kiosk_rating (server/web/events.py:90);receive_rating (server/ward/service.py:180);fingerprint (server/store/journal.py:27) 30
<module> (server/__main__.py:3);run (eventlet/hubs/hub.py:10);kiosk_rating (server/web/events.py:90);receive_rating (server/ward/service.py:190) 10
<module> (server/__main__.py:3);run (eventlet/hubs/hub.py:10);kiosk_rating (server/web/events.py:95);emit (socketio/server.py:44) 40
<module> (server/__main__.py:3);run (eventlet/hubs/hub.py:12) 20
"""


def test_top_costs_share_the_measured_cpu_per_rating_by_py_spy_samples():
    costs = profile.top_costs(RAW_STACKS, us_per_rating=200.0)
    own = {frame: us for us, frame in costs["own"]}
    under = {frame: us for us, frame in costs["under"]}
    assert own["emit (socketio/server.py)"] == pytest.approx(80.0)
    assert own["fingerprint (server/store/journal.py)"] == pytest.approx(60.0)
    assert under["kiosk_rating (server/web/events.py)"] == pytest.approx(160.0)  # line numbers merged
    assert under["receive_rating (server/ward/service.py)"] == pytest.approx(80.0)
    assert "run (eventlet/hubs/hub.py)" not in under  # under every stack: the loop itself says nothing
    assert costs["own"][0][1] == "emit (socketio/server.py)"
    assert profile.top_costs("", 200.0) == {"own": [], "under": []}


def step(asked: int, rate: float, cpu: float) -> dict:
    return {"asked": asked, "rate": rate, "server_cpu_pct": cpu, "server_us": cpu * 1e4 / rate}


@pytest.mark.parametrize(
    "steps, best",
    [
        ([step(125, 125, 10), step(250, 249, 21), step(500, 497, 44), step(1000, 960, 71)], 497),
        ([step(125, 125, 10), step(250, 200, 30)], 125),  # 250/s asked but only 200/s acked: not kept up
        ([step(125, 124, 55)], None),  # even the slowest step needs more than half the core
    ],
)
def test_the_small_box_sustains_the_fastest_step_kept_up_within_half_a_core(steps, best):
    found = smallbox.sustained(steps)
    assert (found and found["rate"]) == best


def test_the_small_box_row_reads_the_sustained_rate_its_cost_and_memory():
    box = {"steps": [step(125, 125, 10)], "sustained": 480.0, "sustained_us": 900.0, "sockets": 500, "connect_s": 3.0, "rss_mb": 140.0}
    results = {"eventlet": dict(mode_results(True, None), small_box=box), "threading": mode_results(True, None)}
    rows = [row for row in report.build_rows(results, bench_plan.QUICK) if row.section == "7"]
    assert [row.cells["eventlet"].value for row in rows] == [480.0, 900.0, 140.0]
    assert rows[2].target.met(rows[2].cells["eventlet"])
    assert all(row.cells["threading"].note.startswith("not run") for row in rows)


def test_the_storm_is_timed_from_the_moment_the_restarted_server_listened():
    workers = [{"back": [10.2, 10.9], "outbox_done": [10.4, 11.5], "snapshots": [9.0, 10.8], "error_count": 0, "errors": []},
               {"back": [10.3], "outbox_done": [], "snapshots": [11.0], "error_count": 1, "errors": ["TimeoutError"]}]
    probed = {"acked": [(9.5, 1.0), (10.05, 40.0), (10.6, 120.0), (11.2, 3.0)], "unanswered": [(10.3, 2000.0)], "errors": ["TimeoutError"]}
    figures = storm.storm_figures(10.0, workers, probed)
    assert figures["sockets_back"] == 3 and figures["all_back_s"] == pytest.approx(0.9)
    assert figures["outboxes_empty_s"] == pytest.approx(1.5)
    assert figures["fresh_snapshots"] == 2 and figures["last_snapshot_s"] == pytest.approx(1.0)  # 9.0 was before the kill
    assert figures["longest_ack_ms"] == 120.0  # nor a tap sent to the killed server, answered or not
    assert figures["first_ack_s"] == pytest.approx(0.05)
    assert figures["error_count"] == 1


def test_storm_rows_show_the_slowest_of_sockets_back_and_outboxes_empty():
    figures = {"all_back_s": 0.9, "outboxes_empty_s": 1.5, "last_snapshot_s": 1.0, "longest_ack_ms": 120.0, "first_ack_s": 0.05,
               "sockets_back": 3, "sockets": 4, "fresh_snapshots": 2, "restart_s": 1.7, "error_count": 0, "errors": [],
               "server_us_per_socket": 900.0, "server_cpu_pct": 80.0, "client_busiest_pct": 20.0, "client_saturated": False}
    rows = [row for row in report.build_rows({"eventlet": dict(mode_results(True, None), storm=figures)}, bench_plan.QUICK)
            if row.section == "6"]
    assert [row.cells["eventlet"].value for row in rows] == [1.5, 1.0, 120.0, 0.05, 900.0, 80.0]
    assert rows[5].cells["eventlet"].ratio == 4.0  # the server four times as busy as the busiest client process
    assert [row.target.met(row.cells["eventlet"]) for row in rows[:3]] == [True, True, True]
    sections = [row.section for row in report.build_rows({"eventlet": dict(mode_results(True, None), storm=figures)}, bench_plan.QUICK)]
    assert sections == sorted(sections)  # the storm's rows sit between the hold row and the small box


def test_a_storm_whose_busiest_client_process_passed_the_limit_is_marked():
    storm_results = [{"back": [10.5, 12.0], "outbox_done": [14.0], "snapshots": [], "error_count": 0, "errors": []},
                     {"back": [11.0], "outbox_done": [], "snapshots": [], "error_count": 0, "errors": []}]
    figures = storm.cpu_figures(storm_results, 10.0, server_cpu_s=3.0, client_cpu_s=[3.6, 0.4])
    assert figures["server_cpu_pct"] == pytest.approx(75.0)  # 3 s of CPU over the 4 s until the last outbox was empty
    assert figures["server_us_per_socket"] == pytest.approx(1e6)  # three sockets back
    assert figures["client_cpu_pct"] == pytest.approx([90.0, 10.0]) and figures["client_saturated"]
    cells = report.storm_rows({"eventlet": {"storm": dict(storm.storm_figures(10.0, storm_results, {"acked": [], "errors": []}),
                                                          sockets=4, restart_s=1.0, **figures)}}, bench_plan.QUICK)
    assert cells[0].cells["eventlet"].mark == "*" and cells[5].cells["eventlet"].mark == "*"


def test_the_storm_deals_its_sockets_over_smaller_client_processes():
    specs = [{"kiosks": list("abcdef"), "screens": ["s1"], "outbox": 2}, {"kiosks": list("ghij"), "screens": ["s2"], "outbox": 2}]
    dealt = storm.spread(specs, per_worker=4)
    assert len(dealt) == 3 and all(len(d["kiosks"]) + len(d["screens"]) <= 4 for d in dealt)
    assert sorted(k for d in dealt for k in d["kiosks"]) == list("abcdefghij") and all(d["outbox"] == 2 for d in dealt)
    assert sorted(s for d in dealt for s in d["screens"]) == ["s1", "s2"]


def test_outbox_acks_are_counted_second_by_second_from_the_restart():
    assert storm.per_second([0.2, 0.9, 2.5, 2.6]) == [2, 0, 2] and storm.per_second([]) == []


def test_a_tap_unanswered_after_the_restart_is_the_longest_wait():
    probed = {"acked": [(10.05, 40.0)], "unanswered": [(12.5, 2000.0)], "errors": ["TimeoutError"]}
    figures = storm.storm_figures(10.0, [], probed)
    assert figures["longest_ack_ms"] == 2000.0 and figures["unanswered"] == 1
