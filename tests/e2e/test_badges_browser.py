"""The package page's badges box in a real chromium: the SVGs draw inside <img> despite
the security headers, and the README snippets can be copied with and without JavaScript."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import PHONE_VIEWPORT, PageWatch, horizontal_overflow
from tests.support.databases import fresh_database
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

SELECTED_TEXT = (
    "(() => { const t = document.activeElement;"
    " return t.value.slice(t.selectionStart, t.selectionEnd); })()"
)
NAMESPACE = "shown"
PACKAGE = "badged"


@pytest.fixture
def server_with_package(tmp_path: Path) -> Iterator[LiveServer]:
    """A registry with `shown/badged` 1.0.0 under `Apache-2.0 OR MIT`."""
    with fresh_database(tmp_path) as url, LiveServer(url, tmp_path) as server:
        token = server.publisher_token(NAMESPACE)
        published = httpx.post(
            server.url + "/api/v1/packages",
            headers={"Authorization": f"Bearer {token}"},
            files={"tarball": ("t.tar.gz", package_tarball(PACKAGE, "1.0.0", "Apache-2.0 OR MIT"))},
            timeout=30,
        )
        assert published.status_code == 201, published.text
        yield server


def check_images(page: Page) -> None:
    box = page.get_by_role("region", name="Badges")
    expect(box).to_be_visible()
    images = box.get_by_role("img")
    expect(images).to_have_count(4)
    for index in range(4):
        image = images.nth(index)
        expect(image).to_be_visible()
        # Decoded and drawn: a blocked or broken SVG has no natural size.
        width = image.evaluate("i => i.complete ? i.naturalWidth : 0")
        assert width > 60, image.get_attribute("src")
    licence = box.get_by_role("img", name=f"{NAMESPACE}/{PACKAGE} license")
    assert licence.evaluate("i => i.naturalWidth") > 150  # the whole expression fits


@pytest.mark.e2e
def test_badges_draw_and_their_markdown_is_copied(
    server_with_package: LiveServer, browser: Browser
) -> None:
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        watch = PageWatch().attach(page)
        page.goto(f"{server_with_package.url}/project/{NAMESPACE}/{PACKAGE}")
        check_images(page)
        item = page.locator("#badge-build")
        item.get_by_text("Markdown and HTML for the build badge").click()
        field = item.get_by_label("Markdown")
        expected = (
            f"[![{NAMESPACE}/{PACKAGE} 1.0.0 build verification]"
            f"({server_with_package.url}/badges/{NAMESPACE}/{PACKAGE}/1.0.0/build.svg)]"
            f"({server_with_package.url}/credentials/{NAMESPACE}/{PACKAGE}/1.0.0/build)"
        )
        expect(field).to_have_value(expected)
        item.get_by_role("button", name="Copy").first.click()
        expect(item.get_by_role("button", name="Copied")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == expected
        assert watch.errors == [] and watch.console_errors == [] and watch.dialogs == []
    finally:
        context.close()


@pytest.mark.e2e
def test_without_javascript_the_snippets_are_selectable_on_a_phone(
    server_with_package: LiveServer, browser: Browser
) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=PHONE_VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{server_with_package.url}/project/{NAMESPACE}/{PACKAGE}")
        check_images(page)
        item = page.locator("#badge-version")
        expect(item.get_by_role("button", name="Copy").first).to_be_hidden()
        item.get_by_text("Markdown and HTML for the version badge").click()
        html = item.get_by_label("HTML")
        expect(html).to_be_visible()
        expect(html).to_have_attribute("readonly", "")
        expect(html).to_have_value(
            f'<a href="{server_with_package.url}/project/{NAMESPACE}/{PACKAGE}">'
            f'<img src="{server_with_package.url}/badges/{NAMESPACE}/{PACKAGE}/version.svg" '
            f'alt="{NAMESPACE}/{PACKAGE} on fpmreg"></a>'
        )
        html.select_text()
        selected = page.evaluate(SELECTED_TEXT)
        assert selected.startswith("<a href=")
        assert horizontal_overflow(page) == 0
        box = page.get_by_role("region", name="Badges")
        box.screenshot(path=str(Path(server_with_package.workdir) / "badges-phone.png"))
    finally:
        context.close()
