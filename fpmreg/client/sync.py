"""`fpmreg sync`: install exactly what `fpm.lock` names, verified, where fpm can use it.

fpm verifies nothing it downloads and its remote-registry mode is unreliable
(docs/fpm-protocol.md §0), but its local-registry mode (`[registry] path`, §1.8) works: it
takes `{path}/{ns}/{name}/{version}/` in place. So sync downloads every locked tarball
(in parallel, through a blob cache keyed by sha256, `fetch.py`), checks each sha256
against the lock, and only when every one is right unpacks them with the safe extractor
into `build/fpmreg/registry/{ns}/{name}/{X.Y.Z}/`: one version folder per package, so fpm
(which takes the highest version folder when `v` is not given, and the folder whose name
equals `v` when it is) builds exactly the locked versions. It then writes
`build/fpmreg/config.toml` for `fpm --config-file`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from fpmreg.client.download import Wanted
from fpmreg.client.errors import UsageError
from fpmreg.client.fetch import DEFAULT_JOBS, BlobCache, Fetched, fetch_all
from fpmreg.client.folder import (
    MIRROR_STATE,
    SYNC_STATE,
    fpm_config_text,
    install,
    read_state,
    remove_tree,
    shown_path,
    write_if_changed,
    write_state,
)
from fpmreg.client.report import print_note
from fpmreg.core.archive import read_archive
from fpmreg.core.lockfile import LOCK_FILE_NAME, Lock
from fpmreg.core.problem import Severity
from fpmreg.core.unpack import remove_leftovers
from fpmreg.core.versions import InvalidVersion, normalize_version
from fpmreg.core.wire.cli import SyncedPackage, SyncReport

DEFAULT_DEST = Path("build") / "fpmreg" / "registry"
DEFAULT_CONFIG = Path("build") / "fpmreg" / "config.toml"
# fpm's de-facto lock (docs/fpm-protocol.md §1.9): while it exists fpm does not resolve again,
# so it would keep using the previous version folders.
FPM_CACHE = Path("build") / "cache.toml"


# --- fpm's `v` spelling ----------------------------------------------------------------


def spelling_notes(who: str, manifest_text: str, scopes: Iterable[str]) -> list[str]:
    """Warnings for `v` values fpm will not find: it matches `v` against the version
    folder's name by exact string, and the folders are named `X.Y.Z` (docs/fpm-protocol.md
    §1.8)."""
    try:
        raw = tomllib.loads(manifest_text)
    except tomllib.TOMLDecodeError:
        return []
    notes = []
    for scope in scopes:
        table = raw.get(scope)
        for name, entry in table.items() if isinstance(table, dict) else []:
            if not isinstance(entry, dict) or "v" not in entry or "namespace" not in entry:
                continue
            text = str(entry["v"])
            try:
                normal = normalize_version(text)
            except InvalidVersion:
                continue
            if text != normal:
                notes.append(
                    f'{who} asks for `{entry["namespace"]}/{name}` with `v = "{text}"`, but '
                    f"fpm matches `v` by exact folder name and the folder is `{normal}`: "
                    f'write `v = "{normal}"`, or drop `v` ({LOCK_FILE_NAME} pins it)'
                )
    return notes


# --- sync ------------------------------------------------------------------------------


@dataclass
class SyncResult:
    """What one `fpmreg sync` did."""

    registry_folder: Path
    config_file: Path
    installed: list[Wanted] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: int = 0
    from_cache: int = 0
    config_written: bool = False
    fpm_cache_removed: bool = False
    archives_removed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the set of installed package versions changed."""
        return bool(self.installed or self.removed)


def _needed(
    wanted: list[Wanted], state: dict[str, Any], dest: Path, *, force: bool
) -> list[Wanted]:
    """The locked versions whose folder is missing or is not what the state recorded."""
    needed = []
    for item in wanted:
        present = (item.folder(dest) / "fpm.toml").is_file()
        current = state.get(item.key) == {"version": item.version, "sha256": item.sha256}
        if force or not present or not current:
            needed.append(item)
    return needed


def _install_all(
    needed: list[Wanted], fetched: Fetched, state: dict[str, Any], result: SyncResult
) -> None:
    dest = result.registry_folder
    dest.mkdir(parents=True, exist_ok=True)
    for item in needed:
        data = fetched.data[item]
        manifest = read_archive(io.BytesIO(data)).manifest_text or ""
        result.notes += spelling_notes(item.label, manifest, ("dependencies",))
        install(item, data, dest)
        state[item.key] = {"version": item.version, "sha256": item.sha256}
        write_state(dest / SYNC_STATE, state, "packages")
        result.installed.append(item)


def _remove_unlocked(wanted: list[Wanted], state: dict[str, Any], result: SyncResult) -> None:
    """Other versions of a locked package, and packages the lock no longer names."""
    dest = result.registry_folder
    for item in wanted:
        package_folder = dest / item.namespace / item.name
        remove_leftovers(package_folder)
        for child in sorted(package_folder.iterdir()):
            if child.name != item.version and child.is_dir():
                remove_tree(child)
                result.removed.append(f"`{item.key}` {child.name}")
    for key in sorted(set(state) - {item.key for item in wanted}):
        namespace, _, name = key.partition("/")
        folder = dest / namespace / name
        if folder.exists():
            remove_tree(folder)
            result.removed.append(f"`{key}` {state[key].get('version', '')}".rstrip())
        with contextlib.suppress(OSError):
            (dest / namespace).rmdir()  # only when empty
        del state[key]


def sync(
    project: Path,
    lock: Lock,
    *,
    dest: Path,
    config_file: Path,
    cache: BlobCache,
    console: Console,
    jobs: int = DEFAULT_JOBS,
    registry: str | None = None,
    force: bool = False,
    root_manifest: str | None = None,
) -> SyncResult:
    """Make `dest` hold exactly the locked versions, verified, and point `config_file`
    at it. Nothing is installed or replaced unless every needed tarball verified."""
    dest = Path(os.path.abspath(dest))
    if (dest / MIRROR_STATE).exists():
        raise UsageError(
            f"`{dest}` is a mirror made by `fpmreg mirror`; sync would remove its other "
            "versions: give `--dest` a folder of its own"
        )
    config_text = fpm_config_text(str(dest), "fpmreg sync")
    state: dict[str, Any] = dict(read_state(dest / SYNC_STATE).get("packages", {}))
    result = SyncResult(dest, Path(os.path.abspath(config_file)))
    if root_manifest is not None:
        result.notes += spelling_notes(
            "fpm.toml", root_manifest, ("dependencies", "dev-dependencies")
        )
    wanted = [Wanted.of(p) for p in lock.packages]
    needed = _needed(wanted, state, dest, force=force)
    fetched = fetch_all(needed, cache=cache, jobs=jobs, console=console, registry=registry)
    result.from_cache = fetched.from_cache
    # Every tarball is verified: only now does anything on disk change.
    _install_all(needed, fetched, state, result)
    result.kept = len(wanted) - len(needed)
    _remove_unlocked(wanted, state, result)
    write_state(dest / SYNC_STATE, state, "packages")
    result.config_written = write_if_changed(result.config_file, config_text)
    if result.changed or result.config_written:
        fpm_cache = project / FPM_CACHE
        if fpm_cache.exists():
            fpm_cache.unlink()
            result.fpm_cache_removed = True
        result.archives_removed = remove_fpm_archives(project)
    return result


# fpm's output folders: `build/{compiler}_{16 hex digits}/{package}/lib{package}.a`.
_FPM_OUTPUT_FOLDER = re.compile(r".+_[0-9A-F]{16}")


def remove_fpm_archives(project: Path) -> int:
    """Remove the static libraries fpm built in `project/build`; returns how many.

    fpm names an object after its source's full path and adds it to the library with
    `ar -rs`, which replaces members of the same name but never removes any. When a
    dependency's folder changes (`pin/numkit/1.0.0` to `.../1.1.0`), the old version's
    objects stay in the library, before the new ones, and the linker takes the old code.
    Without the library fpm archives the current objects again (nothing is recompiled)."""
    removed = 0
    for library in sorted((project / "build").glob("*/*/lib*.a")):
        if _FPM_OUTPUT_FOLDER.fullmatch(library.parent.parent.name) and library.is_file():
            library.unlink()
            removed += 1
    return removed


def print_result(out: Console, err: Console, result: SyncResult, total: int) -> None:
    """What sync did, ending with the command that builds against it."""
    for note in result.notes:
        print_note(err, Severity.WARNING, note)
    for item in result.installed:
        out.print(f"installed {item.label}")
    for label in result.removed:
        out.print(f"removed   {label}")
    out.print(
        f"{total} package{'s' if total != 1 else ''} in {shown_path(result.registry_folder)} "
        f"({result.kept} already there, {len(result.installed)} installed, "
        f"{result.from_cache} from the cache)"
    )
    if result.fpm_cache_removed:
        out.print(f"removed {FPM_CACHE}, so that fpm resolves the synced versions again")
    if result.archives_removed:
        out.print(
            f"removed {result.archives_removed} library archive(s) fpm built, so that no "
            "object of a replaced version is linked again (fpm's `ar -rs` keeps them)"
        )
    out.print(f"build with: fpm build --config-file {shown_path(result.config_file)}")


def sync_report(result: SyncResult, registries: list[str], total: int) -> SyncReport:
    """What `fpmreg sync --format json` prints (docs/cli.md, "The documents")."""
    return SyncReport(
        registries=registries,
        registry_folder=str(result.registry_folder),
        config_file=str(result.config_file),
        packages=total,
        installed=[
            SyncedPackage(package=i.key, version=i.version, sha256=i.sha256)
            for i in result.installed
        ],
        removed=result.removed,
        kept=result.kept,
        from_cache=result.from_cache,
        build_command=f"fpm build --config-file {shown_path(result.config_file)}",
    )
