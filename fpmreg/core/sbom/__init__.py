"""Software bills of materials of fpm packages: SPDX 2.3, SPDX 3.0.1 and CycloneDX 1.6,
from one input model, byte for byte the same for the same input and clock (docs/sbom.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fpmreg.core.sbom import cyclonedx, spdx2, spdx3
from fpmreg.core.sbom.model import Component, Registry, SbomInput, dumps, spdx_license

__all__ = [
    "DEFAULT_FORMAT",
    "FORMATS",
    "Component",
    "Format",
    "Registry",
    "SbomInput",
    "UnknownFormat",
    "emit",
    "format_named",
    "spdx_license",
]


@dataclass(frozen=True)
class Format:
    """One SBOM format: its name (`?format=`, `--format`), media type and emitter."""

    name: str
    media_type: str
    build: Callable[[SbomInput, datetime], dict[str, Any]]
    suffix: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("spdx-2.3", spdx2.MEDIA_TYPE, spdx2.spdx2_document, ".spdx.json"),
        Format("spdx-3.0", spdx3.MEDIA_TYPE, spdx3.spdx3_document, ".spdx3.jsonld"),
        Format("cyclonedx-1.6", cyclonedx.MEDIA_TYPE, cyclonedx.cyclonedx_document, ".cdx.json"),
    )
}
DEFAULT_FORMAT = "spdx-2.3"


class UnknownFormat(ValueError):
    """A format name that is not one of `FORMATS`; the message lists them."""


def format_named(name: str) -> Format:
    """The format called `name`, or `UnknownFormat` naming the ones there are."""
    found = FORMATS.get(name)
    if found is None:
        raise UnknownFormat(
            f"there is no SBOM format `{name[:40]}`: use one of "
            + ", ".join(f"`{n}`" for n in FORMATS)
        )
    return found


def emit(sbom: SbomInput, format_name: str, created: datetime) -> bytes:
    """The document of `sbom` in `format_name`, created at `created`, as bytes."""
    return dumps(format_named(format_name).build(sbom, created))
