"""Issue 13, items 12 and 13: every page a newcomer meets passes axe-core (no serious or
critical violation) and fits the window, at desktop (1280 px) and phone (390 px) widths.

axe-core comes from npm (`tests/e2e/package.json`, installed by `make system-deps` /
`scripts/system_deps.py`); it is evaluated in the page through the DevTools protocol, so
the registry's CSP (no inline script) stays on while it runs.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from fpmreg.server.accounts.models import Scope
from fpmreg.server.templating import backticks_to_code, filesize
from tests.e2e.browser import (
    PHONE_VIEWPORT,
    PageWatch,
    horizontal_overflow,
    publish_like_fpm,
    signed_in_state,
)
from tests.support.databases import fresh_database
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
USERNAME = "publisher"  # `LiveServer.publisher_token`'s user and password
PASSWORD = "correct horse battery"
NAMESPACE = "numerics"
PACKAGE = "quadpack_lite"
README = "# Quadpack Lite\n\nAdaptive quadrature.\n\n```fortran\ncall qags(f, a, b)\n```\n"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
# Each page at both widths, and once more in the dark theme (`prefers-color-scheme`).
LOOKS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": DESKTOP},
    "phone": {"viewport": PHONE_VIEWPORT},
    "dark-phone": {"viewport": PHONE_VIEWPORT, "color_scheme": "dark"},
}
PAGES = {
    "home": "/",
    "search": "/search?q=quadpack",
    "search-empty": "/search?q=nothing-like-this",
    "package": f"/project/{NAMESPACE}/{PACKAGE}",
    "version": f"/project/{NAMESPACE}/{PACKAGE}/1.0.0",
    "yanked-version": f"/project/{NAMESPACE}/{PACKAGE}/1.1.0",
    "namespace": f"/namespace/{NAMESPACE}",
    "user": f"/user/{USERNAME}",
    "account": "/account",
    "checks": "/checks",
    "data-policy": "/data-policy",
    "transparency": "/transparency",
    "notifications": "/notifications",
    "error": f"/project/{NAMESPACE}/no_such_package",
}
BLOCKING = {"serious", "critical"}


def axe_source() -> str:
    """axe-core's script, installed with `npm ci` into tests/e2e when it is missing."""
    if not AXE.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True,
                       capture_output=True, timeout=300)  # fmt: skip
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[tuple[str, Any]]:
    """A live registry with one package (1.0.0, 1.1.0 yanked) and a signed-in profile."""
    workdir = tmp_path_factory.mktemp("a11y")
    with fresh_database(workdir) as url, LiveServer(url, workdir) as server:
        token = server.publisher_token(NAMESPACE, scopes={Scope.PUBLISH, Scope.YANK})
        for version in ("1.0.0", "1.1.0"):
            tarball = package_tarball(PACKAGE, version, "MIT", readme=README)
            published = publish_like_fpm(server.url, token, PACKAGE, version, "MIT", tarball)
            assert published.json()["code"] == 200, published.text
        yanked = httpx.put(
            f"{server.url}/api/v1/packages/{NAMESPACE}/{PACKAGE}/versions/1.1.0/yank",
            json={"reason": "off by one"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert yanked.status_code == 200, yanked.text
        state = signed_in_state(browser, server.url, USERNAME, PASSWORD)
        yield server.url, state


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


# The outermost elements that stick out of the window (what to fix when a page overflows).
WIDE = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .filter(e => !e.parentElement.closest('.table-scroll, pre')
    || getComputedStyle(e).position === 'absolute')
  .slice(0, 6).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))"""


def violations(page: Page, axe: str) -> list[str]:
    """axe-core's serious and critical findings on the page, one line each."""
    page.evaluate(axe)
    results: dict[str, Any] = page.evaluate(
        "async () => { const r = await axe.run(document);"
        " return {violations: r.violations, passes: r.passes.length}; }"
    )
    assert results["passes"] > 10, "axe-core did not run its rules"
    found: list[dict[str, Any]] = results["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in found
        if v["impact"] in BLOCKING
    ]


@pytest.mark.e2e
@pytest.mark.parametrize("look", LOOKS, ids=list(LOOKS))
@pytest.mark.parametrize("name", PAGES, ids=list(PAGES))
def test_page_is_accessible_and_fits(
    site: tuple[str, Any], browser: Browser, axe: str, name: str, look: str
) -> None:
    base, state = site
    context = browser.new_context(**LOOKS[look], storage_state=state)
    try:
        page = context.new_page()
        watch = PageWatch().attach(page)
        response = page.goto(base + PAGES[name])
        assert response is not None
        assert response.status == (404 if name == "error" else 200), name
        # Signed in everywhere, error pages included: the header names the user.
        header = page.locator("header.top")
        expect(header.get_by_role("link", name=USERNAME)).to_be_visible()
        assert page.title().endswith("· fpmreg") and len(page.title()) > len(" · fpmreg")
        description = page.locator("meta[name=description]")
        expect(description).to_have_count(1)
        assert len(description.get_attribute("content") or "") > 20
        if name == "package":
            expect(description).to_have_attribute("content", re.compile(f"^{NAMESPACE}/{PACKAGE} "))
        assert violations(page, axe) == []
        overflow = horizontal_overflow(page)
        assert overflow == 0, (
            f"{name} is {overflow}px wider than the {look} window: {page.evaluate(WIDE)}"
        )
        assert watch.errors == []
        own_status = [e for e in watch.console_errors if "status of 404" in e]
        assert watch.console_errors == (own_status if name == "error" else [])
    finally:
        context.close()


@pytest.mark.e2e
def test_messages_show_code_and_every_page_has_an_icon(
    site: tuple[str, Any], browser: Browser
) -> None:
    base, state = site
    context = browser.new_context(storage_state=state)
    try:
        page = context.new_page()
        page.goto(base + "/checks")
        reason = page.locator("tr#archive-not-gzip td").last
        expect(reason.locator("code")).to_have_text("tar -zxf")
        assert "`" not in page.locator("table.checks").inner_text()

        icon = page.locator("link[rel=icon]").get_attribute("href")
        assert icon is not None
        answer = page.request.get(base + icon)
        assert answer.status == 200
        assert answer.headers["content-type"].startswith("image/svg+xml")

        page.goto(base + "/account")  # the dark theme follows the system's preference
        light = page.evaluate("getComputedStyle(document.body).backgroundColor")
        page.emulate_media(color_scheme="dark")
        dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert light == "rgb(255, 255, 255)" and dark != light
    finally:
        context.close()


def test_backticks_become_code_and_markup_stays_text() -> None:
    shown = backticks_to_code("Run `fpm build` <b>now</b> or `a<b`; a lone ` stays")
    assert shown == (
        "Run <code>fpm build</code> &lt;b&gt;now&lt;/b&gt; or <code>a&lt;b</code>; a lone ` stays"
    )


@pytest.mark.e2e
def test_snippet_copies_sizes_read_well_and_search_says_what_it_found(
    site: tuple[str, Any], browser: Browser
) -> None:
    base, state = site
    context = browser.new_context(storage_state=state)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    try:
        page = context.new_page()
        watch = PageWatch().attach(page)
        page.goto(f"{base}/project/{NAMESPACE}/{PACKAGE}")
        size = page.locator("dt", has_text="Size").locator("+ dd")
        expect(size).to_have_text(re.compile(r"^\d+(\.\d)? (KB|MB|bytes?)$"))
        page.get_by_role("button", name="Copy").click()
        expect(page.get_by_role("button", name="Copied")).to_be_visible()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert f'{PACKAGE} = {{ namespace = "{NAMESPACE}", v = "1.0.0" }}' in copied
        assert watch.errors == [] and watch.console_errors == []

        page.goto(base + "/search?q=nothing-like-this")
        expect(page.locator(".empty")).to_contain_text("No packages match “nothing-like-this”")
        page.goto(base + "/")  # signed in: "publish yours" leads to the tokens, not sign-up
        expect(page.get_by_role("link", name="publish yours")).to_have_attribute("href", "/account")
    finally:
        context.close()


def test_sizes_read_as_bytes_kb_and_mb() -> None:
    assert [filesize(n) for n in (1, 812, 4300, 1572864)] == [
        "1 byte",
        "812 bytes",
        "4.2 KB",
        "1.5 MB",
    ]
