"""A new user's first visit, in a real chromium against a real registry process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import PHONE_VIEWPORT, PageWatch, horizontal_overflow, publish_like_fpm
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

USERNAME = "ada"
PASSWORD = "analytical engine 1843"
NAMESPACE = "numerics"
PACKAGE = "quadpack_lite"
VERSION = "1.2.0"
LICENSE = "MIT"
TOKEN_NAME = "laptop publish"
README = """\
# Quadpack Lite

Adaptive quadrature for modern Fortran.

- integrates smooth functions
- integrates singular functions

<script>alert(1)</script>
"""


def sign_up(page: Page, base: str) -> None:
    """Home page → "Sign up" → form → the account page."""
    page.goto(base + "/")
    page.get_by_role("navigation").get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(base + "/signup")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Email").fill(f"{USERNAME}@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(base + "/account")
    expect(page.get_by_role("heading", level=1)).to_have_text(USERNAME)
    expect(page.get_by_role("navigation").get_by_role("link", name=USERNAME)).to_be_visible()


def create_namespace(page: Page, base: str) -> None:
    """Click "Create a namespace", fill the form, land on the namespace page as its admin."""
    page.get_by_role("link", name="Create a namespace").click()
    expect(page).to_have_url(base + "/namespaces/new")
    page.get_by_label("Name").fill(NAMESPACE)
    page.get_by_label("Description").fill("Numerical integration and friends")
    page.get_by_role("button", name="Create namespace").click()
    expect(page).to_have_url(f"{base}/namespace/{NAMESPACE}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Namespace {NAMESPACE}")
    member = page.locator("ul.members > li").filter(has_text=USERNAME)
    expect(member).to_have_count(1)
    expect(member.locator(".badge")).to_have_text("admin")


def create_token(page: Page, base: str) -> str:
    """A publish token made on the account page; returns the secret shown once."""
    page.goto(base + "/account")
    form = page.locator("form[action='/account/tokens']")
    form.get_by_label("Name", exact=True).fill(TOKEN_NAME)
    form.get_by_label("Namespace").select_option(NAMESPACE)
    expect(form.get_by_label("publish")).to_be_checked()
    form.get_by_role("button", name="Create token").click()
    shown = page.locator("#new-token")
    expect(shown).to_be_visible()
    token = shown.inner_text().strip()
    assert re.fullmatch(r"fpmreg_[A-Za-z0-9_-]+", token), token
    rows = page.locator("table.tokens tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(TOKEN_NAME)
    expect(rows.first).to_contain_text(f"publish on {NAMESPACE}")

    page.goto(base + "/account")  # a fresh visit: the secret is gone, the row stays
    expect(page.locator("#new-token")).to_have_count(0)
    assert token not in page.content()
    expect(page.locator("table.tokens tbody tr").filter(has_text=TOKEN_NAME)).to_have_count(1)
    return token


def find_and_open_package(page: Page, base: str) -> None:
    """The header search box → the results → the package page."""
    search = page.locator("header.top").get_by_role("searchbox", name="Search packages")
    search.fill("quadpack")
    search.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(base + "/search?q=quadpack")))
    expect(page.get_by_role("heading", level=1)).to_contain_text("1 result")
    page.get_by_role("link", name=f"{NAMESPACE}/{PACKAGE}").click()
    expect(page).to_have_url(f"{base}/project/{NAMESPACE}/{PACKAGE}")


def check_package_page(page: Page, watch: PageWatch) -> None:
    """README rendered but its raw HTML inert; version, license and fpm.toml snippet shown."""
    readme = page.locator("section.readme")
    expect(readme.locator("h1, h2").filter(has_text="Quadpack Lite")).to_have_count(1)
    expect(readme.locator("ul > li")).to_have_count(2)
    expect(readme.locator("script")).to_have_count(0)
    expect(readme.get_by_text("<script>alert(1)</script>")).to_be_visible()
    page.wait_for_load_state("load")
    assert watch.dialogs == []
    assert watch.errors == []

    expect(page.locator("article.package h1 .version")).to_have_text(VERSION)
    expect(page.locator("dt", has_text="License").locator("+ dd")).to_have_text(LICENSE)
    expect(page.locator("#snippet")).to_contain_text(
        f'{PACKAGE} = {{ namespace = "{NAMESPACE}", v = "{VERSION}" }}'
    )


def check_csrf(page: Page, base: str) -> None:
    """A signed-in form post without (or with a wrong) CSRF field is refused; nothing made."""
    forms: list[dict[str, str | float | bool]] = [
        {"name": "sneaky"},
        {"name": "sneaky", "csrf_token": "forged"},
    ]
    for form in forms:
        response = page.request.post(base + "/namespaces/new", form=form, max_redirects=0)
        assert response.status == 403, response.text()
        assert "Not allowed" in response.text()
    assert page.request.get(base + "/namespace/sneaky").status == 404
    page.goto(base + "/account")
    expect(page.get_by_role("link", name="sneaky")).to_have_count(0)
    expect(page.get_by_role("link", name=NAMESPACE)).to_have_count(1)


def log_out(page: Page, base: str) -> None:
    """The header's "Log out" button ends the session."""
    page.locator("header.top").get_by_role("button", name="Log out").click()
    expect(page).to_have_url(base + "/")
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name="Log in")).to_be_visible()
    expect(nav.get_by_role("button", name="Log out")).to_have_count(0)
    page.goto(base + "/account")  # the session is really over: sent to sign in again
    expect(page).to_have_url(base + "/login?next=/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")


@pytest.mark.e2e
def test_new_user_signs_up_publishes_and_finds_their_package(
    live_server: LiveServer, page: Page
) -> None:
    base = live_server.url
    watch = PageWatch().attach(page)

    sign_up(page, base)
    live_server.verify_email(USERNAME)  # as the mailed link does (test_email_flows.py)
    create_namespace(page, base)
    token = create_token(page, base)

    tarball = package_tarball(PACKAGE, VERSION, LICENSE, readme=README)
    published = publish_like_fpm(base, token, PACKAGE, VERSION, LICENSE, tarball)
    assert published.json()["code"] == 200, published.text

    find_and_open_package(page, base)
    check_package_page(page, watch)
    check_csrf(page, base)
    log_out(page, base)
    assert watch.dialogs == [] and watch.errors == []


@pytest.mark.e2e
def test_package_page_fits_a_phone(live_server: LiveServer, browser: Browser,
                                   tmp_path: Path) -> None:  # fmt: skip
    base = live_server.url
    token = live_server.publisher_token(NAMESPACE)
    tarball = package_tarball(PACKAGE, VERSION, LICENSE, readme=README)
    published = publish_like_fpm(base, token, PACKAGE, VERSION, LICENSE, tarball)
    assert published.json()["code"] == 200, published.text

    shot = tmp_path / "package-phone.png"
    phone = browser.new_context(viewport=PHONE_VIEWPORT, device_scale_factor=2, has_touch=True)
    try:
        page = phone.new_page()
        page.goto(f"{base}/project/{NAMESPACE}/{PACKAGE}")
        expect(page.locator("#snippet")).to_be_visible()
        page.screenshot(path=shot, full_page=True)
        assert shot.stat().st_size > 0
        assert page.evaluate("window.innerWidth") == PHONE_VIEWPORT["width"]
        overflow = horizontal_overflow(page)
        assert overflow == 0, f"the page is {overflow}px wider than a phone; see {shot}"
    finally:
        phone.close()
