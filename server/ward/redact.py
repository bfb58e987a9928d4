"""Identifying data kept out of what patients type: NHS numbers, phone numbers, emails, postcodes. Pure.

A comment or a bay/bed location is masked before it is stored, so the journal, the ward screens,
alerts and exports only ever hold the masked text. Each kind of identifier becomes a plain label
that tells staff something was there; the words around it stay, so urgent-phrase matching still
reads "I am scared, call [phone number removed]".

What counts (and what deliberately does not):
- NHS number: ten digits, together or spaced/hyphenated 3-3-4, that pass the modulus-11 check.
  A ten-digit number that fails the check is left alone (it is no NHS number), unless it is a
  phone number as below.
- Phone number: what libphonenumber finds with region GB, written the way it is dialled: starting
  with 0, + or (0 and at least ten digits, and possible for its length. Leniency.VALID alone would
  miss numbers in ranges its metadata does not list as in use (Ofcom's drama range 07700 900xxx
  among them): a patient's own number matters more than the library's allocation table. A bare
  ten-digit string without its 0 ("1234567890") is not read as a phone number: too many ward
  numbers look like that, and dates, times, prices and "10 out of 10" are never phone numbers.
- Email address: something@domain.tld.
- Postcode: a full UK postcode (outward and inward code, "SW1A 1AA", "m1 1ae"). An outward code
  alone ("M1") is a district, not an address. "b33 8th" is a real postcode, so "ward A1 1st floor"
  loses its "A1 1st" too: masking a word too many is the safe side.
"""

from __future__ import annotations

import re
from dataclasses import replace

from phonenumbers import Leniency, PhoneNumberMatcher, is_possible_number

from shared.protocol import RatingIn

NHS_NUMBER = "[NHS number removed]"
PHONE_NUMBER = "[phone number removed]"
EMAIL = "[email removed]"
POSTCODE = "[postcode removed]"

_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# Not part of a longer run of digits; separators as people write them, including a no-break space.
_TEN_DIGITS = re.compile(r"(?<!\d)(\d{3})[ \u00a0-]?(\d{3})[ \u00a0-]?(\d{4})(?!\d)")
_MIN_PHONE_DIGITS = 10
# The Royal Mail's pattern: letters that never appear in a position are left out, which keeps out
# look-alikes such as "B12 5mg".
_POSTCODE = re.compile(
    r"\b(?:GIR ?0AA|(?:[A-PR-UWYZ][0-9]{1,2}|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])[ \u00a0]?[0-9][ABD-HJLNP-UW-Z]{2})\b",
    re.IGNORECASE,
)


def is_nhs_number(digits: str) -> bool:
    """True if ten digits pass the NHS modulus-11 check (weights 10..2; a check digit of 10 is never issued)."""
    if len(digits) != 10 or not digits.isdecimal():
        return False
    values = [int(d) for d in digits]
    check = 11 - sum(v * w for v, w in zip(values, range(10, 1, -1))) % 11
    return check != 10 and check % 11 == values[9]


def _mask_nhs_numbers(text: str) -> str:
    return _TEN_DIGITS.sub(lambda m: NHS_NUMBER if is_nhs_number("".join(m.groups())) else m.group(0), text)


def _is_dialled(raw: str) -> bool:
    """Written as dialled: a trunk 0 or an international +, in any script's digits."""
    first = raw.lstrip("(\uff08")[:1]
    return first in ("+", "\uff0b") or (first.isdecimal() and int(first) == 0)


def _is_phone_number(match) -> bool:
    digits = sum(ch.isdecimal() for ch in match.raw_string)
    return _is_dialled(match.raw_string) and digits >= _MIN_PHONE_DIGITS and is_possible_number(match.number)


def _mask_phone_numbers(text: str) -> str:
    found = [m for m in PhoneNumberMatcher(text, "GB", leniency=Leniency.POSSIBLE) if _is_phone_number(m)]
    for match in reversed(found):  # from the end, so earlier offsets stay right
        text = text[: match.start] + PHONE_NUMBER + text[match.end :]
    return text


def redact(text: str | None) -> str | None:
    """The text with NHS numbers, UK phone numbers, emails and full postcodes replaced by plain labels."""
    if not text:
        return text
    # Emails first, so digits inside one are not half-masked; NHS numbers before phone numbers,
    # as a valid NHS number can also be dialled.
    text = _EMAIL.sub(EMAIL, text)
    text = _mask_nhs_numbers(text)
    text = _mask_phone_numbers(text)
    return _POSTCODE.sub(POSTCODE, text)


def redact_rating(rating: RatingIn) -> RatingIn:
    """The rating as it may be stored: its comment and follow-up location masked."""
    follow_up = rating.follow_up
    if not rating.comment and not (follow_up and follow_up.get("location")):
        return rating  # most taps: nothing to mask, and copying the rating cost 5-7 µs
    if follow_up and follow_up.get("location"):
        follow_up = dict(follow_up, location=redact(follow_up["location"]))
    return replace(rating, comment=redact(rating.comment), follow_up=follow_up)
