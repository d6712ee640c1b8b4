"""The downloads chart on a package page, in a real chromium, with and without JavaScript."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import PHONE_VIEWPORT, PageWatch, horizontal_overflow
from tests.support.databases import fresh_database
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

NAMESPACE = "charts"
PACKAGE = "plotted"
FPM_DOWNLOADS = 7
BROWSER_DOWNLOADS = 2


@pytest.fixture
def server_with_downloads(tmp_path: Path) -> Iterator[LiveServer]:
    """A registry where `charts/plotted` 1.0.0 was downloaded 9 times today."""
    env = {"FPMREG_DOWNLOAD_DEDUP_SECONDS": "0", "FPMREG_METRICS_FLUSH_SECONDS": "0.2"}
    with fresh_database(tmp_path) as url, LiveServer(url, tmp_path, env=env) as server:
        token = server.publisher_token(NAMESPACE)
        for version in ("1.0.0", "1.1.0"):
            published = httpx.post(
                server.url + "/api/v1/packages",
                headers={"Authorization": f"Bearer {token}"},
                files={"tarball": ("t.tar.gz", package_tarball(PACKAGE, version))},
                timeout=30,
            )
            assert published.status_code == 201, published.text
        tarball = f"{server.url}/tarballs/{NAMESPACE}/{PACKAGE}/1.0.0.tar.gz"
        for _ in range(FPM_DOWNLOADS):
            assert httpx.get(tarball, headers={"User-Agent": "curl/8.5.0"}).status_code == 200
        for _ in range(BROWSER_DOWNLOADS):
            browser = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}
            assert httpx.get(tarball, headers=browser).status_code == 200
        api = f"{server.url}/api/v1/packages/{NAMESPACE}/{PACKAGE}/downloads"
        deadline = time.monotonic() + 15
        while httpx.get(api).json()["total"] < FPM_DOWNLOADS + BROWSER_DOWNLOADS:
            assert time.monotonic() < deadline, "the downloads never reached the database"
            time.sleep(0.1)
        yield server


def check_chart(page: Page) -> None:
    today = datetime.now(UTC).date().isoformat()
    total = FPM_DOWNLOADS + BROWSER_DOWNLOADS
    chart = page.locator("svg#downloads-chart")
    expect(chart).to_be_visible()
    assert (chart.bounding_box() or {"width": 0})["width"] > 150
    expect(
        page.get_by_role("img", name=f"Daily downloads of {NAMESPACE}/{PACKAGE}")
    ).to_be_visible()
    bars = chart.locator("g.bars rect")
    expect(bars).to_have_count(1)
    expect(bars.locator("title")).to_have_text(f"{today}: {total} downloads")
    box = bars.first.bounding_box()
    assert box is not None and box["height"] > 20  # the tallest bar fills the plot
    expect(chart.locator("text.y-label")).to_have_text(["0", "5", "10"])
    expect(chart.locator("text.x-label").last).to_have_text(datetime.now(UTC).strftime("%b %d"))
    totals = page.locator("table.download-totals")
    expect(totals.get_by_role("row", name="1.0.0")).to_contain_text(f"{total}")
    expect(totals.get_by_role("row", name="1.1.0")).to_contain_text("0")
    expect(page.locator(".by-client")).to_have_text(
        f"By client, last 90 days: fpm: {FPM_DOWNLOADS}, browsers: {BROWSER_DOWNLOADS}."
    )


@pytest.mark.e2e
def test_package_page_shows_the_daily_downloads_chart(
    server_with_downloads: LiveServer, page: Page
) -> None:
    watch = PageWatch().attach(page)
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(f"{server_with_downloads.url}/project/{NAMESPACE}/{PACKAGE}")
    check_chart(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename == f"{NAMESPACE}-{PACKAGE}-downloads.csv"
    page.get_by_role("link", name="what is counted").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Data policy")
    assert watch.errors == [] and watch.dialogs == []
    # The registry has no favicon; chromium asks for one (a 404, logged to the console).
    assert [url for url in missing if not url.endswith("/favicon.ico")] == []


@pytest.mark.e2e
def test_the_chart_needs_no_javascript_and_fits_a_phone(
    server_with_downloads: LiveServer, browser: Browser
) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=PHONE_VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{server_with_downloads.url}/project/{NAMESPACE}/{PACKAGE}")
        check_chart(page)
        assert horizontal_overflow(page) == 0
    finally:
        context.close()
