"""A model of `fpm.toml` as fpm 0.12 and 0.13 read it (the parts a registry needs).

Error wording follows fpm's own where fpm has one (`src/fpm/manifest/*.f90`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from fpmreg.core.dependencies import (
    DEPENDENCY_KEYS,
    GIT_METAPACKAGES,
    METAPACKAGES,
    Dependency,
    DependencyKind,
    dependency_table,
)
from fpmreg.core.names import name_problems
from fpmreg.core.problem import Problem
from fpmreg.core.sections import (
    CONTROL_CHARACTER,
    TEXT_FIELDS,
    control_character_problems,
    section_problems,
)
from fpmreg.core.tomldepth import MAX_MANIFEST_DEPTH, text_too_deep, value_depth
from fpmreg.core.versions import InvalidVersion, Version

__all__ = [
    "CONTROL_CHARACTER",
    "DEPENDENCY_KEYS",
    "GIT_METAPACKAGES",
    "METAPACKAGES",
    "TEXT_FIELDS",
    "TOP_LEVEL_KEYS",
    "Dependency",
    "DependencyKind",
    "Manifest",
    "ParsedManifest",
    "parse_manifest",
    "section_problems",
]

# fpm 0.12 `package.f90` `check`; `features` arrived in 0.13.
TOP_LEVEL_KEYS = frozenset(
    {
        "name",
        "version",
        "license",
        "author",
        "maintainer",
        "copyright",
        "description",
        "keywords",
        "categories",
        "homepage",
        "build",
        "dependencies",
        "dev-dependencies",
        "profiles",
        "test",
        "executable",
        "example",
        "library",
        "install",
        "extra",
        "preprocess",
        "fortran",
        "features",
    }
)


@dataclass(frozen=True)
class Manifest:
    """The registry-relevant content of one `fpm.toml`."""

    name: str
    version: str  # normalized, or the raw text when it could not be read
    version_file: str  # the file named by `version`, when fpm reads it from a file
    license: str
    description: str = ""
    author: str = ""
    maintainer: str = ""
    homepage: str = ""
    keywords: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    module_naming: bool | str = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def requirements(self) -> dict[str, str]:
        """Version ranges from `[extra.fpmreg.dependencies]` (fpm's `v` takes only exact
        versions, so ranges live in the free-form `[extra]` table fpm ignores)."""
        extra = self.raw.get("extra")
        table = extra.get("fpmreg", {}) if isinstance(extra, dict) else {}
        deps = table.get("dependencies", {}) if isinstance(table, dict) else {}
        if not isinstance(deps, dict):
            return {}
        return {name: text for name, text in deps.items() if isinstance(text, str)}


@dataclass(frozen=True)
class ParsedManifest:
    """A manifest, or as much of one as could be read, with every problem found."""

    manifest: Manifest | None
    problems: list[Problem]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return ""


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def _too_deep() -> ParsedManifest:
    return ParsedManifest(
        None,
        [
            Problem(
                "manifest-too-deep",
                "fpm.toml",
                f"fpm.toml nests tables, arrays or dotted keys more than {MAX_MANIFEST_DEPTH} "
                "levels deep: no fpm manifest needs that many, flatten it",
            )
        ],
    )


def _load(text: str) -> dict[str, Any] | ParsedManifest:
    """The TOML document, or the `ParsedManifest` saying why it cannot be read."""
    if not text.strip():
        return ParsedManifest(
            None, [Problem("manifest-empty", "fpm.toml", "Package file is empty")]
        )
    if text_too_deep(text):
        return _too_deep()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return ParsedManifest(
            None, [Problem("manifest-syntax", "fpm.toml", f"fpm.toml is not valid TOML: {exc}")]
        )
    except RecursionError:  # pragma: no cover - `text_too_deep` stops these first
        return _too_deep()
    return _too_deep() if value_depth(raw) > MAX_MANIFEST_DEPTH else raw


def _name(raw: dict[str, Any], problems: list[Problem]) -> str:
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            problems.append(
                Problem("manifest-key", "fpm.toml", f"Key {key} is not allowed in package file")
            )
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        problems.append(
            Problem("name-missing", "name", "Package name is not provided, please add a name entry")
        )
        return ""
    problems.extend(name_problems(name))
    return name


def _version(
    raw: dict[str, Any], files: dict[str, bytes], problems: list[Problem]
) -> tuple[str, str]:
    """(the version, normalized when readable; the file it was read from, if any)."""
    version_text = raw.get("version", "0")
    version_text = version_text if isinstance(version_text, str) else str(version_text)
    try:
        return str(Version.parse(version_text)), ""
    except InvalidVersion as exc:
        content = files.get(version_text.removeprefix("./"))
        if content is None:
            problems.append(Problem("version-invalid", "version", str(exc)))
            return version_text, ""
    # fpm: `version = "VERSION"` names a file whose first line is the version.
    first = content.decode("utf-8", "replace").splitlines()[:1]
    version = first[0].strip() if first else ""
    try:
        version = str(Version.parse(version))
    except InvalidVersion as file_exc:
        problems.append(Problem("version-invalid", "version", str(file_exc)))
    return version, version_text


def _all_dependencies(raw: dict[str, Any], problems: list[Problem]) -> list[Dependency]:
    deps = dependency_table(raw.get("dependencies"), "dependencies", problems)
    deps += dependency_table(raw.get("dev-dependencies"), "dev-dependencies", problems)
    for kind in ("executable", "test", "example"):
        targets = raw.get(kind, [])
        for target in targets if isinstance(targets, list) else []:
            if isinstance(target, dict) and "dependencies" in target:
                scope = f"{kind}:{target.get('name', '')}"
                deps += dependency_table(target["dependencies"], scope, problems)
    return deps


def parse_manifest(text: str, files: dict[str, bytes] | None = None) -> ParsedManifest:
    """Read an `fpm.toml`. `files` holds root files, for a version read from a file."""
    raw = _load(text)
    if isinstance(raw, ParsedManifest):
        return raw
    problems: list[Problem] = []
    name = _name(raw, problems)
    version, version_file = _version(raw, files or {}, problems)
    license_text = raw.get("license", "")
    build = raw.get("build", {})
    naming: bool | str = False
    if isinstance(build, dict):
        value = build.get("module-naming", False)
        naming = value if isinstance(value, bool | str) else False
    deps = _all_dependencies(raw, problems)
    problems.extend(control_character_problems(raw))
    problems.extend(section_problems(raw, name or "?"))
    manifest = Manifest(
        name=name,
        version=version,
        version_file=version_file,
        license=license_text if isinstance(license_text, str) else "",
        description=_text(raw.get("description")),
        author=_text(raw.get("author")),
        maintainer=_text(raw.get("maintainer")),
        homepage=_text(raw.get("homepage")),
        keywords=_strings(raw.get("keywords")),
        categories=_strings(raw.get("categories")),
        dependencies=tuple(deps),
        module_naming=naming,
        raw=raw,
    )
    return ParsedManifest(manifest, problems)
