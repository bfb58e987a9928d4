"""The ward server's working state: storage plus the live picture and trend detector of every ward.

Socket handlers and views call this; it never touches Flask or Socket.IO itself.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from server import alerts as lifecycle
from server.picture import WardPicture
from server.storage import AlertStore, RatingJournal, Registry, StorageUnavailable, now_utc
from server.trends import DEFAULT_P0, TrendDetector, baseline_for
from shared.protocol import ProtocolError, iso_utc, validate_rating

# Fields of a stored rating that staff screens never need.
_PRIVATE = {"fingerprint"}
HISTORY_DAYS = 92  # loaded at start: today's picture, 60 days of SPC, 90 days of baseline
BASELINE_DAYS = 90
VOLUME_DAYS = 28
FOLD_AFTER = timedelta(days=9)  # fold trend observations once older than any tablet may resend
FOLD_BEFORE = timedelta(days=8)


def tap_order(rating: dict) -> tuple[str, str]:
    return rating["tapped_at"], rating["id"]


class WardServer:
    """Receives ratings, keeps them durable, keeps each ward's picture current and raises alerts."""

    def __init__(
        self,
        data_dir: Path,
        timezone: str = "Europe/London",
        offload: Callable | None = None,
        public_url: Callable[[], str] = lambda: "",
        default_p0: float = DEFAULT_P0,
        default_volume: float = 30.0,
    ):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.tz = ZoneInfo(timezone)
        self.public_url = public_url
        self.default_p0 = default_p0
        self.default_volume = default_volume
        self.registry = Registry(self.data_dir, offload)
        self.journal = RatingJournal(self.data_dir, offload)
        self.alerts = AlertStore(self.data_dir, offload)
        self._lock = threading.Lock()
        self._pictures: dict[str, WardPicture] = {}
        self._detectors: dict[str, TrendDetector] = {}
        self._newest_tap: dict[str, str] = {}
        self.registry_changed()

        now = now_utc()
        recent = sorted(self.journal.load_recent(now, days=HISTORY_DAYS), key=tap_order)
        for rating in recent:
            self._picture(rating["ward"]).add(rating)
            self._newest_tap[rating["ward"]] = max(self._newest_tap.get(rating["ward"], ""), rating["tapped_at"])
        self._restore(recent, now)

    # ------------------------------------------------------------------ start-up

    def _restore(self, recent: list[dict], now: datetime) -> None:
        """Rebuild each detector from its checkpoint plus the journal, and raise any alert a crash lost."""
        wards = {r["ward"] for r in recent} | set(self.alerts.wards())
        known = {w: {a["rating_id"] for a in self.alerts.alerts(w)} for w in wards}
        # Only fresh ratings: an edited phrase list must not raise alerts about last month's comments.
        recover_since = iso_utc(now - timedelta(days=1))
        for ward in sorted(wards):
            saved = self.alerts.checkpoint(ward)
            self._detectors[ward] = TrendDetector.from_checkpoint(saved) if saved else TrendDetector(self._baseline(ward, now))
        for rating in recent:
            ward = rating["ward"]
            raised = self._judge(rating, now)
            lost = [
                a for a in raised
                if a["kind"] == "trend" or (a["rating_id"] not in known[ward] and rating["received_at"] >= recover_since)
            ]
            if lost:
                self.alerts.save(ward, lost, self._detectors[ward].checkpoint())

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

    def registry_changed(self) -> None:
        """Called after an admin command so labels, revocations and phrases take effect at once."""
        kiosks = self.registry.kiosks()
        self._kiosk_labels = {k["id"]: k["label"] for k in kiosks}
        self._revoked = {k["id"] for k in kiosks if k["revoked_at"]}
        self._phrases = {
            w["code"]: tuple(w.get("urgent_phrases") or lifecycle.DEFAULT_URGENT_PHRASES) for w in self.registry.wards()
        }

    # ------------------------------------------------------------------ ratings

    def receive_rating(self, kiosk: dict, payload: object, now: datetime | None = None) -> tuple[dict, dict | None, list[dict]]:
        """Validate and store a kiosk's rating.

        Returns (ack, feed item to broadcast or None, alerts raised). The ack is only ok once the
        rating is on disk. Bad input never raises: refusals are acks.
        """
        now = now or now_utc()
        try:
            rating = validate_rating(payload, now)
            if kiosk["id"] in self._revoked:
                raise ProtocolError("revoked_token")
            record = dict(
                rating.fields(),
                ward=kiosk["ward"],
                kiosk_id=kiosk["id"],
                channel="kiosk",
                received_at=iso_utc(now),
                misuse=False,
            )
            new = self.journal.add(record, rating.fields())
        except ProtocolError as refusal:
            return refusal.as_ack(), None, []
        except StorageUnavailable:
            return ProtocolError("storage_unavailable").as_ack(), None, []
        ack = {"ok": True, "id": rating.id, "duplicate": not new}
        if not new:
            return ack, None, []
        ward = record["ward"]
        with self._lock:
            self._picture(ward).add(record)
            self._newest_tap[ward] = max(self._newest_tap.get(ward, ""), record["tapped_at"])
            raised = self._judge(record, now)
            checkpoint = self._detector(ward, now).checkpoint() if raised or self._fold(ward, now) else None
            item = self.feed_item(record, with_live=True, now=now)
        if raised or checkpoint:
            try:
                self.alerts.save(ward, raised, checkpoint)
            except StorageUnavailable:
                # The rating is safe in the journal; the next start replays it and raises the alert again.
                return ack, item, []
        return ack, item, [self.alert_view(a) for a in raised]

    def _judge(self, rating: dict, now: datetime) -> list[dict]:
        """Alerts this rating raises: a trend crossing the line, a follow-up request, an urgent comment."""
        ward, raised = rating["ward"], []
        stamp = iso_utc(now)
        if not rating.get("misuse"):
            alarm = self._detector(ward, now).observe(rating["id"], rating["tapped_at"], rating["score"])
            if alarm:
                detail = {"negatives": alarm.negatives, "counted": alarm.counted, "p0": alarm.p0, "b": alarm.b, "h": alarm.h}
                raised.append(lifecycle.new_alert("trend", ward, stamp, alarm.summary(), rating, detail))
        if rating.get("follow_up") is not None:
            location = rating["follow_up"].get("location")
            raised.append(lifecycle.new_alert("follow_up", ward, stamp, lifecycle.follow_up_summary(location), rating))
        phrase = lifecycle.urgent_phrase(rating.get("comment"), self._phrases.get(ward, lifecycle.DEFAULT_URGENT_PHRASES))
        if phrase:
            raised.append(lifecycle.new_alert("comment", ward, stamp, lifecycle.comment_summary(phrase), rating, {"phrase": phrase}))
        return raised

    def _fold(self, ward: str, now: datetime) -> bool:
        """About once a day, move week-old observations into the stored checkpoint."""
        detector = self._detector(ward, now)
        if not detector.window or detector.window[0][0] >= iso_utc(now - FOLD_AFTER):
            return False
        return detector.fold(iso_utc(now - FOLD_BEFORE))

    # ------------------------------------------------------------------ alerts

    def alert_view(self, alert: dict) -> dict:
        """An alert as staff screens receive it, with the follow-up link for its QR code."""
        return dict(alert, follow_up_url=f"{self.public_url()}/f/{alert['follow_up_token']}")

    def active_alerts(self, ward: str) -> list[dict]:
        """Open and acknowledged alerts, newest first."""
        active = [a for a in self.alerts.alerts(ward) if a["status"] in lifecycle.ACTIVE]
        return [self.alert_view(a) for a in sorted(active, key=lambda a: a["raised_at"], reverse=True)]

    def act_on_alert(self, ward: str, alert_id: object, who: str, step: str, action: object = None, public_note: object = None) -> dict:
        """Acknowledge or resolve an alert of this ward; raises AlertError with a plain reason."""
        alert = self.alerts.alert(ward, alert_id) if isinstance(alert_id, str) else None
        if alert is None:
            raise lifecycle.AlertError("There is no such alert on this ward.")
        now = now_utc()
        if step == "acknowledge":
            changed = lifecycle.acknowledge(alert, who, iso_utc(now))
        else:
            changed = lifecycle.resolve(alert, who, iso_utc(now), action, public_note)
        checkpoint = None
        with self._lock:
            detector = self._detector(ward, now)
            if alert["kind"] == "trend" and alert["status"] == lifecycle.OPEN and detector.held:
                # Ratings that arrived while the alert was held stay judged; watch afresh from h/2.
                detector.cutoff = max(detector.cutoff, self._newest_tap.get(ward, ""))
                detector.acknowledge(self._baseline(ward, now))
                checkpoint = detector.checkpoint()
        self.alerts.save(ward, [changed], checkpoint)
        return self.alert_view(changed)

    # ------------------------------------------------------------------ screens

    def feed_item(self, rating: dict, with_live: bool = False, now: datetime | None = None) -> dict:
        item = {k: v for k, v in rating.items() if k not in _PRIVATE}
        item["kiosk_label"] = self._kiosk_labels.get(rating.get("kiosk_id"), rating.get("kiosk_id"))
        if with_live:
            item["stats"] = self._picture(rating["ward"]).stats(now or now_utc())
            item["trend"] = self._detector(rating["ward"], now).gauge()
        return item

    def snapshot(self, ward: str, now: datetime | None = None) -> dict:
        """Everything a ward screen needs to redraw itself from nothing."""
        now = now or now_utc()
        with self._lock:
            picture = self._picture(ward)
            recent = [self.feed_item(r) for r in picture.recent()]
            stats = picture.stats(now)
            trend = self._detector(ward, now).gauge()
        return {
            "ward": {"code": ward, "name": (self.registry.ward(ward) or {}).get("name", ward)},
            "open_alerts": self.active_alerts(ward),
            "recent": recent,
            "stats": stats,
            "trend": trend,
        }

    def daily_negative(self, ward: str, days: int = 60, now: datetime | None = None) -> list[tuple[str, float, int]]:
        """(day, % negative, ratings) for each of the last `days` days that had ratings, for the SPC chart."""
        with self._lock:
            return self._picture(ward).daily_negative(days, now or now_utc())

    # ------------------------------------------------------------------ internals

    def _picture(self, ward: str) -> WardPicture:
        picture = self._pictures.get(ward)
        if picture is None:
            picture = self._pictures[ward] = WardPicture(ward, self.tz)
        return picture

    def _detector(self, ward: str, now: datetime | None) -> TrendDetector:
        detector = self._detectors.get(ward)
        if detector is None:
            detector = self._detectors[ward] = TrendDetector(self._baseline(ward, now or now_utc()))
        return detector

    def _baseline(self, ward: str, now: datetime):
        negatives, counted, volume, days = self._picture(ward).history(now, BASELINE_DAYS, VOLUME_DAYS)
        per_day = volume / days if days >= 7 else self.default_volume
        return baseline_for(negatives, counted, per_day, self.default_p0)

    def close(self) -> None:
        self.journal.close()
