"""`wardpulse bench --processes`: how the wards are dealt out, where each socket goes, and the report. No run."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from server.tools.bench import processes, processes_report, shard_plan
from server.tools.bench.shard_plan import QUICK, WARDS


@pytest.mark.parametrize("text, expected", [("1,2,4", (1, 2, 4)), ("2", (2,)), ("4,1", (4, 1)), ("1, 2", (1, 2))])
def test_process_counts_are_read_in_the_order_given(text, expected):
    assert shard_plan.parse_counts(text) == expected


@pytest.mark.parametrize("text, says", [("", "commas"), ("one,two", "commas"), ("0,2", "between 1 and"),
                                        ("1,9", "between 1 and"), ("2,2", "once")])
def test_bad_process_counts_are_refused_in_plain_words(text, says):
    with pytest.raises(ValueError, match=says):
        shard_plan.parse_counts(text)


@pytest.mark.parametrize("processes", [1, 2, 3, 4])
def test_every_ward_has_exactly_one_owner_and_every_process_some_wards(processes):
    split = shard_plan.split_wards(processes)
    assert len(split) == processes and all(split)
    assert sorted(w for wards in split for w in wards) == sorted(WARDS)
    for ward in WARDS:
        assert ward in split[shard_plan.owner(ward, processes)]


def test_two_processes_take_alternate_wards():
    assert shard_plan.split_wards(2, ("7A", "7B", "8A", "8B", "9A")) == [("7A", "8A", "9A"), ("7B", "8B")]


@pytest.mark.parametrize("processes", [2, 3, 4])
def test_a_wards_screen_sits_on_another_process_than_its_kiosks(processes):
    for ward in WARDS:
        assert shard_plan.screen_process(ward, processes) != shard_plan.owner(ward, processes)


def test_with_one_process_the_screen_is_on_the_only_process():
    assert {shard_plan.screen_process(ward, 1) for ward in WARDS} == {0}


def test_shards_are_named_as_the_systemd_instances_are():
    assert shard_plan.shard_names(3) == ["a", "b", "c"]


def test_one_process_is_the_plain_server_and_more_name_their_wards_and_redis():
    assert shard_plan.serve_options(WARDS, None) == []
    assert shard_plan.serve_options(("7B", "B02"), "redis://127.0.0.1:6390/0") == [
        "--wards", "7B,B02", "--message-queue", "redis://127.0.0.1:6390/0"]


def test_through_nginx_every_socket_goes_to_nginx_and_directly_to_its_process():
    processes = ["http://127.0.0.1:5001", "http://127.0.0.1:5002"]
    assert shard_plan.urls_for("direct", processes, "https://127.0.0.1:8443") == processes
    assert shard_plan.urls_for("nginx", processes, "https://127.0.0.1:8443") == ["https://127.0.0.1:8443"] * 2
    with pytest.raises(ValueError):
        shard_plan.urls_for("nginx", processes, None)


def devices() -> tuple[dict[str, list[str]], dict[str, str]]:
    kiosks = {ward: [f"{ward}-k{i}" for i in range(20)] for ward in WARDS}
    return kiosks, {ward: f"{ward}-display" for ward in WARDS}


def ward_in(url: str) -> str:
    return parse_qs(urlsplit(url).query)["ward"][0]


def port_of(url: str) -> int:
    return urlsplit(url).port


URLS = ["http://127.0.0.1:5001", "http://127.0.0.1:5002", "http://127.0.0.1:5003"]


def test_ingest_kiosks_tap_at_their_wards_owner_and_name_their_ward():
    kiosks, _ = devices()
    specs = shard_plan.ingest_specs(QUICK, kiosks, URLS)
    assert len(specs) == len(WARDS)
    for spec in specs:
        ward = ward_in(spec["url"])
        assert all(token.startswith(ward + "-") for token in spec["kiosks"])
        assert len(spec["kiosks"]) == QUICK.ingest_kiosks_per_ward
        assert port_of(spec["url"]) == 5001 + shard_plan.owner(ward, 3)


def test_held_sockets_add_up_and_each_goes_to_its_wards_owner():
    kiosks, displays = devices()
    specs = shard_plan.hold_specs(QUICK, kiosks, displays, URLS)
    assert sum(len(s["kiosks"]) + len(s["screens"]) for s in specs) == QUICK.hold_sockets
    for spec in specs:
        ward = ward_in(spec["url"])
        assert spec["screens"] == [f"{ward}-display"]
        assert port_of(spec["url"]) == 5001 + shard_plan.owner(ward, 3)


def test_feed_kiosks_go_to_the_owner_and_the_screen_to_another_process():
    kiosks, displays = devices()
    specs = shard_plan.feed_specs(QUICK, kiosks, displays, URLS)
    tapping = [s for s in specs if s.get("kiosks")]
    watching = [s for s in specs if s.get("screens")]
    assert len(tapping) == len(watching) == QUICK.feed_wards
    for kiosk_spec, screen_spec in zip(tapping, watching):
        ward = ward_in(kiosk_spec["url"])
        assert ward_in(screen_spec["url"]) == ward and screen_spec["screens"] == [f"{ward}-display"]
        assert port_of(kiosk_spec["url"]) != port_of(screen_spec["url"])
        assert kiosk_spec["every"] == QUICK.feed_every_s and kiosk_spec["seconds"] == screen_spec["seconds"]


# ------------------------------------------------------------------------------------------ report


def measured(rate: float, screen_ms: list[float], sockets: int = 300) -> dict:
    return {
        "hold": {"sockets": sockets, "connect_s": 1.0, "rss_mb": 120.0},
        "ingest": {"rate": rate, "server_us": 500.0, "client_total_pct": 40.0, "ack_p99_ms": 30.0, "error_count": 1},
        "feed": {"screen_ms": screen_ms, "error_count": 2},
    }


def test_each_routes_rate_is_set_against_the_fewest_processes_on_that_route():
    results = {1: {"direct": measured(1000, [2.0]), "nginx": measured(800, [3.0])},
               2: {"direct": measured(1500, [4.0]), "nginx": measured(1600, [5.0])}}
    rows = processes_report.rows_from(results)
    assert [(r["processes"], r["route"]) for r in rows] == [(1, "direct"), (1, "nginx"), (2, "direct"), (2, "nginx")]
    assert [r["rate_x"] for r in rows] == [1.0, 1.0, 1.5, 2.0]
    assert rows[2]["screen_p99_ms"] == 4.0 and rows[2]["errors"] == 3 and rows[2]["sockets"] == 300


def test_a_run_with_no_screen_sample_reports_none_not_zero():
    [row, _] = processes_report.rows_from({2: {"direct": measured(1000, []), "nginx": measured(900, [])}})
    assert row["screen_p99_ms"] is None and row["screen_samples"] == 0


def test_the_table_has_a_header_and_one_line_per_row_with_the_numbers():
    rows = processes_report.rows_from({1: {"direct": measured(1228, [2.5]), "nginx": measured(1100, [3.0], sockets=299)}})
    table = processes_report.format_table(rows).splitlines()
    assert len(table) == 3
    assert "durable ratings/s" in table[0] and "tap->screen p99 ms" in table[0]
    assert "1,228" in table[1] and "direct" in table[1]
    assert "nginx" in table[2] and " 299 " in table[2]


class Winding:
    """A server side still busy (one CPU second per reading) for its first `busy` readings, then idle."""

    def __init__(self, busy: int):
        self.busy, self.readings, self.cpu = busy, 0, 0.0

    def cpu_s(self) -> float:
        self.readings += 1
        if self.readings <= self.busy:
            self.cpu += 1.0
        return self.cpu


def test_the_next_measurement_waits_until_the_servers_are_quiet():
    side = Winding(busy=4)  # readings 1-4 busy: the first two waits see work, the third is quiet
    waited = processes.settle(side)
    assert side.readings == 6 and 1.4 < waited < 5
