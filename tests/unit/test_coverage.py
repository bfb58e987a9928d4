"""Who covers which ward, and what they may do there: one table for every check the pages and sockets make."""

from __future__ import annotations

import pytest

from server.store.registry import ROLES
from server.ward.coverage import ROLE_RANK, covered, covers, home_ward, may, wards_of

SISTER_7B = {"username": "pat", "role": "sister", "wards": ["7B"]}
MATRON = {"username": "mo", "role": "matron", "wards": ["7A", "7B"]}
BANK_NURSE = {"username": "bo", "role": "staff", "wards": ["7C", "7A"]}
ADMIN = {"username": "ad", "role": "admin", "wards": ["4A"]}
OLD_ACCOUNT = {"username": "old", "role": "sister", "ward": "7B"}  # written before an account could cover several wards


def test_every_role_the_registry_knows_has_a_rank():
    assert set(ROLE_RANK) == set(ROLES)


@pytest.mark.parametrize(
    ("staff", "ward", "expected"),
    [
        (SISTER_7B, "7B", True),
        (SISTER_7B, "7b", True),
        (SISTER_7B, "7A", False),
        (MATRON, "7A", True),
        (MATRON, "7B", True),
        (MATRON, "7C", False),
        (BANK_NURSE, "7C", True),
        (BANK_NURSE, "7B", False),
        (ADMIN, "7C", True),
        (OLD_ACCOUNT, "7B", True),
        (OLD_ACCOUNT, "7A", False),
        (None, "7B", False),
        (SISTER_7B, None, False),
    ],
)
def test_covers(staff, ward, expected):
    assert covers(staff, ward) is expected


@pytest.mark.parametrize(
    ("staff", "role", "ward", "expected"),
    [
        (SISTER_7B, "sister", "7B", True),
        (SISTER_7B, "sister", "7A", False),
        (SISTER_7B, "matron", None, False),
        (MATRON, "sister", "7A", True),  # a matron acts as a sister on her wards
        (MATRON, "sister", "7C", False),  # ... and only on hers
        (MATRON, "admin", None, False),
        (BANK_NURSE, "staff", "7A", True),
        (BANK_NURSE, "sister", "7A", False),
        (ADMIN, "sister", "7C", True),
        (ADMIN, "admin", None, True),
        ({"role": "porter", "wards": ["7B"]}, "staff", "7B", False),  # an unknown role may do nothing
    ],
)
def test_may(staff, role, ward, expected):
    assert may(staff, role, ward) is expected


@pytest.mark.parametrize(
    ("staff", "wards", "home"),
    [(MATRON, ["7A", "7B"], "7A"), (BANK_NURSE, ["7C", "7A"], "7C"), (OLD_ACCOUNT, ["7B"], "7B"), ({"role": "staff"}, [], None)],
)
def test_an_accounts_wards_home_ward_first(staff, wards, home):
    assert wards_of(staff) == wards
    assert home_ward(staff) == home


def test_covered_keeps_the_order_given():
    assert covered(MATRON, ["7C", "7B", "7A"]) == ["7B", "7A"]
    assert covered(ADMIN, ["7C", "7B"]) == ["7C", "7B"]
    assert covered(None, ["7B"]) == []
