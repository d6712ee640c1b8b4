"""A model of `fpm.toml` as fpm 0.12 and 0.13 read it (the parts a registry needs).

Error wording follows fpm's own where fpm has one (`src/fpm/manifest/*.f90`).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fpmreg.core.names import name_problems
from fpmreg.core.problem import Problem, Severity
from fpmreg.core.versions import InvalidVersion, Version

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
DEPENDENCY_KEYS = frozenset(
    {"namespace", "v", "path", "git", "tag", "branch", "rev", "preprocess", "features", "profile"}
)
# `src/fpm/manifest/meta.f90` `is_meta_package`; stdlib and minpack expand to git.
METAPACKAGES = frozenset({"openmp", "stdlib", "mpi", "minpack", "hdf5", "netcdf", "blas"})
GIT_METAPACKAGES = frozenset({"stdlib", "minpack"})


class DependencyKind(StrEnum):
    """Where fpm gets a dependency from."""

    REGISTRY = "registry"
    GIT = "git"
    PATH = "path"
    META = "metapackage"


@dataclass(frozen=True, slots=True)
class Dependency:
    """One entry of a `[dependencies]` table."""

    name: str
    kind: DependencyKind
    namespace: str = ""
    version: str = ""  # normalized `X.Y.Z` when pinned with `v`, else empty
    scope: str = "dependencies"  # or `dev-dependencies`, `executable:app`...

    def as_dict(self) -> dict[str, str]:
        """The JSON form stored and served by the registry (no empty values)."""
        out = {"name": self.name, "kind": str(self.kind), "scope": self.scope}
        if self.namespace:
            out["namespace"] = self.namespace
        if self.version:
            out["version"] = self.version
        return out


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


def _dependencies(table: Any, scope: str, problems: list[Problem]) -> list[Dependency]:
    if not isinstance(table, dict):
        if table is not None:
            problems.append(Problem("manifest-invalid", scope, f"`{scope}` must be a table"))
        return []
    deps = []
    for name, entry in table.items():
        if name in METAPACKAGES and scope == "dependencies" and not isinstance(entry, dict):
            if entry != "*":
                problems.append(
                    Problem(
                        "manifest-invalid",
                        scope,
                        f"Value <{entry}> for metapackage {name} is not currently "
                        'supported. Try "*" instead.',
                    )
                )
            deps.append(Dependency(name, DependencyKind.META, scope=scope))
            continue
        if not isinstance(entry, dict) or not entry:
            problems.append(
                Problem(
                    "dependency-invalid",
                    scope,
                    f"Dependency '{name}' does not provide sufficient entries",
                )
            )
            continue
        unknown = sorted(set(entry) - DEPENDENCY_KEYS)
        if unknown:
            problems.append(
                Problem(
                    "dependency-invalid",
                    scope,
                    f"Key {unknown[0]} is not allowed in dependency '{name}'",
                )
            )
        has_git, has_path = "git" in entry, "path" in entry
        if has_git and has_path:
            problems.append(
                Problem(
                    "dependency-invalid",
                    scope,
                    f"Dependency '{name}' cannot have both git and path entries",
                )
            )
        if (has_git or has_path) and "v" in entry:
            problems.append(
                Problem(
                    "dependency-invalid",
                    scope,
                    f"Dependency '{name}' cannot have both v and git/path entries",
                )
            )
        refs = [k for k in ("branch", "rev", "tag") if k in entry]
        if len(refs) > 1:
            problems.append(
                Problem(
                    "dependency-invalid",
                    scope,
                    f"Dependency '{name}' can only have one of branch, rev or tag present",
                )
            )
        if refs and not has_git:
            problems.append(
                Problem(
                    "dependency-invalid",
                    scope,
                    f"Dependency '{name}' has git identifier but no git url",
                )
            )
            continue
        if has_git:
            deps.append(Dependency(name, DependencyKind.GIT, scope=scope))
            continue
        if has_path:
            deps.append(Dependency(name, DependencyKind.PATH, scope=scope))
            continue
        namespace = entry.get("namespace")
        if not isinstance(namespace, str) or not namespace:
            problems.append(
                Problem(
                    "dependency-invalid",
                    scope,
                    f"Please provide a 'namespace' for dependency '{name}' if it is not a "
                    "local path or git repository",
                )
            )
            continue
        problems.extend(name_problems(namespace, field=scope, what="namespace")[:1])
        problems.extend(name_problems(name, field=scope, what="dependency")[:1])
        version = ""
        if "v" in entry:
            try:
                version = str(Version.parse(str(entry["v"])))
            except InvalidVersion as exc:
                problems.append(Problem("dependency-invalid", scope, f"Dependency '{name}': {exc}"))
        deps.append(Dependency(name, DependencyKind.REGISTRY, namespace, version, scope))
    return deps


# Text fields shown by the registry. A control character in them (TOML allows them
# as `\u` escapes) would corrupt pages and JSON, and PostgreSQL stores no NUL.
TEXT_FIELDS = (
    "version",
    "license",
    "description",
    "author",
    "maintainer",
    "copyright",
    "homepage",
    "keywords",
    "categories",
)
CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _control_character_problems(raw: dict[str, Any]) -> list[Problem]:
    problems = []
    for key in TEXT_FIELDS:
        values = raw.get(key)
        for value in values if isinstance(values, list) else [values]:
            match = CONTROL_CHARACTER.search(value) if isinstance(value, str) else None
            if match:
                problems.append(
                    Problem(
                        "manifest-control-character",
                        key,
                        f"`{key}` contains the control character U+{ord(match.group()):04X}: "
                        "remove it from fpm.toml",
                    )
                )
                break
    return problems


# Keys of each section in fpm 0.12 (`src/fpm/manifest/*.f90` `check` routines).
_BUILD_KEYS = frozenset(
    {"auto-executables", "auto-tests", "auto-examples", "link", "external-modules", "module-naming"}
)
_LIBRARY_KEYS = frozenset({"source-dir", "include-dir", "build-script", "type"})
_LIBRARY_TYPES = frozenset({"static", "shared", "monolithic"})
_TARGET_KEYS = frozenset({"name", "source-dir", "main", "dependencies", "link"})
_INSTALL_KEYS = frozenset({"library", "test"})
_FORTRAN_KEYS = frozenset({"implicit-typing", "implicit-external", "source-form"})
_SOURCE_FORMS = frozenset({"free", "fixed", "default"})
_PREPROCESS_KEYS = frozenset({"suffixes", "directories", "macros"})
# What fpm 0.13 added: 0.12 clients refuse manifests that use them.
_FPM_013_DEPENDENCY_KEYS = frozenset({"features", "profile"})


def _invalid(field: str, message: str) -> Problem:
    return Problem("manifest-invalid", field, message)


def _unknown_keys(table: dict[str, Any], allowed: frozenset[str], field: str,
                  where: str) -> list[Problem]:  # fmt: skip
    return [
        Problem("manifest-key", field, f"Key {key} is not allowed in {where}")
        for key in table
        if key not in allowed
    ]


def _is_strings(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    )


def section_problems(raw: dict[str, Any], package: str) -> list[Problem]:
    """Checks of `[build]`, `[library]`, targets, `[install]`, `[fortran]`, `[preprocess]`."""
    problems: list[Problem] = []
    for key in ("build", "library", "install", "fortran", "preprocess", "extra", "profiles",
                "features"):  # fmt: skip
        if key in raw and not isinstance(raw[key], dict):
            problems.append(_invalid(key, f"`{key}` must be a table, as in `[{key}]`"))
    build = raw.get("build")
    if isinstance(build, dict):
        for key in build:
            if key not in _BUILD_KEYS:
                problems.append(
                    Problem(
                        "manifest-key",
                        "build",
                        f'Manifest file syntax error: key "{key}" found in the [build] section '
                        f'of package/dependency "{package}" fpm.toml is not allowed',
                    )
                )
        for key in ("auto-executables", "auto-tests", "auto-examples"):
            if key in build and not isinstance(build[key], bool):
                problems.append(_invalid(f"build.{key}", f"`{key}` must be true or false"))
        for key in ("link", "external-modules"):
            if key in build and not _is_strings(build[key]):
                problems.append(
                    _invalid(f"build.{key}", f"`{key}` must be a string or a list of strings")
                )
        if "module-naming" in build and not isinstance(build["module-naming"], bool | str):
            problems.append(
                _invalid(
                    "build.module-naming", "`module-naming` must be true, false or a prefix string"
                )
            )
    library = raw.get("library")
    if isinstance(library, dict):
        problems += _unknown_keys(library, _LIBRARY_KEYS, "library", "library")
        if "type" in library and library["type"] not in _LIBRARY_TYPES:
            problems.append(
                _invalid(
                    "library.type",
                    f"library type `{library['type']}` is not one of static, shared, monolithic",
                )
            )
    for kind in ("executable", "test", "example"):
        targets = raw.get(kind)
        if targets is None:
            continue
        if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
            problems.append(_invalid(kind, f"`{kind}` must be an array of tables: `[[{kind}]]`"))
            continue
        seen: set[str] = set()
        for target in targets:
            problems += _unknown_keys(target, _TARGET_KEYS, kind, kind)
            target_name = target.get("name")
            if not isinstance(target_name, str) or not target_name:
                problems.append(_invalid(kind, f"Could not retrieve {kind} name"))
                continue
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,62}", target_name):
                problems.append(
                    _invalid(
                        kind,
                        f"{kind} name `{target_name}` must start with a "
                        "letter and contain only letters, digits, `-`, `_`",
                    )
                )
            if target_name in seen:
                problems.append(_invalid(kind, f"{kind} name `{target_name}` is used twice"))
            seen.add(target_name)
    install = raw.get("install")
    if isinstance(install, dict):
        problems += _unknown_keys(install, _INSTALL_KEYS, "install", "install table")
    fortran = raw.get("fortran")
    if isinstance(fortran, dict):
        problems += _unknown_keys(fortran, _FORTRAN_KEYS, "fortran", "fortran")
        if "source-form" in fortran and fortran["source-form"] not in _SOURCE_FORMS:
            problems.append(
                _invalid("fortran.source-form", "`source-form` must be free, fixed or default")
            )
    preprocess = raw.get("preprocess")
    if isinstance(preprocess, dict):
        for tool, table in preprocess.items():
            if not isinstance(table, dict):
                problems.append(_invalid("preprocess", f"`preprocess.{tool}` must be a table"))
            else:
                problems += _unknown_keys(
                    table, _PREPROCESS_KEYS, "preprocess", f"preprocess.{tool}"
                )
    problems += _newer_fpm_problems(raw)
    return problems


def _newer_fpm_problems(raw: dict[str, Any]) -> list[Problem]:
    used = []
    if "features" in raw:
        used.append("the top-level `features` table")
    for scope in ("dependencies", "dev-dependencies"):
        table = raw.get(scope)
        for dep, entry in table.items() if isinstance(table, dict) else []:
            if isinstance(entry, dict) and _FPM_013_DEPENDENCY_KEYS & set(entry):
                used.append(f"`features`/`profile` in dependency `{dep}`")
    return [
        Problem(
            "manifest-newer-fpm",
            "fpm.toml",
            f"fpm.toml uses {what}, which fpm 0.13 added: fpm 0.12 users cannot build this package",
            Severity.WARNING,
        )
        for what in used
    ]


def parse_manifest(text: str, files: dict[str, bytes] | None = None) -> ParsedManifest:
    """Read an `fpm.toml`. `files` holds root files, for a version read from a file."""
    problems: list[Problem] = []
    if not text.strip():
        return ParsedManifest(
            None, [Problem("manifest-empty", "fpm.toml", "Package file is empty")]
        )
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return ParsedManifest(
            None, [Problem("manifest-syntax", "fpm.toml", f"fpm.toml is not valid TOML: {exc}")]
        )
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            problems.append(
                Problem("manifest-key", "fpm.toml", f"Key {key} is not allowed in package file")
            )
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        problems.append(
            Problem(
                "name-missing",
                "name",
                "Package name is not provided, please add a name entry",
            )
        )
        name = ""
    else:
        problems.extend(name_problems(name))

    version_text = raw.get("version", "0")
    version_text = version_text if isinstance(version_text, str) else str(version_text)
    version_file = ""
    try:
        version = str(Version.parse(version_text))
    except InvalidVersion as exc:
        version = version_text
        content = (files or {}).get(version_text.removeprefix("./"))
        if content is not None:
            # fpm: `version = "VERSION"` names a file whose first line is the version.
            version_file = version_text
            first = content.decode("utf-8", "replace").splitlines()[:1]
            version = first[0].strip() if first else ""
            try:
                version = str(Version.parse(version))
            except InvalidVersion as file_exc:
                problems.append(Problem("version-invalid", "version", str(file_exc)))
        else:
            problems.append(Problem("version-invalid", "version", str(exc)))

    license_text = raw.get("license", "")
    build = raw.get("build", {})
    naming: bool | str = False
    if isinstance(build, dict):
        value = build.get("module-naming", False)
        naming = value if isinstance(value, bool | str) else False

    deps = _dependencies(raw.get("dependencies"), "dependencies", problems)
    deps += _dependencies(raw.get("dev-dependencies"), "dev-dependencies", problems)
    for kind in ("executable", "test", "example"):
        targets = raw.get(kind, [])
        for target in targets if isinstance(targets, list) else []:
            if isinstance(target, dict) and "dependencies" in target:
                scope = f"{kind}:{target.get('name', '')}"
                deps += _dependencies(target["dependencies"], scope, problems)

    problems.extend(_control_character_problems(raw))
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
