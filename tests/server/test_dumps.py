"""The daily metadata dump, as an operator writes it and a directory builder fetches it
(docs/dumps.md): a real registry process, its database and blob folder, real HTTP."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from fpmreg.server.accounts.models import Scope, User
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.clock import SystemClock
from fpmreg.server.db import Database
from tests.factories import make_moderator
from tests.support.live import LiveServer
from tests.support.tarballs import fpm_publish_form, package_tarball

SERVER = [sys.executable, "-m", "fpmreg.server"]


def _manifest(name: str, version: str, extra: str = "") -> str:
    return (
        f'name = "{name}"\nversion = "{version}"\nlicense = "Apache-2.0 OR MIT"\n'
        f'description = "Grüße from {name}"\nauthor = "A. Fortran <a@example.org>"\n'
        f'homepage = "https://github.com/example/{name}"\nkeywords = ["linear algebra", "ode"]\n'
        f"[build]\nmodule-naming = true\n{extra}"
    )


def _publish(live: LiveServer, token: str, name: str, version: str, extra: str = "") -> None:
    """Publish over HTTP as fpm does, so the release is also logged (its log index)."""
    data = package_tarball(name, version, files={"fpm.toml": _manifest(name, version, extra)})
    form = fpm_publish_form(name, version, "Apache-2.0 OR MIT", token, data)
    response = httpx.post(f"{live.url}/packages", **form, timeout=60)
    assert response.status_code == 200, response.text


def _manage_token(session: Any, owner: User) -> dict[str, str]:
    secret, _ = AccountsService(session, SystemClock()).create_token(
        owner, name="manage", scopes={Scope.MANAGE, Scope.YANK}, namespace="sci"
    )
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _registry(live: LiveServer) -> dict[str, str]:
    """Publish: `solver` 1.0.0, 1.1.0 (yanked), 1.2.0 (deleted); `old` (deprecated for
    `solver`), depending on `solver`; `hidden` (quarantined). Returns names and emails."""
    token = live.publisher_token("sci", username="owner")
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        _publish(live, token, "solver", version)
    _publish(live, token, "old", "0.3.0", '[dependencies]\nsolver = { namespace = "sci" }\n')
    _publish(live, token, "hidden", "0.1.0")
    database = Database.from_url(live.database_url)
    try:
        with database.session() as session:
            owner = AccountsService(session, SystemClock()).user_by_name("owner")
            assert owner is not None
            headers = _manage_token(session, owner)
            moderator = make_moderator(session)
            facts = {"owner": owner.username, "email": owner.email,
                     "moderator_email": moderator.user.email}  # fmt: skip
            moderator_headers = {"Authorization": f"Bearer {moderator.token}"}
    finally:
        database.engine.dispose()
    api = f"{live.url}/api/v1/packages/sci"
    calls = [
        httpx.put(f"{api}/solver/versions/1.1.0/yank", json={"reason": "wrong results"},
                  headers=headers),
        httpx.put(f"{api}/old/deprecation",
                  json={"message": "use solver", "replacement": "sci/solver"}, headers=headers),
        httpx.request("DELETE", f"{api}/solver/versions/1.2.0",
                      json={"reason": "leaked a key", "category": "other"}, headers=headers),
        httpx.put(f"{api}/hidden/quarantine", json={"reason": "looks odd", "category": "malware"},
                  headers=moderator_headers),
    ]  # fmt: skip
    for response in calls:
        assert response.status_code == 200, response.text
    return facts


def _write(
    live: LiveServer, *args: str, storage: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = live.environment()
    if storage is not None:
        env["FPMREG_STORAGE_PATH"] = str(storage)
    return subprocess.run(
        [*SERVER, "dump", "write", *args], env=env, text=True, capture_output=True,
        timeout=120, check=False,
    )  # fmt: skip


def _lines(data: bytes) -> list[dict[str, Any]]:
    text = gzip.decompress(data).decode()
    assert text.endswith("\n") and "\r" not in text
    return [json.loads(line) for line in text.splitlines()]


def test_a_written_dump_is_listed_and_fetched_with_every_public_fact(
    live_server: LiveServer,
) -> None:
    facts = _registry(live_server)
    written = _write(live_server, "--date", "2026-12-01")
    assert written.returncode == 0, written.stderr
    assert "fpmreg-2026-12-01.jsonl.gz: written, 2 package(s)" in written.stdout

    listing = httpx.get(f"{live_server.url}/dumps/", headers={"Accept": "application/json"})
    assert listing.status_code == 200 and listing.json()["license"] == "CC0-1.0"
    [entry] = listing.json()["dumps"]
    assert entry["date"] == "2026-12-01"
    assert entry["url"] == f"{live_server.url}/dumps/fpmreg-2026-12-01.jsonl.gz"
    page = httpx.get(f"{live_server.url}/dumps/")
    assert "text/html" in page.headers["content-type"]
    assert "public domain" in page.text and entry["sha256"] in page.text
    assert 'href="/dumps/"' in httpx.get(f"{live_server.url}/").text  # the footer

    fetched = httpx.get(entry["url"])
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "application/gzip"
    assert "content-encoding" not in fetched.headers
    assert fetched.headers["etag"] == f'"{entry["sha256"]}"'
    assert "immutable" in fetched.headers["cache-control"]
    assert hashlib.sha256(fetched.content).hexdigest() == entry["sha256"]
    assert len(fetched.content) == entry["size"]
    again = httpx.get(entry["url"], headers={"If-None-Match": fetched.headers["etag"]})
    assert again.status_code == 304

    header, *rest = _lines(fetched.content)
    assert header["type"] == "fpmreg-dump" and header["version"] == 1
    assert header["license"] == "CC0-1.0"
    assert header["licenseUrl"] == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert header["registry"] == live_server.url and header["packages"] == 2
    packages = {(p["namespace"], p["name"]): p for p in rest if p["type"] == "package"}
    assert set(packages) == {("sci", "old"), ("sci", "solver")}  # not the quarantined one

    solver = packages[("sci", "solver")]
    assert solver["purl"] == "pkg:fpm/sci/solver"
    assert solver["license"] == "Apache-2.0 OR MIT"
    assert solver["description"] == "Grüße from solver"
    assert solver["repository"] == "https://github.com/example/solver"
    assert solver["keywords"] == ["linear algebra", "ode"]
    assert solver["maintainers"] == [facts["owner"]]
    assert solver["deprecated"] is None
    releases = {r["version"]: r for r in solver["releases"]}
    assert list(releases) == ["1.0.0", "1.1.0"]
    assert releases["1.1.0"]["yanked"] is True
    assert releases["1.1.0"]["yankReason"] == "wrong results"
    assert releases["1.0.0"]["yanked"] is False
    assert isinstance(releases["1.0.0"]["logIndex"], int)
    assert len(releases["1.0.0"]["sha256"]) == 64
    tarball = httpx.get(releases["1.0.0"]["downloadUrl"])
    assert hashlib.sha256(tarball.content).hexdigest() == releases["1.0.0"]["sha256"]
    assert [d["version"] for d in solver["deletedVersions"]] == ["1.2.0"]
    assert solver["deletedVersions"][0]["category"] == "other"

    old = packages[("sci", "old")]
    assert old["deprecated"] == {"message": "use solver", "replacement": "sci/solver"}
    [dependency] = old["releases"][0]["dependencies"]
    assert (dependency["namespace"], dependency["name"]) == ("sci", "solver")

    text = gzip.decompress(fetched.content).decode()
    for private in (facts["email"], facts["moderator_email"], "a@example.org", "leaked a key",
                    "looks odd", "hidden"):  # fmt: skip
        assert private not in text


def test_the_same_facts_and_date_give_the_same_bytes_and_the_oldest_dumps_go(
    live_server: LiveServer, tmp_path: Path
) -> None:
    _registry(live_server)
    assert _write(live_server, "--date", "2026-12-01").returncode == 0
    elsewhere = _write(live_server, "--date", "2026-12-01", storage=tmp_path / "other")
    assert elsewhere.returncode == 0, elsewhere.stderr
    name = "dumps/fpmreg-2026-12-01.jsonl.gz"
    first = (live_server.storage / name).read_bytes()
    assert (tmp_path / "other" / name).read_bytes() == first
    rerun = _write(live_server, "--date", "2026-12-01")
    assert "unchanged" in rerun.stdout and (live_server.storage / name).read_bytes() == first

    for day in ("2026-12-02", "2026-12-03"):
        assert _write(live_server, "--date", day, "--keep", "2").returncode == 0
    listing = httpx.get(f"{live_server.url}/dumps/index.json").json()
    assert [d["date"] for d in listing["dumps"]] == ["2026-12-03", "2026-12-02"]
    assert not (live_server.storage / name).exists()
    gone = httpx.get(f"{live_server.url}/dumps/fpmreg-2026-12-01.jsonl.gz")
    assert gone.status_code == 404
    assert gone.json()["errors"][0]["code"] == "dump-not-found"
    latest = httpx.get(f"{live_server.url}/dumps/latest.jsonl.gz")
    assert latest.status_code == 302
    assert latest.headers["location"] == "/dumps/fpmreg-2026-12-03.jsonl.gz"


def test_a_date_already_dumped_with_other_facts_is_kept_unless_replaced(
    live_server: LiveServer,
) -> None:
    assert _write(live_server, "--date", "2026-12-01").returncode == 0
    _registry(live_server)
    refused = _write(live_server, "--date", "2026-12-01")
    assert refused.returncode == 1 and "--replace" in refused.stderr
    replaced = _write(live_server, "--date", "2026-12-01", "--replace")
    assert replaced.returncode == 0 and "2 package(s)" in replaced.stdout
    bad = _write(live_server, "--date", "2026-13-01")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


BAD_NAMES = (
    "fpmreg-2026-12-09.jsonl.gz",  # a good name, never written
    "fpmreg-2026-02-30.jsonl.gz",  # no such day
    "..%2Findex.json",
    "%2E%2E%2F%2E%2E%2Fsha256",
    "fpmreg-2026-12-01.jsonl.gz.part",
    "index.jsonl.gz",
    "x" * 300,
)


def test_unknown_or_malformed_dump_names_are_a_404_in_the_envelope(
    live_server: LiveServer,
) -> None:
    for name in BAD_NAMES:
        response = httpx.get(f"{live_server.url}/dumps/{name}")
        assert response.status_code == 404, name
        # A `/` decoded from `%2F` leaves /dumps/ altogether: no route, the plain 404.
        assert response.json()["errors"][0]["code"] in ("dump-not-found", "not-found"), name


def test_no_dump_yet_is_an_empty_listing_and_no_latest(live_server: LiveServer) -> None:
    listing = httpx.get(f"{live_server.url}/dumps/index.json")
    assert listing.status_code == 200 and listing.json()["dumps"] == []
    assert "No dump has been written yet" in httpx.get(f"{live_server.url}/dumps/").text
    assert httpx.get(f"{live_server.url}/dumps/latest.jsonl.gz").status_code == 404
