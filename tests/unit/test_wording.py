"""shared/fft.py effective_wording: a tablet's own wording wins over its ward's, table-driven."""

from __future__ import annotations

import pytest

from shared.fft import effective_wording


@pytest.mark.parametrize(
    ("ward", "kiosk", "wording"),
    [
        (None, None, "standard"),  # nothing set anywhere
        ("children", None, "children"),  # a children's ward's default
        ("standard", "children", "children"),  # the children's corner of an adult ward
        ("children", "standard", "standard"),  # an adults' tablet on a children's ward
        ("easy", "children", "children"),
        ("easy", "toddlers", "easy"),  # anything unknown is ignored, never an error
        ("bogus", ["children"], "standard"),
    ],
)
def test_a_tablets_own_wording_else_its_wards_else_standard(ward, kiosk, wording):
    assert effective_wording(ward, kiosk) == wording
