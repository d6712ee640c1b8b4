"""Verified tarballs for sync and mirror: from the blob cache (keyed by sha256) when it has
them, else downloaded in parallel; each checked against the sha256 it must have."""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from fpmreg.client.download import Wanted, download
from fpmreg.client.errors import ClientError, RegistryUnreachable
from fpmreg.client.index import cache_root, new_client, write_atomically
from fpmreg.client.report import print_note
from fpmreg.core.archive import read_archive
from fpmreg.core.lockfile import LOCK_FILE_NAME
from fpmreg.core.problem import Severity

DEFAULT_JOBS = 8
# More parallel downloads than this only queue up at the registry.
MAX_JOBS = 64
BLOB_FOLDER = "blobs"


class ChecksumMismatch(ClientError):
    """A tarball's sha256 is not the one recorded: it is not the published package."""


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


def _progress(console: Console) -> Progress:
    columns = (
        TextColumn("downloading"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
    )
    return Progress(*columns, console=console, transient=True, disable=not console.is_terminal)


def _download_all(
    missing: Sequence[Wanted],
    result: Fetched,
    *,
    cache: BlobCache,
    jobs: int,
    console: Console,
    registry: str | None,
    client_factory: Callable[[str], httpx.Client],
) -> list[ClientError]:
    """Download and verify `missing` into `result`; each one that verifies goes into the
    cache at once, so a run that fails elsewhere still keeps it. Returns the failures."""
    clients = {base: client_factory(base) for base in {registry or i.registry for i in missing}}
    errors: list[ClientError] = []
    # A registry found unreachable is not tried again for the packages still queued.
    dead: dict[str, RegistryUnreachable] = {}
    try:
        with _progress(console) as progress:
            task = progress.add_task("", total=len(missing))

            def one(item: Wanted) -> tuple[Wanted, bytes]:
                base = registry or item.registry
                if base in dead:
                    raise dead[base]
                try:
                    raw = download(clients[base], base, item)
                except RegistryUnreachable as exc:
                    dead.setdefault(base, exc)
                    raise
                data = verified(item, raw, f"`{base}`")
                cache.put(item.sha256, data)
                progress.update(task, advance=1, description=item.key)
                return item, data

            with ThreadPoolExecutor(max_workers=max(1, min(jobs, MAX_JOBS))) as pool:
                for future in [pool.submit(one, item) for item in missing]:
                    try:
                        item, data = future.result()
                    except ClientError as exc:
                        errors.append(exc)
                        continue
                    result.data[item] = data
    finally:
        for client in clients.values():
            client.close()
    return errors


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
    nothing is returned then, so the caller installs nothing (the tarballs that did
    verify are in the cache: the next run downloads only the others)."""
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
    errors = _download_all(
        missing,
        result,
        cache=cache,
        jobs=jobs,
        console=console,
        registry=registry,
        client_factory=client_factory,
    )
    if errors:
        # One cause, one line: an unreachable registry is said once, not per package.
        for message in dict.fromkeys(str(error) for error in errors):
            print_note(console, Severity.ERROR, message)
        kind = ChecksumMismatch if isinstance(errors[0], ChecksumMismatch) else ClientError
        kept = len(missing) - len(errors)
        again = (
            f"; the {kept} that verified are kept in the cache: run the command again to "
            "fetch only the others"
            if kept
            else ": run the command again once the cause is fixed"
        )
        raise kind(
            f"{len(errors)} of {len(wanted)} packages could not be fetched and verified; "
            f"nothing was installed or replaced{again}"
        )
    return result
