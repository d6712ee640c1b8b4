"""`fpm.lock`: the exact versions and sha256 of a project's registry dependencies.

fpm has no lock file (docs/fpm-protocol.md §1.9: `build/cache.toml` records neither namespace,
registry nor checksum, and fpm issue #320 is open). `fpmreg lock` writes this one and
`fpmreg sync` installs exactly what it names. The format follows Cargo.lock
(docs/locking.md): a top-level format `version`, then one `[[package]]` table per
package with its source and checksum. Output is deterministic, so a lock diffs cleanly
and `dumps(loads(text)) == text` for every text `dumps` wrote.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from fpmreg.core.manifest import Dependency, DependencyKind, Manifest
from fpmreg.core.names import NAME_PATTERN
from fpmreg.core.versions import InvalidRequirement, InvalidVersion, Requirement, Version

LOCK_FILE_NAME = "fpm.lock"
# The lock format this code writes and reads. Bump it when a change would make an older
# fpmreg misread a newer lock (fpm issue #473 asked for a versioned cache format).
LOCK_VERSION = 1
_HEADER = (
    "# fpm.lock: the exact registry packages this project builds with, written by "
    "`fpmreg lock`.\n# Do not edit it: change fpm.toml and run `fpmreg lock` again.\n"
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PACKAGE_KEYS = (
    "namespace", "name", "version", "sha256", "registry", "log-index", "dependencies"
)  # fmt: skip
_OPTIONAL_KEYS = ("log-index",)  # absent in older locks and for registries without a log
# A log index is a JSON number a client reads exactly (docs/transparency-log.md).
MAX_LOG_INDEX = 2**53
_ROOT_KEYS = ("name", "manifest-hash")
_TOP_KEYS = ("version", "root", "package")
# A lock names every package once; a registry closure is small, so a lock this big is
# not one `fpmreg lock` wrote.
MAX_LOCKED_PACKAGES = 10_000


class LockFileError(ValueError):
    """`fpm.lock` cannot be read: malformed, hand-edited wrongly, or from a newer fpmreg."""


@dataclass(frozen=True)
class LockedPackage:
    """One exact registry package: where it comes from and the sha256 of its tarball."""

    namespace: str
    name: str
    version: str  # normalized `X.Y.Z`
    sha256: str
    registry: str
    dependencies: tuple[str, ...] = ()  # `namespace/name` of its locked dependencies
    # The index of its release record (`version.publish`) in the registry's
    # transparency log; None when the lock predates it or the registry has no log.
    log_index: int | None = None

    def __post_init__(self) -> None:
        # Sorted and unique, so equal locks are equal objects and dump to equal bytes.
        object.__setattr__(self, "dependencies", tuple(sorted(set(self.dependencies))))

    @property
    def key(self) -> str:
        """`namespace/name`, how dependencies refer to this package."""
        return f"{self.namespace}/{self.name}"

    @property
    def package_url(self) -> str:
        """`pkg:fpm/ns/name@version`, the subject of its records in the registry's log."""
        return f"pkg:fpm/{self.namespace}/{self.name}@{self.version}"

    def same_release(self, other: LockedPackage) -> bool:
        """Whether `other` locks the same tarball from the same registry (whatever log
        index either records)."""
        return replace(self, log_index=None) == replace(other, log_index=None)


@dataclass(frozen=True)
class LockRoot:
    """The project a lock belongs to, and the hash of its dependency tables."""

    name: str
    manifest_hash: str = ""


@dataclass(frozen=True)
class Lock:
    """A whole `fpm.lock`: packages sorted by (name, namespace)."""

    packages: tuple[LockedPackage, ...] = ()
    root: LockRoot | None = None
    _by_name: dict[str, LockedPackage] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.packages, key=lambda p: (p.name, p.namespace)))
        object.__setattr__(self, "packages", ordered)
        object.__setattr__(self, "_by_name", {p.name: p for p in ordered})

    def get(self, name: str) -> LockedPackage | None:
        """The locked package called `name` (fpm allows one package per name)."""
        return self._by_name.get(name)


# --- writing ---------------------------------------------------------------------------

# TOML basic strings (toml.io/en/v1.0.0#string) may not hold `"`, `\` or a control
# character other than tab, so each of those is escaped: the short escape when TOML has
# one, `\uXXXX` otherwise. Tab is escaped too, and so are the three characters outside
# ASCII that editors and `str.splitlines` take for a line break (NEL, LINE SEPARATOR,
# PARAGRAPH SEPARATOR): every value stays on its own line, whatever reads the file.
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n",
                  "\f": "\\f", "\r": "\\r"}  # fmt: skip
_ESCAPED = [*range(0x20), 0x7F, 0x85, 0x2028, 0x2029]
_ESCAPES = str.maketrans({chr(code): f"\\u{code:04X}" for code in _ESCAPED} | _SHORT_ESCAPES)


def _string(value: str) -> str:
    """A TOML basic string on one line: `tomllib` reads back exactly `value`."""
    return '"' + value.translate(_ESCAPES) + '"'


def _strings(values: Iterable[str]) -> str:
    items = list(values)
    if not items:
        return "[]"
    # One item a line, as Cargo.lock does, so adding a dependency is a one-line diff.
    return "[\n" + "".join(f"    {_string(v)},\n" for v in items) + "]"


def dumps(lock: Lock) -> str:
    """The text of `fpm.lock` for `lock`: same lock, same bytes."""
    lines = [_HEADER + f"version = {LOCK_VERSION}"]
    if lock.root is not None:
        root = f"[root]\nname = {_string(lock.root.name)}"
        if lock.root.manifest_hash:
            root += f"\nmanifest-hash = {_string(lock.root.manifest_hash)}"
        lines.append(root)
    for p in lock.packages:
        lines.append(
            "[[package]]\n"
            f"namespace = {_string(p.namespace)}\n"
            f"name = {_string(p.name)}\n"
            f"version = {_string(p.version)}\n"
            f"sha256 = {_string(p.sha256)}\n"
            f"registry = {_string(p.registry)}\n"
            + ("" if p.log_index is None else f"log-index = {p.log_index}\n")
            + f"dependencies = {_strings(p.dependencies)}"
        )
    return "\n\n".join(lines) + "\n"


# --- reading ---------------------------------------------------------------------------

_AGAIN = "run `fpmreg lock` to write it again"


def _fail(message: str) -> LockFileError:
    return LockFileError(f"{LOCK_FILE_NAME}: {message}")


def _unknown_keys(table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise _fail(
            f"unknown key `{unknown[0]}` in {where} (known: {', '.join(allowed)}); {_AGAIN}"
        )


def _text_field(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise _fail(f"{where} needs `{key}` as a non-empty string; {_AGAIN}")
    return value


def _name_field(table: Mapping[str, Any], key: str, where: str) -> str:
    value = _text_field(table, key, where)
    if not NAME_PATTERN.fullmatch(value):
        raise _fail(f"{where} has an invalid {key} `{value}`; {_AGAIN}")
    return value


def _package(table: Any, number: int) -> LockedPackage:
    where = f"[[package]] number {number}"
    if not isinstance(table, dict):
        raise _fail(f"{where} is not a table; {_AGAIN}")
    _unknown_keys(table, _PACKAGE_KEYS, where)
    missing = [k for k in _PACKAGE_KEYS if k not in table and k not in _OPTIONAL_KEYS]
    if missing:
        raise _fail(f"{where} has no `{missing[0]}`; {_AGAIN}")
    namespace = _name_field(table, "namespace", where)
    name = _name_field(table, "name", where)
    where = f"[[package]] `{namespace}/{name}`"
    version_text = _text_field(table, "version", where)
    try:
        version = str(Version.parse(version_text))
    except InvalidVersion as exc:
        raise _fail(f"{where}: {exc}") from None
    sha256 = _text_field(table, "sha256", where)
    if not _SHA256.fullmatch(sha256):
        raise _fail(f"{where}: `sha256` must be 64 lowercase hexadecimal digits; {_AGAIN}")
    registry = _text_field(table, "registry", where)
    deps = table["dependencies"]
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise _fail(f"{where}: `dependencies` must be a list of `namespace/name` strings")
    for dep in deps:
        ns, _, dep_name = dep.partition("/")
        if not NAME_PATTERN.fullmatch(ns) or not NAME_PATTERN.fullmatch(dep_name):
            raise _fail(f"{where}: dependency `{dep}` is not `namespace/name`; {_AGAIN}")
    log_index = _log_index(table, where)
    return LockedPackage(namespace, name, version, sha256, registry, tuple(deps), log_index)


def _log_index(table: Mapping[str, Any], where: str) -> int | None:
    if "log-index" not in table:
        return None
    value = table["log-index"]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < MAX_LOG_INDEX:
        raise _fail(
            f"{where}: `log-index = {value!r}` is not a log index (a whole number from 0, "
            f"the index of the release record in the registry's log); {_AGAIN}"
        )
    return value


def _root(raw: Mapping[str, Any]) -> LockRoot | None:
    if "root" not in raw:
        return None
    table = raw["root"]
    if not isinstance(table, dict):
        raise _fail(f"`root` must be a table, `[root]`; {_AGAIN}")
    _unknown_keys(table, _ROOT_KEYS, "[root]")
    name = _name_field(table, "name", "[root]")
    manifest_hash = table.get("manifest-hash", "")
    if not isinstance(manifest_hash, str) or (
        manifest_hash and not _SHA256.fullmatch(manifest_hash)
    ):
        raise _fail(f"[root] `manifest-hash` must be a sha256 hex digest; {_AGAIN}")
    return LockRoot(name, manifest_hash)


def _packages(raw: Mapping[str, Any]) -> list[LockedPackage]:
    tables = raw.get("package", [])
    if not isinstance(tables, list):
        raise _fail(f"`package` must be an array of tables, `[[package]]`; {_AGAIN}")
    if len(tables) > MAX_LOCKED_PACKAGES:
        raise _fail(f"more than {MAX_LOCKED_PACKAGES} packages; {_AGAIN}")
    packages = [_package(t, i) for i, t in enumerate(tables, start=1)]
    by_name: dict[str, LockedPackage] = {}
    for p in packages:
        if p.name in by_name:
            other = by_name[p.name]
            raise _fail(
                f"`{other.key}` and `{p.key}` are both locked, but fpm builds one package "
                f"per name; {_AGAIN}"
            )
        by_name[p.name] = p
    keys = {p.key for p in packages}
    for p in packages:
        for dep in p.dependencies:
            if dep not in keys:
                raise _fail(f"`{p.key}` depends on `{dep}`, which has no [[package]]; {_AGAIN}")
    return packages


def loads(text: str) -> Lock:
    """Read `fpm.lock`, or raise `LockFileError` saying what is wrong and what to do."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(f"not valid TOML ({exc}); {_AGAIN}") from None
    if "version" not in raw:
        raise _fail(f"no lock format `version`; {_AGAIN}")
    version = raw["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _fail(f"`version = {version!r}` is not a lock format version; {_AGAIN}")
    if version > LOCK_VERSION:
        raise _fail(
            f"lock format version {version} was written by a newer fpmreg; this one reads "
            f"version {LOCK_VERSION}: upgrade fpmreg"
        )
    _unknown_keys(raw, _TOP_KEYS, "the top level")
    root = _root(raw)
    return Lock(tuple(_packages(raw)), root)


# --- agreement with fpm.toml ----------------------------------------------------------


def dependency_requirement(dep: Dependency, ranges: Mapping[str, str]) -> Requirement:
    """What `dep` allows: its exact `v` and its `[extra.fpmreg.dependencies]` range, both.

    Raises `InvalidRequirement` for a range fpmreg cannot read."""
    parts = []
    if dep.version:
        parts.append(Requirement.exact(Version.parse(dep.version)))
    if dep.name in ranges:
        parts.append(Requirement.parse(ranges[dep.name]))
    return Requirement.all_of(parts)


def manifest_hash(manifest: Manifest) -> str:
    """sha256 of what in `fpm.toml` decides the lock: the name, every dependency entry
    (kind, namespace, `v`, table) and the `[extra.fpmreg.dependencies]` ranges."""
    document = {
        "name": manifest.name,
        "dependencies": sorted(
            (d.as_dict() for d in manifest.dependencies), key=lambda d: sorted(d.items())
        ),
        "requirements": dict(sorted(manifest.requirements.items())),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _table(scope: str) -> str:
    kind, _, target = scope.partition(":")
    return f"[[{kind}]] `{target}`" if target else f"[{scope}]"


def _requirement_messages(root: Manifest, lock: Lock) -> list[str]:
    """How the lock fails the root's own registry dependencies and ranges."""
    messages: list[str] = []
    ranges = root.requirements
    for dep in root.dependencies:
        if dep.kind is not DependencyKind.REGISTRY:
            continue
        where = _table(dep.scope)
        locked = lock.get(dep.name)
        if locked is None:
            messages.append(
                f"`{dep.namespace}/{dep.name}` (in {where}) is not in {LOCK_FILE_NAME}: "
                "run `fpmreg lock`"
            )
            continue
        if locked.namespace != dep.namespace:
            messages.append(
                f"fpm.toml asks for `{dep.namespace}/{dep.name}` (in {where}), but "
                f"{LOCK_FILE_NAME} has `{locked.key}`: run `fpmreg lock --update {dep.name}`"
            )
            continue
        try:
            requirement = dependency_requirement(dep, ranges)
        except InvalidRequirement as exc:
            messages.append(f"[extra.fpmreg.dependencies] `{dep.name}`: {exc}")
            continue
        if not requirement.matches(Version.parse(locked.version)):
            messages.append(
                f"{LOCK_FILE_NAME} has `{locked.key}` {locked.version}, but fpm.toml asks "
                f"for `{requirement}` (in {where}): run `fpmreg lock --update {dep.name}`"
            )
    return messages


def _unneeded_messages(lock: Lock, registry_names: set[str]) -> list[str]:
    """Lock entries that nothing the root's registry dependencies reach needs."""
    by_key = {p.key: p for p in lock.packages}
    reached: set[str] = set()
    stack = [p.key for name in registry_names if (p := lock.get(name)) is not None]
    while stack:
        key = stack.pop()
        if key in reached or key not in by_key:
            continue
        reached.add(key)
        stack.extend(by_key[key].dependencies)
    return [
        f"{LOCK_FILE_NAME} has `{p.key}` {p.version}, which nothing in fpm.toml "
        "needs any more: run `fpmreg lock`"
        for p in lock.packages
        if p.key not in reached
    ]


def check_lock(root: Manifest, lock: Lock) -> list[str]:
    """Every way `lock` disagrees with `root`'s fpm.toml, each saying what to run.

    Checks the root's own requirements only (the registry is not consulted): a registry
    dependency missing from the lock, locked under another namespace, or locked at a
    version its `v`/range no longer allows; lock entries nothing needs any more; and a
    changed manifest hash. Empty when the lock is up to date."""
    messages: list[str] = []
    if lock.root is not None and lock.root.name != root.name:
        messages.append(
            f"{LOCK_FILE_NAME} was written for `{lock.root.name}`, but fpm.toml is "
            f"`{root.name}`: run `fpmreg lock`"
        )
    messages += _requirement_messages(root, lock)
    registry_names = {d.name for d in root.dependencies if d.kind is DependencyKind.REGISTRY}
    for name in sorted(set(root.requirements) - registry_names):
        messages.append(
            f"[extra.fpmreg.dependencies] has a range for `{name}`, which is not a registry "
            "dependency in fpm.toml: remove it or add the dependency"
        )
    # Whatever the root's dependencies reach through the lock is needed; the rest is not.
    messages += _unneeded_messages(lock, registry_names)
    drifted = lock.root is not None and lock.root.manifest_hash not in ("", manifest_hash(root))
    if not messages and drifted:
        messages.append(
            f"the dependency tables of fpm.toml changed since {LOCK_FILE_NAME} was "
            "written: run `fpmreg lock`"
        )
    return messages
