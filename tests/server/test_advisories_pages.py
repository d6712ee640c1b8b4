"""Advisory pages: the form (with CSRF), the advisory page, the banner on affected
version pages, the list on the package page, and the Atom feed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.server.advisories.deps import AdvisoriesWiring
from fpmreg.server.storage import BlobStore
from tests.factories import PASSWORD, Publisher, make_advisory, make_publisher, publish
from tests.server.test_advisories import Recorder
from tests.support.forms import csrf_field

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def owner(session: Session, store: BlobStore, app: FastAPI) -> Publisher:
    app.state.advisories = AdvisoriesWiring(listener=Recorder())
    publisher = make_publisher(session)
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        publish(session, store, publisher, "lib", version)
    return publisher


def log_in(client: TestClient, publisher: Publisher) -> None:
    token = csrf_field(client, "/login")
    answer = client.post(
        "/login",
        data={"csrf_token": token, "username": publisher.user.username, "password": PASSWORD},
    )
    assert answer.status_code == 200, answer.text


def test_a_maintainer_drafts_and_publishes_through_the_form(
    client: TestClient, owner: Publisher
) -> None:
    log_in(client, owner)
    package = f"{owner.namespace.name}/lib"
    token = csrf_field(client, f"/advisories/new?package={package}")
    answer = client.post(
        "/advisories/new",
        data={
            "csrf_token": token,
            "package": package,
            "summary": "Integer overflow in `resize`",
            "introduced": "0",
            "fixed": "1.2.0",
            "cvss_v3": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "cvss_v4": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "aliases": "CVE-2026-1111",
            "references": "https://example.org/report",
            "mitigation": "upgrade_to",
            "mitigation_value": "1.2.0",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    url = answer.headers["location"]
    page = client.get(url).text
    assert "draft" in page and "Integer overflow" in page
    assert "Critical 9.8" in page and "Critical 9.3" in page  # CVSS 3.1 and 4.0 scores
    assert "Upgrade to 1.2.0" in page
    assert TestClient(client.app).get(url).status_code == 404  # anonymous: no such page

    osv_id = url.rsplit("/", 1)[1]
    publish_form = client.post(
        f"{url}/publish", data={"csrf_token": csrf_field(client, url)}, follow_redirects=False
    )
    assert publish_form.status_code == 303
    assert TestClient(client.app).get(url).status_code == 200
    assert osv_id in client.get(f"/project/{package}/1.0.0").text


def test_form_errors_are_shown_with_the_fields_kept(client: TestClient, owner: Publisher) -> None:
    log_in(client, owner)
    package = f"{owner.namespace.name}/lib"
    answer = client.post(
        "/advisories/new",
        data={
            "csrf_token": csrf_field(client, "/advisories/new"),
            "package": package,
            "summary": "Keep me",
            "fixed": "v2",
            "cvss_v3": "CVSS:3.1/nonsense",
        },
    )
    assert answer.status_code == 400
    assert "not a valid fpm version" in answer.text
    assert "not a valid CVSS_V3 vector" in answer.text
    assert 'value="Keep me"' in answer.text


def test_the_form_needs_its_csrf_token(client: TestClient, owner: Publisher) -> None:
    log_in(client, owner)
    answer = client.post("/advisories/new", data={"package": "a/b", "summary": "x"})
    assert answer.status_code == 403


def test_affected_version_pages_show_a_banner_and_the_package_page_lists_it(
    client: TestClient, session: Session, owner: Publisher
) -> None:
    package = f"{owner.namespace.name}/lib"
    osv_id = make_advisory(session, owner.user, package)
    affected = client.get(f"/project/{package}/1.1.0").text
    assert re.search(r'role="alert">\s*<strong>Version 1\.1\.0 is affected', affected)
    assert "fixed in 1.2.0" in affected
    fixed = client.get(f"/project/{package}/1.2.0").text
    assert "is affected" not in fixed
    assert f'href="/advisories/{osv_id}"' in fixed  # listed under "Security advisories"


def test_the_atom_feed_lists_published_advisories_newest_first(
    client: TestClient, session: Session, owner: Publisher
) -> None:
    package = f"{owner.namespace.name}/lib"
    first = make_advisory(session, owner.user, package, summary="First")
    second = make_advisory(session, owner.user, package, summary="Second")
    draft = make_advisory(session, owner.user, package, published=False, summary="Hidden")
    answer = client.get("/advisories.atom")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(answer.content)
    titles = [e.findtext(f"{ATOM}title") or "" for e in feed.iter(f"{ATOM}entry")]
    ours = [t for t in titles if t.startswith((first, second, draft))]
    assert ours == [f"{second}: Second", f"{first}: First"]
