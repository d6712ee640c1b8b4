"""`/api/docs` is Swagger UI served by the registry itself: no CDN, no inline script."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


def test_the_docs_page_loads_only_same_origin_assets_and_they_are_served(
    client: TestClient,
) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assets = ASSET.findall(page.text)
    assert assets, page.text
    for url in assets:
        assert url.startswith("/") and not url.startswith("//"), f"{url} is not same-origin"
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.content) > 100, url
    types = {url.rsplit(".", 1)[-1]: client.get(url).headers["content-type"] for url in assets}
    assert types["css"].startswith("text/css")
    assert "javascript" in types["js"]
    assert {"/static/swagger/swagger-ui-bundle.js", "/static/swagger/init.js"} <= set(assets)


def test_the_docs_page_runs_under_a_csp_without_inline_scripts(client: TestClient) -> None:
    page = client.get("/api/docs")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)


def test_the_vendored_swagger_ui_carries_its_license(client: TestClient) -> None:
    license_text = client.get("/static/swagger/LICENSE")
    assert license_text.status_code == 200 and "Apache License" in license_text.text
