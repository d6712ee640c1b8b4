"""Helpers for real-browser tests: launching Debian's chromium, watching pages, fpm uploads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Page,
    Playwright,
    ViewportSize,
    expect,
)

from tests.support.tarballs import fpm_publish_form

# Playwright's own browser download does not work here; Debian's chromium does.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE_VIEWPORT: ViewportSize = {"width": 390, "height": 844}


def launch_chromium(playwright: Playwright) -> Browser:
    """A headless chromium from the system, with the flags this sandbox needs."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@dataclass
class PageWatch:
    """What a page did that a user would not see: dialogs, uncaught errors, console errors."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> PageWatch:
        """Start recording `page`'s events; dialogs are dismissed so nothing hangs."""
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", self._console)
        return self

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the document is wider than the window (0 when it fits)."""
    width: int = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return max(0, width)


def publish_like_fpm(base_url: str, token: str, name: str, version: str, license: str,
                     tarball: bytes) -> httpx.Response:  # fmt: skip
    """Upload a tarball with the multipart form `fpm publish` sends (via curl -F)."""
    return httpx.post(
        base_url + "/packages",
        **fpm_publish_form(name, version, license, token, tarball),
        timeout=30,
    )


def signed_in_state(browser: Browser, base_url: str, username: str, password: str) -> Any:
    """The storage state (cookies) of a browser that signed in as `username`."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation").get_by_role("link", name=username)).to_be_visible()
    state = context.storage_state()
    context.close()
    return state
