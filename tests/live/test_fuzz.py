"""Bad input over the real transport: every bad rating is refused with a code, only valid ones are stored.

One server for the module. Hypothesis draws ratings (valid, or valid with one thing broken) and sends them
over a real python-socketio connection; a ledger keeps what the server acked as new, and the export must
hold exactly the ledger. The HTTP sign-in form gets junk of its own and must never answer 500.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.fft import SCORES
from shared.protocol import ERRORS, KIOSK_NAMESPACE, MAX_OFFSET_MS, MAX_PAYLOAD_BYTES, RATING

from support import STAFF_PASSWORD, LiveServer, ack_body, kiosk_socket

FUZZ = settings(max_examples=250, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(FUZZ, max_examples=60)
LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")  # a short BCP 47 language tag, as ratings carry in `lang`
KEPT_CONTROLS = "\n\t\r"

# ----------------------------------------------------------------------------- the live server and a kiosk


class Kiosk:
    """One kiosk connection that sends a payload, waits for the ack, and reconnects if the server dropped it."""

    def __init__(self, server: LiveServer):
        self.server = server
        self.token = server.add_kiosk()["token"]
        self.client = kiosk_socket(server.url, self.token)

    def reconnect_if_dropped(self) -> None:
        if not self.client.connected:
            self.let_go()
            self.client = kiosk_socket(self.server.url, self.token)

    def let_go(self) -> None:
        """Disconnect; python-engineio never closes its websocket when the server hangs up, so close that too."""
        if self.client.connected:
            self.client.disconnect()
        elif getattr(self.client.eio, "ws", None) is not None:
            self.client.eio.ws.shutdown()

    def send(self, payload, timeout: float = 10.0):
        """The ack (its one argument), or None if the server dropped the connection or said nothing."""
        self.reconnect_if_dropped()
        got = []
        self.client.emit(RATING, payload, namespace=KIOSK_NAMESPACE, callback=lambda *args: got.append(args))
        return self.wait_for_ack(got, timeout)

    def wait_for_ack(self, got: list, timeout: float):
        # python-socketio's call() waits out its whole timeout when the server hangs up; this stops at the hang-up.
        deadline = time.monotonic() + timeout
        while not got and self.client.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        if not got:
            return None
        return got[0][0] if len(got[0]) == 1 else got[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("fuzz") / "live").start()
    live.add_ward()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def kiosk(server):
    kiosk = Kiosk(server)
    yield kiosk
    kiosk.let_go()


@pytest.fixture(scope="module")
def ledger() -> dict[str, dict]:
    """Every rating the server acked as new in this module: id -> the rating as it must be stored."""
    return {}


def as_stored(payload: dict) -> dict:
    """What the server must keep of a valid payload: the id lower-cased, text trimmed, time to the millisecond."""
    follow_up = payload.get("follow_up")
    if follow_up is not None:
        location = (follow_up.get("location") or "").strip()
        follow_up = {"location": location} if location else {}
    tapped = datetime.fromisoformat(payload["tapped_at"]).astimezone(timezone.utc)
    return {
        "id": payload["id"].lower(),
        "score": payload["score"],
        "tapped_at": tapped.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "comment": (payload.get("comment") or "").strip() or None,
        "lang": payload.get("lang"),
        "follow_up": follow_up,
    }


def amendment_key(rating: dict) -> str:
    """The ledger's key for a second version of a stored tap (the same id, answer and tap time, other words)."""
    return f"{rating['id']} amended: {json.dumps(rating, sort_keys=True)}"


def assert_store_holds_exactly(server: LiveServer, ledger: dict[str, dict]) -> None:
    exported = server.export()
    stored = {}
    for r in exported:
        content = {k: r[k] for k in ("id", "score", "tapped_at", "comment", "lang", "follow_up")}
        if r["amends"]:  # kept beside the first version, under an id of its own
            content["id"] = r["amends"]
            stored[amendment_key(content)] = content
        else:
            stored[r["id"]] = content
    assert len(stored) == len(exported), "an id is stored twice"
    assert stored == ledger


def assert_still_serving(server: LiveServer) -> None:
    assert server.proc.poll() is None, "the server process died"
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200


def assert_refused(ack, code: str) -> None:
    """A refusal: the code expected, and a plain-English message that starts with that code's sentence."""
    assert isinstance(ack, dict) and ack.get("ok") is False, ack
    assert ack["error"] == code, ack
    assert ack["error"] in ERRORS and isinstance(ack["message"], str)
    assert ack["message"].startswith(ERRORS[code]), ack


# ----------------------------------------------------------------------------- what kiosks send

NOW = datetime.now(timezone.utc)
SAFE_AGE = timedelta(days=7) - timedelta(hours=1)  # margins: the module runs for a minute, not an hour
SAFE_SKEW = timedelta(minutes=4)
plain_chars = st.characters(exclude_categories=["Cc", "Cs"]) | st.sampled_from(KEPT_CONTROLS)
bad_chars = st.characters(categories=["Cc"], exclude_characters=KEPT_CONTROLS) | st.characters(categories=["Cs"])


def long_text(chars, low: int, high: int):
    """Text of a given length quickly: one character repeated, then a few drawn ones (astral ones included)."""
    return st.builds(lambda c, n, tail: (c * n + tail)[:n], chars, st.integers(low, high), st.text(chars, max_size=8))


def plain_text(max_size: int):
    return st.text(plain_chars, max_size=min(max_size, 60)) | long_text(plain_chars, max(0, max_size - 10), max_size)


def stamp(moment: datetime, style: int) -> str:
    """The ways a tablet may write a UTC time."""
    text = moment.isoformat(timespec=("milliseconds", "seconds", "microseconds")[style % 3])
    return text.replace("+00:00", "Z") if style < 3 else text


def fresh_stamp(offset_ms: int, style: int) -> str:
    return stamp(datetime.now(timezone.utc) + timedelta(milliseconds=offset_ms), style)


tap_times = st.builds(
    fresh_stamp,
    st.integers(-int(SAFE_AGE.total_seconds() * 1000), int(SAFE_SKEW.total_seconds() * 1000)),
    st.integers(0, 5),
)
ids = st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())
langs = st.from_regex(LANG, fullmatch=True).filter(lambda s: len(s) <= 35)
follow_ups = st.just({}) | st.builds(lambda loc: {"location": loc}, st.none() | plain_text(40))


@st.composite
def valid_ratings(draw) -> dict:
    rating = {"id": draw(ids), "score": draw(st.sampled_from(SCORES)), "tapped_at": draw(tap_times)}
    for name, values in (("comment", st.none() | plain_text(1000)), ("lang", langs), ("follow_up", follow_ups)):
        if draw(st.booleans()):
            rating[name] = draw(values)
    return rating


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


def not_str(allow_none: bool = False):
    values = json_values.filter(lambda v: not isinstance(v, str))
    return values.filter(lambda v: v is not None) if not allow_none else values


def with_bad_char(chars, limit: int):
    """Text within the length limit that holds at least one character the protocol refuses."""
    return st.builds(lambda head, bad, tail: (head + bad + tail)[:limit], st.text(plain_chars, max_size=20), chars, st.text(plain_chars, max_size=20))


def is_utc_iso(text: str) -> bool:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return False
    return moment.utcoffset() == timedelta(0)


def is_canonical_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


utc = st.just(timezone.utc)
too_old = st.datetimes(max_value=(NOW - timedelta(days=7, hours=1)).replace(tzinfo=None), timezones=utc)
# An hour ahead, not minutes: NOW is taken when the whole suite is collected, and `make test` reaches this
# module after the browser tests, more than the 5 minutes of allowed clock skew later.
in_future = st.datetimes(min_value=(NOW + timedelta(hours=1)).replace(tzinfo=None), timezones=utc)
other_zone = st.datetimes(timezones=st.sampled_from([timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]))


def breaking(name: str, values) -> st.SearchStrategy:
    """A valid rating with one field set to a drawn bad value."""
    return st.builds(lambda rating, value: dict(rating, **{name: value}), valid_ratings(), values)


def without(rating: dict, name: str) -> dict:
    return {k: v for k, v in rating.items() if k != name}


FIELDS = ("id", "score", "tapped_at", "comment", "lang", "follow_up", "device_time", "clock_offset_ms", "clock")
# (what is broken, payloads with exactly that broken, the code each must be refused with)
BREAKAGES = [
    ("not-an-object", json_values.filter(lambda v: not isinstance(v, dict)), "invalid_payload"),
    ("missing", st.builds(without, valid_ratings(), st.sampled_from(["id", "score", "tapped_at"])), "missing_field"),
    ("extra", st.builds(lambda r, k, v: dict(r, **{k: v}), valid_ratings(), st.text(max_size=30).filter(lambda k: k not in FIELDS), json_values), "unknown_field"),
    ("id", breaking("id", not_str(allow_none=True) | st.text(max_size=40).filter(lambda s: not is_canonical_uuid(s))), "invalid_id"),
    ("id-form", breaking("id", st.uuids().map(lambda u: u.hex) | st.uuids().map(lambda u: "{%s}" % u) | st.uuids().map(lambda u: u.urn)), "invalid_id"),
    ("score", breaking("score", json_values.filter(lambda v: v not in SCORES)), "invalid_score"),
    ("score-case", breaking("score", st.sampled_from(SCORES).map(str.upper) | st.sampled_from(SCORES).map(lambda s: s + " ")), "invalid_score"),
    ("tapped_at", breaking("tapped_at", not_str(allow_none=True) | st.text(max_size=45).filter(lambda s: not is_utc_iso(s))), "invalid_tapped_at"),
    ("tapped_at-zone", breaking("tapped_at", st.builds(stamp, other_zone, st.integers(3, 5))), "invalid_tapped_at"),
    ("tapped_at-naive", breaking("tapped_at", st.builds(lambda m, s: stamp(m, s)[:-6], too_old | in_future, st.integers(3, 5))), "invalid_tapped_at"),
    ("clock", breaking("clock", json_values.filter(lambda v: v is not None and v not in ("synced", "unknown"))), "invalid_clock"),
    ("clock_offset_ms", breaking("clock_offset_ms", json_values.filter(lambda v: v is not None and not (type(v) is int and abs(v) <= MAX_OFFSET_MS))), "invalid_clock"),
    ("comment", breaking("comment", not_str()), "invalid_comment"),
    ("comment-chars", breaking("comment", with_bad_char(bad_chars, 1000)), "invalid_comment"),
    ("comment-long", breaking("comment", long_text(plain_chars, 1001, 1100)), "comment_too_long"),
    ("lang", breaking("lang", not_str() | st.text(max_size=50).filter(lambda s: not (LANG.fullmatch(s) and len(s) <= 35))), "invalid_lang"),
    ("follow_up", breaking("follow_up", not_str().filter(lambda v: not isinstance(v, dict)) | st.text(max_size=10)), "invalid_follow_up"),
    ("follow_up-keys", breaking("follow_up", st.dictionaries(st.text(max_size=8).filter(lambda k: k != "location"), json_values, min_size=1, max_size=3)), "invalid_follow_up"),
    ("location", breaking("follow_up", st.builds(lambda v: {"location": v}, not_str() | with_bad_char(bad_chars, 40))), "invalid_follow_up"),
    ("location-long", breaking("follow_up", st.builds(lambda v: {"location": v}, long_text(plain_chars, 41, 200))), "location_too_long"),
]


def encoded_size(payload) -> int:
    """Roughly what the socket layer counts against its cap: the JSON of the event, ASCII-escaped."""
    return len(json.dumps(["rating", payload], default=lambda b: "x" * len(b)))


# ----------------------------------------------------------------------------- the rating event


def check_valid(kiosk: Kiosk, ledger: dict, payload: dict) -> None:
    """A valid rating is stored once: new, a duplicate of the same content, a second version of the same tap, or a conflict."""
    expected = as_stored(payload)
    ack = kiosk.send(payload)
    # A rating that raises an alert (a follow-up, an urgent phrase) also says whether the alert is on disk.
    assert ack.pop("alert_durable", True) is True, (payload, ack)
    known = ledger.get(expected["id"])
    if known is None:
        assert ack_body(ack) == {"ok": True, "id": expected["id"], "duplicate": False}, (payload, ack)
        ledger[expected["id"]] = expected
    elif known == expected:
        assert ack_body(ack) == {"ok": True, "id": expected["id"], "duplicate": True}, (payload, ack)
    elif (known["score"], known["tapped_at"]) == (expected["score"], expected["tapped_at"]):
        # The same tap with other words (a draft, then the finished rating): kept beside the first.
        key = amendment_key(expected)
        assert ack_body(ack) == {"ok": True, "id": expected["id"], "duplicate": key in ledger}, (payload, ack)
        ledger[key] = expected
    else:
        assert_refused(ack, "conflict")


def test_valid_ratings_are_stored_exactly_once_with_what_was_tapped(server, kiosk, ledger):
    @FUZZ
    @given(payload=valid_ratings())
    def send(payload):
        check_valid(kiosk, ledger, payload)

    send()
    assert len(ledger) > 40  # st.uuids() repeats itself on purpose: the rest were duplicates and conflicts
    assert_store_holds_exactly(server, ledger)
    assert_still_serving(server)


@pytest.mark.parametrize("payloads, code", [b[1:] for b in BREAKAGES], ids=[b[0] for b in BREAKAGES])
def test_a_broken_rating_is_refused_with_its_code(kiosk, payloads, code):
    @settings(FUZZ, max_examples=25)
    @given(payload=payloads)
    def send(payload):
        assert encoded_size(payload) < MAX_PAYLOAD_BYTES - 512, "keep generated payloads under the socket cap"
        assert_refused(kiosk.send(payload), code)

    send()


def test_a_replayed_id_is_a_duplicate_with_the_same_content_and_a_conflict_with_other(server, kiosk, ledger):
    if not ledger:
        check_valid(kiosk, ledger, {"id": str(uuid.uuid4()), "score": "good", "tapped_at": fresh_stamp(0, 0)})
    originals = list(ledger.values())

    @FEW
    @given(data=st.data())
    def replay(data):
        original = data.draw(st.sampled_from(originals))
        same = dict({k: v for k, v in original.items() if v is not None}, id=data.draw(st.sampled_from([original["id"], original["id"].upper()])))
        assert ack_body(kiosk.send(same)) == {"ok": True, "id": original["id"], "duplicate": True}
        other = data.draw(st.sampled_from([s for s in SCORES if s != original["score"]]))
        assert_refused(kiosk.send(dict(same, score=other)), "conflict")

    replay()
    assert_store_holds_exactly(server, ledger)
    assert_still_serving(server)


def test_the_fullest_valid_rating_fits_the_socket_cap_and_a_bigger_one_is_cut_off(server, kiosk, ledger):
    astral = "\U0001f600"  # each one travels as 12 ASCII bytes (a JSON surrogate pair)
    fullest = {"id": str(uuid.uuid4()), "score": "poor", "tapped_at": fresh_stamp(0, 0), "comment": astral * 1000,
               "lang": "abc" + "-abcdefgh" * 3 + "-abcd", "follow_up": {"location": astral * 40}}
    assert len(fullest["lang"]) == 35
    check_valid(kiosk, ledger, fullest)
    for size in (MAX_PAYLOAD_BYTES + 100, 200_000):
        oversize = {"id": str(uuid.uuid4()), "score": "good", "tapped_at": fresh_stamp(0, 0), "comment": "x" * size}
        assert kiosk.send(oversize) is None and not kiosk.client.connected, "over the cap: dropped, unanswered"
    assert_store_holds_exactly(server, ledger)
    assert_still_serving(server)
    check_valid(kiosk, ledger, {"id": str(uuid.uuid4()), "score": "good", "tapped_at": fresh_stamp(0, 0)})  # the kiosk carries on


# ----------------------------------------------------------------------------- frames no kiosk would send


def send_raw(kiosk: Kiosk, body: str, timeout: float = 1.0):
    """Send `rating` as a hand-written Socket.IO frame (`2/kiosk,<ack id>[...]`); the ack, or None if none came."""
    kiosk.reconnect_if_dropped()
    got = []
    # python-socketio keeps ack callbacks by id; registering one is the only way to hear the answer to a raw frame.
    ack_id = kiosk.client._generate_ack_id(KIOSK_NAMESPACE, lambda *args: got.append(args))
    kiosk.client.eio.send(f"2{KIOSK_NAMESPACE},{ack_id}{body}")
    return kiosk.wait_for_ack(got, timeout)


@pytest.mark.parametrize(
    "body",
    [
        '["rating",' + "[" * 5000 + "]" * 5000 + "]",  # deeper than Python's JSON decoder will go
        '["rating",{"id":' + "9" * 5000 + "}]",  # an integer too long to convert
        '["rating",{"id":"a"',  # cut short
        '["rating",{"score":NaN,"id":Infinity}]',
        '"rating"',
        "[]",
        "[42]",
        '["rating",{"_placeholder":true,"num":7}]',  # a binary attachment that never comes
    ],
    ids=["deep", "huge-int", "truncated", "nan", "not-a-list", "empty", "no-event-name", "missing-attachment"],
)
def test_malformed_frames_never_store_anything_or_stop_the_server(server, kiosk, ledger, body):
    ack = send_raw(kiosk, body)
    assert ack is None or (ack["ok"] is False and ack["error"] in ERRORS), ack
    assert_store_holds_exactly(server, ledger)
    assert_still_serving(server)


def test_a_rating_with_two_arguments_is_refused_with_a_code(server, kiosk):
    rating = {"id": str(uuid.uuid4()), "score": "good", "tapped_at": fresh_stamp(0, 0)}
    ack = kiosk.send((rating, "extra"))
    assert_refused(ack, "invalid_payload")


def test_a_refusal_message_is_plain_text_whatever_the_field_names(server, kiosk):
    rating = {"id": str(uuid.uuid4()), "score": "good", "tapped_at": fresh_stamp(0, 0), "\x00x\u202e<b>\x1b[31m": 1}
    ack = kiosk.send(rating)
    assert_refused(ack, "unknown_field")
    assert not any(ch < " " or ch in "\u202e<>" for ch in ack["message"]), ack["message"]


# ----------------------------------------------------------------------------- HTTP forms


def csrf_token(http: requests.Session, url: str) -> str:
    form = http.get(url + "/login").text
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)


any_chars = st.characters() | st.characters(categories=["Cs"])  # lone surrogates go out as invalid UTF-8
form_values = st.text(any_chars, max_size=50) | long_text(any_chars, 1000, 300_000) | st.binary(max_size=50)
form_keys = st.sampled_from(["username", "password", "csrf_token", "next", "step"]) | st.text(min_size=1, max_size=10)


@st.composite
def login_posts(draw) -> dict:
    """A POST /login: junk fields, or a raw junk body, with or without the real CSRF token."""
    if draw(st.booleans()):
        return {"data": draw(st.binary(max_size=2000)), "headers": {"Content-Type": draw(st.sampled_from(
            ["application/x-www-form-urlencoded", "multipart/form-data; boundary=xx", "application/json", "text/plain", "a/b; c"]))}}
    fields = draw(st.dictionaries(form_keys, form_values, max_size=5))
    return {"data": {k: (v.encode("utf-8", "surrogatepass") if isinstance(v, str) else v) for k, v in fields.items()},
            "with_csrf": draw(st.booleans()), "next": draw(st.none() | st.text(max_size=30))}


def test_junk_posted_to_the_sign_in_form_never_gets_a_500(server):
    http = requests.Session()
    token = csrf_token(http, server.url)

    @settings(FUZZ, max_examples=120)
    @given(post=login_posts())
    def post(post):
        data = post["data"]
        if post.get("with_csrf") and isinstance(data, dict):
            data = dict(data, csrf_token=token)
        params = {"next": post["next"]} if post.get("next") is not None else None
        response = http.post(server.url + "/login", data=data, params=params, headers=post.get("headers"),
                             allow_redirects=False, timeout=20)
        assert response.status_code < 500, response.text[:500]
        if response.status_code in (301, 302, 303):
            pytest.fail(f"junk signed someone in: {response.headers.get('Location')}")

    post()
    assert_still_serving(server)


def test_sign_in_never_redirects_off_site_whatever_next_says(tmp_path):
    server = LiveServer(tmp_path / "live").start()  # its own: the junk above uses up this address's sign-in attempts
    try:
        server.add_ward()
        server.add_staff("sister")

        @settings(FUZZ, max_examples=25)
        @given(next_url=st.text(max_size=40) | st.sampled_from(["//evil.example", "https://evil.example/", "/\\evil.example", "\\\\evil", "/ward/7B"]))
        def sign_in(next_url):
            http = requests.Session()
            data = {"csrf_token": csrf_token(http, server.url), "username": "sister", "password": STAFF_PASSWORD}
            response = http.post(server.url + "/login", params={"next": next_url}, data=data, allow_redirects=False, timeout=20)
            assert response.status_code == 302, response.text[:300]
            location = response.headers["Location"]
            assert location.startswith("/") and not location.startswith(("//", "/\\")), location

        sign_in()
    finally:
        server.stop()


def test_after_all_that_the_store_holds_exactly_the_acked_ratings_and_the_server_serves(server, ledger):
    assert_store_holds_exactly(server, ledger)
    assert_still_serving(server)
