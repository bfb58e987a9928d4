"""The wire protocol between kiosks, ward screens and the ward server.

Event names, error codes and payload validation live here once; the server and the kiosk
(Python client and, through the page template, the JavaScript) both read them from this module.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from shared.fft import SCORES

PROTOCOL_VERSION = 1

KIOSK_NAMESPACE = "/kiosk"
STAFF_NAMESPACE = "/staff"
OVERVIEW_NAMESPACE = "/overview"  # a matron's overview: one row per ward the signed-in viewer covers

# Events
RATING = "rating"  # kiosk -> server (acked); server -> staff screens (live feed)
SNAPSHOT = "snapshot"  # server -> a staff screen, on every (re)connect
ALERT = "alert"  # server -> staff screens
STATUS = "status"  # server -> staff screens: storage health and similar banners
KIOSK_STATUS = "kiosk_status"  # kiosk -> server: {"waiting", "clock_offset_ms"?, "refused"?: [...]}
KIOSK_START = "kiosk_start"  # server -> kiosks when their ward's start or a tablet's own wording changes: {"lang", "wording"} for each new patient
CLOCK = "clock"  # kiosk -> server (acked): {} -> {"server_time", "start": the ward's KIOSK_START}; the kiosk measures its clock against it
ACKNOWLEDGE_ALERT = "acknowledge_alert"  # staff screen -> server (acked): {"id"}
RESOLVE_ALERT = "resolve_alert"  # staff screen -> server (acked): {"id", "action", "public_note"?}
OVERVIEW = "overview"  # server -> an overview screen, on every (re)connect: {"wards": [row, ...]} in order
OVERVIEW_WARD = "overview_ward"  # server -> overview screens covering the ward, when anything on its row changed: row
PUBLISH_NOTE = "publish_note"  # staff screen -> server (acked, sister or above): {"id", "public_note"?}: a resolved alert's sentence goes to patients
# server -> kiosks {"ward", "published": [...]} and ward screens {"ward", "published", "waiting"?}: "You said, we did" changed.
# A kiosk also gets the latest in every `clock` ack, so a reconnecting tablet catches up.
YOU_SAID_WE_DID = "you_said_we_did"

MAX_COMMENT_CHARS = 1000
MAX_LOCATION_CHARS = 40
MAX_LANG_CHARS = 35
MAX_AGE = timedelta(days=7)
MAX_CLOCK_SKEW = timedelta(minutes=5)
# A kiosk clock further off than this is flagged on the admin kiosks page and in /healthz.
CLOCK_FLAG_MS = 60_000
# How a tablet says its tap time was made: from a reading of the server's clock, or its own unchecked clock.
CLOCK_SYNCED = "synced"
CLOCK_UNKNOWN = "unknown"
# Marks on a stored rating whose tap time the server had to place itself (see place_tap).
CLOCK_CORRECTED = "clock_corrected"
CLOCK_UNKNOWN_MARK = "clock_unknown"
MAX_OFFSET_MS = 10 * 365 * 24 * 3600 * 1000  # a tablet clock set ten years wrong is still a clock
# Socket layer cap: a full-length comment in 4-byte characters plus the other fields fits easily.
MAX_PAYLOAD_BYTES = 16 * 1024

# Error codes, each with a message a person can act on.
ERRORS: dict[str, str] = {
    "invalid_payload": "The rating must be a JSON object.",
    "unknown_field": "The rating has a field this server does not know.",
    "missing_field": "The rating is missing a required field.",
    "invalid_id": "The rating id must be a UUID made on the tablet, like 1b4e28ba-2fa1-41d2-883f-0016d3cca427.",
    "invalid_score": "The answer must be one of: " + ", ".join(SCORES) + ".",
    "invalid_tapped_at": "The tap time must be an ISO-8601 UTC time, like 2026-11-26T09:30:00Z.",
    "invalid_clock": "The clock fields must be: device_time an ISO-8601 UTC time, clock_offset_ms a whole number of milliseconds, clock 'synced' or 'unknown'.",
    "invalid_comment": "The comment must be plain text without control characters.",
    "comment_too_long": f"The comment is longer than {MAX_COMMENT_CHARS} characters.",
    "invalid_follow_up": "The follow-up request must be an object with an optional location.",
    "location_too_long": f"The location is longer than {MAX_LOCATION_CHARS} characters.",
    "invalid_lang": "The language must be a short language tag, like en or pa-IN.",
    "conflict": "This rating id was already used for a different answer or tap time; the first one is kept.",
    "storage_unavailable": "The ward server cannot save ratings just now; the tablet will keep it and try again.",
    "server_error": "The ward server hit an unexpected problem; the tablet will keep the rating and try again.",
    "missing_token": "This device has no token: enroll it with the QR code from the ward admin page.",
    "unknown_token": "This device token is not known here: enroll the device again.",
    "revoked_token": "This device has been revoked by an administrator: enroll it again to use it.",
    "not_signed_in": "Sign in as ward staff, or use a ward display link, to see this ward.",
    "unknown_ward": "There is no ward with that code.",
    "forbidden": "Your account cannot see this ward.",
    "rate_limited": "Thank you: this phone has already given feedback recently. Please try again later.",
    "read_only": "This screen is a read-only wall display: sign in as staff to act on alerts.",
    "alert_refused": "That cannot be done to this alert.",
    "wrong_server": "This ward is served by another WardPulse process: the tablet keeps its ratings and tries again in a moment.",
    "ward_unreachable": "The ward's server is not answering just now: this screen tries again in a moment.",
}
ALERT_REFUSED = "alert_refused"  # a staff step on an alert refused; its message says why
WRONG_SERVER = "wrong_server"  # a kiosk reached a ward process that does not own its ward: refused, it retries
WARD_QUERY = "ward"  # the connection query that names a kiosk's or screen's ward (?ward=7B), for routing


# Refusals that say "not now" rather than "never": the tablet keeps the rating and sends it again.
RETRY_LATER = frozenset({"storage_unavailable", "server_error", "wrong_server", "ward_unreachable"})


class ProtocolError(ValueError):
    """A refusal with a stable code and a plain-English message."""

    def __init__(self, code: str, detail: str | None = None):
        self.code = code
        self.message = ERRORS[code] + (f" ({detail})" if detail else "")
        super().__init__(self.message)

    def as_ack(self) -> dict:
        return {"ok": False, "error": self.code, "message": self.message}


@dataclass(slots=True)  # not frozen: a frozen dataclass is set up field by field, five times slower, on every rating
class RatingIn:
    """A validated rating: what the tablet sent, and where its tap sits on the server's clock."""

    id: str
    score: str
    tapped_at: str  # on the server's clock, normalised: UTC, millisecond precision, trailing Z
    comment: str | None = None
    lang: str | None = None
    follow_up: dict | None = field(default=None)
    sent_tapped_at: str = ""  # as the tablet sent it, normalised; differs from tapped_at only when placed here
    clock_mark: str | None = None  # CLOCK_CORRECTED or CLOCK_UNKNOWN_MARK when the server placed the tap
    device_time: str | None = None
    clock_offset_ms: int | None = None
    clock: str | None = None
    tapped: datetime | None = None  # tapped_at as a datetime (to the millisecond), for the server's own use

    def fields(self) -> dict:
        """What the tablet said: a resend must say the same to count as a duplicate."""
        return {
            "id": self.id,
            "score": self.score,
            "tapped_at": self.sent_tapped_at or self.tapped_at,
            "comment": self.comment,
            "lang": self.lang,
            "follow_up": self.follow_up,
        }

    def record(self) -> dict:
        """The fields stored for this rating: the tap on the server's clock, and how it got there."""
        stored = dict(self.fields(), tapped_at=self.tapped_at)
        clock = {"device_time": self.device_time, "clock_offset_ms": self.clock_offset_ms, "clock": self.clock}
        stored.update({k: v for k, v in clock.items() if v is not None})
        if self.clock_mark:
            stored[self.clock_mark] = True
            stored["tapped_at_sent"] = self.sent_tapped_at
        return stored


_ALLOWED = {"id", "score", "tapped_at", "comment", "lang", "follow_up", "device_time", "clock_offset_ms", "clock"}
_FIELD_NAME = re.compile(r"[A-Za-z0-9_]{1,32}")
# A rating id as `str(uuid.UUID(...))` writes it, in either case: a regex checks it in a tenth of the time.
_RATING_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_ALLOWED_CONTROLS = {"\n", "\t", "\r"}


def iso_utc(moment: datetime, timespec: str = "milliseconds") -> str:
    """Format an aware datetime as the protocol's UTC timestamp (the one UTC formatter of WardPulse)."""
    return moment.astimezone(timezone.utc).isoformat(timespec=timespec).replace("+00:00", "Z")


def parse_utc(text: object) -> datetime:
    """Parse an ISO-8601 timestamp that must carry a UTC offset of zero."""
    if not isinstance(text, str) or not 10 <= len(text) <= 40:
        raise ProtocolError("invalid_tapped_at")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ProtocolError("invalid_tapped_at") from None
    if moment.tzinfo is None or moment.utcoffset() != timedelta(0):
        raise ProtocolError("invalid_tapped_at", "it must end in Z or +00:00")
    return moment


def _clean_text(value: object, code: str, limit: int, too_long: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError(code)
    for ch in value:
        # Lone surrogates cannot be written as UTF-8; control characters have no place in a comment.
        if "\ud800" <= ch <= "\udfff" or (unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS):
            raise ProtocolError(code)
    if len(value) > limit:
        raise ProtocolError(too_long)
    value = value.strip()
    return value or None


def validate_rating(payload: object, now: datetime, connection_offset_ms: int | None = None) -> RatingIn:
    """Check a kiosk's rating payload; raise ProtocolError with the first problem found.

    `connection_offset_ms`: the server's clock minus the tablet's, measured when it connected,
    used to place a tap whose own clock fields do not give a plausible time.
    """
    if not isinstance(payload, dict):
        raise ProtocolError("invalid_payload")
    extra = set(payload) - _ALLOWED
    if extra:
        # Name the fields only when they are plain names: never echo control or markup characters.
        names = sorted(name if _FIELD_NAME.fullmatch(str(name)) else "?" for name in extra)
        raise ProtocolError("unknown_field", ", ".join(names)[:80])
    for name in ("id", "score", "tapped_at"):
        if name not in payload:
            raise ProtocolError("missing_field", name)

    rating_id = payload["id"]
    if not isinstance(rating_id, str) or not _RATING_ID.fullmatch(rating_id):
        raise ProtocolError("invalid_id")

    score = payload["score"]
    if not isinstance(score, str) or score not in SCORES:
        raise ProtocolError("invalid_score")

    tapped = parse_utc(payload["tapped_at"])
    device_time, offset_ms, clock = _clock_fields(payload)

    comment = _clean_text(payload.get("comment"), "invalid_comment", MAX_COMMENT_CHARS, "comment_too_long")

    lang = payload.get("lang")
    if lang is not None and (not isinstance(lang, str) or len(lang) > MAX_LANG_CHARS or not _LANG.fullmatch(lang)):
        raise ProtocolError("invalid_lang")

    follow_up = payload.get("follow_up")
    if follow_up is not None:
        if not isinstance(follow_up, dict) or set(follow_up) - {"location"}:
            raise ProtocolError("invalid_follow_up")
        location = _clean_text(
            follow_up.get("location"), "invalid_follow_up", MAX_LOCATION_CHARS, "location_too_long"
        )
        follow_up = {"location": location} if location else {}

    placed, mark = place_tap(tapped, now, device_time, (offset_ms, connection_offset_ms), trusted=clock != CLOCK_UNKNOWN)
    placed = placed.replace(microsecond=placed.microsecond // 1000 * 1000)  # as tapped_at says it
    tapped_at = iso_utc(placed)
    return RatingIn(
        id=rating_id.lower(),
        score=score,
        tapped_at=tapped_at,
        comment=comment,
        lang=lang,
        follow_up=follow_up,
        sent_tapped_at=tapped_at if placed == tapped else iso_utc(tapped),  # most taps stay where the tablet put them
        clock_mark=mark,
        device_time=iso_utc(device_time) if device_time else None,
        clock_offset_ms=offset_ms,
        clock=clock,
        tapped=placed,
    )


def _clock_fields(payload: dict) -> tuple[datetime | None, int | None, str | None]:
    """The optional clock fields of a rating (newer tablets send them; older ones do not)."""
    device_time = payload.get("device_time")
    if device_time is not None:
        try:
            device_time = parse_utc(device_time)
        except ProtocolError:
            raise ProtocolError("invalid_clock") from None
    offset = payload.get("clock_offset_ms")
    if offset is not None and (isinstance(offset, bool) or not isinstance(offset, int) or abs(offset) > MAX_OFFSET_MS):
        raise ProtocolError("invalid_clock")
    clock = payload.get("clock")
    if clock is not None and clock not in (CLOCK_SYNCED, CLOCK_UNKNOWN):
        raise ProtocolError("invalid_clock")
    return device_time, offset, clock


def plausible(tapped: datetime, now: datetime) -> bool:
    """A tap time a tablet could truly have: not in the future, and recent enough to be resent."""
    return now - MAX_AGE <= tapped <= now + MAX_CLOCK_SKEW


def place_tap(
    tapped: datetime, now: datetime, device_time: datetime | None = None, offsets: tuple[int | None, ...] = (), trusted: bool = True
) -> tuple[datetime, str | None]:
    """Where a tap sits on the server's clock, and the mark saying the server placed it.

    A plausible tap time from a tablet that read the server's clock stands. One that cannot be
    right is never refused: it is moved by the first known offset (the tablet's own, then the one
    measured when it connected) when that gives a plausible time (CLOCK_CORRECTED), otherwise set
    to the moment it was received (CLOCK_UNKNOWN_MARK). A tablet that says its clock is unchecked
    (`trusted` False) is moved by a known offset even when its time looks plausible, if that
    offset is more than CLOCK_FLAG_MS: a clock two hours slow still looks like a time.
    """
    raw = device_time or tapped
    if plausible(tapped, now):
        if trusted:
            return tapped, None
        for offset in offsets:
            if offset is not None and abs(offset) > CLOCK_FLAG_MS and plausible(raw + timedelta(milliseconds=offset), now):
                return min(raw + timedelta(milliseconds=offset), now), CLOCK_CORRECTED
        return tapped, None
    for offset in offsets:
        if offset is None:
            continue
        corrected = raw + timedelta(milliseconds=offset)
        if plausible(corrected, now):
            return min(corrected, now), CLOCK_CORRECTED
    return now, CLOCK_UNKNOWN_MARK


def clock_offset_ms(sent: float, received: float, server_time: datetime, device_time: datetime) -> tuple[int, int]:
    """(offset of the server's clock from this device's, round trip) in ms, from one timed request.

    `sent` and `received` are monotonic readings (seconds) around the request and `device_time` the
    device's wall clock at `sent`; the server read its clock about halfway through the round trip.
    """
    rtt = max(0.0, received - sent)
    device_at_reply = device_time + timedelta(seconds=rtt / 2)
    return round((server_time - device_at_reply).total_seconds() * 1000), round(rtt * 1000)


def handshake_offset_ms(device_time: object, now: datetime) -> int | None:
    """The server's clock minus a tablet's, from the device time it sent as it connected; None if unusable."""
    try:
        sent = parse_utc(device_time)
    except ProtocolError:
        return None
    offset = round((now - sent).total_seconds() * 1000)
    return offset if abs(offset) <= MAX_OFFSET_MS else None
