"""Fixtures for real-browser tests: one chromium per session, a fresh context per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.e2e.browser import CHROMIUM, launch_chromium
from tests.support.fpm import Fpm, FpmInstall
from tests.support.live import LiveServer


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's headless chromium, driven by Playwright."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps`")
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A browser profile of its own: no cookies shared with other tests."""
    ctx = browser.new_context()
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """One tab in the test's own browser profile."""
    return context.new_page()


@pytest.fixture(scope="session")
def fpm_install(tmp_path_factory: pytest.TempPathFactory) -> FpmInstall:
    """One patched copy of the fpm wheel for the whole session."""
    return FpmInstall.create(tmp_path_factory.mktemp("fpm-install"))


@pytest.fixture
def fpm(fpm_install: FpmInstall, live_server: LiveServer, tmp_path: Path) -> Fpm:
    """fpm with a private HOME whose config.toml names the live server."""
    return Fpm(fpm_install, tmp_path / "fpm", live_server.url)
