"""server/events.py through Flask-SocketIO's test client (handlers only; the live tests cover the transport)."""

from __future__ import annotations

import pytest

from kiosk.client import make_rating
from server.web.extensions import ward_service
from shared.protocol import CLOCK, KIOSK_NAMESPACE, KIOSK_START, KIOSK_STATUS, RATING, STAFF_NAMESPACE, parse_utc

from support import STAFF_PASSWORD, ack_body


@pytest.fixture
def ward(registry, staff_hash):
    registry.add_ward("7B", "Ward 7B")
    registry.add_ward("4A", "Ward 4A")
    registry.add_staff("sister", "7B", "sister", staff_hash)
    registry.add_staff("admin", "4A", "admin", staff_hash)
    return "7B"


def signed_in(app, username):
    flask_client = app.test_client()
    response = flask_client.post("/login", data={"username": username, "password": STAFF_PASSWORD})
    assert response.status_code == 302
    return flask_client


def test_kiosk_rating_is_acked_and_reaches_its_wards_screen(app, registry, ward, socket_client):
    kiosk = registry.add_kiosk(ward)
    screen = socket_client(STAFF_NAMESPACE, auth={"ward": ward}, flask_client=signed_in(app, "sister"))
    tablet = socket_client(KIOSK_NAMESPACE, auth={"token": kiosk["token"]})
    screen.get_received(STAFF_NAMESPACE)  # drop the snapshot
    rating = make_rating("very_good", comment="Thank you")
    ack = tablet.emit(RATING, rating, namespace=KIOSK_NAMESPACE, callback=True)
    assert ack_body(ack) == {"ok": True, "id": rating["id"], "duplicate": False}
    events = screen.get_received(STAFF_NAMESPACE)
    assert [e["name"] for e in events] == ["rating"]
    item = events[0]["args"][0]
    assert item["comment"] == "Thank you"
    assert item["kiosk_label"] == kiosk["label"]
    assert "fingerprint" not in item
    assert item["stats"]["counts"]["very_good"] == 1


def test_a_duplicate_is_not_broadcast_twice(app, registry, ward, socket_client):
    kiosk = registry.add_kiosk(ward)
    screen = socket_client(STAFF_NAMESPACE, auth={"ward": ward}, flask_client=signed_in(app, "sister"))
    tablet = socket_client(KIOSK_NAMESPACE, auth={"token": kiosk["token"]})
    screen.get_received(STAFF_NAMESPACE)
    rating = make_rating("good")
    tablet.emit(RATING, rating, namespace=KIOSK_NAMESPACE, callback=True)
    tablet.emit(RATING, rating, namespace=KIOSK_NAMESPACE, callback=True)
    assert len(screen.get_received(STAFF_NAMESPACE)) == 1


def test_a_wall_display_alone_gets_the_ratings_after_its_snapshot_without_a_gap_or_the_words(app, registry, ward, socket_client):
    tablet = socket_client(KIOSK_NAMESPACE, auth={"token": registry.add_kiosk(ward)["token"]})
    unseen = tablet.emit(RATING, make_rating("poor", comment="Nobody came"), namespace=KIOSK_NAMESPACE, callback=True)
    display = socket_client(STAFF_NAMESPACE, auth={"token": registry.add_display(ward)["token"]})
    [snapshot] = [e["args"][0] for e in display.get_received(STAFF_NAMESPACE) if e["name"] == "snapshot"]
    assert unseen["ok"] and snapshot["seq"] == 1 and [r["comment"] for r in snapshot["recent"]] == [None]
    tablet.emit(RATING, make_rating("good", comment="Kind nurses"), namespace=KIOSK_NAMESPACE, callback=True)
    [item] = [e["args"][0] for e in display.get_received(STAFF_NAMESPACE) if e["name"] == RATING]
    assert item["seq"] == 2 and item["comment"] is None and item["words_hidden"] is True
    assert item["stats"]["total"] == 2


@pytest.mark.parametrize(
    "who, auth, connected",
    [
        ("anonymous", {"ward": "7B"}, False),
        ("sister", {"ward": "7B"}, True),
        ("sister", {}, True),  # defaults to her own ward
        ("sister", {"ward": "4A"}, False),  # not her ward
        ("admin", {"ward": "7B"}, True),  # admins may watch any ward
        ("admin", {"ward": "9Z"}, False),  # no such ward
    ],
)
def test_who_may_watch_which_ward(app, ward, socket_client, who, auth, connected):
    flask_client = app.test_client() if who == "anonymous" else signed_in(app, who)
    screen = socket_client(STAFF_NAMESPACE, auth=auth, flask_client=flask_client)
    assert screen.is_connected(STAFF_NAMESPACE) is connected


def test_snapshot_comes_first_on_connect(app, registry, ward, socket_client):
    screen = socket_client(STAFF_NAMESPACE, auth={"token": registry.add_display(ward)["token"]})
    events = screen.get_received(STAFF_NAMESPACE)
    assert events[0]["name"] == "snapshot"
    assert set(events[0]["args"][0]) >= {"ward", "open_alerts", "recent", "stats"}


def test_a_display_for_one_ward_cannot_watch_another(app, registry, ward, socket_client):
    token = registry.add_display(ward)["token"]
    screen = socket_client(STAFF_NAMESPACE, auth={"token": token, "ward": "4A"})
    assert not screen.is_connected(STAFF_NAMESPACE)


@pytest.mark.parametrize("auth", [None, {}, {"token": ""}, {"token": 42}, {"token": "nope"}, "junk"])
def test_kiosk_without_a_valid_token_is_refused(app, ward, socket_client, auth):
    assert not socket_client(KIOSK_NAMESPACE, auth=auth).is_connected(KIOSK_NAMESPACE)


def test_a_kiosk_revoked_mid_session_cannot_store(app, registry, ward, socket_client):
    kiosk = registry.add_kiosk(ward)
    tablet = socket_client(KIOSK_NAMESPACE, auth={"token": kiosk["token"]})
    registry.revoke_kiosk(kiosk["id"])
    ward_service(app).registry_changed()
    ack = tablet.emit(RATING, make_rating("good"), namespace=KIOSK_NAMESPACE, callback=True)
    assert ack["error"] == "revoked_token"


def test_own_phone_from_the_poster_may_rate_a_little_and_is_marked(app, registry, ward, socket_client):
    phone = socket_client(KIOSK_NAMESPACE, auth={"own_ward": "7B", "device": "0f1e2d3c-phone"})
    acks = [phone.emit(RATING, make_rating("good"), namespace=KIOSK_NAMESPACE, callback=True) for _ in range(4)]
    assert [a["ok"] for a in acks] == [True, True, True, False]
    assert acks[3]["error"] == "rate_limited"
    recent = ward_service(app).snapshot("7B")["recent"]
    assert {r["channel"] for r in recent} == {"own_device"}


@pytest.mark.parametrize("auth", [{"own_ward": "9Z", "device": "0f1e2d3c-phone"}, {"own_ward": "7B"}, {"own_ward": "7B", "device": 5}])
def test_own_phone_needs_a_real_ward_and_a_device_id(app, ward, socket_client, auth):
    assert not socket_client(KIOSK_NAMESPACE, auth=auth).is_connected(KIOSK_NAMESPACE)


def test_misuse_is_stored_marked_and_left_out_of_the_counts(app, registry, ward, socket_client):
    from datetime import datetime, timedelta, timezone

    kiosk = registry.add_kiosk(ward)
    registry.update_ward_settings(ward, None, 30, 0.08)  # the plain detector: 8 % and 30 a day known
    ward_service(app).settings_changed(ward)
    tablet = socket_client(KIOSK_NAMESPACE, auth={"token": kiosk["token"]})
    start = datetime.now(timezone.utc) - timedelta(minutes=10)
    for i in range(10):  # a child tapping every 3 seconds
        tablet.emit(RATING, make_rating("very_poor", tapped_at=start + timedelta(seconds=3 * i)), namespace=KIOSK_NAMESPACE, callback=True)
    wards = ward_service(app)
    snapshot = wards.snapshot("7B")
    assert len(snapshot["recent"]) == 10  # stored, not deleted
    assert sum(r["misuse"] for r in snapshot["recent"]) == 4
    assert snapshot["stats"]["total"] == 6
    assert [a["kind"] for a in snapshot["open_alerts"]] == ["trend"]  # from the first six, which still count
    assert snapshot["trend"]["held"] is True
    row = [k for k in wards.kiosks_overview("7B") if k["id"] == kiosk["id"]][0]
    assert (row["ratings_today"], row["misuse_today"], row["online"]) == (10, 4, True)


def test_a_full_disk_is_refused_retryably_shown_on_screens_and_recovers(app, registry, ward, socket_client, monkeypatch):
    import errno

    kiosk = registry.add_kiosk(ward)
    screen = socket_client(STAFF_NAMESPACE, auth={"ward": ward}, flask_client=signed_in(app, "sister"))
    tablet = socket_client(KIOSK_NAMESPACE, auth={"token": kiosk["token"]})
    screen.get_received(STAFF_NAMESPACE)
    http = app.test_client()

    def disk_full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("server.store.journal.os.fsync", disk_full)
    rating = make_rating("good")
    ack = tablet.emit(RATING, rating, namespace=KIOSK_NAMESPACE, callback=True)
    assert ack["ok"] is False and ack["error"] == "storage_unavailable"  # the tablet keeps it and retries
    assert http.get("/healthz").status_code == 503
    banner = [e["args"][0] for e in screen.get_received(STAFF_NAMESPACE) if e["name"] == "status"]
    assert banner and banner[0]["storage_ok"] is False and "No space left" in banner[0]["message"]
    assert ward_service(app).snapshot("7B")["status"]["storage_ok"] is False

    monkeypatch.undo()  # space is back
    assert ack_body(tablet.emit(RATING, rating, namespace=KIOSK_NAMESPACE, callback=True)) == {"ok": True, "id": rating["id"], "duplicate": False}
    events = screen.get_received(STAFF_NAMESPACE)
    assert [e["name"] for e in events] == ["rating", "status"]
    assert events[1]["args"][0]["storage_ok"] is True
    assert http.get("/healthz").status_code == 200
    assert [r["id"] for r in ward_service(app).snapshot("7B")["recent"]] == [rating["id"]]


def test_a_follow_up_request_is_stored_through_a_poster_flood_and_marked(app, registry, ward, socket_client):
    from server.ward.service import OWN_DEVICE_WARD_PER_HOUR

    for i in range(OWN_DEVICE_WARD_PER_HOUR):
        phone = socket_client(KIOSK_NAMESPACE, auth={"own_ward": "7B", "device": f"scripted-{i:04d}"})
        assert phone.emit(RATING, make_rating("very_good"), namespace=KIOSK_NAMESPACE, callback=True)["ok"]
    phone = socket_client(KIOSK_NAMESPACE, auth={"own_ward": "7B", "device": "a-real-phone"})
    ordinary = phone.emit(RATING, make_rating("good"), namespace=KIOSK_NAMESPACE, callback=True)
    request = phone.emit(RATING, make_rating("very_poor", follow_up={"location": "Bay 4"}), namespace=KIOSK_NAMESPACE, callback=True)
    assert ordinary["error"] == "rate_limited" and request["ok"] is True
    snapshot = ward_service(app).snapshot("7B")
    [stored] = [r for r in snapshot["recent"] if r["score"] == "very_poor"]
    assert stored["flood"] is True and stored["follow_up"] == {"location": "Bay 4"}
    assert [a["kind"] for a in snapshot["open_alerts"]] == ["follow_up"]


@pytest.mark.parametrize(
    "report",
    [None, "junk", [], {"waiting": -1}, {"waiting": True}, {"clock_offset_ms": "7200000"}, {"clock_offset_ms": 10**15},
     {"refused": "all"}, {"refused": [1, None, {"id": "<b>" * 40}]}],
)
def test_a_tablets_junk_self_report_is_ignored_never_an_error(app, registry, ward, socket_client, report):
    kiosk = registry.add_kiosk(ward)
    tablet = socket_client(KIOSK_NAMESPACE, auth={"token": kiosk["token"]})
    tablet.emit(KIOSK_STATUS, report, namespace=KIOSK_NAMESPACE)
    assert tablet.emit(CLOCK, namespace=KIOSK_NAMESPACE, callback=True)["server_time"]  # still serving
    [row] = [k for k in ward_service(app).kiosks_overview("7B") if k["id"] == kiosk["id"]]
    assert row["waiting"] is None and row["clock_offset_ms"] is None
    assert all(len(v) <= 64 for r in row["refused"] for v in r.values())


def test_clock_ack_carries_the_servers_time(app, registry, ward, socket_client):
    kiosk = registry.add_kiosk(ward)
    tablet = socket_client(KIOSK_NAMESPACE, auth={"token": kiosk["token"], "device_time": "2026-01-01T00:00:00Z"})
    ack = tablet.emit(CLOCK, {}, namespace=KIOSK_NAMESPACE, callback=True)
    assert parse_utc(ack["server_time"])
    [row] = [k for k in ward_service(app).kiosks_overview("7B") if k["id"] == kiosk["id"]]
    assert row["clock_off"] is True and row["clock_offset_ms"] > 0  # from the handshake: the tablet is months slow


def test_a_tablet_with_its_own_wording_starts_in_it_and_the_rest_of_the_ward_in_the_wards(app, registry, ward, socket_client):
    registry.set_kiosk_start(ward, "en-GB", "easy")
    corner, bay = registry.add_kiosk(ward, "Children's corner"), registry.add_kiosk(ward, "Bay 1")
    tablets = {k["id"]: socket_client(KIOSK_NAMESPACE, auth={"token": k["token"]}) for k in (corner, bay)}

    def started(kiosk):
        return tablets[kiosk["id"]].emit(CLOCK, {}, namespace=KIOSK_NAMESPACE, callback=True)["start"]

    def told(kiosk):
        return [m["args"][0] for m in tablets[kiosk["id"]].get_received(KIOSK_NAMESPACE) if m["name"] == KIOSK_START]

    admin = signed_in(app, "admin")
    saved = admin.post(f"/admin/kiosks/{corner['id']}/wording", data={f"{corner['id']}-wording": "children"})
    assert saved.status_code == 302
    assert told(corner) == [{"lang": "en-GB", "wording": "children"}] and told(bay) == []  # live, to that tablet only
    assert started(corner) == {"lang": "en-GB", "wording": "children"}
    assert started(bay) == {"lang": "en-GB", "wording": "easy"}
    page = admin.get("/admin/ward/7B/kiosks").get_data(as_text=True)
    assert 'data-wording="children"' in page and 'data-wording="ward"' in page

    # The sister changes the ward's default: the corner keeps its own wording, last word included.
    assert signed_in(app, "sister").post("/ward/7B/settings", data={"kiosk_language": "pl", "kiosk_wording": "standard"}).status_code == 302
    assert told(corner)[-1] == {"lang": "pl", "wording": "children"} and told(bay) == [{"lang": "pl", "wording": "standard"}]
    assert admin.post(f"/admin/kiosks/{bay['id']}/wording", data={f"{bay['id']}-wording": "toddlers"}).status_code == 400
    assert admin.post("/admin/kiosks/k-nothere/wording", data={"k-nothere-wording": "easy"}).status_code == 404
    assert admin.post(f"/admin/kiosks/{corner['id']}/wording", data={f"{corner['id']}-wording": "ward"}).status_code == 302
    assert started(corner) == {"lang": "pl", "wording": "standard"}
    assert signed_in(app, "sister").post(f"/admin/kiosks/{bay['id']}/wording", data={f"{bay['id']}-wording": "easy"}).status_code == 403


def test_a_rating_builds_no_flask_request(app, registry, ward, socket_client, monkeypatch):
    """The busiest event skips Flask-SocketIO's per-event request context (URL matching, session copy)."""
    tablet = socket_client(KIOSK_NAMESPACE, auth={"token": registry.add_kiosk(ward)["token"]})
    built = []
    request_context = type(app).request_context
    monkeypatch.setattr(type(app), "request_context", lambda self, environ: built.append(environ) or request_context(self, environ))
    rating = make_rating("good")
    assert ack_body(tablet.emit(RATING, rating, namespace=KIOSK_NAMESPACE, callback=True))["ok"] is True
    assert built == []
    tablet.emit(CLOCK, {}, namespace=KIOSK_NAMESPACE, callback=True)  # the other events still get one
    assert len(built) == 1


def test_a_bug_in_the_rating_handler_is_an_ack_to_retry_not_silence(app, registry, ward, socket_client, monkeypatch):
    tablet = socket_client(KIOSK_NAMESPACE, auth={"token": registry.add_kiosk(ward)["token"]})
    service = ward_service(app)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(service, "receive_rating", broken)
    rating = make_rating("good")
    ack = tablet.emit(RATING, rating, namespace=KIOSK_NAMESPACE, callback=True)
    assert ack["ok"] is False and ack["error"] == "server_error"  # the tablet keeps it and tries again
    monkeypatch.undo()
    assert ack_body(tablet.emit(RATING, rating, namespace=KIOSK_NAMESPACE, callback=True)) == {"ok": True, "id": rating["id"], "duplicate": False}
