"""The alerts side of the ward service: showing, finding, acknowledging and resolving alerts, and keeping them saved.

A part of `WardService` (server/ward/service.py) kept in its own file so each stays short: it uses the
service's stores, locks, clock and trend detectors, and is never used on its own.
"""

from __future__ import annotations

import logging

from server.store.atomic import StorageUnavailable
from server.ward import alerts as lifecycle
from server.ward import you_said
from shared.protocol import iso_utc

log = logging.getLogger("server.ward.service")


class AlertDesk:
    """Alerts as staff see and act on them; an alert the disk refused stays in memory until it is saved."""

    def alert_view(self, alert: dict) -> dict:
        """An alert as staff screens receive it, with the follow-up link for its QR code."""
        return dict(alert, follow_up_url=self.follow_up_link(alert["follow_up_token"]))

    def _ward_alerts(self, ward: str) -> list[dict]:
        """Every alert of the ward: the stored ones, and any the disk has not taken yet in their place."""
        alerts = {a["id"]: a for a in self.alerts.alerts(ward)}
        # Copied first: a save on another thread may change the waiting alerts meanwhile.
        alerts.update((a["id"], dict(a)) for a in list(self._unsaved.get(ward, {}).values()))
        return list(alerts.values())

    def active_alerts(self, ward: str) -> list[dict]:
        """Open and acknowledged alerts, newest first."""
        active = [a for a in self._ward_alerts(ward) if a["status"] in lifecycle.ACTIVE]
        return [self.alert_view(a) for a in sorted(active, key=lambda a: a["raised_at"], reverse=True)]

    def find_alert(self, field: str, value: str) -> dict | None:
        """The alert whose `field` (follow_up_token or short_code) has this value, on any ward."""
        for alerts in list(self._unsaved.values()):
            found = next((a for a in list(alerts.values()) if a[field] == value), None)
            if found:
                return dict(found)
        return self.alerts.find(field, value)

    def act_on_alert(self, ward: str, alert_id: object, who: str, step: str, action: object = None, public_note: object = None,
                     role: str | None = None) -> dict:
        """Acknowledge, resolve or publish the sentence of an alert of this ward; raises AlertError with a plain reason.

        `role` is the actor's: a sister's "You said, we did" sentence is published as she resolves, a
        colleague's waits for her to publish it.

        A compare-and-set: the alert is read, changed and saved under one lock, so a step that lost
        the race is judged against the winner's alert (resolved stays resolved) and refused with its name.
        """
        with self._alerts_lock:
            alert = self._unsaved.get(ward, {}).get(alert_id) if isinstance(alert_id, str) else None
            alert = alert or (self.alerts.alert(ward, alert_id) if isinstance(alert_id, str) else None)
            if alert is None:
                raise lifecycle.AlertError("There is no such alert on this ward.")
            now = self.clock()
            try:
                if step == "acknowledge":
                    changed = lifecycle.acknowledge(alert, who, iso_utc(now), self.tz)
                elif step == "publish":
                    changed = you_said.publish(alert, who, role, iso_utc(now), public_note)
                else:
                    resolved = lifecycle.resolve(alert, who, iso_utc(now), action, public_note, self.tz)
                    changed = you_said.on_resolve(resolved, who, role, iso_utc(now))
            except lifecycle.AlertError as refusal:
                refusal.alert = refusal.alert and self.alert_view(refusal.alert)
                raise
            checkpoint = None
            with self._lock:
                detector = self._detector(ward, now)
                if alert["kind"] == "trend" and alert["status"] == lifecycle.OPEN and detector.held:
                    # Ratings that arrived while the alert was held stay judged; watch afresh from h/2.
                    detector.cutoff = max(detector.cutoff, self._newest_tap.get(ward, ""))
                    detector.acknowledge(self._fresh_baseline(ward, now, "acknowledged"))
                    checkpoint = self._checkpoint(ward)
            if changed is not alert or checkpoint:
                self._keep(ward, [changed], checkpoint)
        view = self.alert_view(changed)
        if alert["kind"] == "trend":
            view["trend"] = self._detector(ward, now).gauge()  # screens redraw the gauge at once
        return view

    def you_said_we_did(self, ward: str, count: int = you_said.SHOWN) -> dict:
        """The ward's "You said, we did" sentences: the latest published, and those waiting for a sister.

        Every tablet asks at each clock reading, so the board is worked out once per change of the ward's
        alerts, not by copying all of them each time. Callers must not change what it returns.
        """
        changes = self._alert_changes.get(ward, 0)  # read first: a change while we work makes this entry stale
        kept = self._boards.get((ward, count))
        if kept is None or kept[0] != changes:
            kept = self._boards[(ward, count)] = (changes, you_said.board(self._ward_alerts(ward), count))
        return kept[1]

    def _keep(self, ward: str, alerts: list[dict], checkpoint: dict | None) -> bool:
        """Save alerts (with any the disk refused before) and the checkpoint; True once all are durable.

        Called holding the alerts lock. A refused write keeps the alerts in memory, where screens and
        staff still see and act on them, and sets the storage problem until `retry_unsaved` gets them down.
        """
        waiting = self._unsaved.setdefault(ward, {})
        waiting.update((a["id"], a) for a in alerts)
        try:
            self.alerts.save(ward, list(waiting.values()), checkpoint)
        except StorageUnavailable as problem:
            log.error("could not save %d alert(s) of ward %s: %s", len(waiting), ward, problem)
            self._alerts_problem = f"the alerts of ward {ward} cannot be saved ({problem})"
            return False
        finally:  # counted after the change, so a board worked out meanwhile is never kept as current
            self._alert_changes[ward] = self._alert_changes.get(ward, 0) + 1
        del self._unsaved[ward]
        if not self._unsaved:
            self._alerts_problem = None
        return True

    def retry_unsaved(self) -> None:
        """Try again to save every alert the disk refused (called every few seconds while any wait)."""
        with self._alerts_lock:
            for ward in list(self._unsaved):
                with self._lock:
                    checkpoint = self._checkpoint(ward)
                self._keep(ward, [], checkpoint)
