"""Languages through a real `wardpulse serve`: a trust's catalogues, the ward's start language, `lang` on ratings."""

from __future__ import annotations

import json
import re

import requests
import socketio

from kiosk.client import make_rating
from shared.protocol import CLOCK, KIOSK_NAMESPACE, KIOSK_START, RATING

from support import STAFF_PASSWORD, Screen, csrf_token_in, staff_cookie, try_sign_in, wait_until


def kiosk_words(url: str) -> dict:
    page = requests.get(url + "/kiosk/", timeout=10).text
    return json.loads(re.search(r'id="wardpulse-words">(.*?)</script>', page, re.S).group(1))


def connect_kiosk(url: str, token: str) -> tuple[socketio.Client, list]:
    """A kiosk that asks the server's clock as it connects (as the page does); its ack says how to start."""
    starts: list = []
    client = socketio.Client(reconnection=False)
    client.on(KIOSK_START, starts.append, namespace=KIOSK_NAMESPACE)
    client.connect(url, namespaces=[KIOSK_NAMESPACE], auth={"token": token}, transports=["websocket"], wait_timeout=5)
    starts.append(client.call(CLOCK, {}, namespace=KIOSK_NAMESPACE, timeout=10)["start"])
    return client, starts


def test_trust_catalogue_wins_and_a_broken_one_is_reported_with_the_shipped_words_kept(live_server):
    trust = live_server.data_dir / "translations"
    trust.mkdir()
    (trust / "pl.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"X-Review-Status: approved\\n"\n'
        '"X-Approved-By: Interpreting Service\\n"\n\nmsgid "Yes"\nmsgstr "Tak, proszę"\n',
        encoding="utf-8",
    )
    (trust / "so.po").write_text('msgid "Yes"\nmsgstr "Haa\n', encoding="utf-8")
    live_server.restart()

    words = kiosk_words(live_server.url)
    assert words["pl"]["yes"] == "Tak, proszę" and words["pl"]["no"] == "Nie"
    assert words["so"]["yes"] == "Haa"  # the shipped Somali, not the broken file's
    log = live_server.log_path.read_text()
    assert f"catalogue {trust / 'so.po'} was not used" in log and "the shipped words are kept" in log

    live_server.add_staff("admin", role="admin")
    admin = requests.get(live_server.url + "/admin", headers={"Cookie": staff_cookie(live_server.url, "admin")}, timeout=10).text
    assert "so.po was not used" in admin
    polish_row = re.search(r'<tr data-lang="pl">.*?</tr>', admin, re.S).group(0)
    assert "Approved (Interpreting Service)" in polish_row and "trust's own catalogue" in polish_row
    assert "Draft: not approved" in re.search(r'<tr data-lang="ur">.*?</tr>', admin, re.S).group(0)


def test_kiosk_learns_its_wards_language_and_ratings_keep_theirs(live_server):
    kiosk = live_server.add_kiosk()
    connected, told = connect_kiosk(live_server.url, kiosk["token"])
    assert told == [{"lang": "en-GB", "wording": "standard"}]

    live_server.add_staff("sister", role="sister")
    with requests.Session() as http:
        assert try_sign_in(http, live_server.url, "sister", STAFF_PASSWORD).status_code == 302
        form = http.get(live_server.url + "/ward/7B/settings", timeout=10).text
        saved = http.post(
            live_server.url + "/ward/7B/settings",
            data={"csrf_token": csrf_token_in(form), "kiosk_language": "ur", "kiosk_wording": "children", "urgent_phrases": "buzzer"},
            allow_redirects=False,
            timeout=10,
        )
        assert saved.status_code == 302, saved.text
        refused = http.post(
            live_server.url + "/ward/7B/settings",
            data={"csrf_token": csrf_token_in(form), "kiosk_language": "xx", "kiosk_wording": "standard"},
            timeout=10,
        )
        assert "Not a valid choice" in refused.text
    # A tablet that stays connected for days hears of the change at once.
    wait_until(lambda: len(told) == 2, what="the new start language on the connected tablet")
    connected.disconnect()
    assert told[1] == {"lang": "ur", "wording": "children"}

    screen = Screen(live_server.url, {}, cookie=staff_cookie(live_server.url, "sister")).connect()
    client, starts = connect_kiosk(live_server.url, kiosk["token"])
    assert starts == [{"lang": "ur", "wording": "children"}]
    ack = client.call(RATING, dict(make_rating("very_poor", comment="کھانا ٹھنڈا تھا"), lang="ur"), namespace=KIOSK_NAMESPACE)
    client.disconnect()
    assert ack["ok"], ack
    wait_until(lambda: screen.ratings, what="the rating on the ward screen")
    screen.close()
    assert screen.ratings[0]["lang"] == "ur"
    assert [r["lang"] for r in live_server.export()] == ["ur"]


def test_a_tablet_set_to_childrens_wording_starts_in_it_and_its_wards_other_tablet_does_not(live_server):
    corner, bay = live_server.add_kiosk(label="Children's corner"), live_server.add_kiosk(label="Bay 1")
    connected, told = connect_kiosk(live_server.url, corner["token"])
    assert told == [{"lang": "en-GB", "wording": "standard"}]

    set_by = live_server.cli_json("kiosk", "set", corner["kiosk_id"], "--wording", "children")  # through the running server
    assert set_by["wording"] == "children"
    wait_until(lambda: len(told) == 2, what="the corner tablet hearing its own wording")
    connected.disconnect()
    assert told[1] == {"lang": "en-GB", "wording": "children"}

    for kiosk, wording in ((corner, "children"), (bay, "standard")):
        client, starts = connect_kiosk(live_server.url, kiosk["token"])
        client.disconnect()
        assert starts == [{"lang": "en-GB", "wording": wording}], kiosk["label"]

    # With the server stopped the CLI writes the registry itself; the tablet starts in it once it is back.
    live_server.stop()
    live_server.cli("kiosk", "set", bay["kiosk_id"], "--wording", "easy")
    live_server.cli("kiosk", "set", corner["kiosk_id"], "--wording", "ward")
    live_server.start()
    for kiosk, wording in ((corner, "standard"), (bay, "easy")):
        client, starts = connect_kiosk(live_server.url, kiosk["token"])
        client.disconnect()
        assert starts == [{"lang": "en-GB", "wording": wording}], kiosk["label"]
