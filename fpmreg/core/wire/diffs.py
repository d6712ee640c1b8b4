"""The diff between two versions of a package on `/api/v1` (docs/diffs.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from fpmreg.core.wire import WireModel

Digest = str  # hex SHA-256, or "" where the side does not exist


class DiffFile(WireModel):
    """One file that differs between the two versions, with its unified diff."""

    path: str = Field(description="the path inside the package, `/` between parts")
    status: Literal["added", "removed", "changed"]
    old_sha256: Digest = Field(description='hex SHA-256 in `from`; `""` for an added file')
    new_sha256: Digest = Field(description='hex SHA-256 in `to`; `""` for a removed file')
    old_size: int = Field(ge=0, description="bytes in `from` (0 for an added file)")
    new_size: int = Field(ge=0, description="bytes in `to` (0 for a removed file)")
    binary: bool = Field(description="not UTF-8 text (or too large to show): digests only")
    lines_added: int = Field(ge=0)
    lines_removed: int = Field(ge=0)
    diff: str = Field(description="this file's part of the text answer, headers included")


class PackageDiff(WireModel):
    """What changed from `from_version` to `to_version`: every differing file, by path."""

    namespace: str
    name: str
    from_version: str = Field(description='the older version, `"empty"` for the empty package')
    from_sha256: Digest = Field(description='its tarball\'s hex SHA-256; `""` for empty')
    to_version: str
    to_sha256: Digest = Field(description="its tarball's hex SHA-256")
    files_added: int = Field(ge=0)
    files_removed: int = Field(ge=0)
    files_changed: int = Field(ge=0)
    lines_added: int = Field(ge=0)
    lines_removed: int = Field(ge=0)
    files: list[DiffFile] = Field(description="sorted by path (code points)")


class AuditDiffReport(PackageDiff):
    """`fpmreg audit-diff --format json`: the registry's `PackageDiff` and which registry."""

    registry: str
