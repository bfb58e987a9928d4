"""What the browser tests do on the pages: enroll a tablet, answer, sign in, read the outbox."""

from __future__ import annotations

import io
import json
import os
import re
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from shared.protocol import KIOSK_NAMESPACE, RATING, iso_utc

TABLET_LANDSCAPE = {"width": 1280, "height": 800}
TABLET_PORTRAIT = {"width": 800, "height": 1280}
PHONE = {"width": 390, "height": 844}
PHONE_NARROW = {"width": 320, "height": 640}  # the narrowest phones still in use

# The keys of the tablet's localStorage (from the page's client_config).
TOKEN_KEY = "wardpulse.kiosk.token"
OUTBOX_KEY = "wardpulse.kiosk.outbox"


def require(module: str, why: str):
    """Import a test-only package; without it skip with the reason, except in CI, where it fails."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"{module} is not installed ({why}): pip install -e '.[test]'", allow_module_level=True)


def wait_for(page, expression: str, arg=None, timeout: float = 10_000) -> None:
    """Poll `expression` (or a function of `arg`, maybe async) in the page until it is truthy.

    Playwright's wait_for_function runs its predicate through the page's eval(), which the pages'
    Content-Security-Policy forbids; evaluate() goes through the DevTools protocol, outside CSP.
    """
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} ms waiting for {expression!r} on {page.url}")
        time.sleep(0.05)


def wait_online(page, timeout: float = 10_000) -> None:
    wait_for(page, "document.body.dataset.connection === 'online'", timeout=timeout)


def outbox(page) -> list[dict]:
    return json.loads(page.evaluate(f"localStorage.getItem({json.dumps(OUTBOX_KEY)}) || '[]'"))


def with_short_timers(page, idle_seconds: float = 1, thank_you_seconds: float = 1, pause_seconds: float = 0.2) -> None:
    """Shorten the kiosk page's timers (idle, thank-you, the rest after it) on every load of `page`.

    The page's config block is rewritten as the parser inserts it, before kiosk.js reads it: this
    works the same whether the page comes from the server or from the service worker's copy (which
    Playwright's request routing cannot see).
    """
    timers = {"idle_seconds": idle_seconds, "thank_you_seconds": thank_you_seconds, "pause_seconds": pause_seconds}
    page.add_init_script(
        """(timers => {
          const patch = () => {
            const el = document.getElementById("wardpulse-config");
            if (!el || el.dataset.testTimers) return !!el;
            let config;
            try { config = JSON.parse(el.textContent); } catch (err) { return false; }  // not all parsed yet
            el.textContent = JSON.stringify(Object.assign(config, timers));
            el.dataset.testTimers = "1";
            return true;
          };
          const observer = new MutationObserver(() => { if (patch()) observer.disconnect(); });
          observer.observe(document, { childList: true, subtree: true, characterData: true });
        })(%s)"""
        % json.dumps(timers)
    )


def enroll(page, kiosk: dict) -> None:
    """Open the tablet's enrollment link and wait until it is connected."""
    page.goto(kiosk["enroll_url"])
    wait_online(page)


def answer(page, label: str, comment: str | None = None, follow_up: bool | str = False) -> None:
    """A patient taps an answer, sends a comment or skips, then answers the follow-up question:
    No (the default), Yes (True) or Yes with where they are (a string)."""
    page.get_by_role("button", name=label, exact=True).click()
    if comment is None:
        page.get_by_role("button", name="Skip", exact=True).click()
    else:
        page.get_by_role("textbox").fill(comment)
        page.get_by_role("button", name="Send", exact=True).click()
    if follow_up is False:
        page.get_by_role("button", name="No", exact=True).click()
    else:
        page.get_by_role("button", name="Yes", exact=True).click()
        if isinstance(follow_up, str):
            page.get_by_role("textbox", name="Where are you? (bay/bed)").fill(follow_up)
        page.get_by_role("button", name="Send", exact=True).click()
    page.get_by_role("heading", name="Thank you for your feedback").wait_for()


def sign_in(page, base_url: str, username: str, password: str, ward: str) -> None:
    page.goto(f"{base_url}/ward/{ward}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(rf"/ward/{ward}"))
    wait_online(page)


def assert_no_serious_axe_violations(page, where: str) -> None:
    """Run axe-core (bundled offline by axe-playwright-python) on what the page shows now."""
    axe = require("axe_playwright_python.sync_playwright", "accessibility checks")
    results = axe.Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, f"axe on the {where}:\n" + "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}" for v in serious
    )


def axe_violations(page, where: str) -> list[str]:
    """axe-core with its full rule set: every rule switched on (experimental and AAA ones too); each
    finding of any impact (minor to critical) as a line naming the rule and where it was found."""
    axe = require("axe_playwright_python.sync_playwright", "accessibility checks")
    runner = axe.Axe()
    page.evaluate(runner.axe_script)
    rules = page.evaluate("axe.getRules().map(rule => rule.ruleId)")
    options = {"resultTypes": ["violations"], "rules": {rule: {"enabled": True} for rule in rules}}
    found = runner.run(page, options=options).response["violations"]
    return [f"  {where}: {v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}" for v in found]


def assert_no_axe_violations(page, where: str) -> None:
    """No axe finding at all on what the page shows now (see axe_violations)."""
    found = axe_violations(page, where)
    assert not found, "axe:\n" + "\n".join(found)


def fetch(url: str) -> tuple[str, bytes]:
    """GET a URL outside the browser: (content type, body)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers.get("Content-Type", "application/octet-stream"), response.read()


def decode_qr(locator) -> str:
    """Read the QR code an element shows, from a screenshot of it, as a phone camera would."""
    zxingcpp = require("zxingcpp", "QR decoding")
    image = require("PIL.Image", "QR decoding")
    shot = image.open(io.BytesIO(locator.screenshot())).convert("L")
    found = [b.text for b in zxingcpp.read_barcodes(shot) if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(found) == 1, f"expected one QR code in the screenshot, found {found}"
    return found[0]


def fill_sign_in(page, username: str, password: str) -> None:
    """Sign in on the sign-in page the browser was sent to."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def rate(client, score: str, minutes_ago: float = 0, **fields) -> dict:
    """Send one rating from a python-socketio kiosk (tests/support.kiosk_socket); wait for its ack."""
    tapped = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    rating = {"id": str(uuid.uuid4()), "score": score, "tapped_at": iso_utc(tapped), **fields}
    ack = client.call(RATING, rating, namespace=KIOSK_NAMESPACE, timeout=10)
    assert ack["ok"], ack
    return rating
