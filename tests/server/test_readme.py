"""READMEs on package pages: rendered once at publish, bounded, images as links."""

from __future__ import annotations

import re
import secrets

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fpmreg.server.packages.models import Package, Version
from fpmreg.server.packages.readme import MAX_MARKDOWN_BYTES, render_readme
from tests.factories import Publisher, make_publisher, unique
from tests.support.tarballs import package_tarball

# markdown-it spends its most time per byte on `\n[` and `![`: 512 KiB (the largest
# README an archive keeps) took 18 s per page view when pages rendered READMEs.
PATHOLOGICAL = "\n[" * 250_000


def _publish(client: TestClient, publisher: Publisher, name: str, readme: str) -> str:
    # Random text keeps the archive's compression ratio that of real source, not a bomb.
    noise = {"data/noise.txt": secrets.token_hex(16_384)}
    tarball = package_tarball(name, "1.0.0", readme=readme, files=noise)
    published = client.post(
        "/packages", data={"upload_token": publisher.token}, files={"tarball": ("f", tarball)}
    )
    assert published.json()["code"] == 200, published.text
    return f"/project/{publisher.namespace.name}/{name}"


def _version(session: Session, name: str) -> Version:
    return session.scalars(select(Version).join(Package).where(Package.name == name)).one()


def _readme_section(page: str) -> str:
    match = re.search(r'<section class="readme">(.*?)</section>', page, re.S)
    assert match, page
    return match.group(1)


@pytest.mark.timeout(8)  # each view took 10-18 s when pages rendered the README
def test_pathological_readme_is_served_quickly_as_plain_text(
    client: TestClient, session: Session
) -> None:
    publisher = make_publisher(session)
    session.commit()
    url = _publish(client, publisher, unique("slow"), PATHOLOGICAL)
    for _ in range(2):
        page = client.get(url)
        assert page.status_code == 200
        readme = _readme_section(page.text)
        assert readme.strip().startswith('<pre class="readme-plain">')
        assert "[\n[\n[" in readme
        assert "<p>" not in readme and "<a " not in readme


def test_readme_that_renders_too_slowly_is_shown_as_plain_text() -> None:
    # Under the size cap, but past the CPU budget: markdown-it is stopped mid-way.
    crafted = "\n[" * ((MAX_MARKDOWN_BYTES - 16) // 2)
    assert render_readme("README.md", crafted).startswith('<pre class="readme-plain">')


def test_readme_shows_images_as_links_and_keeps_markdown_and_escaping(
    client: TestClient, session: Session
) -> None:
    publisher = make_publisher(session)
    session.commit()
    readme = (
        "# Quadrature\n\n- fast\n- exact\n\n"
        "![The logo](https://tracker.example/logo.png)\n\n"
        "[![CI](https://ci.example/badge.svg)](https://ci.example/runs)\n\n"
        '<script>alert(1)</script> <img src="https://tracker.example/pixel.gif">\n'
    )
    page = client.get(_publish(client, publisher, unique("pics"), readme))
    html = _readme_section(page.text)
    assert "<h1>Quadrature</h1>" in html and html.count("<li>") == 2
    assert "<img" not in html  # no browser fetches anything from another host
    assert re.search(
        r'<a class="readme-image" href="https://tracker.example/logo.png"[^>]*>The logo', html
    )
    assert re.search(
        r'<a href="https://ci.example/runs"[^>]*><span class="readme-image">CI</span></a>', html
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "img-src 'self' data:;" in page.headers["content-security-policy"]


def test_package_page_shows_the_html_stored_at_publish(
    client: TestClient, session: Session
) -> None:
    publisher = make_publisher(session)
    session.commit()
    url = _publish(client, publisher, name := unique("once"), "# Stored\n")
    stored = _version(session, name)
    assert stored.readme_html == "<h1>Stored</h1>\n"
    session.execute(update(Version).where(Version.id == stored.id).values(readme="# Changed\n"))
    session.commit()
    assert "<h1>Stored</h1>" in client.get(url).text  # not rendered again per view


def test_version_published_before_render_at_publish_is_rendered_once_and_kept(
    client: TestClient, session: Session
) -> None:
    publisher = make_publisher(session)
    session.commit()
    url = _publish(client, publisher, name := unique("old"), "# Old *times*\n")
    row = _version(session, name)
    session.execute(update(Version).where(Version.id == row.id).values(readme_html=""))
    session.commit()
    assert "<h1>Old <em>times</em></h1>" in client.get(url).text
    session.expire_all()
    assert _version(session, name).readme_html == "<h1>Old <em>times</em></h1>\n"
