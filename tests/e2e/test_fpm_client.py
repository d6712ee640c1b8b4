"""The real fpm 0.12.0 client publishes to, and builds against, a running fpmreg server."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from fpmreg.server.accounts.models import Scope
from tests.support.fpm import OFFICIAL_REGISTRY, Fpm, output
from tests.support.live import LiveServer
from tests.support.tarballs import manifest

NAMESPACE = "acme"
LIBRARY = "trilib"
# What the consumer app prints; the version in it shows which tarball fpm compiled.
EXPECTED_LINE = "triangle(100) = 5050 from trilib {version}"


def library_source(version: str) -> str:
    """The `trilib` module: triangle numbers, and the version it was published as."""
    return (
        f"module {LIBRARY}\n  implicit none\n  private\n"
        f"  public :: {LIBRARY}_triangle, {LIBRARY}_version\n"
        f"  character(len=*), parameter :: {LIBRARY}_version = '{version}'\n"
        f"contains\n  pure integer function {LIBRARY}_triangle(n)\n"
        f"    integer, intent(in) :: n\n    {LIBRARY}_triangle = n * (n + 1) / 2\n"
        f"  end function {LIBRARY}_triangle\nend module {LIBRARY}\n"
    )


def commit_library(fpm: Fpm, project: Path, version: str) -> None:
    """Write and commit `trilib` at `version` (`fpm publish` archives the committed HEAD)."""
    first = not project.exists()
    (project / "src").mkdir(parents=True, exist_ok=True)
    (project / "fpm.toml").write_text(manifest(LIBRARY, version))
    (project / "src" / f"{LIBRARY}.f90").write_text(library_source(version))
    (project / "README.md").write_text(f"# {LIBRARY}\n\nTriangle numbers in Fortran.\n")
    (project / "LICENSE").write_text("MIT License\n")
    (project / ".gitignore").write_text("build/\nfpm_model.json\n")
    if first:
        fpm.git("init", "-q", cwd=project)
        # fpm 0.12 archives with `--add-file=fpm_model.json` before it writes that file,
        # so a first publish fails without it (docs/fpm-protocol.md §0 item 8).
        (project / "fpm_model.json").touch()
    fpm.git("add", "-A", cwd=project)
    fpm.git("commit", "-q", "-m", f"{LIBRARY} {version}", cwd=project)


def printed_body(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The server's JSON answer, which `fpm publish` prints without parsing it."""
    bodies = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(bodies) == 1, f"fpm printed no single JSON body:\n{output(result)}"
    body: dict[str, Any] = json.loads(bodies[0])
    return body


def publish_library(fpm: Fpm, project: Path, version: str, token: str) -> dict[str, Any]:
    """Commit `version` and `fpm publish` it; fpm exits 0 whatever the server said."""
    commit_library(fpm, project, version)
    return printed_body(fpm.run("publish", "--token", token, cwd=project))


def assert_published(body: dict[str, Any], version: str) -> None:
    assert body["code"] == 200, body
    assert "Uploaded Successfully" in body["message"], body
    assert f"{NAMESPACE}/{LIBRARY}@{version}" in body["message"], body


def write_app(project: Path, dependency: str) -> Path:
    """An executable that prints a triangle number computed by `trilib`."""
    (project / "app").mkdir(parents=True)
    (project / "fpm.toml").write_text(
        f'name = "consumer"\nversion = "0.1.0"\n[dependencies]\n{dependency}\n'
    )
    (project / "app" / "main.f90").write_text(
        f"program main\n  use {LIBRARY}, only: {LIBRARY}_triangle, {LIBRARY}_version\n"
        "  implicit none\n"
        f"  print '(a, i0, 2a)', 'triangle(100) = ', {LIBRARY}_triangle(100), "
        f"' from trilib ', {LIBRARY}_version\nend program main\n"
    )
    return project


def api_package(server: LiveServer, name: str = LIBRARY) -> httpx.Response:
    return httpx.get(f"{server.url}/api/v1/packages/{NAMESPACE}/{name}", timeout=10)


@pytest.mark.e2e
def test_fpm_publish_stores_the_tarball_fpm_uploaded(
    fpm: Fpm, live_server: LiveServer, tmp_path: Path
) -> None:
    token = live_server.publisher_token(NAMESPACE)
    project = tmp_path / LIBRARY

    result_body = publish_library(fpm, project, "1.0.0", token)

    assert_published(result_body, "1.0.0")
    (upload,) = fpm.curl_calls()
    assert upload.is_post and upload.url == f"{OFFICIAL_REGISTRY}/packages"
    for field in (f'package_name="{LIBRARY}"', 'package_license="MIT"',
                  'package_version="1.0.0"', f'upload_token="{token}"'):  # fmt: skip
        assert field in upload.argv, upload.argv
    response = api_package(live_server)
    assert response.status_code == 200, response.text
    (stored,) = response.json()["versions"]
    assert stored["version"] == "1.0.0"
    assert stored["license"] == "MIT"
    tarball = httpx.get(stored["download_url"], timeout=10)
    assert tarball.status_code == 200
    assert hashlib.sha256(tarball.content).hexdigest() == stored["sha256"]
    assert f"sha256 {stored['sha256']}" in result_body["message"]
    # The bytes are `git archive HEAD` of the committed project, at the archive root.
    with tarfile.open(fileobj=io.BytesIO(tarball.content), mode="r:gz") as tar:
        for member in ("fpm.toml", f"src/{LIBRARY}.f90"):
            extracted = tar.extractfile(member)
            assert extracted is not None
            assert extracted.read() == (project / member).read_bytes()


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("pin", "config", "requested", "resolved"),
    [
        pytest.param("", "home", "/packages/acme/trilib", "1.1.0", id="latest"),
        # fpm asks for `1.0` as written; the server must answer with the stored 1.0.0.
        pytest.param("1.0", "home", "/packages/acme/trilib/1.0", "1.0.0", id="pinned-1.0"),
        # A trailing slash in `url` makes fpm request `//packages/...`.
        pytest.param(
            "", "home-trailing-slash", "//packages/acme/trilib", "1.1.0", id="trailing-slash-url"
        ),
        pytest.param(
            "1.1.0", "config-file", "/packages/acme/trilib/1.1.0", "1.1.0", id="config-file"
        ),
    ],
)
def test_fpm_run_builds_against_a_registry_dependency(
    fpm: Fpm, live_server: LiveServer, tmp_path: Path, pin: str, config: str,
    requested: str, resolved: str,
) -> None:  # fmt: skip
    token = live_server.publisher_token(NAMESPACE)
    for version in ("1.0.0", "1.1.0"):
        assert_published(publish_library(fpm, tmp_path / LIBRARY, version, token), version)
    version_key = f', v = "{pin}"' if pin else ""
    app = write_app(tmp_path / "consumer",
                    f'{LIBRARY} = {{ namespace = "{NAMESPACE}"{version_key} }}')  # fmt: skip
    config_file = None
    if config == "home-trailing-slash":
        fpm.write_config(fpm.config, live_server.url + "/")
    elif config == "config-file":
        # HOME's config names a closed port: only the `--config-file` one can work.
        fpm.write_config(fpm.config, "http://127.0.0.1:9")
        config_file = fpm.write_config(tmp_path / "registry.toml", live_server.url)
    fpm.clear_curl_log()

    result = fpm.run("run", cwd=app, config_file=config_file)

    assert EXPECTED_LINE.format(version=resolved) in result.stdout, output(result)
    assert result.returncode == 0, output(result)
    stored = {v["version"]: v for v in api_package(live_server).json()["versions"]}
    tarball_path = urlsplit(stored[resolved]["download_url"]).path
    assert [call.url for call in fpm.curl_calls()] == [
        live_server.url + requested,  # the metadata, through `[registry] url`
        OFFICIAL_REGISTRY + tarball_path,  # the tarball, at the `download_url` fpm was given
    ]
    assert (fpm.cache / NAMESPACE / LIBRARY / resolved / "fpm.toml").is_file()


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("dependency", "requested", "message"),
    [
        pytest.param(
            'ghost = { namespace = "acme" }',
            "/packages/acme/ghost",
            "package `acme/ghost` not found",
            id="unknown-package",
        ),
        pytest.param(
            'trilib = { namespace = "acme", v = "2.0" }',
            "/packages/acme/trilib/2.0",
            "package `acme/trilib` has no version `2.0`",
            id="unknown-version",
        ),
    ],
)
def test_fpm_build_reports_the_server_message_for_a_missing_dependency(
    fpm: Fpm, live_server: LiveServer, tmp_path: Path, dependency: str, requested: str,
    message: str,
) -> None:  # fmt: skip
    token = live_server.publisher_token(NAMESPACE)
    assert_published(publish_library(fpm, tmp_path / LIBRARY, "1.0.0", token), "1.0.0")
    app = write_app(tmp_path / "consumer", dependency)
    fpm.clear_curl_log()

    result = fpm.run("build", cwd=app)

    name = dependency.split(" ", 1)[0]
    expected = (f"Failed to download '{NAMESPACE}/{name}'. Status code: '404'. "
                f"Error message: '{message}'.")  # fmt: skip
    assert expected in output(result), output(result)
    assert result.returncode != 0
    assert [call.url for call in fpm.curl_calls()] == [live_server.url + requested]
    assert not any(app.glob("build/**/*.o")), "fpm compiled although a dependency is missing"


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("make_token", "code", "message"),
    [
        pytest.param(
            lambda s: s.publisher_token(NAMESPACE)[:-4] + "XXXX",
            401,
            "the token is not valid",
            id="unknown-token",
        ),
        pytest.param(
            lambda s: s.publisher_token(NAMESPACE, scopes={Scope.YANK}),
            403,
            "does not have the `publish` scope",
            id="token-without-publish-scope",
        ),
    ],
)
def test_fpm_publish_with_a_wrong_token_stores_nothing(
    fpm: Fpm, live_server: LiveServer, tmp_path: Path,
    make_token: Callable[[LiveServer], str], code: int, message: str,
) -> None:  # fmt: skip
    token = make_token(live_server)

    body = publish_library(fpm, tmp_path / LIBRARY, "1.0.0", token)

    assert body["code"] == code, body
    assert message in body["message"], body
    (upload,) = fpm.curl_calls()
    assert upload.is_post and f'upload_token="{token}"' in upload.argv
    response = api_package(live_server)
    assert response.status_code == 404, response.text
