"""In a real chromium: a package page calls no other host, and the CSP breaks nothing."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from tests.e2e.browser import PageWatch, publish_like_fpm
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

NAMESPACE = "imaging"
PACKAGE = "pixels"
DOT = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR4nGNgYAAAAAMAASsJTYQAAAAASUVORK5CYII="
README = f"""\
# Pixels

![Build status](https://tracker.invalid/badge.svg?visitor=1)

[![Coverage](https://badges.invalid/coverage.svg)](https://ci.invalid/runs)

A dot: ![dot](data:image/png;base64,{DOT})
"""


@pytest.mark.e2e
def test_readme_images_from_other_hosts_are_links_not_requests(
    live_server: LiveServer, page: Page
) -> None:
    base = live_server.url
    token = live_server.publisher_token(NAMESPACE)
    tarball = package_tarball(PACKAGE, "1.0.0", readme=README)
    published = publish_like_fpm(base, token, PACKAGE, "1.0.0", "MIT", tarball)
    assert published.json()["code"] == 200, published.text

    requested: list[str] = []
    page.on("request", lambda request: requested.append(_origin(request)))  # data: too
    watch = PageWatch().attach(page)
    page.goto(f"{base}/project/{NAMESPACE}/{PACKAGE}")
    page.wait_for_load_state("load")

    readme = page.locator("section.readme")
    expect(readme.get_by_role("heading", name="Pixels")).to_be_visible()
    expect(readme.get_by_role("link", name="Build status")).to_have_attribute(
        "href", "https://tracker.invalid/badge.svg?visitor=1"
    )
    expect(readme.get_by_role("link", name="Coverage")).to_have_attribute(
        "href", "https://ci.invalid/runs"
    )
    expect(readme.locator("img")).to_have_count(1)  # the data: image, which loads nothing
    assert set(requested) - {"data:"} == {base}, requested
    # A style or script the CSP refused would be reported as a console error (the only
    # other one is chromium's own request for /favicon.ico, which the registry has not).
    refused = [e for e in watch.console_errors if "Content Security Policy" in e]
    assert refused == [] and watch.errors == []


def _origin(request: Request) -> str:
    parts = urlsplit(request.url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme.startswith("http") else "data:"
