"""Alerts and trend-detector checkpoints, one TinyDB file per ward."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from tinydb import Query, TinyDB

from server.store.atomic import AtomicJSONStorage, StorageUnavailable
from server.store.files import ALERTS_DIR


class AlertStore:
    """Alerts and trend-detector checkpoints, one TinyDB file per ward (`alerts/<WARD>.json`).

    Written only when an alert is raised or changes, or a checkpoint moves (about daily):
    never once per rating.
    """

    def __init__(self, data_dir: Path, offload: Callable | None = None, owns: Callable[[str], bool] = lambda ward: True):
        self.root = data_dir / ALERTS_DIR
        self.root.mkdir(parents=True, exist_ok=True)
        self._offload = offload
        self._owns = owns  # a ward process keeps only its own wards' files open; the others' owners write theirs
        self._dbs: dict[str, TinyDB] = {}
        self._lock = threading.Lock()
        for path in sorted(self.root.glob("*.json")):
            if owns(path.stem):
                self._db(path.stem)

    def _db(self, ward: str) -> TinyDB:
        db = self._dbs.get(ward)
        if db is None:
            db = self._dbs[ward] = TinyDB(self.root / f"{ward}.json", storage=AtomicJSONStorage, offload=self._offload)
        return db

    def wards(self) -> list[str]:
        return sorted(self._dbs)

    def save(self, ward: str, alerts: list[dict] = (), checkpoint: dict | None = None) -> None:
        """Store alerts (new or changed) and optionally the ward's trend checkpoint, in one atomic write."""
        with self._lock:
            db = self._db(ward)
            try:
                with db.storage.batch():
                    for alert in alerts:
                        db.table("alerts").upsert(alert, Query().id == alert["id"])
                    if checkpoint is not None:
                        db.table("trend").upsert(dict(checkpoint, ward=ward), Query().ward == ward)
            except StorageUnavailable:
                for name in ("alerts", "trend"):  # the batch was rolled back: forget results read inside it
                    db.table(name).clear_cache()
                raise

    def alerts(self, ward: str) -> list[dict]:
        return [dict(a) for a in self._db(ward).table("alerts").all()] if ward in self._dbs else []

    def alert(self, ward: str, alert_id: str) -> dict | None:
        found = self._db(ward).table("alerts").get(Query().id == alert_id) if ward in self._dbs else None
        return dict(found) if found else None

    def find(self, field: str, value: str) -> dict | None:
        """The alert whose `field` (follow_up_token or short_code) has this value, on any ward."""
        with self._lock:
            for db in self._dbs.values():
                found = db.table("alerts").get(Query()[field] == value)
                if found:
                    return dict(found)
        for path in sorted(self.root.glob("*.json")):  # a ward another process owns: as its owner last saved it
            if not self._owns(path.stem):
                found = TinyDB(path, storage=AtomicJSONStorage).table("alerts").get(Query()[field] == value)
                if found:
                    return dict(found)
        return None

    def checkpoint(self, ward: str) -> dict | None:
        found = self._db(ward).table("trend").get(Query().ward == ward) if ward in self._dbs else None
        return dict(found) if found else None
