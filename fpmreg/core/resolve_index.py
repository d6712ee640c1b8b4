"""What the resolver reads: published versions, as the registry's index describes them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class IndexVersion:
    """One published version as the registry index describes it (`/api/v1/index`)."""

    version: str
    sha256: str
    yanked: bool = False
    # As stored: {"name", "kind", "namespace", "version"?, "scope", "requirement"?}.
    dependencies: Sequence[Mapping[str, str]] = ()
    # The package's own `[extra.fpmreg.dependencies]`: name → requirement text.
    ranges: Mapping[str, str] = field(default_factory=dict)
    download_url: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IndexVersion:
        """One entry of the index document's `versions` list."""
        return cls(
            version=str(data["version"]),
            sha256=str(data.get("sha256", "")),
            yanked=bool(data.get("yanked", False)),
            dependencies=tuple(data.get("dependencies") or ()),
            ranges=dict(data.get("ranges") or {}),
            download_url=str(data.get("download_url", "")),
        )


class Index(Protocol):
    """Where the resolver reads versions: the registry's index, or a test double."""

    def versions(self, namespace: str, name: str) -> Sequence[IndexVersion]:
        """Every version of `namespace/name`, yanked ones included; empty if unknown."""
        ...


class MemoryIndex:
    """An `Index` held in a dict: for tests, benchmarks and already-fetched documents."""

    def __init__(
        self, packages: Mapping[tuple[str, str], Sequence[IndexVersion]] | None = None
    ) -> None:
        self.packages: dict[tuple[str, str], list[IndexVersion]] = {
            key: list(versions) for key, versions in (packages or {}).items()
        }

    def add(self, namespace: str, name: str, version: IndexVersion) -> None:
        """Publish one more version."""
        self.packages.setdefault((namespace, name), []).append(version)

    def versions(self, namespace: str, name: str) -> Sequence[IndexVersion]:
        """Every version of `namespace/name`, empty if unknown."""
        return self.packages.get((namespace, name), [])
