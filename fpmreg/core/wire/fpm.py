"""fpm's own documents on `/packages…`, as fpm 0.12+ reads them (`docs/api-design.md`).

Described here so the OpenAPI document and the fuzzer can check them; the server
writes them with `fpmreg.core.fpmjson.dumps_fpm` (no `null`, no `\\u` escapes).
"""

from __future__ import annotations

from pydantic import Field

from fpmreg.core.wire import WireModel
from fpmreg.core.wire.packages import Dependency, PackageSummary, Sha256, Timestamp


class FpmVersionData(WireModel):
    """One version; fpm reads `version` and `download_url` (relative to its base URL)."""

    version: str
    download_url: str
    sha256: Sha256
    license: str
    published_at: Timestamp
    yanked: bool
    dependencies: list[Dependency]


class _FpmPackageData(WireModel):
    name: str
    namespace: str
    description: str
    license: str
    homepage: str
    created_at: Timestamp
    updated_at: Timestamp
    # Extra keys fpm ignores; `fpmreg` and people reading the JSON see the deprecation.
    deprecated: bool = False
    deprecation_message: str = ""
    replacement: str = Field("", description='`namespace/name` to use instead, or `""`')


class FpmLatestData(_FpmPackageData):
    """A package and its newest version that is not yanked."""

    latest_version_data: FpmVersionData
    version_history: list[str]


class FpmVersionDataDocument(_FpmPackageData):
    """A package and one exact version."""

    version_data: FpmVersionData
    version_history: list[str]


class FpmLatestDocument(WireModel):
    """`GET /packages/{namespace}/{name}`."""

    code: int = Field(examples=[200])
    data: FpmLatestData


class FpmVersionDocument(WireModel):
    """`GET /packages/{namespace}/{name}/{version}`."""

    code: int = Field(examples=[200])
    data: FpmVersionDataDocument


class FpmSearchResults(WireModel):
    """`GET /packages?query=&page=`, in the fortran-lang prototype registry's shape."""

    code: int = Field(examples=[200])
    packages: list[PackageSummary]
    total_pages: int = Field(ge=1)
