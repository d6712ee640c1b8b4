"""The package page and fpm's metadata endpoint cost a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from fpmreg.server.storage import BlobStore
from tests.factories import make_publisher, publish


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _queries_for(client: TestClient, engine: Engine, url: str) -> int:
    with counting(engine) as statements:
        response = client.get(url)
    assert response.status_code == 200, response.text
    return len(statements)


def test_package_page_and_fpm_metadata_do_not_grow_with_versions(
    client: TestClient, session: Session, store: BlobStore, engine: Engine
) -> None:
    publisher = make_publisher(session)
    ns = publisher.namespace.name
    publish(session, store, publisher, "dep-a", "1.0.0")
    publish(session, store, publisher, "dep-b", "1.0.0")
    deps = (
        f'[dependencies]\ndep-a = {{ namespace = "{ns}" }}\n'
        f'dep-b = {{ namespace = "{ns}", v = "1.0" }}\n'
    )
    publish(session, store, publisher, "small", "1.0.0", extra_manifest=deps)
    for i in range(12):
        publish(session, store, publisher, "big", f"1.{i}.0", extra_manifest=deps)
    for url in (
        "/project/{ns}/{name}",
        "/packages/{ns}/{name}",
        "/packages/{ns}/{name}/1.0.0",
        "/api/v1/packages/{ns}/{name}",
    ):
        small = _queries_for(client, engine, url.format(ns=ns, name="small"))
        big = _queries_for(client, engine, url.format(ns=ns, name="big"))
        assert small == big, f"{url}: {small} queries for 1 version, {big} for 12"
        # The package page: package, versions, publishers, deleted versions (tombstones),
        # advisories, download chart, maintainers, "used by", the mirror source
        # (docs/mirrors.md), the expectations (docs/expectations.md), and the communities'
        # verdicts and accepted audits (docs/communities.md, "Pages"); the others need
        # fewer.
        assert big <= 12, f"{url} takes {big} queries"


def test_fpm_metadata_is_served_from_cache_until_the_next_publish(
    client: TestClient, session: Session, store: BlobStore, engine: Engine
) -> None:
    publisher = make_publisher(session)
    ns = publisher.namespace.name
    publish(session, store, publisher, "cached", "1.0.0")
    url = f"/packages/{ns}/cached"
    assert client.get(url).json()["data"]["latest_version_data"]["version"] == "1.0.0"
    # A cached answer costs one primary-key read: the change sequence (docs/operating.md,
    # "Several hosts"), so a change committed by another host is seen at once.
    with counting(engine) as statements:
        assert client.get(url).status_code == 200
    assert len(statements) == 1 and "change_sequence" in statements[0]
    # A publish through the app bumps the change sequence; the next answer is fresh.
    from tests.support.tarballs import package_tarball

    response = client.post(
        "/packages",
        data={"upload_token": publisher.token},
        files={"tarball": ("f", package_tarball("cached", "1.1.0"))},
    )
    assert response.json()["code"] == 200, response.text
    assert client.get(url).json()["data"]["latest_version_data"]["version"] == "1.1.0"
