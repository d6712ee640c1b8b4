"""Helpers for the lock, sync and mirror tests: packages published to a live registry."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from fpmreg.server.accounts.models import Scope
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

NAMESPACE = "pin"


def token_for(server: LiveServer, namespace: str = NAMESPACE) -> str:
    """A token that may publish and yank in `namespace`."""
    return server.publisher_token(namespace, scopes={Scope.PUBLISH, Scope.YANK})


def dependency_table(deps: dict[str, str], namespace: str = NAMESPACE) -> str:
    """`[dependencies]` naming each package; a value is its `v` ("" for none)."""
    lines = ["[dependencies]"]
    for name, version in deps.items():
        pin = f', v = "{version}"' if version else ""
        lines.append(f'{name} = {{ namespace = "{namespace}"{pin} }}')
    return "\n".join(lines) + "\n"


def publish(
    server: LiveServer,
    token: str,
    name: str,
    version: str,
    deps: dict[str, str] | None = None,
    *,
    namespace: str = NAMESPACE,
) -> str:
    """Publish a small library that depends on `deps`; returns its sha256."""
    extra = dependency_table(deps, namespace) if deps else ""
    data = package_tarball(name, version, extra_manifest=extra)
    response = httpx.post(
        f"{server.url}/api/v1/packages",
        headers={"Authorization": f"Bearer {token}"},
        files={"tarball": (f"{name}-{version}.tar.gz", data, "application/gzip")},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    sha256 = hashlib.sha256(data).hexdigest()
    assert response.json()["sha256"] == sha256
    return sha256


def yank(server: LiveServer, token: str, name: str, version: str) -> None:
    """Yank `pin/name@version` through the API."""
    response = httpx.put(
        f"{server.url}/api/v1/packages/{NAMESPACE}/{name}/versions/{version}/yank",
        headers={"Authorization": f"Bearer {token}"},
        json={"reason": "broken"},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def write_project(root: Path, deps: dict[str, str], name: str = "app") -> Path:
    """A consumer project folder whose fpm.toml depends on `deps` (name → `v`)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "fpm.toml").write_text(
        f'name = "{name}"\nversion = "0.1.0"\n\n' + dependency_table(deps)
    )
    return root


def blob_path(server: LiveServer, sha256: str) -> Path:
    """Where the live server keeps the tarball with this sha256."""
    return server.storage / "sha256" / sha256[:2] / sha256[2:4] / sha256


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }
