"""`fpmreg lock`: resolve `fpm.toml` against the registry and write `fpm.lock`.

The resolver (`fpmreg.core.resolve`) asks for each package's index as it reaches it;
`HttpIndex` fetches each once. The lock is written only when its text changes, and
never when the resolution has an error-level problem. `--check` writes nothing and
fails when the lock disagrees with `fpm.toml` or a fresh resolution would differ.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from fpmreg.client import config
from fpmreg.client.errors import ClientError, UsageError
from fpmreg.client.index import write_atomically
from fpmreg.client.lockread import read_lock as read_lock
from fpmreg.client.lockread import read_lock_file as read_lock_file
from fpmreg.client.report import count, print_note, print_problems
from fpmreg.core.dependencies import DependencyKind
from fpmreg.core.lockfile import (
    LOCK_FILE_NAME,
    Lock,
    LockedPackage,
    check_lock,
    dumps,
)
from fpmreg.core.manifest import Manifest, parse_manifest
from fpmreg.core.problem import Severity
from fpmreg.core.resolve import Index, Resolution, ResolutionError, resolve
from fpmreg.core.versions import InvalidVersion, Version
from fpmreg.core.wire.cli import HeldBack, LockEntry, LockReport

MANIFEST_FILE_NAME = "fpm.toml"
# Manifest problems that make the dependency tables unreadable: locking would guess.
# Others (a missing license, a module-naming rule...) matter for publishing, not here.
_BLOCKING_MANIFEST_CODES = frozenset(
    {"manifest-empty", "manifest-syntax", "manifest-invalid", "name-missing", "dependency-invalid"}
)


@dataclass(frozen=True)
class Project:
    """A project folder: its `fpm.toml` and, when there is one, its `fpm.lock`."""

    directory: Path
    manifest: Manifest
    lock_text: str | None
    lock: Lock | None

    @property
    def lock_path(self) -> Path:
        """`fpm.lock` beside `fpm.toml`."""
        return self.directory / LOCK_FILE_NAME


def read_manifest(directory: Path, console: Console) -> Manifest:
    """`directory/fpm.toml`; its blocking problems are printed to `console`, then raised."""
    path = directory / MANIFEST_FILE_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"no {MANIFEST_FILE_NAME} in `{directory}`: run fpmreg in the project folder, or "
            "pass `-C PROJECT`"
        ) from None
    except (OSError, UnicodeError) as exc:
        raise UsageError(f"cannot read `{path}`: {exc}") from exc
    parsed = parse_manifest(text)
    blocking = [p for p in parsed.problems if p.is_error and p.code in _BLOCKING_MANIFEST_CODES]
    if parsed.manifest is None or blocking:
        print_problems(console, blocking or parsed.problems)
        raise ClientError(f"cannot read the dependencies of `{path}`: fix the errors above")
    return parsed.manifest


def load_project(directory: Path, console: Console) -> Project:
    """The project in `directory` (its fpm.toml must be readable, fpm.lock is optional)."""
    manifest = read_manifest(directory, console)
    text, lock = read_lock(directory)
    return Project(directory, manifest, text, lock)


def choose_registry(option: str | None, lock: Lock | None) -> str:
    """`--registry`, else `FPMREG_REGISTRY`, else the one registry the lock names, else
    the config file's, else the default. A lock keeps resolving where it came from."""
    settings = config.load_config(config.config_path())
    if option or os.environ.get(config.REGISTRY_ENV):
        return config.resolve_registry(option, settings)
    registries = {p.registry for p in lock.packages} if lock else set()
    if len(registries) == 1:
        return config.normalize_registry(registries.pop())
    return config.resolve_registry(None, settings)


class ChangeKind(StrEnum):
    """What happened to one package between the old lock and the new one."""

    ADDED = "added"
    REMOVED = "removed"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Change:
    """One package of the old or new lock, and how it moved."""

    key: str
    old: LockedPackage | None
    new: LockedPackage | None

    @property
    def kind(self) -> ChangeKind:
        """Added, removed, updated (version, checksum or source) or unchanged."""
        if self.old is None:
            return ChangeKind.ADDED
        if self.new is None:
            return ChangeKind.REMOVED
        same = self.old.same_release(self.new)  # a log index found later is no move
        return ChangeKind.UNCHANGED if same else ChangeKind.UPDATED


def changes(old: Lock | None, new: Lock) -> list[Change]:
    """Every package of either lock, by name then namespace."""
    before = {p.key: p for p in old.packages} if old else {}
    after = {p.key: p for p in new.packages}
    ordered = sorted(set(before) | set(after), key=lambda k: (k.split("/")[1], k))
    return [Change(k, before.get(k), after.get(k)) for k in ordered]


@dataclass(frozen=True)
class LockOutcome:
    """What `fpmreg lock` resolved and whether it wrote `fpm.lock`."""

    resolution: Resolution
    lock: Lock
    text: str
    changes: list[Change]
    written: bool


# Package URLs to the index of their release record in the registry's log.
LogIndexes = Callable[[list[str]], Mapping[str, int]]


def with_log_indexes(lock: Lock, old: Lock | None, find: LogIndexes | None = None) -> Lock:
    """`lock` with each package's `log-index` (docs/locking.md): the one the old lock
    records for the same release, else the one `find` gives, else none."""
    before = {p.key: p for p in old.packages} if old else {}
    kept = []
    for package in lock.packages:
        prior = before.get(package.key)
        if prior is not None and prior.log_index is not None and prior.same_release(package):
            package = replace(package, log_index=prior.log_index)
        kept.append(package)
    missing = [p.package_url for p in kept if p.log_index is None]
    found = find(missing) if find is not None and missing else {}
    return Lock(
        tuple(replace(p, log_index=found.get(p.package_url, p.log_index)) for p in kept),
        lock.root,
    )


def _resolve(project: Project, index: Index, *, keep: bool, update: set[str] | None) -> Resolution:
    try:
        return resolve(project.manifest, index, project.lock if keep else None, update)
    except ResolutionError as exc:
        raise ClientError(f"cannot lock `{project.manifest.name}`: {exc}") from exc


def lock_project(
    project: Project,
    index: Index,
    registry: str,
    *,
    update_all: bool = False,
    update: Iterable[str] = (),
    console: Console,
    log_indexes: LogIndexes | None = None,
) -> LockOutcome:
    """Resolve and write `fpm.lock` (only when its text changes).

    `update_all`: ignore the current lock (every package moves to the newest version that
    fits). `update`: names that move; every other locked version is kept when it fits.
    `log_indexes` finds the log index of releases the old lock has none for.
    Problems are printed to `console`; an error-level one means nothing is written."""
    names = set(update)
    resolution = _resolve(project, index, keep=not update_all, update=names or None)
    print_problems(console, resolution.problems)
    errors = [p for p in resolution.problems if p.is_error]
    if errors:
        raise ClientError(
            f"{LOCK_FILE_NAME} not written: the resolution has {count(list(resolution.problems))}"
        )
    resolved = resolution.to_lock(registry, project.manifest)
    lock = with_log_indexes(resolved, project.lock, log_indexes)
    text = dumps(lock)
    written = text != project.lock_text
    if written:
        write_atomically(project.lock_path, text.encode("utf-8"))
    return LockOutcome(resolution, lock, text, changes(project.lock, lock), written)


def check_project(project: Project, index: Index, registry: str, console: Console) -> list[str]:
    """Every way `fpm.lock` is out of date; empty when `fpmreg lock` would change nothing."""
    if project.lock is None:
        return [f"there is no {LOCK_FILE_NAME} in `{project.directory}`: run `fpmreg lock`"]
    messages = check_lock(project.manifest, project.lock)
    try:
        resolution = resolve(project.manifest, index, project.lock)
    except ResolutionError as exc:
        return [*messages, f"fpm.toml can no longer be resolved: {exc}"]
    print_problems(console, [p for p in resolution.problems if not p.is_error])
    messages += [p.message for p in resolution.problems if p.is_error]
    # The log indexes of the lock are kept (a lock without them is not out of date).
    fresh = with_log_indexes(resolution.to_lock(registry, project.manifest), project.lock)
    if dumps(fresh) == project.lock_text:
        return messages
    found = []
    for change in changes(project.lock, fresh):
        old, new = change.old, change.new
        if change.kind is ChangeKind.ADDED and new is not None:
            found.append(f"`{change.key}` {new.version} would be added: run `fpmreg lock`")
        elif change.kind is ChangeKind.REMOVED and old is not None:
            found.append(f"`{change.key}` {old.version} would be removed: run `fpmreg lock`")
        elif change.kind is ChangeKind.UPDATED and old is not None and new is not None:
            if old.version != new.version:
                found.append(
                    f"`{change.key}` would move from {old.version} to {new.version}: run "
                    "`fpmreg lock`"
                )
            elif old.registry != new.registry:
                found.append(
                    f"`{change.key}` {old.version} is locked from `{old.registry}`, but was "
                    f"resolved from `{new.registry}`: pass `--registry {old.registry}`, or "
                    "run `fpmreg lock` to switch"
                )
            elif old.sha256 != new.sha256:
                found.append(
                    f"`{change.key}` {old.version} has sha256 {new.sha256} in the registry, "
                    f"but {LOCK_FILE_NAME} records {old.sha256}"
                )
            else:
                found.append(
                    f"the dependencies of `{change.key}` {old.version} changed: run `fpmreg lock`"
                )
    new_messages = [m for m in found if m not in messages]
    if not messages and not new_messages:
        new_messages.append(
            f"a fresh resolution writes a different {LOCK_FILE_NAME}: run `fpmreg lock`"
        )
    return messages + new_messages


def check_and_report(
    project: Project, index: Index, registry: str, out: Console, err: Console
) -> None:
    """`fpmreg lock --check`: print every disagreement and raise, or say all is well."""
    messages = check_project(project, index, registry, err)
    for message in messages:
        print_note(err, Severity.ERROR, message)
    if messages:
        raise ClientError(f"{LOCK_FILE_NAME} is out of date ({len(messages)} found)")
    locked = len(project.lock.packages) if project.lock else 0
    out.print(f"{LOCK_FILE_NAME} is up to date: {locked} packages")


def manifest_drift(directory: Path, lock: Lock) -> tuple[str | None, list[str]]:
    """fpm.toml's text (None when it cannot be read) and how `lock` disagrees with it."""
    try:
        text = (directory / MANIFEST_FILE_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeError):
        return None, []
    manifest = parse_manifest(text).manifest
    return text, check_lock(manifest, lock) if manifest is not None else []


def print_changes(console: Console, outcome: LockOutcome, yanked: set[str]) -> None:
    """A short table: every locked package, its version and what changed."""
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    table.add_column("package")
    table.add_column("version")
    table.add_column("change")
    for change in outcome.changes:
        old, new = change.old, change.new
        if change.kind is ChangeKind.REMOVED and old is not None:
            table.add_row(change.key, old.version, "removed")
            continue
        assert new is not None
        note = ""
        if change.kind is ChangeKind.ADDED:
            note = "added"
        elif change.kind is ChangeKind.UPDATED and old is not None:
            note = f"from {old.version}" if old.version != new.version else "source changed"
        if change.key in yanked:
            note = f"{note}, yanked".lstrip(", ")
        table.add_row(change.key, new.version, note)
    if outcome.changes:
        console.print(table)
    moved = sum(c.kind is not ChangeKind.UNCHANGED for c in outcome.changes)
    indexed = any(c.old and c.new and c.old.log_index != c.new.log_index for c in outcome.changes)
    where = outcome.resolution.root
    if outcome.written and not moved and indexed:
        console.print(
            f"wrote {LOCK_FILE_NAME} for `{where}`: {len(outcome.lock.packages)} packages, same "
            "versions (their transparency-log indexes recorded)"
        )
    elif outcome.written and (moved or outcome.changes == []):
        console.print(
            f"wrote {LOCK_FILE_NAME} for `{where}`: {len(outcome.lock.packages)} packages, "
            f"{moved} changed"
        )
    elif outcome.written:
        console.print(
            f"wrote {LOCK_FILE_NAME} for `{where}`: {len(outcome.lock.packages)} packages, same "
            "versions (fpm.toml's dependency tables changed)"
        )
    else:
        console.print(
            f"{LOCK_FILE_NAME} is up to date: {len(outcome.lock.packages)} packages for `{where}`"
        )


def held_back(manifest: Manifest, index: Index, names: Iterable[str] = ()) -> list[HeldBack]:
    """The dependencies pinned by `v = "..."` in `manifest` that have a newer, not
    yanked version: `--update` cannot move them (docs/locking.md, "Pinned by `v`").
    `names`: only these (name or `namespace/name`); empty means all."""
    only = set(names)
    found: dict[str, HeldBack] = {}
    for dependency in manifest.dependencies:
        key = f"{dependency.namespace}/{dependency.name}"
        if dependency.kind is not DependencyKind.REGISTRY or not dependency.version:
            continue
        if only and dependency.name not in only and key not in only:
            continue
        try:
            pinned = Version.parse(dependency.version)
            newer = [
                Version.parse(v.version)
                for v in index.versions(dependency.namespace, dependency.name)
                if not v.yanked
            ]
        except (InvalidVersion, ClientError):
            continue  # the resolution already said what is wrong with it
        newest = max(newer, default=pinned)
        if newest > pinned:
            found[key] = HeldBack(package=key, pinned=str(pinned), newest=str(newest))
    return list(found.values())


def print_held_back(console: Console, held: Iterable[HeldBack]) -> None:
    """One warning per pin that keeps a package from moving."""
    for item in held:
        print_note(
            console,
            Severity.WARNING,
            f'`{item.package}` {item.newest} is available, but fpm.toml pins `v = "{item.pinned}"`,'
            f" which holds it back: change `v` (or drop it) to move",
        )


def lock_report(
    outcome: LockOutcome, registry: str, yanked: set[str], held: list[HeldBack]
) -> LockReport:
    """What `fpmreg lock --format json` prints (docs/cli.md, "The documents")."""
    entries = []
    for change in outcome.changes:
        current = change.new or change.old
        assert current is not None
        entries.append(
            LockEntry(
                package=change.key,
                version=current.version,
                previous=change.old.version if change.old and change.new else "",
                change=str(change.kind),
                yanked=change.key in yanked,
            )
        )
    return LockReport(
        registry=registry,
        root=outcome.resolution.root,
        written=outcome.written,
        packages=entries,
        held_back=held,
    )
