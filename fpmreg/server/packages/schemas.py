"""How packages and versions are shown: fpm's documents and the `/api/v1` shapes."""

from __future__ import annotations

from typing import Any

from fpmreg.server.packages.models import Package, Version
from fpmreg.server.settings import DownloadUrlMode, Settings


def tarball_path(namespace: str, name: str, version: str) -> str:
    """The tarball's URL path: only `[A-Za-z0-9._/-]`, safe in fpm's unquoted `curl`."""
    return f"/tarballs/{namespace}/{name}/{version}.tar.gz"


def fpm_download_url(settings: Settings, namespace: str, name: str, version: str) -> str:
    """`download_url` as fpm wants it: fpm prepends its hard-wired official base URL."""
    path = tarball_path(namespace, name, version)
    if settings.download_url_mode is DownloadUrlMode.USERINFO:
        return f"@{settings.public_host}{path}"
    return path


def _time(value: Any) -> str:
    return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))


def fpm_version_data(settings: Settings, package: Package, version: Version) -> dict[str, Any]:
    """One version in fpm's `version_data` shape, with extra string/array keys."""
    return {
        "version": version.version,
        "download_url": fpm_download_url(
            settings, package.namespace.name, package.name, version.version
        ),
        "sha256": version.sha256,
        "license": version.license,
        "published_at": _time(version.published_at),
        "yanked": version.yanked,
        "dependencies": version.dependencies,
    }


def fpm_package_document(
    settings: Settings, package: Package, versions: list[Version], chosen: Version, *, key: str
) -> dict[str, Any]:
    """The body of `GET /packages/{ns}/{name}[/{version}]`; `key` names the version key."""
    return {
        "code": 200,
        "data": {
            "name": package.name,
            "namespace": package.namespace.name,
            "description": package.description,
            "license": package.license,
            "homepage": package.homepage,
            "created_at": _time(package.created_at),
            "updated_at": _time(package.updated_at),
            key: fpm_version_data(settings, package, chosen),
            "version_history": [v.version for v in versions],
        },
    }


def api_version(
    settings: Settings, package: Package, version: Version, publishers: dict[int, str]
) -> dict[str, Any]:
    """A version in the `/api/v1` shape."""
    ns, name = package.namespace.name, package.name
    return {
        "version": version.version,
        "sha256": version.sha256,
        "size": version.size,
        "license": version.license,
        "description": version.description,
        "published_at": _time(version.published_at),
        "publisher": publishers.get(version.publisher_id or 0, ""),
        "yanked": version.yanked,
        "yank_reason": version.yank_reason,
        "dependencies": version.dependencies,
        "download_url": settings.base_url + tarball_path(ns, name, version.version),
    }


def api_package(
    settings: Settings, package: Package, versions: list[Version], publishers: dict[int, str]
) -> dict[str, Any]:
    """A package with every version, in the `/api/v1` shape."""
    return {
        "namespace": package.namespace.name,
        "name": package.name,
        "description": package.description,
        "license": package.license,
        "homepage": package.homepage,
        "latest_version": package.latest_version,
        "created_at": _time(package.created_at),
        "updated_at": _time(package.updated_at),
        "versions": [api_version(settings, package, v, publishers) for v in versions],
    }


def api_package_summary(package: Package) -> dict[str, Any]:
    """A package in search results."""
    return {
        "namespace": package.namespace.name,
        "name": package.name,
        "description": package.description,
        "license": package.license,
        "latest_version": package.latest_version,
        "updated_at": _time(package.updated_at),
    }
