"""How packages and versions are shown: fpm's documents, the `/api/v1` wire models, and
the bounds every search (JSON API, fpm prototype, `/search` page) accepts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query

from fpmreg.core.versions import MAX_PART_DIGITS, MAX_VERSION_LENGTH, MAX_VERSION_PARTS
from fpmreg.core.wire.fpm import (
    FpmLatestData,
    FpmLatestDocument,
    FpmVersionData,
    FpmVersionDataDocument,
    FpmVersionDocument,
)
from fpmreg.core.wire.packages import Dependency, PackageInfo, PackageSummary, VersionInfo
from fpmreg.server.errors import InvalidInput
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.packages.service import MAX_QUERY_LENGTH
from fpmreg.server.settings import DownloadUrlMode, Settings

# Search pages by offset, and every skipped row costs the database: nobody reads past
# 1,000 pages of 20 results, and a narrower query finds them faster.
MAX_SEARCH_PAGE = 1000
# A cursor encodes a page number up to `MAX_SEARCH_PAGE`: a few base64 characters.
MAX_CURSOR_LENGTH = 16
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*={0,2}$"

# The bounds, as the OpenAPI document shows them; `check_search` enforces them (400).
QUERY_DOC = Query(
    description="matched in names, namespaces, descriptions, keywords and categories; at most "
    f"{MAX_QUERY_LENGTH} characters",
    json_schema_extra={"maxLength": MAX_QUERY_LENGTH},
)
PAGE_DOC = Query(
    description=f"1 to {MAX_SEARCH_PAGE}",
    json_schema_extra={"minimum": 1, "maximum": MAX_SEARCH_PAGE},
)
NAMESPACE_DOC = Query(description="only this namespace's packages")

# Path parameters, with the examples the docs page and the fuzzer start from. A version
# that breaks the pattern is refused by the service (`version-invalid`, 400).
_PART = f"[0-9]{{1,{MAX_PART_DIGITS}}}"
VERSION_PATTERN = rf"{_PART}(\.{_PART}){{0,{MAX_VERSION_PARTS - 1}}}"
NamespacePath = Annotated[str, Path(description="a namespace", examples=["demo"])]
NamePath = Annotated[str, Path(description="a package in the namespace", examples=["hello"])]
VersionPath = Annotated[
    str,
    Path(
        description="`X.Y.Z` (`1.0` finds `1.0.0`)",
        examples=["1.0.0"],
        json_schema_extra={"pattern": f"^{VERSION_PATTERN}$", "maxLength": MAX_VERSION_LENGTH},
    ),
]
TarballPath = Annotated[
    str,
    Path(
        description="`X.Y.Z.tar.gz`",
        examples=["1.0.0.tar.gz"],
        json_schema_extra={"pattern": rf"^{VERSION_PATTERN}\.tar\.gz$"},
    ),
]


def check_search(query: str, page: int, *, query_field: str = "q") -> None:
    """Refuse (400) a search query or a page number past the documented bounds."""
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInput(
            "query-too-long",
            f"the search query is {len(query)} characters long; at most {MAX_QUERY_LENGTH} "
            "are searched: shorten it",
            query_field,
        )
    if not 1 <= page <= MAX_SEARCH_PAGE:
        raise InvalidInput(
            "page-out-of-range",
            f"pages go from 1 to {MAX_SEARCH_PAGE}: ask for one in that range, or narrow "
            "the query to reach later results",
            "page",
        )


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


def dependencies(version: Version) -> list[Dependency]:
    """A version's stored dependencies as wire models."""
    return [Dependency.model_validate(d) for d in version.dependencies]


def fpm_version_data(settings: Settings, package: Package, version: Version) -> FpmVersionData:
    """One version in fpm's `version_data` shape, with extra string/array keys."""
    return FpmVersionData(
        version=version.version,
        download_url=fpm_download_url(
            settings, package.namespace.name, package.name, version.version
        ),
        sha256=version.sha256,
        license=version.license,
        published_at=_time(version.published_at),
        yanked=version.yanked,
        dependencies=dependencies(version),
    )


def fpm_package_document(
    settings: Settings, package: Package, versions: list[Version], chosen: Version, *, latest: bool
) -> dict[str, Any]:
    """The body of `GET /packages/{ns}/{name}` (`latest`) or `.../{version}`, ready for
    `dumps_fpm`; `latest_version_data` or `version_data` names the chosen version."""
    common = {
        "name": package.name,
        "namespace": package.namespace.name,
        "description": package.description,
        "license": package.license,
        "homepage": package.homepage,
        "created_at": _time(package.created_at),
        "updated_at": _time(package.updated_at),
        # Extra keys fpm ignores (docs/fpm-protocol.md §1.2); `fpmreg` reads them.
        "deprecated": package.deprecated_at is not None,
        "deprecation_message": package.deprecation_message,
        "replacement": package.replacement,
    }
    data = fpm_version_data(settings, package, chosen)
    history = [v.version for v in versions]
    document: FpmLatestDocument | FpmVersionDocument
    if latest:
        document = FpmLatestDocument(
            code=200,
            data=FpmLatestData(**common, latest_version_data=data, version_history=history),
        )
    else:
        document = FpmVersionDocument(
            code=200,
            data=FpmVersionDataDocument(**common, version_data=data, version_history=history),
        )
    return document.model_dump()


def api_version(
    settings: Settings, package: Package, version: Version, publishers: dict[int, str]
) -> VersionInfo:
    """A version in the `/api/v1` shape."""
    ns, name = package.namespace.name, package.name
    return VersionInfo(
        version=version.version,
        sha256=version.sha256,
        size=version.size,
        license=version.license,
        description=version.description,
        published_at=_time(version.published_at),
        publisher=publishers.get(version.publisher_id or 0, ""),
        yanked=version.yanked,
        yank_reason=version.yank_reason,
        dependencies=dependencies(version),
        download_url=settings.base_url + tarball_path(ns, name, version.version),
    )


def api_package(
    settings: Settings, package: Package, versions: list[Version], publishers: dict[int, str]
) -> PackageInfo:
    """A package with every version, in the `/api/v1` shape."""
    return PackageInfo(
        namespace=package.namespace.name,
        name=package.name,
        description=package.description,
        license=package.license,
        homepage=package.homepage,
        latest_version=package.latest_version,
        created_at=_time(package.created_at),
        updated_at=_time(package.updated_at),
        versions=[api_version(settings, package, v, publishers) for v in versions],
        deprecated=package.deprecated_at is not None,
        deprecation_message=package.deprecation_message,
        replacement=package.replacement,
    )


def api_package_summary(package: Package) -> PackageSummary:
    """A package in search results."""
    return PackageSummary(
        namespace=package.namespace.name,
        name=package.name,
        description=package.description,
        license=package.license,
        latest_version=package.latest_version,
        updated_at=_time(package.updated_at),
    )
