"""server/redact.py: what patients type is stored without NHS numbers, phone numbers, emails or postcodes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.ward.redact import EMAIL, NHS_NUMBER, PHONE_NUMBER, POSTCODE, is_nhs_number, redact, redact_rating
from shared.protocol import RatingIn


@pytest.mark.parametrize(
    "typed, stored",
    [
        # NHS numbers that pass the modulus-11 check, however they are written
        ("9434765919", NHS_NUMBER),
        ("943 476 5919", NHS_NUMBER),
        ("943-476-5919", NHS_NUMBER),
        ("my nhs no is 401 023 2137.", f"my nhs no is {NHS_NUMBER}."),
        ("NHS:9434765919", f"NHS:{NHS_NUMBER}"),
        ("\uff19\uff14\uff13\uff14\uff17\uff16\uff15\uff19\uff11\uff19", NHS_NUMBER),  # full-width digits
        # UK phone numbers, as dialled
        ("call 07700 900123", f"call {PHONE_NUMBER}"),
        ("07700900123", PHONE_NUMBER),
        ("07700-900-123", PHONE_NUMBER),
        ("+44 7700 900123", PHONE_NUMBER),
        ("+44 (0)20 7946 0123", PHONE_NUMBER),
        ("(0) 7700 900123", PHONE_NUMBER),
        ("ring 020 7946 0123 or 0161 496 0000", f"ring {PHONE_NUMBER} or {PHONE_NUMBER}"),
        ("my son 07911 123456 will come", f"my son {PHONE_NUMBER} will come"),
        ("\uff10\uff17\uff19\uff11\uff11 \uff11\uff12\uff13\uff14\uff15\uff16", PHONE_NUMBER),
        ("+1 650 253 0000", PHONE_NUMBER),  # a relative abroad
        # emails
        ("email jo.smith+ward@nhs.net please", f"email {EMAIL} please"),
        ("JO@EXAMPLE.CO.UK", EMAIL),
        ("9434765919@example.org", EMAIL),  # the whole address, not an NHS number inside it
        # full UK postcodes, any case, with or without the space
        ("I live at SW1A 1AA", f"I live at {POSTCODE}"),
        ("m1 1ae", POSTCODE),
        ("EC1A 1BB.", f"{POSTCODE}."),
        ("W1A0AX", POSTCODE),
        ("b33 8th", POSTCODE),
        ("ward A1 1st floor", f"ward {POSTCODE} floor"),  # looks like "b33 8th": masking a word too many is the safe side
        # mixed sentences and other scripts
        (
            "I am scared, NHS 943 476 5919, call 07700 900123 or jo@example.com, home is LS1 4AP",
            f"I am scared, NHS {NHS_NUMBER}, call {PHONE_NUMBER} or {EMAIL}, home is {POSTCODE}",
        ),
        ("Çok iyi — ara beni 07911 123456 😀", f"Çok iyi — ara beni {PHONE_NUMBER} 😀"),
        ("ਮੇਰਾ ਨੰਬਰ 07911 123456 ਹੈ", f"ਮੇਰਾ ਨੰਬਰ {PHONE_NUMBER} ਹੈ"),
    ],
)
def test_identifying_data_is_masked(typed, stored):
    assert redact(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "bed 12",
        "ward 7B",
        "bay 3 bed 4",
        "Bay 3, bed 12",
        "12/03/2026",
        "on 12/03/2026 at 14:30",
        "14:30",
        "2026-11-30",
        "2026-11-30 14:30",
        "01-12-2026",
        "from 0900 to 1700",
        "0800-0900",
        "10 out of 10",
        "9434765918",  # ten digits that fail the modulus-11 check
        "1234567890",  # fails the check; without a 0 in front it is not read as a phone number either
        "£12.50",
        "£1,200",
        "paid £1,200.00 for 2 nights",
        "waited 3 hours, 4 nurses, 999",
        "0800 1111",  # too short to be anyone's number
        "B12 5mg",  # a vitamin and a dose, not a postcode
        "M1",  # a district, not an address
        "@ward7B thank you",
        "Ça va, merci 👍",
        "",
    ],
)
def test_ward_words_numbers_dates_and_prices_stay(typed):
    assert redact(typed) == typed


def test_nothing_to_mask_stays_nothing():
    assert redact(None) is None


@pytest.mark.parametrize(
    "digits, valid",
    [("9434765919", True), ("4010232137", True), ("9434765918", False), ("1234567890", False), ("943476591", False), ("943476591x", False)],
)
def test_nhs_number_check(digits, valid):
    assert is_nhs_number(digits) is valid


# Digits, separators and postcode letters, so the examples look like the numbers people type.
NUMBERISH = st.text(alphabet=st.sampled_from(list("0123456789 +-()./:@£,ABDEGHJLMNPRSTUWXYZabdehmnt\u00a0\uff10\uff17é😀")), max_size=200)


@given(NUMBERISH | st.text(max_size=200))
def test_masking_never_fails_and_a_second_pass_changes_nothing(text):
    once = redact(text)
    assert redact(once) == once


def test_a_rating_keeps_everything_but_the_identifiers():
    rating = RatingIn(id="1b4e28ba-2fa1-41d2-883f-0016d3cca427", score="poor", tapped_at="2026-11-30T09:30:00.000Z",
                      comment="Call 07911 123456", lang="en", follow_up={"location": "Bay 3, bed 12 - jo@example.com"})
    assert redact_rating(rating) == RatingIn(
        id=rating.id, score="poor", tapped_at=rating.tapped_at, comment=f"Call {PHONE_NUMBER}", lang="en",
        follow_up={"location": f"Bay 3, bed 12 - {EMAIL}"},
    )


@pytest.mark.parametrize("follow_up", [None, {}])
def test_a_rating_without_words_is_unchanged(follow_up):
    rating = RatingIn(id="1b4e28ba-2fa1-41d2-883f-0016d3cca427", score="good", tapped_at="2026-11-30T09:30:00.000Z", follow_up=follow_up)
    assert redact_rating(rating) == rating
