"""Real Chromium through real nginx with the shipped sharded site, two ward processes on one data dir and a real
redis-server, all on loopback: the kiosk page (the official socket.io client) taps on ward 8A, and the screens of a
device that nginx keeps on the OTHER process (the one owning 7A and 7B) show the rating."""

from __future__ import annotations

import pytest
import requests

from server.tools.nginx import SHARDED_SITE, sharded_site, write_nginx

from browser_helpers import fill_sign_in, require, wait_online
from support import LiveServer, WardShard, wait_until

pytestmark = [pytest.mark.proxy, pytest.mark.browser]
expect = require("playwright.sync_api", "browser tests").expect

SHARDS = {"a": ("7A", "7B"), "b": ("8A",)}
QUESTION = "Overall, how was your experience of our service?"


def wards_served_to_this_machine(proxy) -> tuple[str, ...]:
    """The wards of the process nginx sends this machine's wardless requests to (its /healthz names them).
    Chromium and this test both connect from 127.0.0.1, and nginx hashes wardless requests by address."""
    with requests.Session() as http:
        http.trust_env = False
        return tuple(http.get(proxy.url + "/healthz", verify=str(proxy.cert), timeout=5).json()["wards"])


def start_site(processes: dict[str, WardShard], prefix) -> object:
    site = sharded_site(SHARDED_SITE.read_text(), {name: (processes[name].port, wards) for name, wards in SHARDS.items()})
    return write_nginx(prefix, site).start()


@pytest.fixture
def sharded(tmp_path, redis_server, nginx_binary, monkeypatch):
    """Processes a (7A, 7B) and b (8A) behind the shipped sharded site, placed so that this machine's wardless
    requests go to a: which port nginx's consistent hash picks for 127.0.0.1 is found by asking, and if it is b's,
    the two processes swap ports (the wards stay with their processes; the site is written again)."""
    monkeypatch.setenv("WARDPULSE_TRUSTED_PROXIES", "1")  # as the systemd unit sets it: nginx is in front
    admin = LiveServer(tmp_path / "data")
    admin.data_dir.mkdir(parents=True)
    for ward in (*SHARDS["a"], *SHARDS["b"]):
        admin.add_ward(ward, f"Ward {ward}")
    processes = {name: WardShard(admin.data_dir, ",".join(wards), redis_server.url) for name, wards in SHARDS.items()}
    proxy = None
    try:
        for process in processes.values():
            process.start()
        proxy = start_site(processes, tmp_path / "nginx")
        if wards_served_to_this_machine(proxy) != SHARDS["a"]:
            proxy.stop()
            for process in processes.values():
                process.stop()
            processes["a"].port, processes["b"].port = processes["b"].port, processes["a"].port
            for process in processes.values():
                process.start()
            proxy = start_site(processes, tmp_path / "nginx-swapped")
        assert wards_served_to_this_machine(proxy) == SHARDS["a"]
        for process in processes.values():
            wait_until(process.hears_others, what=f"ward process {process.ward} to listen to Redis")
        yield admin, proxy
    finally:
        if proxy is not None:
            proxy.stop()
        for process in processes.values():
            process.stop()


def test_a_tap_on_8a_in_the_kiosk_page_reaches_screens_on_the_other_process_through_nginx(sharded, trusting_browser):
    admin, proxy = sharded
    kiosk = admin.add_kiosk("8A", "Day room")  # through a running ward process, as an admin would
    username, password = admin.add_staff("matron", ("7A", "7B", "8A"), "matron")
    contexts = []

    def device():
        context = trusting_browser.new_context()
        context.set_default_timeout(15_000)  # three servers, nginx and Chromium share two cores
        contexts.append(context)
        return context.new_page()

    try:
        overview = device()
        overview.goto(proxy.url + "/login")  # wardless: nginx keeps this device on process a
        fill_sign_in(overview, username, password)
        overview.wait_for_url("**/overview")
        wait_online(overview, timeout=15_000)
        expect(overview.locator(".overview-card")).to_have_count(3)
        card = overview.locator('.overview-card[data-ward="8A"]')
        expect(card.locator('.overview-card__today [data-stat="total"] .figure__value')).to_have_text("0")
        served_by = overview.evaluate("fetch('/healthz').then(answer => answer.json()).then(health => health.wards)")
        assert served_by == list(SHARDS["a"]), "Chromium's wardless requests reach a, which does not own 8A"

        ward_screen = overview.context.new_page()  # the same device (its session), 8A's screen
        ward_screen.goto(proxy.url + "/ward/8A")
        wait_online(ward_screen, timeout=15_000)

        tablet = device()
        tablet.goto(proxy.url + "/kiosk/#enroll=" + kiosk["token"])  # its first, wardless, connection reaches a: refused
        expect(tablet.get_by_role("heading", name=QUESTION)).to_be_visible()
        tablet.wait_for_function("() => localStorage.getItem('wardpulse.kiosk.ward') === '8A'")
        wait_online(tablet, timeout=15_000)  # connected again naming 8A: nginx sends it to b, 8A's owner
        tablet.get_by_role("button", name="Good", exact=True).click()
        tablet.get_by_role("button", name="Skip", exact=True).click()
        tablet.get_by_role("button", name="No", exact=True).click()
        expect(tablet.get_by_role("heading", name="Thank you for your feedback")).to_be_visible()

        stored = wait_until(lambda: admin.export("8A"), timeout=10, what="the tap in 8A's journal, written by b")
        assert [r["score"] for r in stored] == ["good"]
        expect(ward_screen.locator(f'[data-rating-id="{stored[0]["id"]}"]')).to_have_count(1)
        # The overview's socket is on a: the row comes from b through Redis.
        expect(card.locator('.overview-card__today [data-stat="total"] .figure__value')).to_have_text("1")
        expect(card).to_contain_text("All 1 tablets online")
    finally:
        for context in contexts:
            context.close()
