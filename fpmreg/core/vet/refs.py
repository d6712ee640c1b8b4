"""Package URLs (`pkg:fpm/ns/name@version`) and releases (a version bound to its sha256)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fpmreg.core.names import NAME_PATTERN, canonical_name
from fpmreg.core.versions import InvalidVersion, Version

PURL_PREFIX = "pkg:fpm/"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Longer than any valid `pkg:fpm/ns/name@version` (two 63-character names, a version).
MAX_PURL_LENGTH = 200


class InvalidReference(ValueError):
    """A package URL or a digest fpmreg cannot read."""


@dataclass(frozen=True, slots=True)
class PackageName:
    """A package of the registry: `namespace/name`."""

    namespace: str
    name: str

    @property
    def key(self) -> str:
        """The form packages are unique in (fpm names ignore case, `-` equals `_`)."""
        return f"{canonical_name(self.namespace)}/{canonical_name(self.name)}"

    @property
    def purl(self) -> str:
        """`pkg:fpm/ns/name`."""
        return f"{PURL_PREFIX}{self.namespace}/{self.name}"

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Release:
    """One published version, identified by the sha256 of its tarball."""

    version: Version
    sha256: str

    def __post_init__(self) -> None:
        if not SHA256.fullmatch(self.sha256):
            raise InvalidReference(
                f"`{self.sha256[:80]}` is not a sha256: write 64 lowercase hexadecimal digits"
            )

    def __str__(self) -> str:
        return f"{self.version} (sha256 {self.sha256[:12]}…)"


def parse_purl(text: str, *, versioned: bool) -> tuple[PackageName, Version | None]:
    """Read `pkg:fpm/ns/name@version` (`versioned`) or `pkg:fpm/ns/name` (not)."""
    if not isinstance(text, str):
        raise InvalidReference(f"a package URL must be a string, not `{text!r}`"[:200])
    shown = text if len(text) <= 80 else text[:77] + "..."
    example = "pkg:fpm/ns/name@1.0.0" if versioned else "pkg:fpm/ns/name"
    if len(text) > MAX_PURL_LENGTH or not text.startswith(PURL_PREFIX):
        raise InvalidReference(f"`{shown}` is not an fpm package URL: write `{example}`")
    path, at, version_text = text[len(PURL_PREFIX) :].partition("@")
    if versioned != bool(at):
        need = "needs a version" if versioned else "must not name a version"
        raise InvalidReference(f"`{shown}` {need}: write `{example}`")
    parts = path.split("/")
    if len(parts) != 2 or not all(NAME_PATTERN.fullmatch(p) for p in parts):
        raise InvalidReference(
            f"`{shown}` is not an fpm package URL: write `{example}` where the namespace "
            "and the name start with a letter and hold letters, digits, `-` and `_`"
        )
    package = PackageName(parts[0], parts[1])
    if not versioned:
        return package, None
    try:
        return package, Version.parse(version_text)
    except InvalidVersion as error:
        raise InvalidReference(f"`{shown}`: {error}") from None


def release_purl(package: PackageName, version: Version) -> str:
    """`pkg:fpm/ns/name@X.Y.Z`."""
    return f"{package.purl}@{version}"
