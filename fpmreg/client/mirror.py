"""`fpmreg mirror`: copy packages into a local fpm registry folder, for offline machines.

The folder has fpm's local-registry layout, `{dest}/{ns}/{name}/{X.Y.Z}/`
(docs/fpm-protocol.md §1.8), every tarball verified against the registry index's sha256
(or the lock's) before it is unpacked with the safe extractor.
`{dest}/.fpmreg-mirror.json` records the sha256 of each version folder, so a second run
fetches only what is new, and notices when the
registry now gives another sha256 for a version it already mirrored (published versions
never change: that is refused, the mirrored copy is kept). `{dest}/fpm-config.toml` names
the folder by a relative path, so it works wherever the folder is copied.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console

from fpmreg.client.download import Wanted
from fpmreg.client.errors import ClientError, UsageError
from fpmreg.client.fetch import BlobCache, fetch_all
from fpmreg.client.folder import (
    MIRROR_STATE,
    SYNC_STATE,
    fpm_config_text,
    install,
    read_state,
    shown_path,
    write_if_changed,
    write_state,
)
from fpmreg.client.index import HttpIndex, new_client
from fpmreg.client.registry import MIRROR_AGENT, get, parse_answer, refusal
from fpmreg.client.report import print_note
from fpmreg.core.lockfile import Lock
from fpmreg.core.problem import Severity
from fpmreg.core.unpack import remove_leftovers
from fpmreg.core.wire.cli import MirrorReport, SyncedPackage
from fpmreg.core.wire.packages import SearchResults

CONFIG_NAME = "fpm-config.toml"
# Mirrored in batches: a crash loses at most one batch of work, and memory holds at most
# this many tarballs (each at most 10 MB) at a time.
BATCH = 64
# A registry answering more pages than this is not paging properly.
MAX_PAGES = 10_000


@dataclass
class MirrorResult:
    """What one `fpmreg mirror` did."""

    dest: Path
    added: list[Wanted] = field(default_factory=list)
    present: int = 0
    refused: list[str] = field(default_factory=list)


def list_packages(client: httpx.Client, namespace: str = "") -> Iterator[tuple[str, str]]:
    """Every `(namespace, name)` the search API lists (`namespace` narrows it), following
    `next_cursor` to the last page."""
    seen: set[tuple[str, str]] = set()
    cursor = ""
    for _ in range(MAX_PAGES):
        params = {"namespace": namespace, **({"cursor": cursor} if cursor else {})}
        response = get(client, "/api/v1/packages", params=params)
        if response.status_code != 200:
            raise refusal(response)
        page = parse_answer(response, SearchResults)
        for package in page.packages:
            key = (package.namespace, package.name)
            if all(key) and key not in seen:
                seen.add(key)
                yield key
        cursor = page.next_cursor
        if not cursor:
            return
    raise ClientError(f"the registry listed more than {MAX_PAGES} pages of packages")


def mirror_client(registry: str) -> httpx.Client:
    """A client that announces itself as a mirror (registries count mirrors apart)."""
    return new_client(registry, agent=MIRROR_AGENT)


def registry_versions(
    index: HttpIndex, packages: Iterator[tuple[str, str]], *, include_yanked: bool = False
) -> tuple[list[Wanted], int]:
    """Every version of every listed package, and how many yanked ones were left out.

    Yanked versions stay out unless asked for: fpm builds the highest version a local
    registry folder holds, so a mirrored yanked version would be the one it picks."""
    wanted, yanked = [], 0
    for namespace, name in packages:
        for entry in index.versions(namespace, name):
            if entry.yanked and not include_yanked:
                yanked += 1
                continue
            wanted.append(Wanted(namespace, name, entry.version, entry.sha256, index.registry))
    return wanted, yanked


def locked_versions(lock: Lock, registry: str) -> list[Wanted]:
    """The versions a lock names, fetched from `registry`."""
    return [Wanted(p.namespace, p.name, p.version, p.sha256, registry) for p in lock.packages]


def mirror(
    wanted: list[Wanted],
    dest: Path,
    *,
    cache: BlobCache,
    console: Console,
    jobs: int,
    registry: str | None = None,
) -> MirrorResult:
    """Add every version of `wanted` that `dest` lacks, verified; never remove anything."""
    dest = dest.absolute()
    if (dest / SYNC_STATE).exists():
        raise UsageError(
            f"`{dest}` is a folder `fpmreg sync` manages: give the mirror a folder of its own"
        )
    state_path = dest / MIRROR_STATE
    recorded: dict[str, str] = dict(read_state(state_path).get("versions", {}))
    result = MirrorResult(dest)
    todo = []
    for item in sorted(set(wanted), key=lambda w: (w.namespace, w.name, w.version)):
        slot = f"{item.key}/{item.version}"
        known = recorded.get(slot)
        if known is not None and known != item.sha256:
            result.refused.append(
                f"{item.label} was mirrored with sha256 {known}, but the registry now says "
                f"{item.sha256}: a published version must never change, so the mirrored copy "
                "is kept; tell the registry's operators"
            )
        elif known is None or not (item.folder(dest) / "fpm.toml").is_file():
            todo.append(item)
        else:
            result.present += 1
    dest.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(todo), BATCH):
        batch = todo[start : start + BATCH]
        fetched = fetch_all(
            batch,
            cache=cache,
            jobs=jobs,
            console=console,
            registry=registry,
            client_factory=mirror_client,
        )
        for item in batch:
            remove_leftovers(item.folder(dest).parent)
            install(item, fetched.data[item], dest)
            recorded[f"{item.key}/{item.version}"] = item.sha256
            result.added.append(item)
        write_state(state_path, recorded, "versions")
    write_state(state_path, recorded, "versions")
    # `path = "."`: fpm resolves a relative path against the config file's folder (§2.1).
    write_if_changed(dest / CONFIG_NAME, fpm_config_text(".", "fpmreg mirror"))
    for message in result.refused:
        print_note(console, Severity.ERROR, message)
    return result


def print_result(console: Console, result: MirrorResult) -> None:
    """What was added, and how to point fpm at the mirror."""
    for item in result.added:
        console.print(f"added {item.label}")
    console.print(f"{len(result.added)} new, {result.present} already in {shown_path(result.dest)}")
    config_file = shown_path(result.dest / CONFIG_NAME)
    console.print(f"build against it with: fpm build --config-file {config_file}")


def mirror_report(result: MirrorResult, registry: str, yanked: int) -> MirrorReport:
    """What `fpmreg mirror --format json` prints (docs/cli.md, "The documents")."""
    return MirrorReport(
        ok=not result.refused,
        registry=registry,
        folder=str(result.dest),
        added=[
            SyncedPackage(package=i.key, version=i.version, sha256=i.sha256) for i in result.added
        ],
        present=result.present,
        yanked_left_out=yanked,
        refused=result.refused,
        build_command=f"fpm build --config-file {shown_path(result.dest / CONFIG_NAME)}",
    )
