"""The daily metadata dump: the public facts of every package read in a few queries, the
dump written to blob storage beside an index, older dumps pruned (docs/dumps.md)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from fpmreg.core import dump
from fpmreg.server.accounts.models import Membership, User
from fpmreg.server.errors import Conflict, NotFound
from fpmreg.server.federation.models import LogEntry
from fpmreg.server.linked.codemeta_repository import repository_link
from fpmreg.server.packages.models import Package, PackageMaintainer, Tombstone, Version
from fpmreg.server.packages.schemas import dependencies, tarball_path
from fpmreg.server.storage import BlobStore, StorageUnavailable

log = logging.getLogger(__name__)

FOLDER = "dumps"
INDEX_KEY = f"{FOLDER}/index.json"
GZIP_TYPE = "application/gzip"
# Two weeks of dailies: enough to compare a fortnight, small enough not to matter.
DEFAULT_KEEP = 14
DUMP_EXISTS = "dump-exists"
DUMP_NOT_FOUND = "dump-not-found"


def dump_key(name: str) -> str:
    """The storage key of a dump's file name."""
    return f"{FOLDER}/{name}"


def _maintainers(session: Session) -> dict[int, set[str]]:
    """Usernames by package id: the namespace's members and the package's maintainers,
    as the package page lists them (docs/pages.md); nothing else about them."""
    names: dict[int, set[str]] = defaultdict(set)
    members: dict[int, set[str]] = defaultdict(set)
    for namespace_id, username in session.execute(
        select(Membership.namespace_id, User.username).join(User, User.id == Membership.user_id)
    ):
        members[namespace_id].add(username)
    for package_id, namespace_id in session.execute(select(Package.id, Package.namespace_id)):
        names[package_id] |= members[namespace_id]
    for package_id, username in session.execute(
        select(PackageMaintainer.package_id, User.username).join(
            User, User.id == PackageMaintainer.user_id
        )
    ):
        names[package_id].add(username)
    return names


def _log_indexes(session: Session) -> dict[str, int]:
    """The newest publish record's log index of each release purl, in one query."""
    rows = session.execute(
        select(LogEntry.subject, func.max(LogEntry.index))
        .where(LogEntry.action == "version.publish")
        .group_by(LogEntry.subject)
    )
    return {subject: index for subject, index in rows}


def _release(
    base_url: str, package: Package, version: Version, indexes: dict[str, int]
) -> dump.ReleaseFacts:
    ns, name = package.namespace.name, package.name
    return dump.ReleaseFacts(
        version=version.version,
        published=version.published_at,
        sha256=version.sha256,
        size=version.size,
        license=version.license,
        download_url=base_url + tarball_path(ns, name, version.version),
        yanked=version.yanked,
        yank_reason=version.yank_reason,
        log_index=indexes.get(dump.purl(ns, name, version.version)),
        dependencies=tuple(d.model_dump() for d in dependencies(version)),
        sort_key=(version.major, version.minor, version.patch),
    )


def _tombstones(
    session: Session,
) -> tuple[dict[tuple[str, str], list[dump.DeletedVersion]], list[dump.DeletedPackage]]:
    """Deleted versions by (canonical namespace, canonical name), and deleted packages."""
    versions: dict[tuple[str, str], list[dump.DeletedVersion]] = defaultdict(list)
    packages: list[dump.DeletedPackage] = []
    for row in session.scalars(select(Tombstone)):
        if row.version:
            versions[(row.namespace_canonical, row.package_canonical)].append(
                dump.DeletedVersion(row.version, row.deleted_at, row.category)
            )
        else:
            packages.append(
                dump.DeletedPackage(row.namespace, row.name, row.deleted_at, row.category)
            )
    return versions, packages


def collect_facts(
    session: Session, base_url: str
) -> tuple[list[dump.PackageFacts], list[dump.DeletedPackage]]:
    """Every public package with its releases, and every deleted package. A package
    under quarantine is left out: its page is a 404 for the public (docs/moderation.md,
    "Quarantine"), so the dump does not show it either."""
    packages = list(session.scalars(select(Package).where(Package.quarantined_at.is_(None))))
    wanted = {p.id for p in packages}
    by_package: dict[int, list[Version]] = defaultdict(list)
    # READMEs are the bulk of a version's row and no part of the dump.
    lean = select(Version).options(defer(Version.readme), defer(Version.readme_html))
    for version in session.scalars(lean.order_by(Version.id)):
        if version.package_id in wanted:
            by_package[version.package_id].append(version)
    maintainers, indexes = _maintainers(session), _log_indexes(session)
    deleted_versions, deleted_packages = _tombstones(session)
    facts = []
    for package in packages:
        versions = by_package[package.id]
        newest = max(versions, key=lambda v: (v.major, v.minor, v.patch), default=None)
        key = (package.namespace.canonical, package.canonical)
        facts.append(
            dump.PackageFacts(
                namespace=package.namespace.name,
                name=package.name,
                description=package.description,
                license=package.license,
                homepage=package.homepage,
                repository=repository_link(newest) if newest is not None else "",
                created=package.created_at,
                updated=package.updated_at,
                latest_version=package.latest_version,
                keywords=tuple(newest.keywords) if newest is not None else (),
                maintainers=tuple(maintainers[package.id]),
                deprecated=package.deprecated_at is not None,
                deprecation_message=package.deprecation_message,
                replacement=package.replacement,
                releases=tuple(_release(base_url, package, v, indexes) for v in versions),
                deleted_versions=tuple(deleted_versions.get(key, ())),
            )
        )
    return facts, deleted_packages


@dataclass(frozen=True)
class WriteResult:
    """What `write_dump` did."""

    entry: dump.DumpEntry
    changed: bool  # False: the same bytes were already stored for that date
    removed: list[str]  # file names pruned past the retention


def missing(name: str) -> NotFound:
    """The 404 of a name that is not a kept dump."""
    return NotFound(
        DUMP_NOT_FOUND, f"there is no dump `{name[:64]}`: see /dumps/ for the ones kept", "file"
    )


class DumpStore:
    """The dumps and their index in blob storage (the folder or bucket of tarballs)."""

    def __init__(self, store: BlobStore, base_url: str) -> None:
        self.store = store
        self.base_url = base_url

    def entries(self) -> list[dump.DumpEntry]:
        """The index's entries, newest first; none when there is no index yet."""
        stored = self.store.open_named(INDEX_KEY)
        if stored is None:
            return []
        with stored:
            data = stored.read()
        try:
            return sorted(dump.parse_index(data), key=lambda e: e.day, reverse=True)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("dump index %s is damaged: %s", INDEX_KEY, type(exc).__name__)
            raise StorageUnavailable("the dump index is damaged; run `dump write` again") from exc

    def index_json(self, entries: Iterable[dump.DumpEntry]) -> str:
        """The index document as JSON text."""
        return dump.line(dump.index_document(self.base_url, list(entries)))

    def entry(self, name: str) -> dump.DumpEntry:
        """The indexed dump of a file name (404 `dump-not-found` otherwise)."""
        for entry in self.entries():
            if entry.file == name:
                return entry
        raise missing(name)

    def write(
        self, data: bytes, day: date, packages: int, *, keep: int, replace: bool = False
    ) -> WriteResult:
        """Store the dump of `day`, index it and prune past `keep`. A date already
        dumped with other bytes is refused unless `replace` (its URL is cached long)."""
        entry = dump.DumpEntry.of(day, data, packages)
        entries = self.entries()
        previous = next((e for e in entries if e.day == day), None)
        if previous is not None and previous.sha256 != entry.sha256 and not replace:
            raise Conflict(
                DUMP_EXISTS,
                f"the dump of {day.isoformat()} is already stored with other contents: "
                "pass `--replace` to overwrite it (caches may keep the old one a while)",
                "date",
            )
        changed = previous is None or previous.sha256 != entry.sha256
        if changed:
            self.store.put_named(dump_key(entry.file), data, GZIP_TYPE)
        kept, dropped = dump.retain([*entries, entry], keep)
        # The index first: a crash between the two leaves an unlisted file, never a
        # listed file that is gone.
        self.store.put_named(INDEX_KEY, self.index_json(kept).encode(), "application/json")
        for old in dropped:
            self.store.delete_named(dump_key(old.file))
        return WriteResult(entry, changed, [old.file for old in dropped])


def write_dump(
    session: Session,
    store: BlobStore,
    base_url: str,
    day: date,
    *,
    keep: int = DEFAULT_KEEP,
    replace: bool = False,
) -> WriteResult:
    """Collect the facts, build the dump of `day` and store it (docs/dumps.md)."""
    packages, deleted = collect_facts(session, base_url)
    data = dump.gzipped(dump.dump_lines(base_url, day, packages, deleted))
    return DumpStore(store, base_url).write(data, day, len(packages), keep=keep, replace=replace)
