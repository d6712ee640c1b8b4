"""Publish a package over the real fpm upload form, as `fpm publish` does."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.live import LiveServer
from tests.support.tarballs import DEFAULT_LICENSE, fpm_publish_form, package_tarball

DEPENDENCY_NAMESPACE = "bench-deps"
# `dependencies_toml` names at most this many; each is published first, since the
# registry refuses a dependency it does not hold.
DEPENDENCY_COUNT = 5


@dataclass
class SeededPackage:
    """A package the benchmark published, and the token that may publish more of it."""

    base_url: str
    namespace: str
    name: str
    token: str
    versions: list[str] = field(default_factory=list)  # in publishing order

    @property
    def path(self) -> str:
        """`/packages/{ns}/{name}`: what fpm asks for to resolve the latest version."""
        return f"/packages/{self.namespace}/{self.name}"

    @property
    def latest(self) -> str:
        """The newest version published (versions go up in publishing order)."""
        return self.versions[-1]


def version_number(index: int) -> str:
    """The `index`-th version: 1.0.0 .. 1.0.4, 1.1.0 .. (five patches per minor)."""
    return f"1.{index // 5}.{index % 5}"


def dependency_version(k: int) -> str:
    """The version of `bench-deps/dep{k}` that is published and depended on."""
    return f"{k + 1}.0.0"


def dependencies_toml(index: int) -> str:
    """A `[dependencies]` table of pinned registry packages that grows with the version.

    (No `stdlib = "*"`: the registry refuses metapackages fpm fetches from git.)"""
    lines = ["[dependencies]"]
    for k in range(2 + index % (DEPENDENCY_COUNT - 1)):
        lines.append(
            f'dep{k} = {{ namespace = "{DEPENDENCY_NAMESPACE}", v = "{dependency_version(k)}" }}'
        )
    return "\n".join(lines) + "\n"


def publish(
    client: httpx.Client,
    package: SeededPackage,
    version: str,
    index: int,
    *,
    dependencies: bool = True,
) -> None:
    """POST one version to /packages exactly as fpm does; raise unless fpm would say 200."""
    extra = dependencies_toml(index) if dependencies else ""
    tarball = package_tarball(package.name, version, extra_manifest=extra)
    response = client.post(
        f"{package.base_url}/packages",
        **fpm_publish_form(package.name, version, DEFAULT_LICENSE, package.token, tarball),
    )
    body: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        body = response.json()
    if response.status_code != 200 or body.get("code") != 200:
        raise RuntimeError(
            f"publishing {package.namespace}/{package.name}@{version} failed: "
            f"HTTP {response.status_code} {response.text[:500]}"
        )
    package.versions.append(version)


def publish_next(package: SeededPackage) -> str:
    """Publish one more version (newer than every other) on a fresh connection."""
    index = len(package.versions)
    version = version_number(index)
    with httpx.Client(timeout=30) as client:
        publish(client, package, version, index)
    return version


def seed_package(
    server: LiveServer, *, namespace: str = "bench", name: str = "bench-lib", versions: int = 20
) -> SeededPackage:
    """A user, namespaces and tokens in the database, the dependencies, then `versions`
    versions over HTTP."""
    token = server.publisher_token(namespace, username="bench")
    package = SeededPackage(server.url, namespace, name, token)
    deps_token = server.publisher_token(DEPENDENCY_NAMESPACE, username="bench")
    with httpx.Client(timeout=30) as client:
        for k in range(DEPENDENCY_COUNT):
            dep = SeededPackage(server.url, DEPENDENCY_NAMESPACE, f"dep{k}", deps_token)
            publish(client, dep, dependency_version(k), 0, dependencies=False)
        for index in range(versions):
            publish(client, package, version_number(index), index)
    return package
