"""The ward server's working state: storage plus the live picture of every ward.

Socket handlers and views call this; it never touches Flask or Socket.IO itself.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from server.picture import WardPicture
from server.storage import RatingJournal, Registry, StorageUnavailable, now_utc
from shared.protocol import ProtocolError, iso_utc, validate_rating

# Fields of a stored rating that staff screens never need.
_PRIVATE = {"fingerprint"}


class WardServer:
    """Receives ratings, keeps them durable and keeps each ward's live picture current."""

    def __init__(self, data_dir: Path, timezone: str = "Europe/London", offload: Callable | None = None):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.tz = ZoneInfo(timezone)
        self.registry = Registry(self.data_dir)
        self.journal = RatingJournal(self.data_dir, offload)
        self._lock = threading.Lock()
        self._pictures: dict[str, WardPicture] = {}
        self.registry_changed()
        for rating in self.journal.load_recent(now_utc()):
            self._picture(rating["ward"]).add(rating)

    def _picture(self, ward: str) -> WardPicture:
        picture = self._pictures.get(ward)
        if picture is None:
            picture = self._pictures[ward] = WardPicture(ward, self.tz)
        return picture

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

    def receive_rating(self, kiosk: dict, payload: object, now: datetime | None = None) -> tuple[dict, dict | None]:
        """Validate and store a kiosk's rating. Returns (ack, feed item to broadcast or None).

        The ack is only ok once the rating is on disk. Raises nothing for bad input: refusals are acks.
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
            return refusal.as_ack(), None
        except StorageUnavailable:
            return ProtocolError("storage_unavailable").as_ack(), None
        ack = {"ok": True, "id": rating.id, "duplicate": not new}
        if not new:
            return ack, None
        with self._lock:
            picture = self._picture(record["ward"])
            picture.add(record)
            item = dict(self.feed_item(record), stats=picture.stats(now))
        return ack, item

    def feed_item(self, rating: dict) -> dict:
        item = {k: v for k, v in rating.items() if k not in _PRIVATE}
        item["kiosk_label"] = self._kiosk_labels.get(rating.get("kiosk_id"), rating.get("kiosk_id"))
        return item

    def snapshot(self, ward: str, now: datetime | None = None) -> dict:
        """Everything a ward screen needs to redraw itself from nothing."""
        now = now or now_utc()
        with self._lock:
            picture = self._picture(ward)
            recent = [self.feed_item(r) for r in picture.recent()]
            stats = picture.stats(now)
        return {
            "ward": {"code": ward, "name": (self.registry.ward(ward) or {}).get("name", ward)},
            "open_alerts": [],
            "recent": recent,
            "stats": stats,
        }

    def registry_changed(self) -> None:
        """Called after an admin command so labels and revocations take effect at once."""
        kiosks = self.registry.kiosks()
        self._kiosk_labels = {k["id"]: k["label"] for k in kiosks}
        self._revoked = {k["id"] for k in kiosks if k["revoked_at"]}

    def close(self) -> None:
        self.journal.close()
