"""`fpmreg sync`: install exactly what `fpm.lock` names, verified, where fpm can use it.

fpm verifies nothing it downloads and its remote-registry mode is unreliable
(fpm-protocol.md §0), but its local-registry mode (`[registry] path`, §1.8) works: it
takes `{path}/{ns}/{name}/{version}/` in place. So sync downloads every locked tarball
(in parallel, through a blob cache keyed by sha256), checks each sha256 against the
lock, and only when every one is right unpacks them with the safe extractor into
`build/fpmreg/registry/{ns}/{name}/{X.Y.Z}/`: one version folder per package, so fpm
(which takes the highest version folder when `v` is not given, and the folder whose name
equals `v` when it is) builds exactly the locked versions. It then writes
`build/fpmreg/config.toml` for `fpm --config-file`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tomllib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from fpmreg.client.errors import ClientError, UsageError
from fpmreg.client.index import cache_root, new_client, write_atomically
from fpmreg.client.registry import refusal
from fpmreg.client.report import print_note
from fpmreg.core.archive import DEFAULT_LIMITS, read_archive
from fpmreg.core.lockfile import LOCK_FILE_NAME, Lock, LockedPackage
from fpmreg.core.problem import Severity
from fpmreg.core.unpack import UnpackError, extract_package, remove_leftovers
from fpmreg.core.versions import InvalidVersion, normalize_version

DEFAULT_DEST = Path("build") / "fpmreg" / "registry"
DEFAULT_CONFIG = Path("build") / "fpmreg" / "config.toml"
# fpm's de-facto lock (fpm-protocol.md §1.9): while it exists fpm does not resolve again,
# so it would keep using the previous version folders.
FPM_CACHE = Path("build") / "cache.toml"
# What fpmreg installed in a folder, so a later run knows what is its to replace.
SYNC_STATE = ".fpmreg-sync.json"
MIRROR_STATE = ".fpmreg-mirror.json"
STATE_FORMAT = 1
DEFAULT_JOBS = 8
# More parallel downloads than this only queue up at the registry.
MAX_JOBS = 64
BLOB_FOLDER = "blobs"


class ChecksumMismatch(ClientError):
    """A tarball's sha256 is not the one recorded: it is not the published package."""


@dataclass(frozen=True)
class Wanted:
    """One tarball to obtain: a package version, its sha256 and where it is published."""

    namespace: str
    name: str
    version: str
    sha256: str
    registry: str

    @classmethod
    def of(cls, package: LockedPackage) -> Wanted:
        """What a lock entry names."""
        return cls(
            package.namespace, package.name, package.version, package.sha256, package.registry
        )

    @property
    def key(self) -> str:
        """`namespace/name`."""
        return f"{self.namespace}/{self.name}"

    @property
    def label(self) -> str:
        """`` `namespace/name` X.Y.Z ``, as messages name it."""
        return f"`{self.key}` {self.version}"

    def folder(self, root: Path) -> Path:
        """`{root}/{ns}/{name}/{version}`: fpm's local-registry layout (§1.8)."""
        return root / self.namespace / self.name / self.version


class BlobCache:
    """Tarballs by sha256 (`{root}/sha256/ab/cd/abcd…`); every read is verified."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def path(self, sha256: str) -> Path | None:
        """Where the tarball with this sha256 is kept."""
        if self.root is None:
            return None
        return self.root / "sha256" / sha256[:2] / sha256[2:4] / sha256

    def get(self, sha256: str) -> bytes | None:
        """The cached tarball, or None; an entry whose bytes do not match is removed."""
        path = self.path(sha256)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != sha256:
            path.unlink(missing_ok=True)  # damaged or tampered with: fetch it again
            return None
        return data

    def put(self, sha256: str, data: bytes) -> None:
        """Keep a verified tarball; a cache that cannot be written is only slower."""
        path = self.path(sha256)
        if path is not None:
            with contextlib.suppress(OSError):
                write_atomically(path, data)


def default_cache() -> BlobCache:
    """The blob cache under `~/.cache/fpmreg/blobs` (`$XDG_CACHE_HOME` honoured)."""
    return BlobCache(cache_root() / BLOB_FOLDER)


def download_path(wanted: Wanted) -> str:
    """The registry's download endpoint for a version (the bytes fpm would get)."""
    return f"/api/v1/packages/{wanted.namespace}/{wanted.name}/versions/{wanted.version}/download"


def _download(client: httpx.Client, base: str, wanted: Wanted) -> bytes:
    limit = DEFAULT_LIMITS.max_compressed_bytes
    try:
        with client.stream("GET", download_path(wanted)) as response:
            if response.status_code != 200:
                response.read()
                reason = refusal(response)
                raise ClientError(f"cannot download {wanted.label} from `{base}`: {reason}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ClientError(
                        f"{wanted.label} from `{base}` is larger than {limit} bytes: it is not "
                        "a tarball the registry accepts"
                    )
                chunks.append(chunk)
    except httpx.TransportError as exc:
        raise ClientError(f"cannot download {wanted.label} from `{base}`: {exc}") from exc
    return b"".join(chunks)


def verified(wanted: Wanted, data: bytes, source: str) -> bytes:
    """`data` when its sha256 is the one expected, else `ChecksumMismatch`."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != wanted.sha256:
        raise ChecksumMismatch(
            f"checksum mismatch for {wanted.label}: {source} sent a tarball with sha256 "
            f"{digest}, but {LOCK_FILE_NAME} records sha256 {wanted.sha256}; it is not the "
            "published package, so nothing was installed or replaced (tell the registry's "
            "operators)"
        )
    problems = read_archive(io.BytesIO(data)).problems
    if problems:
        raise ClientError(
            f"{wanted.label} cannot be unpacked safely: " + "; ".join(p.message for p in problems)
        )
    return data


@dataclass
class Fetched:
    """The verified tarballs of one run, and how many came from the cache."""

    data: dict[Wanted, bytes] = field(default_factory=dict)
    from_cache: int = 0


def fetch_all(
    wanted: Sequence[Wanted],
    *,
    cache: BlobCache,
    jobs: int,
    console: Console,
    registry: str | None = None,
    client_factory: Callable[[str], httpx.Client] = new_client,
) -> Fetched:
    """Every tarball in `wanted`, verified; from the cache when it has them, else
    downloaded in parallel from `registry` (default: each package's own registry).

    Raises `ClientError` after all downloads end, naming every package that failed;
    nothing is returned then, so the caller installs nothing."""
    result = Fetched()
    missing = []
    for item in wanted:
        data = cache.get(item.sha256)
        if data is None:
            missing.append(item)
        else:
            result.data[item] = verified(item, data, "the cache")
            result.from_cache += 1
    if not missing:
        return result
    bases = sorted({registry or item.registry for item in missing})
    clients = {base: client_factory(base) for base in bases}
    errors: list[ClientError] = []
    columns = (
        TextColumn("downloading"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
    )
    try:
        with Progress(
            *columns, console=console, transient=True, disable=not console.is_terminal
        ) as progress:
            task = progress.add_task("", total=len(missing))

            def one(item: Wanted) -> tuple[Wanted, bytes]:
                base = registry or item.registry
                data = verified(item, _download(clients[base], base, item), f"`{base}`")
                progress.update(task, advance=1, description=item.key)
                return item, data

            with ThreadPoolExecutor(max_workers=max(1, min(jobs, MAX_JOBS))) as pool:
                futures = [pool.submit(one, item) for item in missing]
                for future in futures:
                    try:
                        item, data = future.result()
                    except ClientError as exc:
                        errors.append(exc)
                        continue
                    result.data[item] = data
    finally:
        for client in clients.values():
            client.close()
    if errors:
        for error in errors:
            print_note(console, Severity.ERROR, str(error))
        first = errors[0]
        kind = ChecksumMismatch if isinstance(first, ChecksumMismatch) else ClientError
        raise kind(
            f"{len(errors)} of {len(wanted)} packages could not be fetched and verified; "
            "nothing was installed or replaced"
        )
    for item in missing:
        cache.put(item.sha256, result.data[item])
    return result


# --- the state file of a registry folder ---------------------------------------------


def read_state(path: Path) -> dict[str, Any]:
    """A folder's state file, empty when absent or unreadable (then all is redone)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) and state.get("format") == STATE_FORMAT else {}


def write_state(path: Path, entries: dict[str, Any], key: str) -> None:
    """Write a state file, `{"format": 1, key: entries}` sorted, unless it holds that."""
    document = {"format": STATE_FORMAT, key: dict(sorted(entries.items()))}
    write_if_changed(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def install(wanted: Wanted, data: bytes, root: Path) -> None:
    """Unpack a verified tarball into its version folder (atomically replaced)."""
    try:
        extract_package(data, wanted.folder(root))
    except UnpackError as exc:
        raise ClientError(f"{wanted.label} cannot be unpacked: {exc}") from exc


def toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def fpm_config_text(registry_path: str, writer: str) -> str:
    """An fpm global config whose only setting is the local registry `path` (§2.1)."""
    return (
        f"# Written by `{writer}`: pass it to fpm with `--config-file`.\n"
        f"[registry]\npath = {toml_string(registry_path)}\n"
    )


def write_if_changed(path: Path, text: str) -> bool:
    """Write `text` to `path` unless it already holds exactly that; True when written."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeError):
        pass
    write_atomically(path, text.encode("utf-8"))
    return True


def shown_path(path: Path) -> str:
    """`path` relative to the current folder when it is below it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


# --- fpm's `v` spelling ----------------------------------------------------------------


def spelling_notes(who: str, manifest_text: str, scopes: Iterable[str]) -> list[str]:
    """Warnings for `v` values fpm will not find: it matches `v` against the version
    folder's name by exact string, and the folders are named `X.Y.Z` (§1.8)."""
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


def _remove_tree(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


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
    state_path = dest / SYNC_STATE
    state: dict[str, Any] = dict(read_state(state_path).get("packages", {}))
    result = SyncResult(dest, Path(os.path.abspath(config_file)))
    if root_manifest is not None:
        result.notes += spelling_notes(
            "fpm.toml", root_manifest, ("dependencies", "dev-dependencies")
        )
    wanted = [Wanted.of(p) for p in lock.packages]
    needed = []
    for item in wanted:
        recorded = state.get(item.key)
        present = (item.folder(dest) / "fpm.toml").is_file()
        current = recorded == {"version": item.version, "sha256": item.sha256}
        if force or not present or not current:
            needed.append(item)
    fetched = fetch_all(needed, cache=cache, jobs=jobs, console=console, registry=registry)
    result.from_cache = fetched.from_cache
    # Every tarball is verified: only now does anything on disk change.
    dest.mkdir(parents=True, exist_ok=True)
    for item in needed:
        data = fetched.data[item]
        manifest = read_archive(io.BytesIO(data)).manifest_text or ""
        result.notes += spelling_notes(item.label, manifest, ("dependencies",))
        install(item, data, dest)
        state[item.key] = {"version": item.version, "sha256": item.sha256}
        write_state(state_path, state, "packages")
        result.installed.append(item)
    result.kept = len(wanted) - len(needed)
    locked_keys = {item.key for item in wanted}
    for item in wanted:
        package_folder = dest / item.namespace / item.name
        remove_leftovers(package_folder)
        for child in sorted(package_folder.iterdir()):
            if child.name != item.version and child.is_dir():
                _remove_tree(child)
                result.removed.append(f"`{item.key}` {child.name}")
    for key in sorted(set(state) - locked_keys):
        namespace, _, name = key.partition("/")
        folder = dest / namespace / name
        if folder.exists():
            _remove_tree(folder)
            result.removed.append(f"`{key}` {state[key].get('version', '')}".rstrip())
        with contextlib.suppress(OSError):
            (dest / namespace).rmdir()  # only when empty
        del state[key]
    write_state(state_path, state, "packages")
    result.config_written = write_if_changed(
        result.config_file, fpm_config_text(str(dest), "fpmreg sync")
    )
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


# --- running fpm -----------------------------------------------------------------------

FPM_ENV = "FPMREG_FPM"
# The fpm commands that take `--config-file` (fpm 0.12 `fpm_command_line.f90`).
CONFIG_FILE_COMMANDS = frozenset({"build", "run", "test", "install", "update", "clean", "publish"})


def find_fpm() -> str:
    """`$FPMREG_FPM`, else `fpm` on PATH."""
    chosen = os.environ.get(FPM_ENV) or shutil.which("fpm")
    if not chosen:
        raise UsageError(
            f"fpm is not on PATH: install it (`pip install fpm`) or set `{FPM_ENV}` to its path"
        )
    return chosen


def fpm_argv(fpm: str, args: Sequence[str], config_file: Path) -> list[str]:
    """`fpm COMMAND --config-file FILE ARGS...`: the option right after the command."""
    if not args:
        raise UsageError("give an fpm command after `--`, e.g. `fpmreg fpm -- build`")
    command, rest = args[0], list(args[1:])
    if command not in CONFIG_FILE_COMMANDS or "--config-file" in rest:
        return [fpm, command, *rest]
    return [fpm, command, "--config-file", str(config_file), *rest]
