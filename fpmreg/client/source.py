"""Where a package comes from: a folder packaged as `fpm publish` would, or a tarball."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

from fpmreg.client import git
from fpmreg.client.errors import UsageError
from fpmreg.core.archive import DEFAULT_LIMITS
from fpmreg.core.checks import Inspection, inspect_package

MANIFEST = "fpm.toml"


@dataclass
class Package:
    """A package tarball's bytes, where they came from, and what checking them found."""

    data: bytes
    origin: str  # for messages: "`dir` at commit abc1234" or "`file.tar.gz`"
    inspection: Inspection
    notes: list[str] = field(default_factory=list)  # warnings about the source, not the package

    @property
    def sha256(self) -> str:
        """The hex sha256 the registry must record for these bytes."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def label(self) -> str:
        """`name` version, or the origin when the manifest is unreadable."""
        manifest = self.inspection.manifest
        if manifest is None or not manifest.name:
            return self.origin
        return f"`{manifest.name}` {manifest.version}"


def uncommitted_notes(directory: Path, inspection: Inspection) -> list[str]:
    """Warn when the files fpm reads the version and name from differ from `HEAD`."""
    watched = [MANIFEST]
    manifest = inspection.manifest
    if manifest is not None and manifest.version_file:
        watched.append(manifest.version_file)
    return [
        f"`{path}` has uncommitted changes, which are not in the package: fpm publishes "
        "the committed `HEAD`, so commit them first"
        for path in git.uncommitted(directory, watched)
    ]


def inspect_bytes(data: bytes) -> Inspection:
    """Every client-side upload check on a tarball's bytes (the server runs the same)."""
    return inspect_package(io.BytesIO(data))


def load_package(path: Path) -> Package:
    """Package the folder `path` as `fpm publish` does, or read the tarball `path`."""
    if not path.exists():
        raise UsageError(f"`{path}` does not exist: give a package folder or a `.tar.gz`")
    if path.is_dir():
        commit = git.require_commit(path)
        data = git.archive_head(path)
        inspection = inspect_bytes(data)
        return Package(
            data,
            f"`{path}` at commit {commit[:12]}",
            inspection,
            uncommitted_notes(path, inspection),
        )
    try:
        with path.open("rb") as stream:
            # One byte over the limit is enough for the size check to refuse it.
            data = stream.read(DEFAULT_LIMITS.max_compressed_bytes + 1)
    except OSError as exc:
        raise UsageError(f"cannot read `{path}`: {exc.strerror}") from exc
    return Package(data, f"`{path}`", inspect_bytes(data))
