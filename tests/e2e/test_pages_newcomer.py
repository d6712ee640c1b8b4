"""Issue 13's proof for the pages: every page a newcomer meets, at 1280 and 390 px, in a
real chromium, signed in: no horizontal overflow, axe-core finds nothing serious or
critical, and the page shows what items 9-12 promise (`docs/pages.md`).

The registry has two namespaces, a package with keywords, a repository, a README with
Fortran code, downloads from fpm and the fpmreg client, a yanked version, and another
package that depends on it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from fpmreg.server.accounts.models import Scope
from tests.e2e.browser import PHONE_VIEWPORT, PageWatch, horizontal_overflow, signed_in_state
from tests.e2e.test_pages_a11y import WIDE, axe_source, violations
from tests.support.databases import fresh_database
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

USERNAME = "publisher"  # `LiveServer.publisher_token`'s user and password
PASSWORD = "correct horse battery"
NS, OTHER_NS = "numerics", "formats"
PACKAGE, USER_PACKAGE, JSON_PACKAGE = "quadpack_lite", "solver", "jsonf"
REPOSITORY = "https://github.com/example/quadpack-lite"
README = (
    "# Quadpack Lite\n\nAdaptive quadrature.\n\n"
    "```fortran\nprogram demo\n  use quadpack_lite\n  integer :: n = 3 ! three points\n"
    "  call qags(f, 0.0, 1.0, n)\nend program demo\n```\n"
)
FPM_DOWNLOADS, CLIENT_DOWNLOADS = 3, 2
EXPECTATIONS = {  # docs/expectations.md: a long contact must wrap at 390 px
    "status": "looking-for-maintainers",
    "response": "best-effort",
    "contact": "https://github.com/example/quadpack-lite/security/advisories/new-report",
    "supported": ">=1.0",
}
WIDTHS: dict[str, ViewportSize] = {"desktop": {"width": 1280, "height": 900},
                                   "phone": PHONE_VIEWPORT}  # fmt: skip


def fpm_toml(name: str, version: str, license: str, top: str = "", tail: str = "") -> str:
    return (
        f'name = "{name}"\nversion = "{version}"\nlicense = "{license}"\n'
        f'description = "The {name} package"\nauthor = "A. Fortran"\n{top}'
        f"[build]\nmodule-naming = true\n{tail}"
    )


def publish(base: str, token: str, name: str, version: str, license: str = "MIT",
            top: str = "", tail: str = "") -> None:  # fmt: skip
    tarball = package_tarball(
        name, version, license, readme=README,
        files={"fpm.toml": fpm_toml(name, version, license, top, tail)},
    )  # fmt: skip
    answer = httpx.post(
        base + "/api/v1/packages",
        headers={"Authorization": f"Bearer {token}"},
        files={"tarball": ("t.tar.gz", tarball)},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text


def seed(server: LiveServer) -> None:
    """The packages and downloads every page below shows."""
    base = server.url
    token = server.publisher_token(NS, scopes={Scope.PUBLISH, Scope.YANK})
    top = 'keywords = ["quadrature", "integration"]\ncategories = ["numerical"]\n'
    for version in ("1.0.0", "1.1.0"):
        publish(base, token, PACKAGE, version, top=top,
                tail=f'[extra]\nrepository = "{REPOSITORY}"\n')  # fmt: skip
    yanked = httpx.put(
        f"{base}/api/v1/packages/{NS}/{PACKAGE}/versions/1.1.0/yank",
        json={"reason": "off by one"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert yanked.status_code == 200, yanked.text
    manage = server.publisher_token(NS, scopes={Scope.MANAGE})
    declared = httpx.put(
        f"{base}/api/v1/packages/{NS}/{PACKAGE}/expectations",
        json=EXPECTATIONS,
        headers={"Authorization": f"Bearer {manage}"},
        timeout=30,
    )
    assert declared.status_code == 200, declared.text
    dependency = f'[dependencies]\n{PACKAGE} = {{ namespace = "{NS}", v = "1.0.0" }}\n'
    publish(base, token, USER_PACKAGE, "0.3.0", tail=dependency)
    other = server.publisher_token(OTHER_NS)
    publish(base, other, JSON_PACKAGE, "2.0.0", "Apache-2.0", top='keywords = ["json"]\n')
    tarball = f"{base}/tarballs/{NS}/{PACKAGE}/1.0.0.tar.gz"
    for agent, times in (("curl/8.5.0", FPM_DOWNLOADS), ("fpmreg/0.1.0", CLIENT_DOWNLOADS)):
        for _ in range(times):
            assert httpx.get(tarball, headers={"User-Agent": agent}).status_code == 200
    api = f"{base}/api/v1/packages/{NS}/{PACKAGE}/downloads"
    deadline = time.monotonic() + 15
    while httpx.get(api).json()["total"] < FPM_DOWNLOADS + CLIENT_DOWNLOADS:
        assert time.monotonic() < deadline, "the downloads never reached the database"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[tuple[str, Any]]:
    """A live registry (`seed`) and the storage state of a signed-in browser."""
    workdir = tmp_path_factory.mktemp("newcomer")
    env = {"FPMREG_DOWNLOAD_DEDUP_SECONDS": "0", "FPMREG_METRICS_FLUSH_SECONDS": "0.2"}
    with fresh_database(workdir) as url, LiveServer(url, workdir, env=env) as server:
        seed(server)
        state = signed_in_state(browser, server.url, USERNAME, PASSWORD)
        yield server.url, state


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


# What each page must show (items 9-12), checked at both widths -----------------------


def home(page: Page, width: str) -> None:
    expect(page.get_by_role("link", name="publish yours")).to_have_attribute("href", "/account")
    expect(page.locator("ul.packages li")).to_have_count(3)


def search(page: Page, width: str) -> None:
    results = page.locator("ul.packages li")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text(f"{NS}/{PACKAGE}")
    total = FPM_DOWNLOADS + CLIENT_DOWNLOADS
    expect(results.first.locator(".downloads-count")).to_have_text(f"{total} downloads")
    for label in ("Namespace", "Keyword", "Category", "Licence"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()


def search_filtered(page: Page, width: str) -> None:
    expect(page.locator("ul.packages li")).to_have_count(1)
    expect(page.locator("ul.packages")).to_contain_text(f"{OTHER_NS}/{JSON_PACKAGE}")
    chip = page.get_by_role("link", name="Remove the licence filter Apache-2.0")
    expect(chip).to_be_visible()
    chip.click()  # the chip takes the filter off and keeps the other one
    expect(page).to_have_url(re.compile(r"/search\?keyword=json$"))
    expect(page.get_by_label("Licence", exact=True)).to_have_value("")


def search_empty(page: Page, width: str) -> None:
    expect(page.locator("#no-match")).to_contain_text("No packages match “nothing-like-this”")
    expect(page.get_by_role("link", name="see all 3 packages")).to_be_visible()


def package(page: Page, width: str) -> None:
    topics = page.get_by_role("list", name="Keywords and categories")
    expect(topics.get_by_role("link", name="keyword quadrature")).to_have_attribute(
        "href", "/search?keyword=quadrature"
    )
    expect(topics.get_by_role("link", name="category numerical")).to_be_visible()
    expect(page.locator("#repository-link")).to_have_attribute("href", REPOSITORY)
    maintainers = page.get_by_role("list", name="Maintainers")
    expect(maintainers.get_by_role("link", name=USERNAME)).to_be_visible()
    used_by = page.get_by_role("list", name="Used by")
    expect(used_by.get_by_role("link", name=f"{NS}/{USER_PACKAGE}")).to_be_visible()
    size = page.locator("dt", has_text="Size").locator("+ dd")
    expect(size).to_have_text(re.compile(r"^\d+(\.\d)? (KB|MB|bytes?)$"))
    expect(page.locator(".by-client")).to_have_text(
        f"By client, last 90 days: fpm: {FPM_DOWNLOADS}, fpmreg client: {CLIENT_DOWNLOADS}."
    )
    code = page.locator(".readme pre.highlight code.language-fortran")
    expect(code.locator(".tok-k").first).to_be_visible()
    comment = code.locator(".tok-c")
    expect(comment).to_have_text("! three points")
    assert comment.evaluate("e => getComputedStyle(e).fontStyle") == "italic"
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    expect(page.locator("#expectations-notice")).to_contain_text("Looking for maintainers")
    contact = page.locator("section.expectations").get_by_role("link")
    expect(contact).to_have_attribute("href", EXPECTATIONS["contact"])
    form = page.get_by_role("form", name="Expectations")  # the signed-in owner's form
    expect(form.get_by_label("Maintenance status")).to_have_value("looking-for-maintainers")
    use = page.locator("section.use").bounding_box()
    readme = page.locator("section.readme").bounding_box()
    assert use is not None and readme is not None
    if width == "phone":  # the snippet first, above the README
        assert use["y"] + use["height"] <= readme["y"]
    else:  # beside it, heading the side column
        assert use["x"] >= readme["x"] + readme["width"] and use["y"] < readme["y"] + 50


def version(page: Page, width: str) -> None:
    expect(page.locator("#snippet")).to_contain_text('v = "1.0.0"')


def yanked_version(page: Page, width: str) -> None:
    use = page.locator("section.use")
    expect(use).to_contain_text("This version is yanked: off by one. Do not add it")
    expect(use.get_by_role("link", name="1.0.0")).to_have_attribute(
        "href", f"/project/{NS}/{PACKAGE}/1.0.0"
    )
    expect(page.locator("#snippet")).to_have_count(0)
    expect(page.get_by_role("button", name="Copy")).to_have_count(0)


def namespace(page: Page, width: str) -> None:
    expect(page.locator("ul.packages li")).to_have_count(2)
    expect(page.locator("ul.members")).to_contain_text(USERNAME)


def user(page: Page, width: str) -> None:
    expect(page.get_by_role("link", name=f"{NS}/{PACKAGE} 1.1.0")).to_be_visible()


def account(page: Page, width: str) -> None:
    sessions = page.get_by_role("region", name="Signed-in sessions")
    expect(sessions).to_be_visible()
    box = sessions.bounding_box()
    assert box is not None and box["x"] + box["width"] <= page.viewport_size["width"]  # type: ignore[index]


def checks(page: Page, width: str) -> None:
    expect(page.locator("tr#archive-not-gzip td").last.locator("code")).to_have_text("tar -zxf")
    assert "`" not in page.locator("table.checks").inner_text()


def data_policy(page: Page, width: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Data policy")


def transparency(page: Page, width: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def notifications(page: Page, width: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def error(page: Page, width: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.locator("main li code")).to_have_text(f"{NS}/no_such_package")


def bad_request(page: Page, width: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Bad request")
    expect(page.locator("main li code").first).to_have_text("keyword")


PAGES: dict[str, tuple[str, int, Callable[[Page, str], None]]] = {
    "home": ("/", 200, home),
    "search": ("/search?q=quad", 200, search),
    "search-filtered": ("/search?keyword=json&license=Apache-2.0", 200, search_filtered),
    "search-empty": ("/search?q=nothing-like-this", 200, search_empty),
    "package": (f"/project/{NS}/{PACKAGE}", 200, package),
    "version": (f"/project/{NS}/{PACKAGE}/1.0.0", 200, version),
    "yanked-version": (f"/project/{NS}/{PACKAGE}/1.1.0", 200, yanked_version),
    "namespace": (f"/namespace/{NS}", 200, namespace),
    "user": (f"/user/{USERNAME}", 200, user),
    "account": ("/account", 200, account),
    "checks": ("/checks", 200, checks),
    "data-policy": ("/data-policy", 200, data_policy),
    "transparency": ("/transparency", 200, transparency),
    "notifications": ("/notifications", 200, notifications),
    "error": (f"/project/{NS}/no_such_package", 404, error),
    "bad-request": ("/search?keyword=" + "k" * 101, 400, bad_request),
}


def check_frame(page: Page) -> None:
    """What every page has: the signed-in header, a title, a description, the icon."""
    expect(page.locator("header.top").get_by_role("link", name=USERNAME)).to_be_visible()
    assert re.fullmatch(r".+ · fpmreg", page.title()), page.title()
    description = page.locator("meta[name=description]")
    assert len(description.get_attribute("content") or "") > 20
    expect(page.locator("link[rel=icon]")).to_have_attribute("href", "/static/favicon.svg")


@pytest.mark.e2e
@pytest.mark.parametrize("width", WIDTHS, ids=list(WIDTHS))
@pytest.mark.parametrize("name", PAGES, ids=list(PAGES))
def test_page_fits_passes_axe_and_shows_its_features(
    site: tuple[str, Any], browser: Browser, axe: str, name: str, width: str
) -> None:
    base, state = site
    path, status, features = PAGES[name]
    context = browser.new_context(viewport=WIDTHS[width], storage_state=state)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        watch = PageWatch().attach(page)
        response = page.goto(base + path)
        assert response is not None and response.status == status, name
        check_frame(page)
        assert violations(page, axe) == []
        overflow = horizontal_overflow(page)
        assert overflow == 0, f"{name} is {overflow}px wider than {width}: {page.evaluate(WIDE)}"
        features(page, width)
        assert watch.errors == []
        own_status = [e for e in watch.console_errors if f"status of {status}" in e]
        assert watch.console_errors == own_status
    finally:
        context.close()


@pytest.mark.e2e
def test_snippet_copies_and_without_javascript_stays_selectable(
    site: tuple[str, Any], browser: Browser
) -> None:
    base, state = site
    url = f"{base}/project/{NS}/{PACKAGE}"
    context = browser.new_context(storage_state=state)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    try:
        page = context.new_page()
        page.goto(url)
        page.get_by_role("button", name="Copy").click()
        expect(page.get_by_role("button", name="Copied")).to_be_visible()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == f'[dependencies]\n{PACKAGE} = {{ namespace = "{NS}", v = "1.0.0" }}'
    finally:
        context.close()
    plain = browser.new_context(java_script_enabled=False)
    try:
        page = plain.new_page()
        page.goto(url)
        expect(page.locator("#snippet")).to_contain_text('v = "1.0.0"')
        expect(page.get_by_role("button", name="Copy")).to_be_hidden()  # nothing that does nothing
    finally:
        plain.close()


@pytest.mark.e2e
def test_search_filters_are_reached_from_a_package_page(
    site: tuple[str, Any], browser: Browser, tmp_path: Path
) -> None:
    base, state = site
    context = browser.new_context(storage_state=state)
    try:
        page = context.new_page()
        page.goto(f"{base}/project/{NS}/{PACKAGE}")
        page.get_by_role("link", name="keyword quadrature").click()
        expect(page.get_by_label("Keyword", exact=True)).to_have_value("quadrature")
        expect(page.locator("ul.packages li")).to_have_count(1)
        page.get_by_label("Namespace", exact=True).fill(OTHER_NS)
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("#no-match")).to_contain_text(
            f"No packages match namespace “{OTHER_NS}”, keyword “quadrature”"
        )
        page.goto(f"{base}/project/{NS}/{PACKAGE}")
        page.get_by_role("link", name="MIT", exact=True).click()
        expect(page.locator("ul.packages li")).to_have_count(2)  # quadpack_lite and solver
    finally:
        context.close()
