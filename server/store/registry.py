"""The ward registry: wards, kiosks, wall displays and staff accounts, small and rarely written, in TinyDB.

Its file is replaced atomically (a temp file, fsync'd and renamed over the old one): a crash leaves
either the old or the new registry, never half of one."""

from __future__ import annotations

import copy
import hashlib
import os
import re
import secrets
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from tinydb import Query, TinyDB

from server.clock import now_utc
from server.store.atomic import AtomicJSONStorage
from server.store.files import REGISTRY_FILE
from server.store.ward_locks import RegistryWriteLock
from shared.fft import COLLECTION_MODES, WORDINGS
from shared.protocol import iso_utc


class AdminError(ValueError):
    """An admin command that cannot be done as asked; the message says why."""


class AlreadyExists(AdminError):
    """An admin tried to add something whose name is taken."""


class NotFound(AdminError):
    """An admin named something that does not exist."""


WARD_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,15}")
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
ROLES = ("staff", "sister", "matron", "admin")
# NHS organisation and site codes (ODS): three to nine letters and digits, e.g. RXX or RXX01.
ODS_CODE = re.compile(r"[A-Z0-9]{3,9}")
# A main specialty as the FFT return names it: its three-digit code, a dash, its name.
SPECIALTY = re.compile(r"\d{3} - \S.*")
# The channels a trust may map onto the return's collection modes.
CHANNELS = ("kiosk", "own_device")


def token_hash(token: str) -> str:
    """Tokens are stored hashed: a copied data dir does not leak working device tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


def _stamp() -> str:
    return iso_utc(now_utc(), "seconds")


def _return_fields(site_code: str | None, site_name: str | None, specialties: list[str] | None) -> dict:
    """The codes a ward is reported under in the monthly return, checked; only those given."""
    fields = {}
    if site_code is not None:
        if site_code.strip() and not ODS_CODE.fullmatch(site_code.strip().upper()):
            raise AdminError("a site code is 3-9 letters and digits, e.g. RXX01")
        fields["site_code"] = site_code.strip().upper()
    if site_name is not None:
        fields["site_name"] = site_name.strip()
    if specialties is not None:
        specialties = [" ".join(s.split()) for s in specialties if s.strip()]
        if len(specialties) > 2 or not all(SPECIALTY.fullmatch(s) for s in specialties):
            raise AdminError('give up to two specialties, each as its code and name, e.g. "326 - ACUTE INTERNAL MEDICINE"')
        fields["specialties"] = specialties
    return fields


def _with_wards(staff: dict) -> dict:
    """A staff record as read: `wards` (home ward first) and `ward`, the home ward.

    Accounts written before an account could cover several wards hold only `ward`: read as a list of one,
    so an old registry keeps working without being rewritten."""
    wards = staff.get("wards") or [staff["ward"]]
    return dict(staff, wards=list(wards), ward=wards[0])


class Registry:
    """Wards, kiosks, wall displays and staff accounts, kept in TinyDB and mirrored in memory."""

    def __init__(self, data_dir: Path, offload: Callable | None = None, shared: bool = False):
        self._path, self._offload, self._shared = data_dir / REGISTRY_FILE, offload, shared
        self._version = None  # the file's (inode, mtime) when last read, when ward processes share it
        self.reload()
        # Shared by ward processes: each change is made under a file lock, from the file as it is now.
        self._lock = RegistryWriteLock(data_dir, self.reload) if shared else threading.Lock()
        self._index: dict = {}
        self._index_of = object()  # the registry data the index was built from

    def after_change(self, tell: Callable[[], None]) -> None:
        """Call `tell` after each change made by this process (shared registries only): the others read it again."""
        if isinstance(self._lock, RegistryWriteLock):
            self._lock.after_change = tell

    def reload(self) -> None:
        """Read the registry file again: another process changed it."""
        self._version = self._file_version()
        self._db = TinyDB(self._path, storage=AtomicJSONStorage, offload=self._offload)

    def _file_version(self) -> tuple[int, int] | None:
        try:
            found = os.stat(self._path)
        except FileNotFoundError:
            return None
        return found.st_ino, found.st_mtime_ns

    def _data(self) -> TinyDB:
        """The registry as it is on disk now: shared by ward processes, it is read again once another replaced it
        (every write is an atomic rename, so a new inode; one stat, about a microsecond)."""
        if self._shared and self._file_version() != self._version:
            self.reload()
        return self._db

    def _table(self, name: str):
        return self._data().table(name)

    # wards
    def add_ward(self, code: str, name: str, site_code: str | None = None, site_name: str | None = None,
                 specialties: list[str] | None = None) -> dict:
        code = code.strip().upper()
        if not WARD_CODE.fullmatch(code):
            raise AdminError("a ward code is 1-16 letters, digits or dashes, e.g. 7B or AMU-2")
        if not name.strip():
            raise AdminError("a ward needs a name")
        ward = {"code": code, "name": name.strip(), "created_at": _stamp(),
                **_return_fields(site_code=site_code, site_name=site_name, specialties=specialties)}
        with self._lock:
            if self._table("wards").contains(Query().code == code):
                raise AlreadyExists(f"ward {code} already exists")
            self._table("wards").insert(ward)
        return ward

    def set_ward(self, code: str, name: str | None = None, site_code: str | None = None, site_name: str | None = None,
                 specialties: list[str] | None = None) -> dict:
        """Change a ward's name or the codes it is reported under; fields left out (None) stay as they are."""
        code = self._require_ward(code)
        if name is not None and not name.strip():
            raise AdminError("a ward needs a name")
        changes = _return_fields(site_code=site_code, site_name=site_name, specialties=specialties)
        if name is not None:
            changes["name"] = name.strip()
        with self._lock:
            self._table("wards").update(changes, Query().code == code)
        return self.ward(code)

    def set_trust(self, org_code: str | None = None, name: str | None = None, modes: dict | None = None) -> dict:
        """The trust's organisation code and name for the monthly return, and how its channels are reported."""
        trust = self.trust()
        if org_code is not None:
            if not ODS_CODE.fullmatch(org_code.strip().upper()):
                raise AdminError("an organisation code is 3-9 letters and digits, e.g. RXX")
            trust["org_code"] = org_code.strip().upper()
        if name is not None:
            if not name.strip():
                raise AdminError("a trust needs a name")
            trust["name"] = name.strip()
        for channel, mode in (modes or {}).items():
            if channel not in CHANNELS or mode not in COLLECTION_MODES:
                raise AdminError(f"map a channel ({', '.join(CHANNELS)}) to a collection mode ({', '.join(COLLECTION_MODES)})")
            trust.setdefault("modes", {})[channel] = mode
        with self._lock:
            self._table("trust").truncate()
            self._table("trust").insert(trust)
        return trust

    def trust(self) -> dict:
        """The trust's codes ({} until set)."""
        found = self._table("trust").all()
        return dict(found[0]) if found else {}

    def update_ward_settings(self, code: str, urgent_phrases: list[str] | None, trend_volume: float | None, trend_p0: float | None) -> dict:
        """A ward's own urgent phrases (None = the defaults) and trend overrides (None = from its history)."""
        code = self._require_ward(code)
        if urgent_phrases is not None:
            urgent_phrases = [" ".join(p.split()).lower() for p in urgent_phrases if p.strip()]
        if trend_volume is not None and not 1 <= trend_volume <= 5000:
            raise AdminError("expected ratings a day must be between 1 and 5000")
        if trend_p0 is not None and not 0.01 <= trend_p0 <= 0.3:
            raise AdminError("the usual negative rate must be between 1 % and 30 %")
        # When the phrases last changed: start-up only re-raises comment alerts judged by today's list.
        settings = {"urgent_phrases": urgent_phrases, "trend_volume": trend_volume, "trend_p0": trend_p0,
                    "settings_changed_at": iso_utc(now_utc())}
        with self._lock:
            self._table("wards").update(settings, Query().code == code)
        return self.ward(code)

    def set_kiosk_start(self, code: str, language: str, wording: str) -> dict:
        """The language tag and wording (standard, easy, children) a ward's kiosks start each patient in."""
        code = self._require_ward(code)
        with self._lock:
            self._table("wards").update({"kiosk_language": language, "kiosk_wording": wording}, Query().code == code)
        return self.ward(code)

    def ward(self, code: str) -> dict | None:
        found = self._indexed()["wards"].get(code.upper())
        return copy.deepcopy(found) if found else None

    def wards(self) -> list[dict]:
        return [dict(w) for w in self._table("wards").all()]

    def _require_ward(self, code: str) -> str:
        ward = self.ward(code)
        if ward is None:
            raise NotFound(f"there is no ward {code.upper()}: add it with `wardpulse ward add`")
        return ward["code"]

    # kiosks and displays: devices holding a token
    def _add_device(self, table: str, prefix: str, ward: str, label: str | None) -> dict:
        ward = self._require_ward(ward)
        token = secrets.token_urlsafe(32)
        device_id = prefix + secrets.token_hex(4)
        record = {
            "id": device_id,
            "ward": ward,
            "label": label or device_id,
            "token_hash": token_hash(token),
            "created_at": _stamp(),
            "revoked_at": None,
        }
        with self._lock:
            self._table(table).insert(record)
        return {"id": device_id, "ward": ward, "label": record["label"], "token": token}

    def add_kiosk(self, ward: str, label: str | None = None) -> dict:
        return self._add_device("kiosks", "k-", ward, label)

    def add_display(self, ward: str, label: str | None = None) -> dict:
        return self._add_device("displays", "d-", ward, label)

    def kiosk_start(self, code: str, kiosk_id: str | None = None) -> dict:
        """A ward's kiosk language and wording as set, with the kiosk's own wording (`own_wording`, None: the ward's).

        Read in place: every tablet asks as it connects, and a TinyDB query would copy the whole registry
        each time (a sixth off the kill -9 soak's throughput)."""
        data = self._data().storage.current() or {}
        own = next((k.get("wording") for k in (data.get("kiosks") or {}).values() if kiosk_id and k.get("id") == kiosk_id), None)
        for ward in (data.get("wards") or {}).values():
            if ward.get("code") == code.upper():
                return {"kiosk_language": ward.get("kiosk_language"), "kiosk_wording": ward.get("kiosk_wording"), "own_wording": own}
        return {"own_wording": own}

    def set_kiosk_wording(self, kiosk_id: str, wording: str | None) -> dict:
        """A tablet's own wording (standard, easy, children), or None to follow its ward's."""
        if wording is not None and wording not in WORDINGS:
            raise AdminError(f"there is no wording {wording!r}: choose one of {', '.join(WORDINGS)}, or ward")
        with self._lock:
            table = self._table("kiosks")
            if table.get(Query().id == kiosk_id) is None:
                raise NotFound(f"there is no kiosk {kiosk_id}")
            table.update({"wording": wording}, Query().id == kiosk_id)
            kiosk = dict(table.get(Query().id == kiosk_id))
        kiosk.pop("token_hash", None)
        return kiosk

    def _indexed(self) -> dict:
        """Wards by code, kiosks by ward and devices by token, rebuilt only after a write: a TinyDB query copies
        the whole registry (staff and password hashes too), and a ward's code is looked up for every rating."""
        data = self._data().storage.current()
        if data is not self._index_of:
            tables = data or {}
            kiosks: dict[str, list[dict]] = {}
            for kiosk in (tables.get("kiosks") or {}).values():
                kiosks.setdefault(kiosk["ward"], []).append(kiosk)
            self._index = {
                "wards": {ward["code"]: ward for ward in (tables.get("wards") or {}).values()},
                "kiosks": kiosks,
                "tokens": {
                    (name, device["token_hash"]): device
                    for name in ("kiosks", "displays")
                    for device in (tables.get(name) or {}).values()
                },
            }
            self._index_of = data
        return self._index

    def device_by_token(self, table: str, token: str) -> dict | None:
        """The kiosk or display holding this token (from the index: every connect asks)."""
        found = self._indexed()["tokens"].get((table, token_hash(token)))
        return dict(found) if found else None

    def kiosks(self, ward: str | None = None) -> list[dict]:
        if ward:
            return [dict(k) for k in self._indexed()["kiosks"].get(ward.upper(), [])]
        return [dict(k) for k in self._table("kiosks").all()]

    def add_enrollment(self, kiosk_id: str, minutes: int = 10) -> dict:
        """A single-use enrollment code for a kiosk, valid for a few minutes (the QR on the admin page)."""
        code = secrets.token_urlsafe(16)
        expires = iso_utc(now_utc() + timedelta(minutes=minutes), "seconds")
        with self._lock:
            self._table("enrollments").insert({"code_hash": token_hash(code), "kiosk_id": kiosk_id, "expires_at": expires, "used_at": None})
        return {"code": code, "expires_at": expires}

    def use_enrollment(self, code: str) -> dict:
        """Spend an enrollment code: the kiosk gets a fresh device token (returned once). AdminError if spent or stale."""
        with self._lock:
            enrollments = self._table("enrollments")
            found = enrollments.get(Query().code_hash == token_hash(code))
            if found is None or found["used_at"] is not None:
                raise AdminError("This enrollment code has already been used or does not exist: make a new one.")
            if found["expires_at"] < _stamp():
                raise AdminError("This enrollment code has expired (they last 10 minutes): make a new one.")
            kiosks = self._table("kiosks")
            kiosk = kiosks.get(Query().id == found["kiosk_id"])
            if kiosk is None or kiosk["revoked_at"]:
                raise AdminError("This kiosk has been revoked: add a new one.")
            token = secrets.token_urlsafe(32)
            with self._db.storage.batch():
                enrollments.update({"used_at": _stamp()}, Query().code_hash == token_hash(code))
                kiosks.update({"token_hash": token_hash(token)}, Query().id == kiosk["id"])
        return {"id": kiosk["id"], "ward": kiosk["ward"], "label": kiosk["label"], "token": token}

    def revoke_kiosk(self, kiosk_id: str) -> dict:
        with self._lock:
            table = self._table("kiosks")
            kiosk = table.get(Query().id == kiosk_id)
            if kiosk is None:
                raise NotFound(f"there is no kiosk {kiosk_id}")
            if kiosk["revoked_at"] is None:
                table.update({"revoked_at": _stamp()}, Query().id == kiosk_id)
            return dict(table.get(Query().id == kiosk_id))

    # staff
    def add_staff(self, username: str, wards: str | list[str], role: str, password_hash: str) -> dict:
        """A staff account covering one ward or several (home ward first: a bank nurse, a matron)."""
        wards = self._require_wards(wards)
        username = username.strip().lower()
        if not USERNAME.fullmatch(username):
            raise AdminError("a username is letters, digits, dots, dashes or underscores (up to 64)")
        if role not in ROLES:
            raise AdminError(f"the role must be one of {', '.join(ROLES)}")
        with self._lock:
            table = self._table("staff")
            if table.contains(Query().username == username):
                raise AlreadyExists(f"staff member {username} already exists")
            record = {
                "username": username,
                "wards": wards,
                "role": role,
                "password_hash": password_hash,
                "created_at": _stamp(),
            }
            table.insert(record)
        return _with_wards({k: v for k, v in record.items() if k != "password_hash"})

    def _require_wards(self, wards: str | list[str]) -> list[str]:
        codes = [wards] if isinstance(wards, str) else list(wards or [])
        if not codes:
            raise AdminError("a staff account needs at least one ward")
        return list(dict.fromkeys(self._require_ward(code) for code in codes))  # each once, in the order given

    def staff(self, username: str) -> dict | None:
        found = self._table("staff").get(Query().username == username.strip().lower())
        return _with_wards(dict(found)) if found else None

    def end_sessions(self, username: str, password_hash: str | None = None) -> dict:
        """Sign a staff member out everywhere (optionally with a new password): the session
        generation their cookies carry moves on, so every older cookie is refused."""
        username = username.strip().lower()
        with self._lock:
            table = self._table("staff")
            found = table.get(Query().username == username)
            if found is None:
                raise NotFound(f"there is no staff member {username}")
            change = {"session_generation": found.get("session_generation", 0) + 1}
            if password_hash:
                change["password_hash"] = password_hash
            table.update(change, Query().username == username)
        return {"username": username, "session_generation": change["session_generation"], "password_changed": bool(password_hash)}

    def set_password(self, username: str, password_hash: str) -> dict:
        """A new password, which also ends every session signed in with the old one."""
        return self.end_sessions(username, password_hash)

    def all_staff(self) -> list[dict]:
        return [_with_wards({k: v for k, v in s.items() if k != "password_hash"}) for s in self._table("staff").all()]
