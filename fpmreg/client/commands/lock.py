"""`fpmreg lock`: fpm.toml's registry dependencies resolved to exact versions in fpm.lock."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import httpx
import typer

from fpmreg.client import auditing, registry, states
from fpmreg.client import lock as locking
from fpmreg.client.auditing.source import DocumentIndex
from fpmreg.client.commands.common import (
    DirectoryOption,
    FormatOption,
    OutputFormat,
    RegistryOption,
    announce_registry,
    handled,
    print_json,
    spinner,
)
from fpmreg.client.errors import UsageError
from fpmreg.client.index import cache_root, new_client
from fpmreg.client.loglookup import LogLookupFailed, look_up
from fpmreg.client.report import err, out, print_note
from fpmreg.core.lockfile import LOCK_FILE_NAME
from fpmreg.core.problem import Severity
from fpmreg.core.wire.cli import LockEntry, LockReport


@handled
def lock_command(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="with `--update`: only these packages move", show_default=False),
    ] = None,
    update: Annotated[
        bool,
        typer.Option("--update", help="move to the newest versions that fit (all, or NAMES)"),
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="write nothing; exit 1 when fpm.lock is out of date (CI)"),
    ] = False,
    registry_url: RegistryOption = None,
    directory: DirectoryOption = Path("."),
    output: FormatOption = OutputFormat.TEXT,
) -> None:
    """Resolve fpm.toml's registry dependencies to exact versions and sha256 in fpm.lock.

    Locked versions are kept while they still fit; `--update` moves them."""
    if names and not update:
        raise UsageError(f"to move {', '.join(names)}, add `--update`: `fpmreg lock --update NAME`")
    if check and update:
        raise UsageError("`--check` writes nothing: drop `--update`")
    project = locking.load_project(directory, err())
    url = locking.choose_registry(registry_url, project.lock)
    announce_registry(url)
    with (
        registry.blame_url([url]),
        new_client(url) as client,
        spinner(err(), f"resolving against {url}", output),
    ):
        index = DocumentIndex(url, client, cache_root())
        if project.lock is not None and not (update and not names):
            states.check_lock_entries(index, project.lock.packages, keep_moving=names or ())
        if check:
            _check(project, index, url, output)
            return
        outcome = locking.lock_project(
            project,
            index,
            url,
            update_all=update and not names,
            update=names or (),
            console=err(),
            log_indexes=lambda subjects: release_indexes(client, url, subjects),
        )
        held = locking.held_back(project.manifest, index, names or ()) if update else []
        # The resolver warns about a kept yanked version, `states` about deprecations.
        skip = {auditing.FindingKind.YANKED, auditing.FindingKind.DEPRECATED}
        auditing.warn(outcome.lock, project.manifest, directory, err(), indexes=[index], skip=skip)
    states.warn_deprecated(
        err(), [d for d in index.documents.values() if d is not None and d.deprecated]
    )
    locking.print_held_back(err(), held)
    yanked = {p.key for p in outcome.resolution.packages if p.yanked}
    if output is OutputFormat.JSON:
        print_json(locking.lock_report(outcome, url, yanked, held))
    else:
        locking.print_changes(out(), outcome, yanked)


def release_indexes(client: httpx.Client, url: str, subjects: list[str]) -> dict[str, int]:
    """The log index of each release record the registry at `url` has: none when it has
    no log, and none (with a warning) when its log cannot be read just now, as the index
    only spares `fpmreg verify` a lookup (docs/locking.md, "The lock file")."""
    try:
        found = look_up(client, url, subjects)
    except LogLookupFailed as exc:
        print_note(
            err(),
            Severity.WARNING,
            f"{LOCK_FILE_NAME} records no transparency-log index for {len(subjects)} "
            f"packages: {exc}; `fpmreg verify` looks them up, `fpmreg lock` tries again",
        )
        return {}
    return found.releases if found is not None else {}


def _check(project: locking.Project, index: DocumentIndex, url: str, output: OutputFormat) -> None:
    """`--check`: text as `check_and_report` prints it, or one `LockReport` (exit 1 when
    the lock is out of date)."""
    if output is not OutputFormat.JSON:
        locking.check_and_report(project, index, url, out(), err())
        return
    messages = locking.check_project(project, index, url, err())
    locked = project.lock.packages if project.lock else ()
    print_json(
        LockReport(
            ok=not messages,
            registry=url,
            root=project.manifest.name,
            written=False,
            packages=[
                LockEntry(package=p.key, version=p.version, change="unchanged") for p in locked
            ],
            problems=messages,
        )
    )
    if messages:
        raise typer.Exit(1)
