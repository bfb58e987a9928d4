"""Wards split over two ward processes behind real nginx with the shipped sharded site, joined by real
Redis, all on loopback: each ward's tablets reach the process that owns the ward (the `?ward=` map),
staff pages' long-polling sessions stay on one process, and a screen sees ratings of a ward another
process owns. As a trust runs it (deploy/wardpulse@.service): shard a owns 7A and 7B, shard b owns 8A,
one data dir. Each device talks from its own loopback address, as separate machines would."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone

import pytest
import socketio

from kiosk.tls import WEBSOCKET_OPTIONS
from server.tools.harness import WardProcess
from server.tools.nginx import SHARDED_SITE, sharded_site, write_nginx
from server.tools.redis_server import REDIS_SERVER, RedisServer
from shared.protocol import KIOSK_NAMESPACE, OVERVIEW, OVERVIEW_NAMESPACE, OVERVIEW_WARD, RATING, STAFF_NAMESPACE, iso_utc

from support import LiveServer, ack_body, device_at, try_sign_in, unavailable, wait_until

pytestmark = pytest.mark.proxy

SHARDS = {"a": ("7A", "7B"), "b": ("8A",)}
OWNER = {ward: name for name, wards in SHARDS.items() for ward in wards}


def device(address: str, nginx):
    """An HTTP client on `address` that trusts only the test certificate."""
    http = device_at(address)
    http.verify = str(nginx.cert)
    http.trust_env = False
    return http


def new_rating(**fields) -> dict:
    return {"id": str(uuid.uuid4()), "score": "good", "tapped_at": iso_utc(datetime.now(timezone.utc)), **fields}


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    if not REDIS_SERVER.exists():
        unavailable(f"redis-server not found at {REDIS_SERVER} (apt-get install redis-server)")
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def trust(tmp_path_factory):
    """The data dir set up by an admin before the shards start: three wards, a tablet and a wall display on
    each, and a matron covering all three (the CLI writes the data dir directly: no server runs yet)."""
    admin = LiveServer(tmp_path_factory.mktemp("sharded") / "data")
    admin.data_dir.mkdir(parents=True)
    devices = {}
    for ward in OWNER:
        admin.add_ward(ward, f"Ward {ward}")
        devices[ward] = {"kiosk": admin.add_kiosk(ward)["token"], "display": admin.add_display(ward)["token"]}
    admin.add_staff("matron", tuple(OWNER), "matron")
    return admin, devices


@pytest.fixture(scope="module")
def shards(trust, redis):
    """Shards a and b as the systemd template unit starts them, each told that nginx sits in front."""
    admin, _ = trust
    started = {}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WARDPULSE_TRUSTED_PROXIES", "1")
        try:
            for name, wards in SHARDS.items():
                process = WardProcess(admin.data_dir, log_path=admin.data_dir.parent / f"shard-{name}.log",
                                      serve_options=("--wards", ",".join(wards), "--message-queue", redis.url))
                started[name] = process
                process.start()
            yield started
        finally:
            for process in started.values():
                process.stop()


@pytest.fixture(scope="module")
def nginx(nginx_binary, shards, tmp_path_factory):
    """The shipped sharded site, its trust lines filled in for these shards' ports."""
    site = sharded_site(SHARDED_SITE.read_text(), {name: (shards[name].port, wards) for name, wards in SHARDS.items()})
    with write_nginx(tmp_path_factory.mktemp("nginx"), site) as proxy:
        yield proxy


def tablet(url: str, token: str, **options) -> socketio.Client:
    client = socketio.Client(reconnection=False, websocket_extra_options=WEBSOCKET_OPTIONS, **options)
    # 10 s, not the live tests' 5: four processes and nginx start-up share two cores with the clients here.
    client.connect(url, namespaces=[KIOSK_NAMESPACE], auth={"token": token}, transports=["websocket"], wait_timeout=10)
    return client


def test_sharded_site_passes_nginx_t(nginx):
    checked = nginx.check()
    assert checked.returncode == 0, checked.stderr
    assert "[emerg]" not in checked.stderr and "[warn]" not in checked.stderr


def test_every_wards_tablet_reaches_its_owner_through_nginx_and_its_rating_is_acked_and_stored(nginx, trust):
    admin, devices = trust
    sent = {}
    for n, ward in enumerate(OWNER):
        kiosk = tablet(f"{nginx.url}?ward={ward}", devices[ward]["kiosk"], http_session=device(f"127.0.0.{20 + n}", nginx))
        try:
            rating = sent[ward] = new_rating(comment=f"Through nginx to {ward}")
            ack = kiosk.call(RATING, rating, namespace=KIOSK_NAMESPACE, timeout=10)
            assert ack_body(ack) == {"ok": True, "id": rating["id"], "duplicate": False}, ward
        finally:
            kiosk.disconnect()
    for ward, rating in sent.items():
        assert rating["id"] in {r["id"] for r in admin.export(ward)}, ward


def test_a_tablet_that_reaches_a_process_not_owning_its_ward_is_refused(shards, trust):
    """What nginx's map spares the tablets: straight to the wrong process, 8A's tablet is turned away."""
    _, devices = trust
    with pytest.raises(socketio.exceptions.ConnectionError):
        tablet(f"{shards['a'].url}?ward=8A", devices["8A"]["kiosk"])


class LongPolling:
    """A staff page's socket as the browser's socket.io client opens it: long-polling (never upgraded
    here, so every event is its own HTTP request through nginx, each of which must reach the same process)."""

    def __init__(self, url: str, namespace: str, http, auth: dict | None = None):
        self.events: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False, http_session=http)
        for event in (OVERVIEW, OVERVIEW_WARD, "snapshot", RATING):
            self.sio.on(event, lambda data, event=event: self._got(event, data), namespace=namespace)
        self.sio.connect(url, namespaces=[namespace], auth=auth, transports=["polling"], wait_timeout=10)
        assert self.sio.transport() == "polling"

    def _got(self, event: str, data: dict) -> None:
        with self.lock:
            self.events.append((event, data))

    def latest_rows(self) -> dict[str, dict]:
        """The overview's rows as the page shows them: the last full overview, then each row's updates."""
        rows: dict[str, dict] = {}
        with self.lock:
            for event, data in self.events:
                if event == OVERVIEW:
                    rows = {row["code"]: row for row in data["wards"]}
                elif event == OVERVIEW_WARD:
                    rows[data["code"]] = data
        return rows

    def rating_ids(self) -> set[str]:
        with self.lock:
            return {data["id"] for event, data in self.events if event == RATING}

    def close(self) -> None:
        self.sio.disconnect()


def rate_through_nginx(nginx, token: str, ward: str, address: str) -> dict:
    kiosk = tablet(f"{nginx.url}?ward={ward}", token, http_session=device(address, nginx))
    try:
        rating = new_rating()
        assert kiosk.call(RATING, rating, namespace=KIOSK_NAMESPACE, timeout=10)["ok"]
        return rating
    finally:
        kiosk.disconnect()


@pytest.mark.parametrize("address", ["127.0.0.31", "127.0.0.32", "127.0.0.33", "127.0.0.34"])
def test_the_overview_over_long_polling_sees_ratings_of_wards_on_both_processes(nginx, trust, address):
    """No ward in its query: nginx keeps the device on one process (by address) for the whole session, and
    that process's overview hears the other process's wards through Redis. Four devices, so both
    processes serve some overview (nginx's hash spreads addresses over them)."""
    _, devices = trust
    matron = device(address, nginx)
    assert try_sign_in(matron, nginx.url, "matron").status_code == 302
    overview = LongPolling(nginx.url, OVERVIEW_NAMESPACE, matron)
    try:
        wait_until(lambda: set(overview.latest_rows()) == set(OWNER), timeout=10, what="the overview's three rows")
        before = {ward: row["today"]["total"] for ward, row in overview.latest_rows().items()}
        for ward in ("7A", "8A"):  # one ward of each process
            rate_through_nginx(nginx, devices[ward]["kiosk"], ward, "127.0.0.40")
        for ward in ("7A", "8A"):
            wait_until(lambda ward=ward: overview.latest_rows()[ward]["today"]["total"] == before[ward] + 1,
                       timeout=10, what=f"{ward}'s rating on the overview")
    finally:
        overview.close()


def test_a_ward_screen_over_long_polling_through_nginx_sees_its_wards_ratings(nginx, trust):
    """The ward screen names its ward in its query, as ward.js does, so each of its requests reaches 8A's owner."""
    _, devices = trust
    wall = LongPolling(f"{nginx.url}?ward=8A", STAFF_NAMESPACE, device("127.0.0.50", nginx), auth={"token": devices["8A"]["display"]})
    assert_sees_8a_rating(wall, nginx, devices, "127.0.0.51")


def address_served_by(nginx, shard_wards: tuple[str, ...]) -> str:
    """A device address that nginx keeps on the process owning `shard_wards` for wardless requests
    (that process's /healthz, reached through nginx, names its wards)."""
    for n in range(60, 120):
        address = f"127.0.0.{n}"
        if tuple(device(address, nginx).get(nginx.url + "/healthz", timeout=5).json()["wards"]) == tuple(sorted(shard_wards)):
            return address
    raise AssertionError(f"no device address reached the process of {shard_wards}")


def test_a_ward_screen_on_a_process_not_owning_its_ward_sees_its_ratings_through_nginx(nginx, trust):
    """A page loaded before the upgrade names no ward in its socket's query, so nginx sends it to any
    process: here the one that does not own 8A. Its snapshot comes from 8A's owner, its ratings through Redis."""
    _, devices = trust
    address = address_served_by(nginx, SHARDS["a"])
    wall = LongPolling(nginx.url, STAFF_NAMESPACE, device(address, nginx), auth={"token": devices["8A"]["display"]})
    assert_sees_8a_rating(wall, nginx, devices, "127.0.0.52")


def assert_sees_8a_rating(wall, nginx, devices, tablet_address: str) -> None:
    """The screen gets its snapshot, then a rating tapped on an 8A tablet through nginx; closed after."""
    try:
        wait_until(lambda: any(event == "snapshot" for event, _ in wall.events), what="the screen's snapshot")
        rating = rate_through_nginx(nginx, devices["8A"]["kiosk"], "8A", tablet_address)
        wait_until(lambda: rating["id"] in wall.rating_ids(), timeout=10, what="8A's rating on the screen")
    finally:
        wall.close()


@pytest.mark.parametrize("path", ["/shard/8A/snapshot", "//shard/8A/overview", "/%73hard/7A/snapshot", "/control"])
def test_the_processes_own_endpoints_answer_404_through_nginx(nginx, shards, path):
    bearer = {"Authorization": "Bearer " + (shards["a"].data_dir / "control.token").read_text().strip()}
    answer = device("127.0.0.53", nginx).post(nginx.url + path, json={}, headers=bearer, timeout=5)
    assert answer.status_code == 404, (path, answer.status_code, answer.text[:200])
