"""What an SBOM describes: a root package, the registry packages it builds with, and
who made the document when (docs/sbom.md, "The input").

Pure data: the server fills it from its database, `fpmreg sbom` from `fpm.lock`; the
emitters (`spdx2`, `spdx3`, `cyclonedx`) turn it into documents, the same bytes for the
same input and clock."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from license_expression import ExpressionError, Licensing, get_spdx_licensing

from fpmreg.core.license import MAX_LICENSE_LENGTH

PURL_TYPE = "fpm"  # proposed, not registered (docs/transparency-log.md, docs/sbom.md)
NOASSERTION = "NOASSERTION"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_URL = re.compile(r"^https?://[^\s\"<>\\^`{|}]+$")


@dataclass(frozen=True)
class Component:
    """One package: `pkg:fpm/<namespace>/<name>@<version>`, its tarball's sha256 and URL
    when known, its fpm.toml `license`, its release's log index, and the `namespace/name`
    keys of its direct dependencies (the transitive ones are the graph's)."""

    namespace: str
    name: str
    version: str
    sha256: str = ""
    license: str = ""
    log_index: int | None = None
    download_url: str = ""
    dependencies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "dependencies", tuple(sorted(set(self.dependencies))))
        sha = self.sha256.lower()
        object.__setattr__(self, "sha256", sha if _SHA256.match(sha) else "")
        url = self.download_url
        object.__setattr__(self, "download_url", url if _URL.match(url) else "")

    @property
    def key(self) -> str:
        """`namespace/name`, how dependencies name this package."""
        return f"{self.namespace}/{self.name}"

    @property
    def purl(self) -> str:
        """The package URL, `pkg:fpm/<namespace>/<name>@<version>`."""
        return f"pkg:{PURL_TYPE}/{_purl_part(self.namespace)}/{_purl_part(self.name)}@" + (
            _purl_part(self.version)
        )


def _purl_part(text: str) -> str:
    """A purl segment: fpm names and versions need no escape; anything else is encoded."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else _pct(c) for c in text)


def _pct(char: str) -> str:
    return "".join(f"%{b:02X}" for b in char.encode())


@dataclass(frozen=True)
class Registry:
    """The supplier of every package: the registry's name and base URL."""

    name: str
    url: str


@dataclass(frozen=True)
class SbomInput:
    """A whole SBOM's content. `components` are deduplicated by package URL and sorted;
    dependency keys that name no component (nor the root) are dropped."""

    root: Component
    components: tuple[Component, ...]
    registry: Registry
    tool_version: str
    _keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unique = {c.purl: c for c in self.components if c.purl != self.root.purl}
        ordered = tuple(unique[p] for p in sorted(unique))
        object.__setattr__(self, "components", ordered)
        object.__setattr__(self, "_keys", frozenset(c.key for c in (self.root, *ordered)))

    @property
    def tool(self) -> str:
        """The creation tool, `fpmreg-<version>`."""
        return f"fpmreg-{self.tool_version}"

    def everything(self) -> tuple[Component, ...]:
        """The root, then the components."""
        return (self.root, *self.components)

    def by_key(self, key: str) -> Component | None:
        """The package a dependency key names (the first, by package URL, if several)."""
        return next((c for c in self.everything() if c.key == key), None)

    def edges(self, component: Component) -> list[Component]:
        """The packages `component` depends on directly, sorted by package URL."""
        found = (self.by_key(k) for k in component.dependencies if k in self._keys)
        return sorted({c.purl: c for c in found if c is not None}.values(), key=lambda c: c.purl)

    def digest(self, created: datetime) -> str:
        """sha256 of the content and the time: what names the document."""
        data = {
            "root": asdict(self.root),
            "components": [asdict(c) for c in self.components],
            "registry": asdict(self.registry),
            "tool": self.tool_version,
            "created": timestamp(created),
        }
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def namespace_uri(self, created: datetime) -> str:
        """A unique URI for the document, derived from its content (SPDX 2.3's
        `documentNamespace`, SPDX 3's id prefix)."""
        root = self.root
        base = self.registry.url.rstrip("/") or "https://fpm.invalid"
        return (
            f"{base}/spdxdocs/{_purl_part(root.namespace)}/{_purl_part(root.name)}-"
            f"{_purl_part(root.version)}-{self.digest(created)}"
        )

    def serial_number(self, created: datetime) -> str:
        """CycloneDX's `serialNumber`: a UUID (version 5) of the document's URI."""
        return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, self.namespace_uri(created)))

    def log_entry_url(self, component: Component) -> str:
        """Where the release record of `component` is read, or "" without a log index."""
        if component.log_index is None or not self.registry.url:
            return ""
        return f"{self.registry.url.rstrip('/')}/api/v1/log/entries/{component.log_index}"


def timestamp(created: datetime) -> str:
    """`created` in UTC, to the second, as every format writes it (`...Z`)."""
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=1)
def _licensing() -> Licensing:
    return get_spdx_licensing()


@lru_cache(maxsize=1024)
def spdx_license(expression: str) -> str | None:
    """`expression` as a valid SPDX licence expression (identifiers in their SPDX case),
    or None when it is not one (then the documents say NOASSERTION or leave it out)."""
    if not expression.strip() or len(expression) > MAX_LICENSE_LENGTH:
        return None
    try:
        parsed = _licensing().parse(expression, validate=True, strict=True)
    except ExpressionError:
        return None
    if parsed is None:
        return None
    return str(parsed.render())


def dumps(document: object) -> bytes:
    """A document's bytes: JSON, two-space indent, UTF-8, a final newline."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
