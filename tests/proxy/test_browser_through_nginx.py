"""A nurse and a tablet in real Chromium through real nginx: HTTP/2 pages over TLS on a non-default port,
websockets upgraded beside them, sign-in forms under the pages' Referrer-Policy, and no console error
or CSP violation on the way."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.proxy, pytest.mark.browser]

QUESTION = "Overall, how was your experience of our service?"


@pytest.fixture
def device(trusting_browser):
    """A fresh browser context per device; console errors and CSP violations collected."""
    contexts, problems = [], []

    def open_page():
        context = trusting_browser.new_context()
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.add_init_script(
            'document.addEventListener("securitypolicyviolation", e => console.error("CSP violation: " + e.violatedDirective));'
        )
        page.on("console", lambda message: message.type == "error" and problems.append(f"{page.url}: {message.text}"))
        page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems, "console errors or CSP violations through nginx:\n" + "\n".join(problems)


def online(page):
    return page.locator("body[data-connection='online']")


def test_sister_signs_in_and_sees_a_tablets_rating_through_nginx(nginx, ward_server, device):
    from playwright.sync_api import expect

    username, password = ward_server.add_staff(username="sister2", role="sister")
    kiosk = ward_server.add_kiosk(label="Day room")

    ward = device()
    response = ward.goto(nginx.url + "/ward/7B")  # sent to sign in first
    assert response.headers["strict-transport-security"].startswith("max-age=")
    ward.get_by_label("Username").fill(username)
    ward.get_by_label("Password").fill(password)
    ward.get_by_role("button", name="Sign in").click()  # no Referer is sent: the form must still be accepted
    expect(ward).to_have_url(re.compile(re.escape(nginx.url) + r"/ward/7B$"))
    expect(online(ward)).to_have_count(1)  # its websocket went through nginx (Origin with the port)
    assert ward.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol") == "h2"

    tablet = device()
    tablet.goto(nginx.url + "/kiosk/#enroll=" + kiosk["token"])
    expect(tablet.get_by_role("heading", name=QUESTION)).to_be_visible()
    expect(online(tablet)).to_have_count(1)
    tablet.get_by_role("button", name="Good", exact=True).click()
    tablet.get_by_role("button", name="Skip", exact=True).click()
    tablet.get_by_role("button", name="No", exact=True).click()
    expect(tablet.get_by_role("heading", name="Thank you for your feedback")).to_be_visible()
    # Over TLS the tablet keeps its offline copy (service workers need a secure origin).
    assert tablet.evaluate("navigator.serviceWorker.ready.then(registration => !!registration.active)")
    tablet.reload()
    expect(online(tablet)).to_have_count(1)
    assert tablet.evaluate("navigator.serviceWorker.controller && navigator.serviceWorker.controller.state") == "activated"

    expect(ward.locator("[data-rating-id]")).to_have_count(1, timeout=5_000)
    expect(ward.locator("[data-rating-id]")).to_contain_text("From Day room")
