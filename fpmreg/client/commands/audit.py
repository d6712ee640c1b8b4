"""`fpmreg audit`: the locked versions that are affected, yanked, deprecated or deleted."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, ParamSpec

import typer

from fpmreg.client import auditing, config
from fpmreg.client import lock as locking
from fpmreg.client.auditing.fix import plan_fixes
from fpmreg.client.auditing.ignore import IGNORE_FILE_NAME, Applied
from fpmreg.client.auditing.render import build_report, print_text, report_json
from fpmreg.client.auditing.sarif import report_sarif
from fpmreg.client.commands.common import (
    DirectoryOption,
    RegistryOption,
    announce_registry,
    handled,
)
from fpmreg.client.errors import EXIT_FAILED, EXIT_USAGE, ClientError, RegistryRefused, UsageError
from fpmreg.client.index import cache_root
from fpmreg.client.report import err, out, print_note, print_problems
from fpmreg.core.lockfile import LOCK_FILE_NAME, Lock
from fpmreg.core.manifest import Manifest
from fpmreg.core.problem import Severity
from fpmreg.core.resolve import ResolutionError, resolve

P = ParamSpec("P")


class AuditFormat(StrEnum):
    """`--format`."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


class _CannotAudit(ClientError):
    exit_code = EXIT_USAGE


def _cannot_audit_is_two(command: Callable[P, None]) -> Callable[P, None]:
    """Exit 1 means "found something"; anything that stops the audit exits 2."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except RegistryRefused as exc:
            print_problems(err(), exc.problems)
            raise _CannotAudit(f"cannot audit: {exc}") from exc
        except ClientError as exc:
            if exc.exit_code == EXIT_USAGE:
                raise
            raise _CannotAudit(f"cannot audit: {exc}") from exc

    return run


@dataclasses.dataclass(frozen=True)
class _Target:
    name: str
    directory: Path
    manifest: Manifest | None
    lock: Lock | None
    lock_text: str
    manifest_text: str


def _target(directory: Path) -> _Target:
    lock_text, lock = locking.read_lock(directory)
    manifest: Manifest | None = None
    manifest_text = ""
    if lock is None or (directory / locking.MANIFEST_FILE_NAME).is_file():
        manifest = locking.read_manifest(directory, err())
        manifest_text = (directory / locking.MANIFEST_FILE_NAME).read_text(encoding="utf-8")
    name = manifest.name if manifest else (lock.root.name if lock and lock.root else "")
    return _Target(name, directory, manifest, lock, lock_text or "", manifest_text)


def _uri(path: Path) -> str:
    """`path` relative to the working directory, as SARIF viewers match files."""
    try:
        return Path(os.path.relpath(path.absolute())).as_posix()
    except ValueError:  # another drive (Windows)
        return path.absolute().as_posix()


def _print(target: _Target, lock: Lock, applied: Applied, fmt: AuditFormat) -> bool:
    label = LOCK_FILE_NAME if target.lock is not None else ""
    report = build_report(
        target.name, label, len(lock.packages), applied.findings, applied.ignored, applied.notes
    )
    if fmt is AuditFormat.JSON:
        out().print(report_json(report))
    elif fmt is AuditFormat.SARIF:
        for note in report.notes:
            print_note(err(), Severity.WARNING, note)
        lock_uri = _uri(target.directory / LOCK_FILE_NAME)
        manifest_uri = _uri(target.directory / locking.MANIFEST_FILE_NAME)
        if target.lock is None:
            lock_uri = manifest_uri
        out().print(
            report_sarif(
                report,
                applied.hidden,
                lock_uri=lock_uri,
                lock_text=target.lock_text,
                manifest_uri=manifest_uri,
                manifest_text=target.manifest_text,
            )
        )
    else:
        print_text(out(), err(), report)
    return bool(report.findings)


def _resolved(target: _Target, registries: auditing.Registries, url: str) -> Lock:
    """No fpm.lock: what `fpmreg lock` would write, not written."""
    assert target.manifest is not None
    try:
        resolution = resolve(target.manifest, registries.index(url))
    except ResolutionError as exc:
        raise ClientError(f"cannot resolve `{target.manifest.name}`: {exc}") from exc
    return resolution.to_lock(url, target.manifest)


def _fix(
    target: _Target, lock: Lock, applied: Applied, registries: auditing.Registries, url: str
) -> Lock:
    """Write the fixes into fpm.lock; print what moved and what could not."""
    if target.manifest is None:
        raise UsageError(
            f"`--fix` resolves fpm.toml again: there is no fpm.toml in `{target.directory}`"
        )
    index = registries.index(url)
    plan = plan_fixes(lock, applied.findings, index)
    project = locking.Project(
        target.directory, target.manifest, target.lock_text or None, plan.preferred
    )
    outcome = locking.lock_project(project, index, url, console=err())
    outcome = dataclasses.replace(outcome, changes=locking.changes(target.lock, outcome.lock))
    locking.print_changes(err(), outcome, {p.key for p in outcome.resolution.packages if p.yanked})
    for reason in plan.unfixable:
        print_note(err(), Severity.WARNING, f"not fixed: {reason}")
    return outcome.lock


@handled
@_cannot_audit_is_two
def audit_command(
    fmt: Annotated[
        AuditFormat, typer.Option("--format", help="text for people, json or sarif for tools")
    ] = AuditFormat.TEXT,
    fix: Annotated[
        bool,
        typer.Option("--fix", help="move fpm.lock to the smallest fixes fpm.toml's ranges allow"),
    ] = False,
    ignore_file: Annotated[
        Path | None,
        typer.Option(
            "--ignore-file",
            help=f"accepted findings, each with a reason and expiry (default: {IGNORE_FILE_NAME})",
            show_default=False,
        ),
    ] = None,
    osv_url: Annotated[
        str | None,
        typer.Option(
            "--osv-url", help="the OSV API to ask (default: the registry's own)", show_default=False
        ),
    ] = None,
    registry_url: RegistryOption = None,
    directory: DirectoryOption = Path("."),
) -> None:
    """Report every locked version that is affected by an advisory, yanked, deprecated or
    deleted, with the smallest fix. Exit 1 when something is found, 2 when the audit
    cannot run. Without fpm.lock, fpm.toml is resolved as `fpmreg lock` would."""
    target = _target(directory)
    ignores = ignore_file if ignore_file is not None else directory / IGNORE_FILE_NAME
    mirror = config.normalize_registry(registry_url) if registry_url else None
    url = locking.choose_registry(registry_url, target.lock)
    announce_registry(url)
    with auditing.Registries(registry=mirror, osv_url=osv_url, cache=cache_root()) as registries:
        lock = target.lock if target.lock is not None else _resolved(target, registries, url)
        applied = auditing.audit_with_ignores(lock, target.manifest, registries, ignores)
        if fix:
            lock = _fix(target, lock, applied, registries, url)
            text, _ = locking.read_lock(directory)
            target = dataclasses.replace(target, lock=lock, lock_text=text or "")
            applied = auditing.audit_with_ignores(lock, target.manifest, registries, ignores)
    if _print(target, lock, applied, fmt):
        raise typer.Exit(EXIT_FAILED)
