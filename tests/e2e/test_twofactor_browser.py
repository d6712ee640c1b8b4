"""Two-factor sign-in in a real chromium against a real registry process: enrol from the
QR page, then sign in with a code from the app and with a recovery code."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import PageWatch
from tests.support.live import LiveServer

USERNAME = "grace"
PASSWORD = "compiling since 1952"


def sign_up(page: Page, base: str) -> None:
    page.goto(base + "/signup")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Email").fill(f"{USERNAME}@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(base + "/account")


def code_in(secret: str, seconds: float = 0) -> str:
    """The app's code `seconds` from now (a later step: the last one is used up)."""
    return pyotp.TOTP(secret).at(time.time() + seconds)


def enrol(page: Page, base: str) -> tuple[str, list[str]]:
    """Account page → "Set up two-factor sign-in" → QR page → confirm → the codes."""
    page.goto(base + "/account")
    expect(page.locator("#two-factor + p.status")).to_contain_text("off")
    page.get_by_role("link", name="Set up two-factor sign-in").click()
    expect(page).to_have_url(base + "/account/2fa/setup")
    expect(page.locator("figure.qr svg")).to_be_visible()  # drawn inline, no request
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    page.get_by_label("Code from the app").fill(code_in(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{5}-[a-z2-7]{5}", c) for c in codes)
    page.get_by_role("link", name="back to my account").click()
    expect(page.locator("#two-factor + p.status")).to_contain_text("on since")
    return secret, codes


def log_out(page: Page, base: str) -> None:
    page.locator("header.top").get_by_role("button", name="Log out").click()
    expect(page).to_have_url(base + "/")


def password_step(page: Page, base: str) -> None:
    """Username and password: right, so the page asks for the second factor."""
    page.goto(base + "/login")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(base + "/login/2fa")))
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    # Not signed in yet: the header still offers "Log in".
    expect(page.get_by_role("navigation").get_by_role("link", name="Log in")).to_be_visible()


def code_step(page: Page, code: str) -> None:
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.e2e
def test_enrol_totp_then_sign_in_with_a_code_and_with_a_recovery_code(
    live_server: LiveServer, page: Page
) -> None:
    base = live_server.url
    watch = PageWatch().attach(page)
    sign_up(page, base)
    secret, codes = enrol(page, base)
    log_out(page, base)

    password_step(page, base)
    code_step(page, code_in(secret, 30))  # the enrolment used this step's code
    expect(page).to_have_url(base + "/account")
    expect(page.get_by_role("heading", level=1)).to_have_text(USERNAME)
    log_out(page, base)

    password_step(page, base)
    code_step(page, codes[0])
    expect(page).to_have_url(base + "/account")
    expect(page.get_by_role("navigation").get_by_role("link", name=USERNAME)).to_be_visible()
    log_out(page, base)

    password_step(page, base)
    code_step(page, codes[0])
    expect(page.get_by_role("alert")).to_contain_text("this recovery code was already used")
    expect(page).to_have_url(base + "/login/2fa")
    page.goto(base + "/account")  # still signed out
    expect(page).to_have_url(base + "/login?next=/account")

    assert watch.dialogs == [] and watch.errors == []
    # No CSP violation: the QR code needs no script or inline style. (The refused code's
    # 401 and the favicon's 404 are console errors too, so only CSP reports count.)
    assert [e for e in watch.console_errors if "Content Security Policy" in e] == []
