""""You said, we did" through a real server: a sister's sentence reaches a connected tablet at once, a
colleague's waits for her approval, a wall display sees only what is published, and the poster prints it."""

from __future__ import annotations

import requests

from kiosk.client import make_rating
from shared.protocol import CLOCK, KIOSK_NAMESPACE, PUBLISH_NOTE, RATING, RESOLVE_ALERT, STAFF_NAMESPACE, YOU_SAID_WE_DID

from support import Screen, csrf_token_in, kiosk_socket, staff_cookie, try_sign_in, wait_until


class Tablet:
    """A kiosk socket that records every "You said, we did" update the server sends it."""

    def __init__(self, url: str, token: str):
        self.updates: list[dict] = []
        self.client = kiosk_socket(url, token)
        self.client.on(YOU_SAID_WE_DID, self.updates.append, namespace=KIOSK_NAMESPACE)

    def shown(self) -> list[str]:
        """What the tablet would show now: the last update's sentences."""
        return [s["text"] for s in self.updates[-1]["published"]] if self.updates else []

    def on_reconnect(self) -> list[str]:
        """What a tablet that just (re)connected learns from its clock reading."""
        return [s["text"] for s in self.client.call(CLOCK, {}, namespace=KIOSK_NAMESPACE)["you_said_we_did"]]


def screen_of(live_server, username: str, role: str) -> Screen:
    live_server.add_staff(username, "7B", role)
    screen = Screen(live_server.url, {"ward": "7B"}, cookie=staff_cookie(live_server.url, username))
    screen.boards = []
    screen.sio.on(YOU_SAID_WE_DID, screen.boards.append, namespace=STAFF_NAMESPACE)
    return screen.connect()


def raise_alert(kiosk, comment: str = "Nobody came when I pressed the buzzer") -> None:
    ack = kiosk.call(RATING, make_rating("poor", comment=comment, follow_up={"location": "Bay 2"}), namespace=KIOSK_NAMESPACE)
    assert ack["ok"], ack


def resolve(screen: Screen, note: str) -> dict:
    alert = wait_until(lambda: [a for a in screen.alerts if a["status"] == "open"], what="the alert")[-1]
    ack = screen.sio.call(RESOLVE_ALERT, {"id": alert["id"], "action": "Answered the buzzer", "public_note": note},
                          namespace=STAFF_NAMESPACE)
    assert ack["ok"], ack
    return ack["alert"]


def test_a_sisters_sentence_reaches_a_connected_tablet_and_the_wall_at_once(live_server):
    sister = screen_of(live_server, "pat", "sister")
    wall = Screen(live_server.url, {"token": live_server.add_display()["token"]})
    wall.boards = []
    wall.sio.on(YOU_SAID_WE_DID, wall.boards.append, namespace=STAFF_NAMESPACE)
    wall.connect()
    tablet = Tablet(live_server.url, live_server.add_kiosk()["token"])
    assert tablet.on_reconnect() == []
    raise_alert(tablet.client)
    alert = resolve(sister, "You said the buzzer took too long; we now answer it within two minutes.")
    assert alert["public_note_status"] == "published" and alert["published_by"] == "pat"
    wait_until(tablet.shown, what="the sentence on the tablet")
    assert tablet.shown() == ["You said the buzzer took too long; we now answer it within two minutes."]
    assert set(tablet.updates[-1]["published"][0]) == {"id", "text", "published_at"}  # nothing of the patient
    wait_until(lambda: wall.boards, what="the sentence on the wall display")
    assert [s["text"] for s in wall.boards[-1]["published"]] == tablet.shown()
    assert "waiting" not in wall.boards[-1]
    assert tablet.on_reconnect() == tablet.shown()  # and a tablet that reconnects catches up
    for client in (tablet.client, sister.sio, wall.sio):
        client.disconnect()


def test_a_staff_sentence_waits_until_a_sister_publishes_it(live_server):
    nurse = screen_of(live_server, "sam", "staff")
    sister = screen_of(live_server, "pat", "sister")
    wall = Screen(live_server.url, {"token": live_server.add_display()["token"]}).connect()
    tablet = Tablet(live_server.url, live_server.add_kiosk()["token"])
    raise_alert(tablet.client)
    alert = resolve(nurse, "You said it was noisy; we now dim the lights at 10 pm.")
    assert alert["public_note_status"] == "waiting"
    wait_until(lambda: sister.boards and sister.boards[-1]["waiting"], what="the waiting sentence on the sister's screen")
    assert [w["text"] for w in sister.boards[-1]["waiting"]] == ["You said it was noisy; we now dim the lights at 10 pm."]
    assert tablet.on_reconnect() == [] and tablet.shown() == []  # patients see nothing yet

    refused = nurse.sio.call(PUBLISH_NOTE, {"id": alert["id"]}, namespace=STAFF_NAMESPACE)
    assert refused["ok"] is False and "Only a sister" in refused["message"]
    wall_refused = wall.sio.call(PUBLISH_NOTE, {"id": alert["id"]}, namespace=STAFF_NAMESPACE)
    assert wall_refused["ok"] is False and wall_refused["error"] == "read_only"
    assert tablet.on_reconnect() == []

    ack = sister.sio.call(PUBLISH_NOTE, {"id": alert["id"], "public_note": "You said it was noisy at night; we now dim the lights at 10 pm."},
                          namespace=STAFF_NAMESPACE)
    assert ack["ok"], ack
    wait_until(tablet.shown, what="the approved sentence on the tablet")
    assert tablet.shown() == ["You said it was noisy at night; we now dim the lights at 10 pm."]
    assert sister.boards[-1]["waiting"] == []

    live_server.kill()  # published means durable
    live_server.start()
    tablet = Tablet(live_server.url, live_server.add_kiosk()["token"])
    assert tablet.on_reconnect() == ["You said it was noisy at night; we now dim the lights at 10 pm."]
    tablet.client.disconnect()


def test_a_sister_publishes_from_the_follow_up_page_and_the_poster_prints_it(live_server):
    nurse = screen_of(live_server, "sam", "staff")
    live_server.add_staff("pat", "7B", "sister")
    tablet = Tablet(live_server.url, live_server.add_kiosk()["token"])
    raise_alert(tablet.client)
    alert = resolve(nurse, "You said <b>the</b> tea was cold; we now check it.")
    with requests.Session() as http:
        assert try_sign_in(http, live_server.url, "pat").status_code == 302
        page = http.get(alert["follow_up_url"])
        assert "waiting for a sister to publish it" in page.text and 'id="publish-form"' in page.text
        done = http.post(alert["follow_up_url"], data={"csrf_token": csrf_token_in(page.text), "step": "publish",
                                                      "public_note": alert["public_note"]})
        assert done.status_code == 200 and "shown to patients" in done.text
        wait_until(tablet.shown, what="the sentence on the tablet")
        poster = http.get(live_server.url + "/ward/7B/you-said-we-did")
    assert poster.status_code == 200
    assert "You said &lt;b&gt;the&lt;/b&gt; tea was cold; we now check it." in poster.text  # as written, escaped
    assert "Fewer than 5 responses" in poster.text  # one rating this month: its share is not shown
    tablet.client.disconnect()
    nurse.close()
