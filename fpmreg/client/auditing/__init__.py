"""`fpmreg audit`: which locked versions are affected, yanked, deprecated or deleted.

The pieces, usable without the CLI (`fpmreg lock` and `fpmreg sync` call `warn`):
`osv` reads the OSV API, `source` the registry's index, `findings` decides, `ignore`
applies `.fpmreg-audit-ignore.toml`, `render` and `sarif` print, `fix` moves the lock.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

from rich.console import Console

from fpmreg.client import config
from fpmreg.client.auditing.findings import find, sort_findings
from fpmreg.client.auditing.ignore import IGNORE_FILE_NAME, Applied, apply_ignores, load_ignores
from fpmreg.client.auditing.osv import OsvClient
from fpmreg.client.auditing.render import warning_line
from fpmreg.client.auditing.source import DocumentIndex
from fpmreg.client.errors import ClientError
from fpmreg.client.index import cache_root, new_client
from fpmreg.client.report import print_note
from fpmreg.core.lockfile import Lock, LockedPackage
from fpmreg.core.manifest import Manifest
from fpmreg.core.problem import Severity
from fpmreg.core.wire.audit import AuditFinding, FindingKind

__all__ = [
    "IGNORE_FILE_NAME",
    "OSV_URL_ENV",
    "FindingKind",
    "Registries",
    "audit_lock",
    "today",
    "warn",
]

# The OSV API to ask instead of each registry's own (`--osv-url` of `fpmreg audit`).
OSV_URL_ENV = "FPMREG_OSV_URL"


def today() -> dt.date:
    """The UTC date ignore entries expire against."""
    return dt.datetime.now(dt.UTC).date()


class Registries:
    """One HTTP client, index and OSV client per registry; closes them all at the end.

    `registry`: read every package from it (a mirror), not from the one its lock entry
    names. `osv_url`: the OSV API to ask (default: `$FPMREG_OSV_URL`, else each
    registry's own `/v1`)."""

    def __init__(
        self,
        *,
        registry: str | None = None,
        osv_url: str | None = None,
        cache: Path | None = None,
        indexes: Iterable[DocumentIndex] = (),
    ) -> None:
        self.registry = registry
        self.osv_url = osv_url or os.environ.get(OSV_URL_ENV) or None
        self.cache = cache
        self._stack = ExitStack()
        self.indexes: dict[str, DocumentIndex] = {i.registry: i for i in indexes}
        self.osv: dict[str, OsvClient] = {}

    def __enter__(self) -> Registries:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stack.close()

    def url_of(self, package: LockedPackage) -> str:
        """Where `package` is read from."""
        return self.registry or config.normalize_registry(package.registry)

    def index(self, url: str) -> DocumentIndex:
        """The index of `url`, made once."""
        if url not in self.indexes:
            client = self._stack.enter_context(new_client(url))
            self.indexes[url] = DocumentIndex(url, client, self.cache)
        return self.indexes[url]

    def osv_for(self, url: str) -> OsvClient:
        """The OSV client for packages of `url`: `--osv-url`, else the registry itself."""
        base = self.osv_url or url
        if base not in self.osv:
            self.osv[base] = OsvClient(base, self.index(url).client)
        return self.osv[base]


def audit_lock(lock: Lock, manifest: Manifest | None, registries: Registries) -> list[AuditFinding]:
    """Every finding for every package of `lock`, sorted by package."""
    groups: dict[str, list[LockedPackage]] = {}
    for package in lock.packages:
        groups.setdefault(registries.url_of(package), []).append(package)
    findings: list[AuditFinding] = []
    for url, packages in groups.items():
        findings += find(lock, packages, manifest, registries.index(url), registries.osv_for(url))
    return sort_findings(findings)


def audit_with_ignores(
    lock: Lock, manifest: Manifest | None, registries: Registries, ignore_file: Path
) -> Applied:
    """`audit_lock`, then the ignore file applied (a broken file raises `UsageError`)."""
    entries = load_ignores(ignore_file)
    return apply_ignores(audit_lock(lock, manifest, registries), entries, today(), ignore_file)


def warn(
    lock: Lock,
    manifest: Manifest | None,
    directory: Path,
    console: Console,
    *,
    indexes: Sequence[DocumentIndex] = (),
    registry: str | None = None,
    skip: Iterable[FindingKind] = (),
) -> None:
    """Print the audit's findings as warnings (for `fpmreg lock` and `fpmreg sync`).

    Never raises for an audit that cannot run: it says so in one warning instead. `skip`:
    kinds the caller reports itself (the resolver already warns about a kept yank)."""
    if not lock.packages:
        return
    skipped = set(skip)
    try:
        with Registries(registry=registry, cache=cache_root(), indexes=indexes) as registries:
            applied = audit_with_ignores(lock, manifest, registries, directory / IGNORE_FILE_NAME)
    except ClientError as exc:
        print_note(console, Severity.WARNING, f"fpm.lock was not audited: {exc}")
        return
    for note in applied.notes:
        print_note(console, Severity.WARNING, note)
    shown = [f for f in applied.findings if f.kind not in skipped]
    for finding in shown:
        print_note(console, Severity.WARNING, warning_line(finding))
    if shown:
        print_note(console, Severity.WARNING, "run `fpmreg audit` for details and fixes")
