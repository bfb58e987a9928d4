"""The ward server's working state: storage plus the live picture and trend detector of every ward.

Socket handlers and views call this; it never touches Flask or Socket.IO itself.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from server.clock import now_utc
from server.store.alert_store import AlertStore
from server.store.atomic import StorageUnavailable, storage_writable
from server.store.journal import Conflict, RatingJournal, fingerprint
from server.store.registry import Registry
from server.ward import alerts as lifecycle
from server.ward.alert_desk import AlertDesk
from server.ward.keeper import BaselineKeeper
from server.ward.limits import Limiter, MisuseGuard
from server.ward.overview import ward_summary
from server.ward.picture import WARD_TIMEZONE, WardPicture, counted
from server.ward.presence import KioskPresence
from server.ward.redact import redact_rating
from server.ward.theme_list import trust_themes
from server.ward.trends import DEFAULT_P0, Baseline, TrendDetector
from shared.protocol import CLOCK_UNKNOWN_MARK, ProtocolError, iso_utc, parse_utc, validate_rating

log = logging.getLogger(__name__)

# Fields of a stored rating that staff screens never need.
_PRIVATE = {"fingerprint"}
HISTORY_DAYS = 92  # loaded at start: today's picture, 60 days of SPC, 90 days of baseline
FOLD_AFTER = timedelta(days=9)  # fold trend observations once older than any tablet may resend
FOLD_BEFORE = timedelta(days=8)
OWN_DEVICE = "own_device"  # the channel of a patient's own phone, from the bedside poster
OWN_DEVICE_PER_HOUR = 3  # per phone: one stay, one or two opinions
OWN_DEVICE_WARD_PER_HOUR = 120  # per ward, all phones together: a bound on anyone scripting the poster link
# The rest of a tap already stored (a second version with more words): its own record, derived id.
AMENDMENT_IDS = uuid.UUID("6f0c1f4e-6a57-4d1e-9a55-2b7c0e7d3a11")


def judged_for_misuse(rating: dict) -> bool:
    """Misuse is judged by tap time, so only taps whose time the tablet knew (and tablets, not phones)."""
    return rating["channel"] != OWN_DEVICE and not rating.get(CLOCK_UNKNOWN_MARK) and not rating.get("amends")


def tap_order(rating: dict) -> tuple[str, str]:
    return rating["tapped_at"], rating["id"]


class WardService(AlertDesk):
    """Receives ratings, keeps them durable, keeps each ward's picture current and raises alerts."""

    def __init__(
        self,
        data_dir: Path,
        timezone: str = WARD_TIMEZONE,
        offload: Callable | None = None,
        follow_up_link: Callable[[str], str] = lambda token: f"/f/{token}",
        default_p0: float = DEFAULT_P0,
        default_volume: float = 30.0,
        clock: Callable[[], datetime] = now_utc,
        wards: list[str] | None = None,
    ):
        self.data_dir = Path(data_dir)
        # The wards this process owns (`serve --wards`), or None: every ward, the one server of the data dir.
        self.owned = frozenset(wards) if wards else None
        self.clock = clock  # the ward service's clock: the study drives a ward through simulated days with it
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.tz = ZoneInfo(timezone)
        self.follow_up_link = follow_up_link
        self.default_p0 = default_p0
        self.default_volume = default_volume
        self._offload = offload or (lambda fn, *args: fn(*args))
        self.registry = Registry(self.data_dir, offload, shared=self.owned is not None)
        self.journal = RatingJournal(self.data_dir, offload)
        self.alerts = AlertStore(self.data_dir, offload, owns=self.owns)
        self._lock = threading.Lock()
        # Held across read, change and save of alerts, so two staff acting at once never undo each other.
        self._alerts_lock = threading.Lock()
        self._unsaved: dict[str, dict[str, dict]] = {}  # ward -> alert id -> alert the disk refused, retried
        self._alert_changes: dict[str, int] = {}  # ward -> how many times its alerts were kept
        self._boards: dict[tuple[str, int], tuple[int, dict]] = {}  # (ward, count) -> (changes then, "You said, we did")
        self._alerts_problem: str | None = None
        self._journal_problem: str | None = None
        self._seq: dict[str, int] = {}  # per ward: screens keep the figures of the highest they have seen
        self._pictures: dict[str, WardPicture] = {}
        self._detectors: dict[str, TrendDetector] = {}
        self.baselines = BaselineKeeper(self.tz, self._pictures, self.registry.ward, default_p0, default_volume)
        self._newest_tap: dict[str, str] = {}
        self._fold_line: tuple[datetime | None, str] = (None, "")  # (the second it was worked out for, iso_utc(then - FOLD_AFTER))
        self._misuse = MisuseGuard()
        self._own_device_limit = Limiter(OWN_DEVICE_PER_HOUR, timedelta(hours=1))
        self._own_ward_limit = Limiter(OWN_DEVICE_WARD_PER_HOUR, timedelta(hours=1))
        self.presence = KioskPresence()
        self.themes, self.themes_problem = trust_themes(self.data_dir)  # what each comment is about, for the screens' filter
        self.registry_changed()

        now = self.clock()
        recent = sorted((r for r in self.journal.load_recent(now, days=HISTORY_DAYS) if self.owns(r["ward"])), key=tap_order)
        for rating in recent:
            self._take_in(rating)
        self._restore(recent, now)

    # ------------------------------------------------------------------ start-up

    def _restore(self, recent: list[dict], now: datetime) -> None:
        """Rebuild each detector from its checkpoint plus the journal, and raise any alert a crash or a
        refused write lost, from every rating loaded (a disk can stay broken for days before a restart)."""
        wards = {r["ward"] for r in recent} | {w for w in self.alerts.wards() if self.owns(w)}
        known = {w: {(a["rating_id"], a["kind"]) for a in self.alerts.alerts(w)} for w in wards}
        # A comment judged before a sister edited the phrase list was judged by the old list: do not
        # raise alerts about last month's comments because a phrase was added today.
        phrases_since = {w["code"]: w.get("settings_changed_at") or "" for w in self.registry.wards()}
        for ward in sorted(wards):
            saved = self.alerts.checkpoint(ward)
            if saved:
                self._detectors[ward] = TrendDetector.from_checkpoint(saved)
                self.baselines.restore(ward, saved)
        for rating in recent:
            ward = rating["ward"]
            lost = [
                a for a in self._judge(rating, now)
                if a["kind"] == "trend" or ((a["rating_id"], a["kind"]) not in known[ward]
                                            and (a["kind"] == "follow_up" or rating["received_at"] >= phrases_since.get(ward, "")))
            ]
            if lost:
                self._keep(ward, lost, self._checkpoint(ward))
        # p0 and h as of today, not as of the last checkpoint. Every ward, even one with no recent
        # ratings: the first estimate can take a fifth of a second of CPU, which here delays no one's
        # tap, while on a ward's first rating it would hold up every socket as they all reconnect.
        for ward in sorted(wards | {w["code"] for w in self.registry.wards() if self.owns(w["code"])}):
            if self._keep_current(ward, now, "start"):
                self._keep(ward, [], self._checkpoint(ward))

    def owns(self, ward: str) -> bool:
        """Does this process keep and write this ward (its journal, alerts and trend state)?"""
        return self.owned is None or ward in self.owned

    # ------------------------------------------------------------------ devices

    def kiosk_for_token(self, token: object) -> dict:
        """The kiosk a device token belongs to; ProtocolError if missing, unknown or revoked."""
        if not isinstance(token, str) or not token:
            raise ProtocolError("missing_token")
        kiosk = self.registry.device_by_token("kiosks", token)
        if kiosk is None:
            raise ProtocolError("unknown_token")
        if kiosk["revoked_at"]:
            raise ProtocolError("revoked_token")
        return kiosk

    def display_for_token(self, token: object) -> dict:
        if not isinstance(token, str) or not token:
            raise ProtocolError("not_signed_in")
        display = self.registry.device_by_token("displays", token)
        if display is None or display["revoked_at"]:
            raise ProtocolError("unknown_token")
        return display

    def own_device(self, ward: object, device: object) -> dict:
        """A patient's own phone, from the ward's bedside poster: it may only rate, and only a little."""
        if not isinstance(ward, str) or self.registry.ward(ward) is None:
            raise ProtocolError("unknown_ward")
        if not isinstance(device, str) or not 8 <= len(device) <= 64:
            raise ProtocolError("missing_token")
        return {"id": OWN_DEVICE, "ward": ward.upper(), "label": "Own device", "channel": OWN_DEVICE, "device": device}

    def registry_changed(self) -> None:
        """Called after an admin command so labels, revocations and phrases take effect at once."""
        kiosks = self.registry.kiosks()
        self._kiosk_labels = {k["id"]: k["label"] for k in kiosks}
        self._revoked = {k["id"] for k in kiosks if k["revoked_at"]}
        self._phrases = {
            w["code"]: tuple(w.get("urgent_phrases") or lifecycle.DEFAULT_URGENT_PHRASES) for w in self.registry.wards()
        }

    # ------------------------------------------------------------------ ratings

    def receive_rating(
        self, kiosk: dict, payload: object, now: datetime | None = None, watched: Callable[[str], bool] | None = None
    ) -> tuple[dict, dict | None, list[dict]]:
        """Validate and store a kiosk's rating.

        Returns (ack, feed item to broadcast or None, alerts raised). The ack is only ok once the
        rating is on disk. Bad input never raises: refusals are acks. `watched(ward)`, asked when the
        rating is taken in, says whether any screen could be sent the item: if not, none is built.
        """
        now = now or self.clock()
        received_at = iso_utc(now)  # the record's stamp, and any alert's
        channel = kiosk.get("channel", "kiosk")
        try:
            # Masked before anything else sees it: the fingerprint, the journal, screens, alerts, exports.
            rating = redact_rating(validate_rating(payload, now, kiosk.get("clock_offset_ms")))
            if kiosk["id"] in self._revoked:
                raise ProtocolError("revoked_token")
            if not self.owns(kiosk["ward"]):
                raise ProtocolError("wrong_server")
            flood = self._check_own_device(kiosk, now, rating.follow_up is not None) if channel == OWN_DEVICE else False
            record = dict(rating.record(), ward=kiosk["ward"], kiosk_id=kiosk["id"], channel=channel, received_at=received_at)
            if flood:
                record["flood"] = True
            # Own phones are rate-limited instead: a burst there is refused, not stored.
            record["misuse"] = judged_for_misuse(record) and self._misuse.is_misuse(kiosk["id"], rating.tapped)
            new, record = self._store(record, rating.fields())
        except ProtocolError as refusal:
            return refusal.as_ack(), None, []
        except StorageUnavailable as problem:
            self._journal_problem = str(problem)
            return ProtocolError("storage_unavailable").as_ack(), None, []
        self._journal_problem = None
        ack = {"ok": True, "id": rating.id, "duplicate": not new}
        if not new:
            return ack, None, []
        ward = record["ward"]
        with self._lock:
            self._take_in(record, rating.tapped)
            self.presence.seen(kiosk["id"], now)
            moved = self._keep_current(ward, now, "daily")
            raised = self._judge(record, now, stamp=received_at)
            checkpoint = self._checkpoint(ward) if self._fold(ward, now) or raised or moved else None
            self._seq[ward] = self._seq.get(ward, 0) + 1
            # Asked under the lock: a screen that joins after it gets a snapshot that already has this rating.
            item = self.feed_item(record, with_live=True, now=now) if watched is None or watched(ward) else None
            if item is not None:
                item["seq"] = self._seq[ward]
        if raised or checkpoint:
            with self._alerts_lock:
                durable = self._keep(ward, raised, checkpoint)
            if raised:
                ack["alert_durable"] = durable
        return ack, item, [self.alert_view(a) for a in raised]

    def _store(self, record: dict, fields: dict) -> tuple[bool, dict]:
        """Journal a rating; (new, what was stored). A second version of a stored tap is kept beside it.

        Two versions of one tap (the same id, answer and tap time, different words: a draft sent by
        another tab, then the patient's finished rating) are both kept: the later one as its own
        record whose id is derived from the first and its content, marked `amends`, so it raises its
        own alerts but the tap is counted once. A resend of either is a duplicate.
        """
        try:
            return self.journal.add(record, fields), record
        except Conflict as conflict:
            if not conflict.same_tap:
                raise
        first = record["id"]
        amendment_id = str(uuid.uuid5(AMENDMENT_IDS, f"{first}:{fingerprint(fields)}"))
        record = dict(record, id=amendment_id, amends=first, misuse=False)
        return self.journal.add(record, dict(fields, id=amendment_id)), record

    def _check_own_device(self, kiosk: dict, now: datetime, asks_for_someone: bool) -> bool:
        """Refuse an own-phone rating over its limits; True if it is let through during a flood.

        A patient asking for someone to come is never turned away: over the limits (someone
        scripting the poster link), it is stored marked as arriving in a flood, and alerted.
        """
        limits = [(self._own_ward_limit, kiosk["ward"]), (self._own_device_limit, kiosk["device"])]
        over = [not limiter.allowed(key, now) for limiter, key in limits]
        if any(over) and not asks_for_someone:
            raise ProtocolError("rate_limited")
        for limiter, key in limits:
            limiter.hit(key, now)
        return over[0]

    def _take_in(self, rating: dict, tapped: datetime | None = None) -> None:
        """Add a stored rating to the ward's picture, the misuse guard and its kiosk's daily tally.
        `tapped`: its tap time, if already parsed."""
        ward = rating["ward"]
        self._picture(ward).add(rating)
        self._newest_tap[ward] = max(self._newest_tap.get(ward, ""), rating["tapped_at"])
        tapped = tapped or parse_utc(rating["tapped_at"])
        if judged_for_misuse(rating):
            self._misuse.record(rating["kiosk_id"], tapped)
        self.presence.tally(rating, self._picture(ward).local_day(tapped).isoformat())

    def _judge(self, rating: dict, now: datetime, stamp: str | None = None) -> list[dict]:
        """Alerts this rating raises: a trend crossing the line, a follow-up request, an urgent comment."""
        ward, raised = rating["ward"], []
        stamp = stamp or iso_utc(now)  # when raised: `now` as the protocol writes it
        if counted(rating):
            detector = self._detector(ward, now)
            alarm = detector.observe(rating["id"], rating["tapped_at"], rating["score"])
            self.baselines.watch(ward, rating, alarm, detector)
            if alarm:
                detail = {"negatives": alarm.negatives, "counted": alarm.counted, "p0": alarm.p0, "b": alarm.b, "h": alarm.h,
                          "since": alarm.since}
                raised.append(lifecycle.new_alert("trend", ward, stamp, alarm.summary(), rating, detail))
        phrase = lifecycle.urgent_phrase(rating.get("comment"), self._phrases.get(ward, lifecycle.DEFAULT_URGENT_PHRASES))
        patient = lifecycle.patient_alert(ward, stamp, rating, phrase)
        return raised + [patient] if patient else raised

    def _fold(self, ward: str, now: datetime) -> bool:
        """About once a day, move week-old observations into the stored checkpoint."""
        detector = self._detector(ward, now)
        if not detector.window or detector.window[0][0] >= self._fold_after(now):
            return False
        return detector.fold(iso_utc(now - FOLD_BEFORE))

    def _fold_after(self, now: datetime) -> str:
        """Taps older than this are folded; worked out once a second, not for every rating (a fold is daily)."""
        second = now.replace(microsecond=0)
        if self._fold_line[0] != second:
            self._fold_line = (second, iso_utc(second - FOLD_AFTER))
        return self._fold_line[1]

    # ------------------------------------------------------------------ kiosks seen from the admin page

    def kiosk_connected(self, kiosk_id: str, sockets: int) -> None:
        self.presence.connected(kiosk_id, sockets, self.clock())

    def kiosk_report(self, kiosk_id: str, report: dict) -> None:
        """What a tablet says about itself (outbox size, clock offset, ratings it gave up on), for the admin page.

        Also taken from a revoked tablet's refused connection, so an admin sees what it still holds.
        """
        self.presence.report(kiosk_id, report, self.clock())

    def kiosk_refused(self, token: object, report: dict) -> None:
        """A revoked tablet tried to connect: keep what it says it holds, then it is refused."""
        kiosk = self.registry.device_by_token("kiosks", token) if isinstance(token, str) and token else None
        if kiosk is not None:
            self.kiosk_report(kiosk["id"], report)

    def clocks_off(self) -> int:
        """How many tablets last reported a clock more than CLOCK_FLAG_MS away from the server's."""
        return self.presence.clocks_off()

    def kiosks_overview(self, ward: str, now: datetime | None = None) -> list[dict]:
        """Each kiosk of the ward: online or not, last seen, today's ratings, possible misuse, outbox size."""
        today = self._picture(ward).local_day(now or self.clock()).isoformat()
        return self.presence.overview(self.registry.kiosks(ward), today)

    # ------------------------------------------------------------------ screens

    def feed_item(self, rating: dict, with_live: bool = False, now: datetime | None = None) -> dict:
        item = {k: v for k, v in rating.items() if k not in _PRIVATE}
        item["kiosk_label"] = self._kiosk_labels.get(rating.get("kiosk_id"), rating.get("kiosk_id"))
        item["themes"] = self.themes.themes(rating.get("comment"))
        if with_live:
            item["stats"] = self._picture(rating["ward"]).stats(now or self.clock())
            item["trend"] = self._detector(rating["ward"], now).gauge()
        return item

    def snapshot(self, ward: str, now: datetime | None = None) -> dict:
        """Everything a ward screen needs to redraw itself from nothing."""
        now = now or self.clock()
        with self._lock:
            picture = self._picture(ward)
            recent = [self.feed_item(r) for r in picture.recent()]
            stats = picture.stats(now)
            trend = self._detector(ward, now).gauge()
            seq = self._seq.get(ward, 0)
        return {
            "ward": {"code": ward, "name": (self.registry.ward(ward) or {}).get("name", ward)},
            "open_alerts": self.active_alerts(ward),
            "recent": recent,
            "stats": stats,
            "trend": trend,
            "status": self.status(),
            "seq": seq,
            "you_said_we_did": self.you_said_we_did(ward),
        }

    def overview(self, ward: str, now: datetime | None = None) -> dict:
        """One ward's row of the matrons' overview: alerts, today, this month, the trend gauge, tablets."""
        now = now or self.clock()
        with self._lock:
            picture = self._picture(ward)
            today, (month, month_counts) = picture.day_counts(now), picture.month_counts(now)
            gauge, last_rating, seq = self._detector(ward, now).gauge(), self._newest_tap.get(ward), self._seq.get(ward, 0)
        row = ward_summary(self.registry.ward(ward) or {"code": ward}, self.active_alerts(ward), today, month, month_counts,
                           gauge, last_rating, self.kiosks_overview(ward, now))
        return dict(row, seq=seq)  # numbered like the ward screen's figures: a late row never replaces a newer one

    def storage_writable(self) -> tuple[bool, str]:
        """The health probe's fsync, off the event loop like every other disk write."""
        return self._offload(storage_writable, self.data_dir)

    @property
    def storage_problem(self) -> str | None:
        """Why the disk refuses writes just now (ratings or alerts), or None."""
        return self._journal_problem or self._alerts_problem

    def status(self) -> dict:
        """Storage health for the ward screen's banner."""
        if self._journal_problem:
            return {"storage_ok": False, "message": "Ratings cannot be saved just now: the tablets are keeping them "
                    "and will send them again. Tell IT: " + self._journal_problem}
        if self._alerts_problem:
            return {"storage_ok": False, "ratings_ok": True, "message": "Alerts cannot be saved just now: they stay on "
                    "the screens and are saved as soon as the disk allows. Tell IT: " + self._alerts_problem}
        return {"storage_ok": True, "message": ""}

    def daily_negative(self, ward: str, days: int = 60, now: datetime | None = None) -> list[tuple[str, float, int]]:
        """(day, % negative, ratings) for each of the last `days` days that had ratings, for the SPC chart."""
        with self._lock:
            return self._picture(ward).daily_negative(days, now or self.clock())

    # ------------------------------------------------------------------ internals

    def _picture(self, ward: str) -> WardPicture:
        picture = self._pictures.get(ward)
        if picture is None:
            picture = self._pictures[ward] = WardPicture(ward, self.tz)
        return picture

    def _detector(self, ward: str, now: datetime | None) -> TrendDetector:
        detector = self._detectors.get(ward)
        if detector is None:
            detector = self._detectors[ward] = TrendDetector(self._fresh_baseline(ward, now or self.clock(), "first use"))
        return detector

    def _fresh_baseline(self, ward: str, now: datetime, why: str) -> Baseline:
        """p0 and h estimated now (the change, if any, in the ward's audit trail)."""
        current = self._detectors.get(ward)
        return self.baselines.estimate(ward, now, why, current and current.baseline)

    def _keep_current(self, ward: str, now: datetime, why: str) -> bool:
        """At start and on each new local day (by the ward service's clock): re-estimate p0 and h; True if moved."""
        if not self.baselines.due(ward, now):
            return False
        detector = self._detector(ward, now)
        baseline = self._fresh_baseline(ward, now, why)
        if (baseline.p0, baseline.h) == (detector.baseline.p0, detector.baseline.h):
            return False
        detector.rebase(baseline)
        return True

    def _checkpoint(self, ward: str) -> dict:
        """The detector's checkpoint with the spells set aside and the audit trail of p0 and h."""
        return dict(self._detector(ward, None).checkpoint(), **self.baselines.saved(ward))

    def trend_settings(self, ward: str) -> dict:
        """p0, h, expected false alerts per 100 days and the audit trail of their changes, for the settings page."""
        with self._lock:
            return self.baselines.view(ward, self._detector(ward, None).baseline)

    def settings_changed(self, ward: str) -> None:
        """A sister changed the ward's phrases or trend settings: use them from the next rating on."""
        self.registry_changed()
        if not self.owns(ward):  # its owner rebases the detector when it hears the registry changed
            return
        now = self.clock()
        with self._alerts_lock:
            with self._lock:
                detector = self._detector(ward, now)
                detector.rebase(self._fresh_baseline(ward, now, "settings"))
                checkpoint = self._checkpoint(ward)
            self._keep(ward, [], checkpoint)

    def close(self) -> None:
        self.journal.close()
