"""Real Chromium (Debian's /usr/bin/chromium, the `browser` fixture in tests/conftest.py) driven by
Playwright against a live ward server: pages, each in its own browser context."""

from __future__ import annotations

import pytest

from browser_helpers import TABLET_LANDSCAPE


class Pages:
    """Opens pages, each in its own browser context (own cookies and localStorage, like separate
    devices), records script errors, and closes everything at the end of the test."""

    def __init__(self, browser):
        self.browser = browser
        self.contexts = []
        self.errors: list[str] = []

    def new(self, viewport: dict | None = None, touch: bool = False, phone: bool = False, service_workers: str = "allow"):
        """A page in a fresh context. `phone`: a mobile browser with touch (give it the PHONE viewport).
        Service workers run as on a real tablet; pass "block" where a test stubs requests with
        Playwright routes, which cannot see requests a service worker answers."""
        context = self.browser.new_context(
            viewport=viewport or TABLET_LANDSCAPE,
            has_touch=touch or phone,
            is_mobile=phone,
            service_workers=service_workers,
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        return page

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser):
    opened = Pages(browser)
    yield opened
    opened.close()
    assert not opened.errors, "script errors on the page:\n" + "\n".join(opened.errors)


@pytest.fixture
def page(pages):
    """A single landscape page."""
    return pages.new()
