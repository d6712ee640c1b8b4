"""The API docs page renders every operation in a real chromium with no network but
the registry's own origin, and breaks no rule of its Content-Security-Policy."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Route, expect

from tests.e2e.browser import PageWatch
from tests.support.live import LiveServer

pytestmark = pytest.mark.e2e


def test_the_api_docs_render_offline(context: BrowserContext, live_server: LiveServer) -> None:
    foreign: list[str] = []

    def only_the_registry(route: Route) -> None:
        if route.request.url.startswith(live_server.url + "/"):
            route.continue_()
        else:  # as if offline: any other host is unreachable
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_registry)
    page = context.new_page()
    watch = PageWatch().attach(page)
    page.goto(live_server.url + "/api/docs")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/packages").first).to_be_visible()
    expect(page.get_by_text("/tarballs/{namespace}/{name}/{filename}").first).to_be_visible()
    assert operations.count() >= 19
    assert foreign == []
    assert watch.errors == []
    violations = [m for m in watch.console_errors if "Content Security Policy" in m]
    assert violations == []
