"""Moderation in a real chromium against a real registry process: a user reports a
package, a moderator finds it in the queue and quarantines it, the owner is told and
sees the event, and the public transparency page counts it (docs/moderation.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import PageWatch, publish_like_fpm
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

PASSWORD = "correct horse battery"  # what `LiveServer.publisher_token` gives its users
NAMESPACE = "astro"
PACKAGE = "orbitz"  # a look-alike name: the report says so
REPORT_TEXT = "This copies the `orbits` package under a confusing name."
REASON = "Impersonates astro/orbits; under review while the owner answers."


def fpmreg_server(live: LiveServer, *args: str) -> str:
    """Run `fpmreg-server` (the operator's command) against the live server's database."""
    env = {**os.environ, "FPMREG_DATABASE_URL": live.database_url}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("fpmreg-server")), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def log_in(page: Page, base: str, username: str) -> None:
    """The login page, as a returning user."""
    page.goto(base + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation").get_by_role("link", name=username)).to_be_visible()


def report_package(page: Page, base: str) -> None:
    """The reporter opens the package page and sends the report form."""
    page.goto(f"{base}/project/{NAMESPACE}/{PACKAGE}")
    page.get_by_text("Report this package").click()
    form = page.locator("section.report form")
    form.get_by_label("Category").select_option("typosquatting")
    form.get_by_label("What is wrong").fill(REPORT_TEXT)
    form.get_by_role("button", name="Send the report").click()
    expect(page.get_by_role("status")).to_contain_text("your report is in the moderators' queue")


def quarantine_from_queue(page: Page, base: str) -> None:
    """The moderator's queue lists the report; claim it, decide "quarantine"."""
    page.goto(base + "/moderation/queue")
    row = page.locator("tr").filter(has_text=f"{NAMESPACE}/{PACKAGE}")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("typosquatting")
    row.get_by_role("link", name=f"{NAMESPACE}/{PACKAGE}").click()
    expect(page.get_by_text(REPORT_TEXT)).to_be_visible()
    page.get_by_role("button", name="Claim").click()
    decide = page.locator("form[action$='/decision']")
    decide.get_by_label("Decision").select_option("quarantine")
    decide.get_by_label("Reason").fill(REASON)
    decide.get_by_role("button", name="Decide").click()
    expect(page.locator("body")).to_contain_text("quarantine")


def owner_sees_it(page: Page, base: str) -> None:
    """The owner's header counts one unread notification; it and the event say why."""
    badge = page.locator("header .unread-count")
    expect(badge).to_have_text("1")
    page.locator("header").get_by_role("link", name="Notifications").click()
    expect(page).to_have_url(base + "/notifications")
    item = page.locator("li.unread")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(f"{NAMESPACE}/{PACKAGE}")
    expect(item).to_contain_text(REASON)
    expect(page.locator("body")).not_to_contain_text("reporter")  # owners never learn who
    page.goto(f"{base}/project/{NAMESPACE}/{PACKAGE}/events")
    event = page.locator("table.events tr").filter(has_text="package.quarantine")
    expect(event).to_have_count(1)
    expect(event).to_contain_text(REASON)


def public_transparency(page: Page, base: str) -> None:
    """Anyone: the package is gone from view, the transparency page counts the action."""
    answer = page.goto(f"{base}/project/{NAMESPACE}/{PACKAGE}")
    assert answer is not None and answer.status == 404
    expect(page.locator("body")).to_contain_text("under review")
    page.goto(base + "/")
    page.locator("footer").get_by_role("link", name="Transparency").click()
    expect(page).to_have_url(base + "/transparency")
    month = datetime.now(UTC).strftime("%Y-%m")
    row = page.locator("table.transparency-months tr").filter(has_text=month)
    expect(row.filter(has_text="typosquatting")).to_have_count(1)
    expect(page.locator("table.transparency-actions")).to_contain_text("quarantine")
    expect(page.locator("body")).not_to_contain_text(REASON)  # never the private reason


def test_a_report_becomes_a_quarantine_the_owner_and_the_public_see(
    live_server: LiveServer, browser: Browser
) -> None:
    base = live_server.url
    token = live_server.publisher_token(NAMESPACE, username="owner")
    published = publish_like_fpm(
        base, token, PACKAGE, "1.0.0", "MIT", package_tarball(PACKAGE, "1.0.0", "MIT")
    )
    assert published.status_code == 200, published.text
    live_server.publisher_token("reporting", username="reporter")
    live_server.publisher_token("moderating", username="moderator")
    assert "moderator" in fpmreg_server(live_server, "admin", "grant", "moderator", "moderator")

    watch = PageWatch()
    for who, step in [
        ("reporter", report_package),
        ("moderator", quarantine_from_queue),
        ("owner", owner_sees_it),
    ]:
        context = browser.new_context()
        page = context.new_page()
        watch.attach(page)
        log_in(page, base, who)
        step(page, base)
        context.close()
    context = browser.new_context()
    page = context.new_page()
    watch.attach(page)
    public_transparency(page, base)
    context.close()
    assert watch.errors == []
    assert watch.dialogs == []
