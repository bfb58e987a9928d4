"""Which wards a member of staff covers, and what they may do there. Pure: no Flask, no storage.

Every check of "may this person see or act on ward X" goes through `covers` or `may`, so a screen,
a page, the follow-up link and the overview cannot disagree. A staff account lists its wards
(`wards`); accounts made before several wards were possible hold one `ward`, read as a list of one.
"""

from __future__ import annotations

# What each role may do; a higher rank may do everything a lower one may. A matron acts as a sister
# on the wards she covers; an admin covers every ward.
ROLE_RANK = {"staff": 1, "sister": 2, "matron": 3, "admin": 4}
ALL_WARDS = "admin"


def wards_of(staff: dict) -> list[str]:
    """The ward codes an account lists, home ward first (an older account's one `ward` as a list)."""
    wards = staff.get("wards") or ([staff["ward"]] if staff.get("ward") else [])
    return [str(w).upper() for w in wards]


def home_ward(staff: dict) -> str | None:
    """The ward a screen opens on when none is named: the first the account lists."""
    wards = wards_of(staff)
    return wards[0] if wards else None


def covers(staff: dict | None, ward: str) -> bool:
    """Whether this member of staff may see ward `ward` (admins see every ward)."""
    if not staff or not isinstance(ward, str):
        return False
    return staff.get("role") == ALL_WARDS or ward.upper() in wards_of(staff)


def may(staff: dict | None, role: str, ward: str | None = None) -> bool:
    """Whether this member of staff acts as at least `role` (on `ward`, when one is named)."""
    if not staff or ROLE_RANK.get(staff.get("role"), 0) < ROLE_RANK[role]:
        return False
    return ward is None or covers(staff, ward)


def covered(staff: dict | None, codes: list[str]) -> list[str]:
    """The codes, of those given, that this member of staff covers, in the order given."""
    return [code for code in codes if covers(staff, code)]
