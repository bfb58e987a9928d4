"""Every patient can answer: the kiosk in their language, right to left, at 200 % text, with easy read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from browser_helpers import (
    PHONE_NARROW,
    TABLET_PORTRAIT,
    assert_no_axe_violations,
    enroll,
    outbox,
    require,
    sign_in,
    wait_for,
    with_short_timers,
)

pytestmark = pytest.mark.browser
expect = require("playwright.sync_api", "browser tests").expect

# Each language the kiosk offers besides English: its tag and its name in its own script.
LANGUAGES = {
    "pl": "Polski", "ro": "Română", "pa": "ਪੰਜਾਬੀ", "ur": "اردو", "pt": "Português", "es": "Español",
    "ar": "العربية", "bn": "বাংলা", "gu": "ગુજરાતી", "lt": "Lietuvių", "zh-Hans": "中文 (简体)", "so": "Soomaali",
}
ENGLISH_QUESTION = "Overall, how was your experience of our service?"
# Where screenshots go for a person to look at (CI keeps them with the run's output when set).
SHOTS = Path(os.environ.get("WARDPULSE_SCREENSHOTS", "var/screenshots"))


def pick(page, name: str) -> None:
    """A patient opens the language list and chooses a language by its own name."""
    page.get_by_role("button", name="Language").click()
    page.get_by_role("dialog").get_by_role("button", name=name, exact=True).click()
    expect(page.get_by_role("dialog")).to_be_hidden()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_every_language_translates_the_question_and_keeps_the_way_back(live_server, page):
    enroll(page, live_server.add_kiosk())
    english_answers = page.locator(".answer-label").all_inner_texts()
    page.get_by_role("button", name="Language").click()
    shot(page, "kiosk-language-list")
    page.keyboard.press("Escape")
    for tag, name in LANGUAGES.items():
        pick(page, name)
        expect(page.locator("html")).to_have_attribute("lang", tag)
        expect(page.locator("html")).to_have_attribute("dir", "rtl" if tag in ("ar", "ur") else "ltr")
        question = page.locator("#question-title").inner_text()
        assert question and question != ENGLISH_QUESTION, tag
        assert page.locator(".answer-label").all_inner_texts() != english_answers, tag
        # Anyone who cannot read this language can still find the way back.
        expect(page.get_by_role("button", name="Language")).to_be_visible()
    pick(page, "English")
    expect(page.locator("#question-title")).to_have_text(ENGLISH_QUESTION)


def test_urdu_patient_answers_right_to_left_and_the_ward_screen_marks_the_comment_urdu(live_server, pages):
    tablet = pages.new(viewport=TABLET_PORTRAIT)
    with_short_timers(tablet, idle_seconds=30, thank_you_seconds=1)
    enroll(tablet, live_server.add_kiosk())
    pick(tablet, "اردو")
    expect(tablet.locator("html")).to_have_attribute("dir", "rtl")
    expect(tablet.get_by_role("heading", name="مجموعی طور پر، ہماری سروس کے ساتھ آپ کا تجربہ کیسا رہا؟")).to_be_visible()
    # Mirrored: the first answer (very good) stands on the right, the patient's buttons at the left edge.
    very_good = tablet.get_by_role("button", name="بہت اچھا", exact=True).bounding_box()
    good = tablet.get_by_role("button", name="اچھا", exact=True).bounding_box()
    assert very_good["x"] > good["x"]
    assert tablet.locator("#listen-button").bounding_box()["x"] < good["x"] + 40
    shot(tablet, "kiosk-urdu-question")

    tablet.get_by_role("button", name="بہت برا", exact=True).click()
    tablet.get_by_role("textbox").fill("کھانا ٹھنڈا تھا")
    shot(tablet, "kiosk-urdu-comment")
    tablet.get_by_role("button", name="بھیجیں", exact=True).click()
    tablet.get_by_role("button", name="نہیں", exact=True).click()
    expect(tablet.get_by_role("heading", name="آپ کی رائے کا شکریہ")).to_be_visible()
    # The next patient starts in the ward's language again.
    expect(tablet.get_by_role("heading", name=ENGLISH_QUESTION)).to_be_visible()
    expect(tablet.locator("html")).to_have_attribute("dir", "ltr")
    wait_for(tablet, "document.body.dataset.waiting === '0'")

    username, password = live_server.add_staff()
    ward = pages.new()
    sign_in(ward, live_server.url, username, password, "7B")
    comment = ward.locator(".rating__comment", has_text="کھانا ٹھنڈا تھا")
    expect(comment).to_have_attribute("lang", "ur")
    expect(ward.locator(".rating", has=comment)).to_contain_text("Written in Urdu")


def test_ward_sets_the_language_each_new_patient_starts_in(live_server, pages):
    username, password = live_server.add_staff(role="sister")
    sister = pages.new()
    sign_in(sister, live_server.url, username, password, "7B")
    sister.goto(live_server.url + "/ward/7B/settings")
    expect(sister.locator("tr[data-lang=pl] .review-status")).to_contain_text("Draft")
    sister.get_by_label("Language each new patient starts in").select_option("pl")
    sister.get_by_label("Wording of the question").select_option("children")
    sister.get_by_role("button", name="Save settings").click()
    expect(sister.get_by_text("Settings saved.")).to_be_visible()

    tablet = pages.new()
    with_short_timers(tablet, idle_seconds=30, thank_you_seconds=1)
    enroll(tablet, live_server.add_kiosk())
    expect(tablet.locator("html")).to_have_attribute("lang", "pl")
    expect(tablet.get_by_role("button", name="Język · Language")).to_be_visible()
    expect(tablet.get_by_role("heading", name="Jak ci było na oddziale?")).to_be_visible()  # the children's wording
    pick(tablet, "Español")
    expect(tablet.get_by_role("heading", name="¿Qué tal tu tiempo en la planta?")).to_be_visible()
    tablet.get_by_role("button", name="Muy buena", exact=True).click()
    tablet.get_by_role("button", name="Omitir", exact=True).click()
    tablet.get_by_role("button", name="No", exact=True).click()
    expect(tablet.locator("html")).to_have_attribute("lang", "pl", timeout=10_000)
    expect(tablet.get_by_role("heading", name="Jak ci było na oddziale?")).to_be_visible()
    assert [r["lang"] for r in outbox(tablet)] in ([], ["es"])


def test_one_tablet_set_to_childrens_wording_asks_in_it_while_the_wards_other_tablet_does_not(live_server, pages):
    corner_kiosk, bay_kiosk = live_server.add_kiosk(label="Children's corner"), live_server.add_kiosk(label="Bay 1")
    corner, bay = pages.new(), pages.new()
    enroll(corner, corner_kiosk)
    enroll(bay, bay_kiosk)
    expect(corner.get_by_role("heading", name=ENGLISH_QUESTION)).to_be_visible()

    live_server.cli("kiosk", "set", corner_kiosk["kiosk_id"], "--wording", "children")
    # Told live while no patient has touched it, and kept for the next reload.
    wait_for(corner, "() => document.body.innerText.includes('How was your time on the ward?')")
    expect(corner.get_by_role("heading", name="How was your time on the ward?")).to_be_visible()
    expect(corner.get_by_role("button", name="Very bad", exact=True)).to_be_visible()  # the children's answers
    corner.reload()
    expect(corner.get_by_role("heading", name="How was your time on the ward?")).to_be_visible()
    shot(corner, "kiosk-childrens-corner")
    bay.reload()
    expect(bay.get_by_role("heading", name=ENGLISH_QUESTION)).to_be_visible()


def test_a_language_chosen_by_someone_who_walked_away_is_undone_for_the_next_patient(live_server, page):
    with_short_timers(page, idle_seconds=1)
    enroll(page, live_server.add_kiosk())
    pick(page, "Română")
    page.get_by_role("button", name="Mărimea textului").click()
    expect(page.locator("html")).to_have_attribute("lang", "en-GB", timeout=5_000)
    expect(page.locator("html")).to_have_attribute("data-text-size", "100")
    expect(page.get_by_role("heading", name=ENGLISH_QUESTION)).to_be_visible()


def no_sideways_scroll_or_clipping(page, where: str) -> None:
    """Nothing scrolls sideways, and no visible control or text is cut off inside its box."""
    problems = page.evaluate(
        """() => {
          const out = [];
          if (document.documentElement.scrollWidth > window.innerWidth) {
            out.push(`page is ${document.documentElement.scrollWidth}px wide in a ${window.innerWidth}px window`);
          }
          for (const el of document.querySelectorAll("button, h1, label, p, .answer-label, textarea, input")) {
            if (!el.getClientRects().length) continue;
            const box = el.getBoundingClientRect();
            if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth) out.push(`${el.id || el.className || el.tagName} clipped`);
            if (box.right > window.innerWidth + 1 || box.left < -1) out.push(`${el.id || el.className || el.tagName} off screen`);
          }
          return out;
        }"""
    )
    assert not problems, f"{where}: {problems}"


@pytest.mark.parametrize("language", ["English", "Polski", "اردو"])
def test_text_size_steps_to_200_percent_without_clipping_on_the_tablet(live_server, pages, language):
    tablet = pages.new(viewport=TABLET_PORTRAIT)
    enroll(tablet, live_server.add_kiosk())
    pick(tablet, language)
    size = tablet.get_by_role("button", name="Text size" if language == "English" else "%")
    for _step in range(4):
        size.click()
    expect(tablet.locator("html")).to_have_attribute("data-text-size", "200")
    no_sideways_scroll_or_clipping(tablet, f"{language} question at 200 %")
    shot(tablet, f"kiosk-200-{tablet.locator('html').get_attribute('lang')}")
    tablet.locator(".answer").nth(3).click()
    no_sideways_scroll_or_clipping(tablet, f"{language} comment at 200 %")
    tablet.locator("#skip").click()
    no_sideways_scroll_or_clipping(tablet, f"{language} follow-up at 200 %")


def test_own_phone_at_320_px_and_200_percent_does_not_scroll_sideways(live_server, pages):
    phone = pages.new(viewport=PHONE_NARROW, phone=True)
    phone.goto(live_server.url + "/w/7B")
    expect(phone.get_by_role("heading", name=ENGLISH_QUESTION)).to_be_visible()
    for _step in range(4):
        phone.get_by_role("button", name="Text size").click()
    expect(phone.locator("html")).to_have_attribute("data-text-size", "200")
    no_sideways_scroll_or_clipping(phone, "own phone at 200 %")
    shot(phone, "own-phone-320-200")


def test_easy_read_asks_before_the_optional_steps(live_server, page):
    with_short_timers(page, idle_seconds=30, thank_you_seconds=1)
    enroll(page, live_server.add_kiosk())
    page.get_by_role("button", name="Easy read").click()
    expect(page.get_by_role("button", name="Easy read")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("heading", name="Was your care good?")).to_be_visible()
    page.get_by_role("button", name="Very bad", exact=True).click()
    expect(page.get_by_role("heading", name="Do you want to tell us more?")).to_be_visible()
    page.get_by_role("button", name="No", exact=True).click()
    expect(page.get_by_role("heading", name="Thank you for your feedback")).to_be_visible()
    expect(page.get_by_role("heading", name=ENGLISH_QUESTION)).to_be_visible()  # the next patient: standard again


@pytest.mark.parametrize("language", ["English", "العربية", "Polski"])
def test_kiosk_screens_pass_axe_with_every_rule(live_server, pages, language):
    tablet = pages.new(viewport=TABLET_PORTRAIT)
    enroll(tablet, live_server.add_kiosk())
    pick(tablet, language)
    assert_no_axe_violations(tablet, f"{language} question screen")
    tablet.get_by_role("button", name="Language").click()
    assert_no_axe_violations(tablet, f"{language} language list")
    tablet.keyboard.press("Escape")
    tablet.locator("#easy-read-button").click()
    for _step in range(4):
        tablet.locator("#text-size-button").click()
    assert_no_axe_violations(tablet, f"{language} easy read question at 200 %")
    tablet.locator(".answer").nth(4).click()
    assert_no_axe_violations(tablet, f"{language} 'tell us more' at 200 %")
    tablet.locator("#more-yes").click()
    assert_no_axe_violations(tablet, f"{language} comment screen at 200 %")
    tablet.locator("#skip").click()
    assert_no_axe_violations(tablet, f"{language} follow-up screen at 200 %")
    tablet.locator("#follow-up-yes").click()
    assert_no_axe_violations(tablet, f"{language} where-are-you screen at 200 %")
    tablet.locator("#where-send").click()
    assert_no_axe_violations(tablet, f"{language} thank-you screen at 200 %")


def test_keyboard_alone_completes_a_rating_with_a_visible_focus_ring(live_server, page):
    enroll(page, live_server.add_kiosk())
    # Each screen puts focus on its question: one Tab reaches the first answer, Shift+Tab the patient's buttons.
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "listen-button"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.score") == "very_good"
    ring = page.evaluate("getComputedStyle(document.activeElement).boxShadow")
    assert ring and ring != "none", "no focus ring"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="What was good? What could we do better?")).to_be_visible()
    page.keyboard.press("Tab")  # into the comment box
    page.keyboard.type("Kind nurses")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Send
    expect(page.get_by_role("heading", name="Would you like a member of staff to come and talk to you?")).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # No
    expect(page.get_by_role("heading", name="Thank you for your feedback")).to_be_visible()
    wait_for(page, "document.body.dataset.waiting === '0'")


def test_touch_targets_are_at_least_44_px(live_server, page):
    enroll(page, live_server.add_kiosk())
    page.get_by_role("button", name="Language").click()
    small = page.evaluate(
        """() => [...document.querySelectorAll("button, a, input, textarea, select")]
              .filter(el => el.getClientRects().length)
              .map(el => [el.id || el.textContent.trim(), el.getBoundingClientRect()])
              .filter(([, box]) => box.width < 44 || box.height < 44)
              .map(([name, box]) => `${name}: ${Math.round(box.width)}x${Math.round(box.height)}`)"""
    )
    assert not small, small


def test_listen_reads_the_urdu_question_aloud_with_the_server_stopped(live_server, pages):
    from test_kiosk_offline import wait_for_offline_copy

    tablet = pages.new(viewport=TABLET_PORTRAIT)
    enroll(tablet, live_server.add_kiosk())
    wait_for_offline_copy(tablet)
    wait_for(tablet, "caches.match('/kiosk/audio/ur/question-standard').then(Boolean)")
    live_server.stop()
    wait_for(tablet, "document.body.dataset.connection === 'offline'")
    pick(tablet, "اردو")
    listen = tablet.get_by_role("button", name="Listen")
    expect(listen).to_have_attribute("data-voice", "yes")
    listen.click()
    expect(tablet.locator("body")).to_have_attribute("data-said", "question-standard", timeout=10_000)
    # Then each answer in turn, from the service worker's copy.
    expect(tablet.locator("body")).to_have_attribute("data-said", "answer-standard-very_good", timeout=15_000)


def test_press_and_hold_reads_an_answer_without_choosing_it(live_server, pages):
    tablet = pages.new(viewport=TABLET_PORTRAIT, touch=True)
    enroll(tablet, live_server.add_kiosk())
    pick(tablet, "Polski")
    very_poor = tablet.get_by_role("button", name="Bardzo źle", exact=True)
    box = very_poor.bounding_box()
    tablet.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tablet.mouse.down()
    expect(tablet.locator("body")).to_have_attribute("data-said", "answer-standard-very_poor", timeout=5_000)
    tablet.mouse.up()
    expect(tablet.locator("body")).to_have_attribute("data-screen", "question")  # heard, not chosen
    very_poor.click()  # a plain tap still chooses it
    expect(tablet.locator("body")).to_have_attribute("data-screen", "comment")


def test_somali_has_no_voice_and_says_so_on_the_button(live_server, page):
    enroll(page, live_server.add_kiosk())
    pick(page, "Soomaali")
    listen = page.get_by_role("button", name="Listen")
    expect(listen).to_have_attribute("data-voice", "none")
    expect(listen).to_have_attribute("aria-disabled", "true")
    expect(listen).to_contain_text("Luqaddan cod looma hayo")
    listen.dispatch_event("click")  # pressed anyway
    assert page.locator("body").get_attribute("data-said") is None  # nothing spoken, least of all English
