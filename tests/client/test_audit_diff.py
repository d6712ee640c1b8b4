"""`fpmreg audit-diff NS/NAME A B` against a real registry process."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import httpx
import pytest

from fpmreg.client.commands.audit_diff import shown
from tests.client.conftest import fpmreg
from tests.client.pinning import NAMESPACE, token_for
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

SOURCE = "module numkit\ncontains\n  subroutine solve()\n  end subroutine\nend module\n"


def publish_files(
    server: LiveServer, token: str, version: str, files: dict[str, str | bytes]
) -> str:
    """Publish `pin/numkit@version` with `files` added; returns the tarball's sha256."""
    data = package_tarball("numkit", version, files=files)
    response = httpx.post(
        f"{server.url}/api/v1/packages",
        headers={"Authorization": f"Bearer {token}"},
        files={"tarball": (f"numkit-{version}.tar.gz", data, "application/gzip")},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def two_versions(live_server: LiveServer) -> tuple[str, str]:
    token = token_for(live_server)
    old = publish_files(live_server, token, "1.0.0", {"src/numkit.f90": SOURCE})
    changed = SOURCE.replace("solve()", "solve(x)") + "! steals nothing\n"
    new = publish_files(
        live_server, token, "1.1.0", {"src/numkit.f90": changed, "logo.png": b"\x89PNG\x00"}
    )
    return old, new


def test_audit_diff_prints_the_registry_diff_byte_for_byte(
    live_server: LiveServer, two_versions: tuple[str, str]
) -> None:
    old, new = two_versions
    run = fpmreg(
        "audit-diff", f"{NAMESPACE}/numkit", "1.0.0", "1.1.0", "--registry", live_server.url
    )

    assert run.exit_code == 0, run.output
    served = httpx.get(f"{live_server.url}/api/v1/packages/{NAMESPACE}/numkit/diff/1.0.0/1.1.0")
    assert run.stdout == served.text
    first = run.stdout.splitlines()[0]
    assert first == f"# fpmreg diff pin/numkit from 1.0.0 sha256:{old} to 1.1.0 sha256:{new}"
    assert "-  subroutine solve()" in run.stdout and "+  subroutine solve(x)" in run.stdout
    assert "Binary files /dev/null and b/logo.png (sha256:" in run.stdout
    assert f"from `{live_server.url}`" in run.stderr


def test_the_printed_diff_applies_to_the_old_version_with_git(
    live_server: LiveServer, two_versions: tuple[str, str], tmp_path: Path
) -> None:
    run = fpmreg(
        "audit-diff", f"{NAMESPACE}/numkit", "1.0.0", "1.1.0", "--registry", live_server.url
    )
    tree = tmp_path / "tree"
    (tree / "src").mkdir(parents=True)
    (tree / "src/numkit.f90").write_text(SOURCE)
    patch = tmp_path / "review.diff"
    patch.write_text(run.stdout)  # as `fpmreg audit-diff … > review.diff` writes it
    result = subprocess.run(
        ["git", "apply", "--include=src/*", str(patch)], cwd=tree, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "solve(x)" in (tree / "src/numkit.f90").read_text()


def test_stat_and_json(live_server: LiveServer, two_versions: tuple[str, str]) -> None:
    old, new = two_versions
    ref = f"{NAMESPACE}/numkit"
    stat = fpmreg("audit-diff", ref, "1.0.0", "1.1.0", "--stat", "--registry", live_server.url)
    assert stat.exit_code == 0, stat.output
    lines = stat.stdout.splitlines()
    assert any(line.split() == ["logo.png", "|", "binary", "(added)"] for line in lines)
    assert any(line.split() == ["src/numkit.f90", "|", "+2", "-1", "(changed)"] for line in lines)
    assert lines[-1].strip().startswith("3 files differ: 1 added, 0 removed, 2 changed")

    as_json = fpmreg(
        "audit-diff", ref, "1.0.0", "1.1.0", "--format", "json", "--registry", live_server.url
    )
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.stdout)
    assert (document["from_sha256"], document["to_sha256"]) == (old, new)
    assert document["registry"] == live_server.url
    assert [f["path"] for f in document["files"]] == ["fpm.toml", "logo.png", "src/numkit.f90"]


def test_from_empty_shows_the_whole_package(
    live_server: LiveServer, two_versions: tuple[str, str]
) -> None:
    run = fpmreg(
        "audit-diff",
        f"{NAMESPACE}/numkit",
        "empty",
        "1.0.0",
        "--stat",
        "--registry",
        live_server.url,
    )
    assert run.exit_code == 0, run.output
    assert "README.md | +3 -0 (added)" in " ".join(run.stdout.split())
    assert "0 removed, 0 changed" in run.stdout


def test_clear_errors(live_server: LiveServer, two_versions: tuple[str, str]) -> None:
    ref = f"{NAMESPACE}/numkit"
    missing = fpmreg("audit-diff", ref, "1.0.0", "7.0.0", "--registry", live_server.url)
    assert missing.exit_code == 1
    assert "has no version 1.0.0 or 7.0.0" in missing.stderr
    assert "`fpmreg info pin/numkit` lists its versions" in missing.stderr
    assert missing.stdout == ""

    nothing = fpmreg("audit-diff", "pin/nothing", "1.0.0", "1.1.0", "--registry", live_server.url)
    assert nothing.exit_code == 1 and "no package `pin/nothing`" in nothing.stderr

    bad = fpmreg("audit-diff", ref, "one", "1.1.0", "--registry", live_server.url)
    assert bad.exit_code == 2 and "(from version)" in bad.stderr

    as_json = fpmreg(
        "audit-diff", ref, "1.0.0", "7.0.0", "--format", "json", "--registry", live_server.url
    )
    assert json.loads(as_json.stdout)["exit_code"] == 1


def test_an_unreachable_registry_is_named() -> None:
    run = fpmreg("audit-diff", "pin/numkit", "1.0.0", "1.1.0", "--registry", "http://127.0.0.1:9")
    assert run.exit_code == 1
    assert "cannot reach the registry at `http://127.0.0.1:9`" in run.stderr


def test_terminal_output_escapes_control_characters() -> None:
    assert shown("+x = 1\x1b[2J\r! ok\u202e\n") == "+x = 1\\x1b[2J\\x0d! ok\\u202e\n"
