"""Checks of the sections of an `fpm.toml` beyond its name, version and dependencies.

Keys and shapes are fpm 0.12's (`src/fpm/manifest/*.f90` `check` routines).
"""

from __future__ import annotations

import re
from typing import Any

from fpmreg.core.problem import Problem, Severity

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


def control_character_problems(raw: dict[str, Any]) -> list[Problem]:
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
# fpm `is_fortran_name` for target names (`-` allowed, as fpm turns it into `_`).
_TARGET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
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


def _build_problems(build: dict[str, Any], package: str) -> list[Problem]:
    problems = []
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
    return problems


def _library_problems(library: dict[str, Any]) -> list[Problem]:
    problems = _unknown_keys(library, _LIBRARY_KEYS, "library", "library")
    if "type" in library and library["type"] not in _LIBRARY_TYPES:
        problems.append(
            _invalid(
                "library.type",
                f"library type `{library['type']}` is not one of static, shared, monolithic",
            )
        )
    return problems


def _target_problems(kind: str, targets: Any) -> list[Problem]:
    if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
        return [_invalid(kind, f"`{kind}` must be an array of tables: `[[{kind}]]`")]
    problems: list[Problem] = []
    seen: set[str] = set()
    for target in targets:
        problems += _unknown_keys(target, _TARGET_KEYS, kind, kind)
        target_name = target.get("name")
        if not isinstance(target_name, str) or not target_name:
            problems.append(_invalid(kind, f"Could not retrieve {kind} name"))
            continue
        if not _TARGET_NAME.fullmatch(target_name):
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
    return problems


def _fortran_problems(fortran: dict[str, Any]) -> list[Problem]:
    problems = _unknown_keys(fortran, _FORTRAN_KEYS, "fortran", "fortran")
    if "source-form" in fortran and fortran["source-form"] not in _SOURCE_FORMS:
        problems.append(
            _invalid("fortran.source-form", "`source-form` must be free, fixed or default")
        )
    return problems


def _preprocess_problems(preprocess: dict[str, Any]) -> list[Problem]:
    problems = []
    for tool, table in preprocess.items():
        if not isinstance(table, dict):
            problems.append(_invalid("preprocess", f"`preprocess.{tool}` must be a table"))
        else:
            problems += _unknown_keys(table, _PREPROCESS_KEYS, "preprocess", f"preprocess.{tool}")
    return problems


def section_problems(raw: dict[str, Any], package: str) -> list[Problem]:
    """Checks of `[build]`, `[library]`, targets, `[install]`, `[fortran]`, `[preprocess]`."""
    problems: list[Problem] = []
    for key in ("build", "library", "install", "fortran", "preprocess", "extra", "profiles",
                "features"):  # fmt: skip
        if key in raw and not isinstance(raw[key], dict):
            problems.append(_invalid(key, f"`{key}` must be a table, as in `[{key}]`"))
    if isinstance(build := raw.get("build"), dict):
        problems += _build_problems(build, package)
    if isinstance(library := raw.get("library"), dict):
        problems += _library_problems(library)
    for kind in ("executable", "test", "example"):
        if (targets := raw.get(kind)) is not None:
            problems += _target_problems(kind, targets)
    if isinstance(install := raw.get("install"), dict):
        problems += _unknown_keys(install, _INSTALL_KEYS, "install", "install table")
    if isinstance(fortran := raw.get("fortran"), dict):
        problems += _fortran_problems(fortran)
    if isinstance(preprocess := raw.get("preprocess"), dict):
        problems += _preprocess_problems(preprocess)
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
