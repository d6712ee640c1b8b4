"""Issue 10, "Proof required": the real fpm 0.12.0 client meets yank, quarantine and delete.

One registry process serves the whole module (starting it and publishing are the slow
parts): a publisher puts three libraries there with `fpm publish`, and a moderator,
granted the role in the database as an operator would, acts on them with a token through
`/api/v1`. Each library prints its own version, so what a consumer app prints says which
tarball fpm compiled. Every consumer has its own fpm cache: a pinned version already in
fpm's cache is built without asking the registry (docs/fpm-protocol.md §1.1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from fpmreg.server.accounts.models import Scope, SiteRole
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.clock import SystemClock
from fpmreg.server.db import Database
from fpmreg.server.moderation.roles import grant_role
from fpmreg.server.storage import FilesystemBlobStore
from tests.factories import PASSWORD
from tests.support.databases import fresh_database
from tests.support.fpm import Fpm, FpmInstall, output
from tests.support.live import LiveServer
from tests.support.tarballs import manifest

NAMESPACE = "modlab"
FPMREG = Path(sys.executable).parent / "fpmreg"
# What the consumer app prints; the version in it is the one of the compiled library.
APP_LINE = "triangle(10) = 55 from {name} {version}"


# --- the registry and its people --------------------------------------------------------


@dataclass(frozen=True)
class Registry:
    """The module's live server, the publisher's fpm and both tokens."""

    server: LiveServer
    publisher: Fpm  # publishes; never builds, so its cache stays empty
    owner_token: str  # `publish` and `yank` for NAMESPACE
    moderator_token: str  # a moderator's own token, for another namespace

    def api(self, method: str, path: str, token: str, body: dict[str, str]) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.server.url}/api/v1/packages/{NAMESPACE}/{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    def versions(self, name: str) -> dict[str, dict[str, Any]]:
        response = httpx.get(f"{self.server.url}/api/v1/packages/{NAMESPACE}/{name}", timeout=30)
        assert response.status_code == 200, response.text
        return {v["version"]: v for v in response.json()["versions"]}

    def blobs(self) -> FilesystemBlobStore:
        """The blob store the server writes to, from the settings it was started with."""
        return FilesystemBlobStore(Path(self.server.environment()["FPMREG_STORAGE_PATH"]))


def moderator_token(server: LiveServer) -> str:
    """A moderator (site role granted in the database) and their `manage` token."""
    database = Database.from_url(server.database_url)
    try:
        with database.session() as session:
            accounts = AccountsService(session, SystemClock())
            user = accounts.create_user("moderator", "moderator@example.org", PASSWORD)
            accounts.create_namespace(user, "moderators")
            grant_role(session, user, SiteRole.MODERATOR, at=SystemClock().now(), actor_id=None)
            token, _ = accounts.create_token(
                user, name="moderation", namespace="moderators", scopes={Scope.MANAGE}, days=30
            )
            session.commit()
            return token
    finally:
        database.engine.dispose()


@pytest.fixture(scope="module")
def registry(
    fpm_install: FpmInstall, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    workdir = tmp_path_factory.mktemp("moderation-registry")
    with fresh_database(workdir) as url, LiveServer(url, workdir) as server:
        yield Registry(
            server=server,
            publisher=Fpm(fpm_install, workdir / "publisher", server.url),
            owner_token=server.publisher_token(NAMESPACE, scopes={Scope.PUBLISH, Scope.YANK}),
            moderator_token=moderator_token(server),
        )


@pytest.fixture
def consumer_fpm(fpm_install: FpmInstall, registry: Registry, tmp_path: Path) -> Fpm:
    """fpm for one consumer, with a cache of its own."""
    return Fpm(fpm_install, tmp_path / "fpm", registry.server.url)


# --- libraries and consumers ------------------------------------------------------------


def library_source(name: str, version: str) -> str:
    """Triangle numbers, and the version the library was published as."""
    return (
        f"module {name}\n  implicit none\n  private\n"
        f"  public :: {name}_triangle, {name}_version\n"
        f"  character(len=*), parameter :: {name}_version = '{version}'\n"
        f"contains\n  pure integer function {name}_triangle(n)\n"
        f"    integer, intent(in) :: n\n    {name}_triangle = n * (n + 1) / 2\n"
        f"  end function {name}_triangle\nend module {name}\n"
    )


def fpm_publish(registry: Registry, name: str, version: str) -> dict[str, Any]:
    """Commit `name` at `version` in the publisher's folder and `fpm publish` it; the
    JSON body fpm prints (fpm exits 0 whatever the registry said)."""
    fpm = registry.publisher
    project = fpm.root / name
    first = not project.exists()
    (project / "src").mkdir(parents=True, exist_ok=True)
    (project / "fpm.toml").write_text(manifest(name, version))
    (project / "src" / f"{name}.f90").write_text(library_source(name, version))
    (project / "README.md").write_text(f"# {name}\n")
    (project / "LICENSE").write_text("MIT License\n")
    (project / ".gitignore").write_text("build/\nfpm_model.json\n")
    if first:
        fpm.git("init", "-q", cwd=project)
        (project / "fpm_model.json").touch()  # docs/fpm-protocol.md §0 item 8
    fpm.git("add", "-A", cwd=project)
    fpm.git("commit", "-q", "--allow-empty", "-m", f"{name} {version}", cwd=project)
    result = fpm.run("publish", "--token", registry.owner_token, cwd=project)
    bodies = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(bodies) == 1, f"fpm printed no single JSON body:\n{output(result)}"
    body: dict[str, Any] = json.loads(bodies[0])
    return body


def publish_ok(registry: Registry, name: str, *versions: str) -> None:
    for version in versions:
        body = fpm_publish(registry, name, version)
        assert body["code"] == 200, body
        assert f"{NAMESPACE}/{name}@{version}" in body["message"], body


def consumer(root: Path, name: str, pin: str = "") -> Path:
    """An app printing a triangle number from `name`, pinned to `pin` when given."""
    project = root / f"uses-{name}-{pin or 'latest'}"
    (project / "app").mkdir(parents=True)
    version_key = f', v = "{pin}"' if pin else ""
    (project / "fpm.toml").write_text(
        f'name = "consumer"\nversion = "0.1.0"\n[dependencies]\n'
        f'{name} = {{ namespace = "{NAMESPACE}"{version_key} }}\n'
    )
    (project / "app" / "main.f90").write_text(
        f"program main\n  use {name}, only: {name}_triangle, {name}_version\n"
        "  implicit none\n"
        f"  print '(a, i0, 3a)', 'triangle(10) = ', {name}_triangle(10), "
        f"' from {name} ', {name}_version\nend program main\n"
    )
    return project


def fpm_failure(name: str, status: int, message: str) -> str:
    """What fpm 0.12 prints when the metadata answer is not `code` 200."""
    return (
        f"Failed to download '{NAMESPACE}/{name}'. Status code: '{status}'. "
        f"Error message: '{message}'."
    )


def assert_nothing_compiled(project: Path) -> None:
    assert not any(project.glob("build/**/*.o")), "fpm compiled although the dependency failed"


# --- yank -------------------------------------------------------------------------------

YANKED = "yanklib"


@pytest.fixture(scope="module")
def yanked(registry: Registry) -> str:
    """`yanklib` 1.0.0 and 1.1.0, the newest yanked by its owner."""
    publish_ok(registry, YANKED, "1.0.0", "1.1.0")
    response = registry.api(
        "PUT", f"{YANKED}/versions/1.1.0/yank", registry.owner_token, {"reason": "off by one"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["yanked"] is True
    return YANKED


@pytest.mark.e2e
def test_an_unpinned_build_gets_the_version_before_the_yanked_one(
    yanked: str, consumer_fpm: Fpm, tmp_path: Path
) -> None:
    app = consumer(tmp_path, yanked)

    result = consumer_fpm.run("run", cwd=app)

    assert result.returncode == 0, output(result)
    assert APP_LINE.format(name=yanked, version="1.0.0") in result.stdout, output(result)
    fetched = consumer_fpm.cache / NAMESPACE / yanked
    assert sorted(p.name for p in fetched.iterdir()) == ["1.0.0"]


@pytest.mark.e2e
def test_a_build_pinned_to_the_yanked_version_still_builds_it(
    yanked: str, consumer_fpm: Fpm, tmp_path: Path
) -> None:
    app = consumer(tmp_path, yanked, pin="1.1.0")

    result = consumer_fpm.run("run", cwd=app)

    assert result.returncode == 0, output(result)
    assert APP_LINE.format(name=yanked, version="1.1.0") in result.stdout, output(result)
    fetched = consumer_fpm.cache / NAMESPACE / yanked
    assert sorted(p.name for p in fetched.iterdir()) == ["1.1.0"]


# --- quarantine -------------------------------------------------------------------------

QUARANTINED = "quarlib"


@pytest.mark.e2e
def test_a_build_against_a_quarantined_package_fails_saying_it_is_under_review(
    registry: Registry, consumer_fpm: Fpm, tmp_path: Path
) -> None:
    publish_ok(registry, QUARANTINED, "1.0.0")
    response = registry.api(
        "PUT",
        f"{QUARANTINED}/quarantine",
        registry.moderator_token,
        {"reason": "reported as a credential stealer", "category": "malware"},
    )
    assert response.status_code == 200, response.text
    app = consumer(tmp_path, QUARANTINED)

    result = consumer_fpm.run("build", cwd=app)

    assert result.returncode != 0, output(result)
    message = (
        f"`{NAMESPACE}/{QUARANTINED}` is under review by the registry's moderators and "
        "cannot be installed until they decide"
    )
    assert fpm_failure(QUARANTINED, 403, message) in output(result), output(result)
    assert "credential stealer" not in output(result)  # the reason stays in the audit log
    assert_nothing_compiled(app)


# --- deletion ---------------------------------------------------------------------------

DELETED = "gonelib"


@dataclass(frozen=True)
class Deletion:
    tombstone: dict[str, Any]
    sha256: str  # of the deleted version's tarball
    download_url: str  # where fpm fetched it from
    kept_sha256: str  # of the version that stays


@pytest.fixture(scope="module")
def deleted(registry: Registry) -> Deletion:
    """`gonelib` 1.0.0 and 1.1.0; a moderator deletes 1.0.0."""
    publish_ok(registry, DELETED, "1.0.0", "1.1.0")
    stored = registry.versions(DELETED)
    response = registry.api(
        "DELETE",
        f"{DELETED}/versions/1.0.0",
        registry.moderator_token,
        {"reason": "ships a vendored library without its licence", "category": "copyright"},
    )
    assert response.status_code == 200, response.text
    gone, kept = stored["1.0.0"], stored["1.1.0"]
    return Deletion(response.json(), gone["sha256"], gone["download_url"], kept["sha256"])


@pytest.mark.e2e
def test_a_build_pinned_to_a_deleted_version_fails_naming_the_removal(
    registry: Registry, deleted: Deletion, consumer_fpm: Fpm, tmp_path: Path
) -> None:
    app = consumer(tmp_path, DELETED, pin="1.0.0")

    result = consumer_fpm.run("build", cwd=app)

    assert result.returncode != 0, output(result)
    day = deleted.tombstone["deleted_at"][:10]
    message = (
        f"{NAMESPACE}/{DELETED}@1.0.0 was deleted from the registry on {day} (copyright): "
        f"see {registry.server.url}/project/{NAMESPACE}/{DELETED}/1.0.0"
    )
    assert fpm_failure(DELETED, 410, message) in output(result), output(result)
    assert_nothing_compiled(app)


@pytest.mark.e2e
def test_republishing_a_deleted_version_is_refused(
    registry: Registry, deleted: Deletion, tmp_path: Path
) -> None:
    # With fpm: its upload form gets fpm's envelope, which fpm prints.
    body = fpm_publish(registry, DELETED, "1.0.0")

    assert body["code"] == 409, body
    assert f"{NAMESPACE}/{DELETED}@1.0.0 was deleted from the registry" in body["message"]
    assert "a deleted version can never be published again" in body["message"]

    # With `fpmreg publish`, which prints the problem's code.
    project = registry.publisher.root / DELETED
    env = {
        **registry.publisher.environment(),
        "FPMREG_REGISTRY": registry.server.url,
        "FPMREG_TOKEN": registry.owner_token,
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    refused = subprocess.run(
        [str(FPMREG), "publish", str(project)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert refused.returncode != 0, output(refused)
    assert "error[version-tombstoned]" in refused.stderr, output(refused)
    assert set(registry.versions(DELETED)) == {"1.1.0"}


@pytest.mark.e2e
def test_the_deleted_tarball_is_gone_from_the_blob_store(
    registry: Registry, deleted: Deletion
) -> None:
    blobs = registry.blobs()

    assert not blobs.path_of(deleted.sha256).exists()
    assert blobs.path_of(deleted.kept_sha256).is_file()  # the other version's stays
    tarball = httpx.get(deleted.download_url, timeout=30)
    assert tarball.status_code == 410, tarball.text
    assert f"{NAMESPACE}/{DELETED}@1.0.0 was deleted from the registry" in tarball.text
