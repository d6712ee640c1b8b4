"""`fpmreg search` and `fpmreg info` against a real registry process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fpmreg.server.accounts.models import Scope
from fpmreg.server.db import Database
from tests.client.conftest import fpmreg
from tests.client.pinning import NAMESPACE, publish, token_for, yank
from tests.factories import make_moderator
from tests.support.databases import fresh_database
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

HOMEPAGE = "https://github.com/acme/numkit"


def publish_with_homepage(server: LiveServer, token: str, name: str, version: str) -> None:
    """Publish `pin/name@version` whose fpm.toml names a GitHub homepage."""
    toml = (
        f'name = "{name}"\nversion = "{version}"\nlicense = "MIT"\n'
        f'description = "Numerical kit for Fortran"\nauthor = "A. Fortran"\n'
        f'homepage = "{HOMEPAGE}"\n[build]\nmodule-naming = true\n'
    )
    data = package_tarball(name, version, files={"fpm.toml": toml})
    response = httpx.post(
        f"{server.url}/api/v1/packages",
        headers={"Authorization": f"Bearer {token}"},
        files={"tarball": (f"{name}-{version}.tar.gz", data, "application/gzip")},
        timeout=30,
    )
    assert response.status_code == 201, response.text


def search(server: LiveServer, *args: str) -> dict[str, object]:
    run = fpmreg("search", *args, "--registry", server.url, "--format", "json")
    assert run.exit_code == 0, run.output
    document: dict[str, object] = json.loads(run.stdout)
    return document


# -- search --------------------------------------------------------------------------


def test_search_prints_a_table_of_matches(live_server: LiveServer) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "numkit", "1.1.0")
    publish(live_server, token, "statkit", "1.0.0")

    run = fpmreg("search", "numkit", "--registry", live_server.url)

    assert run.exit_code == 0, run.output
    row = next(line for line in run.stdout.splitlines() if "pin/numkit" in line)
    assert "1.1.0" in row and "The numkit package" in row
    assert "statkit" not in run.stdout
    assert f"1 of 1 packages on `{live_server.url}`" in run.stderr


def test_search_json_lists_every_match_with_its_latest_version(live_server: LiveServer) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "statkit", "2.0.0")

    document = search(live_server, "kit")

    assert document["registry"] == live_server.url
    assert document["query"] == "kit"
    assert document["total"] == 2
    packages = document["packages"]
    assert isinstance(packages, list)
    assert {(p["namespace"], p["name"], p["latest_version"]) for p in packages} == {
        ("pin", "numkit", "1.0.0"),
        ("pin", "statkit", "2.0.0"),
    }
    assert {p["description"] for p in packages} == {"The numkit package", "The statkit package"}
    assert all(p["license"] == "MIT" for p in packages)
    assert all("downloads" in p for p in packages)


def test_search_namespace_keeps_one_namespace(live_server: LiveServer) -> None:
    publish(live_server, token_for(live_server), "numkit", "1.0.0")
    publish(
        live_server,
        token_for(live_server, "other"),
        "numkit",
        "3.0.0",
        namespace="other",
    )

    both = search(live_server, "numkit")
    only = search(live_server, "numkit", "--namespace", "other")

    assert both["total"] == 2
    assert only["namespace"] == "other"
    assert [(p["namespace"], p["latest_version"]) for p in only["packages"]] == [  # type: ignore[attr-defined]
        ("other", "3.0.0")
    ]


def test_search_limit_shows_fewer_and_says_how_many_there_are(live_server: LiveServer) -> None:
    token = token_for(live_server)
    for name in ("alphakit", "betakit", "gammakit"):
        publish(live_server, token, name, "1.0.0")

    document = search(live_server, "kit", "--limit", "2")
    run = fpmreg("search", "kit", "--limit", "2", "--registry", live_server.url)

    assert document["total"] == 3
    assert len(document["packages"]) == 2  # type: ignore[arg-type]
    assert run.exit_code == 0
    assert "2 of 3 packages" in run.stderr and "`--limit 3` shows more" in run.stderr


def test_search_follows_pages_up_to_the_limit(live_server: LiveServer) -> None:
    token = token_for(live_server)
    for number in range(23):
        publish(live_server, token, f"kit{number:02d}", "1.0.0")

    document = search(live_server, "kit", "--limit", "22")

    assert document["total"] == 23
    names = [p["name"] for p in document["packages"]]  # type: ignore[attr-defined]
    assert len(names) == 22 and len(set(names)) == 22


def test_search_without_a_match_says_so_and_succeeds(live_server: LiveServer) -> None:
    publish(live_server, token_for(live_server), "numkit", "1.0.0")

    run = fpmreg("search", "nothing-like-it", "--registry", live_server.url)
    document = search(live_server, "nothing-like-it")

    assert run.exit_code == 0, run.output
    assert f"no packages match `nothing-like-it` on `{live_server.url}`" in run.stdout
    assert document["total"] == 0 and document["packages"] == []


def test_search_with_a_query_the_registry_refuses_exits_1(live_server: LiveServer) -> None:
    run = fpmreg("search", "x" * 101, "--registry", live_server.url)

    assert run.exit_code == 1
    assert "error" in run.stderr and "100" in run.stderr


def test_search_of_an_unreachable_registry_names_it() -> None:
    run = fpmreg("search", "numkit", "--registry", "http://127.0.0.1:9")

    assert run.exit_code == 1
    assert "cannot reach the registry at `http://127.0.0.1:9`" in run.stderr


# -- info ----------------------------------------------------------------------------


def test_info_shows_versions_owners_licence_and_dependencies(live_server: LiveServer) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "numkit", "1.1.0")
    publish(live_server, token, "statkit", "1.0.0")
    publish(live_server, token, "statkit", "1.1.0", {"numkit": "1.1.0"})
    yank(live_server, token, "statkit", "1.0.0")

    run = fpmreg("info", "pin/statkit", "--registry", live_server.url)

    assert run.exit_code == 0, run.output
    lines = run.stdout.splitlines()
    assert lines[0] == "pin/statkit 1.1.0 (latest: 1.1.0)"
    assert "The statkit package" in run.stdout
    assert "license:    MIT" in run.stdout
    assert "owners:     publisher (namespace admin)" in run.stdout
    yanked = next(line for line in lines if line.strip().startswith("1.0.0"))
    assert "yanked: broken" in yanked
    assert "yanked" not in next(line for line in lines if line.strip().startswith("1.1.0 "))
    assert "dependencies of 1.1.0:" in run.stdout
    assert "pin/numkit =1.1.0  (registry, dependencies)" in run.stdout
    assert f"from `{live_server.url}`" in run.stderr

    old = fpmreg("info", "pin/statkit@1.0.0", "--registry", live_server.url)

    assert old.exit_code == 0, old.output
    assert old.stdout.startswith("pin/statkit 1.0.0 (yanked: broken; latest: 1.1.0)\n")
    assert "dependencies of 1.0.0: none" in old.stdout


def test_info_json_of_a_version_lists_its_dependencies(live_server: LiveServer) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "statkit", "1.0.0", {"numkit": ""})
    publish(live_server, token, "statkit", "2.0.0")

    run = fpmreg("info", "pin/statkit@1.0", "--registry", live_server.url, "--format", "json")

    assert run.exit_code == 0, run.output
    document = json.loads(run.stdout)
    assert document["version"] == "1.0.0"
    assert document["latest_version"] == "2.0.0"
    assert [v["version"] for v in document["versions"]] == ["2.0.0", "1.0.0"]
    assert [v["yanked"] for v in document["versions"]] == [False, False]
    assert document["dependencies"] == [
        {
            "name": "numkit",
            "kind": "registry",
            "scope": "dependencies",
            "namespace": "pin",
            "requirement": "",
        }
    ]
    assert document["owners"] == [{"username": "publisher", "role": "namespace admin"}]
    assert document["deprecated"] is False
    assert document["registry"] == live_server.url


def test_info_names_a_github_homepage_as_the_repository(live_server: LiveServer) -> None:
    publish_with_homepage(live_server, token_for(live_server), "numkit", "1.0.0")

    run = fpmreg("info", "pin/numkit", "--registry", live_server.url)
    document = json.loads(
        fpmreg("info", "pin/numkit", "--registry", live_server.url, "--format", "json").stdout
    )

    assert run.exit_code == 0, run.output
    assert f"homepage:   {HOMEPAGE}" in run.stdout
    assert f"repository: {HOMEPAGE}" in run.stdout
    assert document["homepage"] == document["repository"] == HOMEPAGE


def test_info_shows_the_deprecation_and_what_to_use_instead(live_server: LiveServer) -> None:
    token = live_server.publisher_token(NAMESPACE, scopes={Scope.PUBLISH, Scope.MANAGE})
    publish(live_server, token, "numkit", "1.0.0")
    publish(live_server, token, "newkit", "1.0.0")
    response = httpx.put(
        f"{live_server.url}/api/v1/packages/{NAMESPACE}/numkit/deprecation",
        headers={"Authorization": f"Bearer {token}"},
        json={"message": "no longer maintained", "replacement": "pin/newkit"},
        timeout=30,
    )
    assert response.status_code == 200, response.text

    run = fpmreg("info", "pin/numkit", "--registry", live_server.url)
    document = json.loads(
        fpmreg("info", "pin/numkit", "--registry", live_server.url, "--format", "json").stdout
    )

    assert run.exit_code == 0, run.output
    assert "deprecated: no longer maintained; use `pin/newkit` instead" in run.stdout
    assert document["deprecated"] is True
    assert document["replacement"] == "pin/newkit"


@pytest.fixture
def counting_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A live registry that writes its download counts to the database every 0.2 s."""
    env = {"FPMREG_METRICS_FLUSH_SECONDS": "0.2"}
    with fresh_database(tmp_path) as url, LiveServer(url, tmp_path, env=env) as server:
        yield server


def test_info_counts_downloads(counting_server: LiveServer) -> None:
    server = counting_server
    publish(server, token_for(server), "numkit", "1.0.0")
    for agent in ("fpm/0.12.0", "fpmreg/1.0"):  # two sources: each counts once
        response = httpx.get(
            f"{server.url}/api/v1/packages/{NAMESPACE}/numkit/versions/1.0.0/download",
            headers={"User-Agent": agent},
            timeout=30,
        )
        assert response.status_code == 200

    # The registry counts in memory and writes in batches: wait for the batch.
    deadline = time.monotonic() + 30
    while True:
        run = fpmreg("info", "pin/numkit", "--registry", server.url, "--format", "json")
        document = json.loads(run.stdout)
        if document["downloads"] == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    text = fpmreg("info", "pin/numkit", "--registry", server.url)

    assert document["downloads"] == 2
    assert "downloads:  2" in text.stdout


def test_info_of_a_quarantined_package_says_it_is_under_review(live_server: LiveServer) -> None:
    publish(live_server, token_for(live_server), "numkit", "1.0.0")
    database = Database.from_url(live_server.database_url)
    try:
        with database.session() as session:
            moderator = make_moderator(session)
    finally:
        database.engine.dispose()
    response = httpx.put(
        f"{live_server.url}/api/v1/packages/{NAMESPACE}/numkit/quarantine",
        headers={"Authorization": f"Bearer {moderator.token}"},
        json={"reason": "looks like malware", "category": "malware"},
        timeout=30,
    )
    assert response.status_code == 200, response.text

    run = fpmreg("info", "pin/numkit", "--registry", live_server.url, "--format", "json")

    assert run.exit_code == 1
    assert "package-quarantined" in run.stderr and "under review" in run.stderr
    error = json.loads(run.stdout)  # in json mode a failure is an error document (cli.md)
    assert error["ok"] is False and error["exit_code"] == 1
    assert [p["code"] for p in error["problems"]] == ["package-quarantined"]


def test_info_of_an_unknown_package_names_the_registry(live_server: LiveServer) -> None:
    run = fpmreg("info", "pin/nothing", "--registry", live_server.url)

    assert run.exit_code == 1
    assert f"no package `pin/nothing` on `{live_server.url}`" in run.stderr
    assert run.stdout == ""


def test_info_of_an_unknown_version_says_where_to_look(live_server: LiveServer) -> None:
    publish(live_server, token_for(live_server), "numkit", "1.0.0")

    run = fpmreg("info", "pin/numkit@9.9", "--registry", live_server.url, "--format", "json")

    assert run.exit_code == 1
    assert f"no version 9.9.0 of `pin/numkit` on `{live_server.url}`" in run.stderr
    assert "`fpmreg info pin/numkit` lists its versions" in run.stderr
    assert json.loads(run.stdout)["error"].startswith("no version 9.9.0 of `pin/numkit`")


def test_info_of_a_malformed_target_is_a_usage_error() -> None:
    for target in ("numkit", "pin/numkit@one", "pin/num kit"):
        run = fpmreg("info", target)

        assert run.exit_code == 2, target
        assert "error:" in run.stderr
