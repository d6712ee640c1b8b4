"""README badges: SVG in shields.io's flat style, cached with an ETag, escaped, accessible."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.builds.models import Build, BuildOutcome
from fpmreg.server.linked.badges import Badge, format_count, text_width
from fpmreg.server.metrics.models import PackageDownloads, VersionDownloads
from fpmreg.server.packages.models import Version
from fpmreg.server.storage import BlobStore
from tests.factories import Publisher, make_publisher, publish

SVG_NS = "{http://www.w3.org/2000/svg}"


def parse(body: bytes) -> ET.Element:
    return ET.fromstring(body)


def values(svg: ET.Element) -> list[str]:
    """The texts drawn (each once: the shadow copy is dropped)."""
    texts = [t.text or "" for t in svg.iter(f"{SVG_NS}text")]
    return texts[1::2]


@pytest.fixture
def hello(session: Session, store: BlobStore) -> Publisher:
    publisher = make_publisher(session)
    publish(session, store, publisher, "hello", "1.0.0", license="MIT")
    publish(session, store, publisher, "hello", "1.1.0", license="Apache-2.0 OR MIT")
    return publisher


def test_version_badge_names_the_newest_release_not_yanked(
    client: TestClient, session: Session, store: BlobStore, hello: Publisher
) -> None:
    ns = hello.namespace.name
    publish(session, store, hello, "hello", "2.0.0")
    newest = session.scalar(select(Version).where(Version.version == "2.0.0"))
    assert newest is not None
    newest.yanked = True
    session.commit()

    answer = client.get(f"/badges/{ns}/hello/version.svg")

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/svg+xml"
    svg = parse(answer.content)
    assert values(svg) == ["fpmreg", "1.1.0"]
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == f"{ns}/hello: version 1.1.0"
    assert svg.findtext(f"{SVG_NS}title") == f"{ns}/hello: version 1.1.0"


def test_licence_badge_is_the_manifests_expression(client: TestClient, hello: Publisher) -> None:
    ns = hello.namespace.name
    latest = parse(client.get(f"/badges/{ns}/hello/license.svg").content)
    old = parse(client.get(f"/badges/{ns}/hello/1.0.0/license.svg").content)
    assert values(latest) == ["license", "Apache-2.0 OR MIT"]
    assert values(old) == ["license", "MIT"]
    assert old.get("aria-label") == f"{ns}/hello@1.0.0: license MIT"


def test_downloads_badge_shows_the_public_totals(
    client: TestClient, session: Session, hello: Publisher
) -> None:
    ns = hello.namespace.name
    old = session.scalar(select(Version).where(Version.version == "1.0.0"))
    assert old is not None
    session.add(PackageDownloads(package_id=old.package_id, count=1234))
    session.add(VersionDownloads(version_id=old.id, package_id=old.package_id, count=1000))
    session.commit()

    package = parse(client.get(f"/badges/{ns}/hello/downloads.svg").content)
    version = parse(client.get(f"/badges/{ns}/hello/1.0.0/downloads.svg").content)
    newer = parse(client.get(f"/badges/{ns}/hello/1.1.0/downloads.svg").content)

    assert values(package) == ["downloads", "1.2k"]
    assert package.get("aria-label") == f"{ns}/hello: 1234 downloads"
    assert values(version) == ["downloads", "1k"]
    assert values(newer) == ["downloads", "0"]


@pytest.mark.parametrize(
    ("outcome", "shown", "color"),
    [
        (BuildOutcome.PASSED, "verified", "#4c1"),
        (BuildOutcome.FAILED, "failed", "#e05d44"),
        (BuildOutcome.TIMED_OUT, "failed", "#e05d44"),
        (BuildOutcome.NOT_VERIFIED, "not verified", "#9f9f9f"),
        (None, "not verified", "#9f9f9f"),
    ],
)
def test_build_badge_says_what_the_registrys_build_found(
    client: TestClient,
    session: Session,
    hello: Publisher,
    outcome: BuildOutcome | None,
    shown: str,
    color: str,
) -> None:
    latest = session.scalar(select(Version).where(Version.version == "1.1.0"))
    assert latest is not None
    if outcome is not None:
        now = datetime.now(UTC)
        session.add(Build(version_id=latest.id, outcome=outcome, queued_at=now, finished_at=now))
        session.commit()

    svg = parse(client.get(f"/badges/{hello.namespace.name}/hello/build.svg").content)

    assert values(svg) == ["build", shown]
    fills = [r.get("fill") for r in svg.iter(f"{SVG_NS}rect")]
    assert color in fills


def test_an_unchanged_badge_is_a_304_with_the_same_etag(
    client: TestClient, hello: Publisher
) -> None:
    url = f"/badges/{hello.namespace.name}/hello/version.svg"
    first = client.get(url)
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert first.headers["cache-control"] == "public, max-age=300"
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


def test_unknown_package_or_kind_is_a_404_in_the_api_envelope(
    client: TestClient, hello: Publisher
) -> None:
    ns = hello.namespace.name
    kind = client.get(f"/badges/{ns}/hello/stars.svg")
    package = client.get(f"/badges/{ns}/nothing/version.svg")
    version = client.get(f"/badges/{ns}/hello/9.9.9/version.svg")
    for answer in (kind, package, version):
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/json"
    assert kind.json()["errors"][0]["code"] == "badge-kind-unknown"
    assert "`version`, `downloads`, `license`, `build`" in kind.json()["errors"][0]["detail"]
    assert package.json()["errors"][0]["code"] == "package-not-found"
    assert version.json()["errors"][0]["code"] == "version-not-found"
    assert client.get(f"/badges/{ns}/hello/x.y/version.svg").status_code == 400


def test_badge_headers_let_other_sites_embed_the_image(
    client: TestClient, hello: Publisher
) -> None:
    answer = client.get(f"/badges/{hello.namespace.name}/hello/license.svg")
    assert answer.headers["content-security-policy"] == "default-src 'none'"
    assert answer.headers["cross-origin-resource-policy"] == "cross-origin"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_text_is_escaped_and_boxes_fit_their_text() -> None:
    badge = Badge("lic<e>nse", 'A & "B" </svg><script>', "#007ec6", "t & <title>")
    svg = parse(badge.svg().encode())  # well-formed XML: nothing broke out
    assert values(svg) == ["lic<e>nse", 'A & "B" </svg><script>']
    assert svg.findtext(f"{SVG_NS}title") == "t & <title>"
    assert not list(svg.iter(f"{SVG_NS}script"))


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_the_value_box_is_never_narrower_than_its_text(label: str, value: str) -> None:
    svg = parse(Badge(label, value, "#4c1", "t").svg().encode())
    rects = list(svg.iter(f"{SVG_NS}rect"))
    label_box, value_box = float(rects[1].get("width", 0)), float(rects[2].get("width", 0))
    texts = list(svg.iter(f"{SVG_NS}text"))
    assert label_box >= float(texts[0].get("textLength", 0)) / 10 + 10
    assert value_box >= float(texts[2].get("textLength", 0)) / 10 + 10
    assert float(svg.get("width", 0)) == label_box + value_box


def test_widths_follow_verdana() -> None:
    assert text_width("1.0.0") == pytest.approx(6.99 * 3 + 4.0 * 2)
    assert text_width("é") == text_width("m")  # never narrower than the widest letter


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0"), (999, "999"), (1000, "1k"), (1250, "1.2k"), (1299, "1.2k"), (12_345, "12k"),
     (999_999, "999k"), (3_400_000, "3.4M"), (1_000_000_000, "1G")],
)  # fmt: skip
def test_counts_are_written_as_shields_writes_them(count: int, text: str) -> None:
    assert format_count(count) == text
