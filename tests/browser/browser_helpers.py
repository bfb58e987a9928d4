"""What the browser tests do on the pages: enroll a tablet, answer, sign in, read the outbox."""

from __future__ import annotations

import json
import os
import re
import urllib.request

import pytest

TABLET_LANDSCAPE = {"width": 1280, "height": 800}
TABLET_PORTRAIT = {"width": 800, "height": 1280}
PHONE = {"width": 390, "height": 844}

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


def wait_online(page, timeout: float = 10_000) -> None:
    page.wait_for_function("document.body.dataset.connection === 'online'", timeout=timeout)


def outbox(page) -> list[dict]:
    return json.loads(page.evaluate(f"localStorage.getItem({json.dumps(OUTBOX_KEY)}) || '[]'"))


def with_short_timers(page, idle_seconds: int = 1, thank_you_seconds: int = 1) -> None:
    """Rewrite the kiosk page's config as it loads, so idle and thank-you timers take a second."""

    def shorten(route):
        # Fetched here rather than with route.fetch(): Playwright's own keep-alive connection
        # to the server makes `wardpulse serve` hang on SIGINT at the end of the test.
        with urllib.request.urlopen(route.request.url, timeout=10) as response:
            html = response.read().decode()
            content_type = response.headers.get("Content-Type", "text/html")
        html = re.sub(r'("idle_seconds":\s*)\d+', rf"\g<1>{idle_seconds}", html)
        html = re.sub(r'("thank_you_seconds":\s*)\d+', rf"\g<1>{thank_you_seconds}", html)
        route.fulfill(status=200, content_type=content_type, body=html)

    page.route(re.compile(r"/kiosk/?(\?[^#]*)?$"), shorten)


def enroll(page, kiosk: dict) -> None:
    """Open the tablet's enrollment link and wait until it is connected."""
    page.goto(kiosk["enroll_url"])
    wait_online(page)


def answer(page, label: str, comment: str | None = None) -> None:
    """A patient taps an answer, then sends a comment or skips."""
    page.get_by_role("button", name=label, exact=True).click()
    if comment is None:
        page.get_by_role("button", name="Skip", exact=True).click()
    else:
        page.get_by_role("textbox").fill(comment)
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


def fetch(url: str) -> tuple[str, bytes]:
    """GET a URL outside the browser: (content type, body)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers.get("Content-Type", "application/octet-stream"), response.read()
