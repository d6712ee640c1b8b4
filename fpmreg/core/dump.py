"""The daily metadata dump: every public package as one JSON line, gzipped with fixed
headers so the same facts on the same date give the same bytes (docs/dumps.md)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

FORMAT = "fpmreg-dump"
FORMAT_VERSION = 1
INDEX_FORMAT = "fpmreg-dump-index"
# The facts are dedicated to the public domain: a directory or a comparison table may
# copy them without attribution (docs/dumps.md, "Licence").
LICENSE = "CC0-1.0"
LICENSE_URL = "https://creativecommons.org/publicdomain/zero/1.0/"
# `fpmreg-YYYY-MM-DD.jsonl.gz`, nothing else: the name is the only thing a URL picks.
FILE_NAME = re.compile(r"fpmreg-(\d{4}-\d{2}-\d{2})\.jsonl\.gz")
# Maximum compression: written once a day, fetched many times.
COMPRESS_LEVEL = 9


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ReleaseFacts:
    """One published version, as public pages and the API show it."""

    version: str
    published: datetime
    sha256: str
    size: int
    license: str
    download_url: str = ""
    yanked: bool = False
    yank_reason: str = ""
    log_index: int | None = None
    dependencies: tuple[Mapping[str, str], ...] = ()
    sort_key: tuple[int, int, int] = (0, 0, 0)


@dataclass(frozen=True)
class DeletedVersion:
    """A tombstone of one version: public on its 410 page (docs/moderation.md)."""

    version: str
    deleted: datetime
    category: str


@dataclass(frozen=True)
class PackageFacts:
    """A package that anyone may see (not quarantined, not deleted)."""

    namespace: str
    name: str
    description: str
    license: str
    homepage: str
    repository: str
    created: datetime
    updated: datetime
    latest_version: str = ""
    keywords: tuple[str, ...] = ()
    maintainers: tuple[str, ...] = ()  # usernames only
    deprecated: bool = False
    deprecation_message: str = ""
    replacement: str = ""
    releases: tuple[ReleaseFacts, ...] = ()
    deleted_versions: tuple[DeletedVersion, ...] = field(default=())


@dataclass(frozen=True)
class DeletedPackage:
    """A tombstone of a whole package."""

    namespace: str
    name: str
    deleted: datetime
    category: str


def purl(namespace: str, name: str, version: str = "") -> str:
    """The package URL `pkg:fpm/NS/NAME[@V]` (docs/transparency-log.md)."""
    text = f"pkg:fpm/{quote(namespace, safe='')}/{quote(name, safe='')}"
    return f"{text}@{quote(version, safe='')}" if version else text


def release_object(ns: str, name: str, release: ReleaseFacts) -> dict[str, Any]:
    """One release of a package line."""
    return {
        "version": release.version,
        "purl": purl(ns, name, release.version),
        "published": _time(release.published),
        "sha256": release.sha256,
        "size": release.size,
        "license": release.license,
        "downloadUrl": release.download_url,
        "logIndex": release.log_index,
        "yanked": release.yanked,
        "yankReason": release.yank_reason if release.yanked else "",
        "dependencies": [dict(sorted(d.items())) for d in release.dependencies],
    }


def package_object(base_url: str, facts: PackageFacts) -> dict[str, Any]:
    """A package line's object: the package, its releases oldest first, its tombstones."""
    ns, name = facts.namespace, facts.name
    releases = sorted(facts.releases, key=lambda r: (r.sort_key, r.version))
    deprecation = None
    if facts.deprecated:
        deprecation = {"message": facts.deprecation_message, "replacement": facts.replacement}
    return {
        "type": "package",
        "namespace": ns,
        "name": name,
        "purl": purl(ns, name),
        "url": f"{base_url}/project/{ns}/{name}",
        "description": facts.description,
        "license": facts.license,
        "homepage": facts.homepage,
        "repository": facts.repository,
        "keywords": list(facts.keywords),
        "maintainers": sorted(set(facts.maintainers), key=lambda u: (u.lower(), u)),
        "created": _time(facts.created),
        "updated": _time(facts.updated),
        "latestVersion": facts.latest_version,
        "deprecated": deprecation,
        "releases": [release_object(ns, name, r) for r in releases],
        "deletedVersions": [
            {"version": d.version, "deleted": _time(d.deleted), "category": d.category}
            for d in sorted(facts.deleted_versions, key=lambda d: (d.deleted, d.version))
        ],
    }


def deleted_object(facts: DeletedPackage) -> dict[str, Any]:
    """A deleted package's line: its name, when and why (the category, never the reason)."""
    return {
        "type": "deleted",
        "namespace": facts.namespace,
        "name": facts.name,
        "purl": purl(facts.namespace, facts.name),
        "deleted": _time(facts.deleted),
        "category": facts.category,
    }


def line(document: Mapping[str, Any]) -> str:
    """One JSON line: sorted keys, UTF-8 text as it is, no spaces, `\\n` at the end."""
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def _newest(packages: Sequence[PackageFacts], deleted: Sequence[DeletedPackage]) -> str:
    times = [p.updated for p in packages] + [d.deleted for d in deleted]
    times += [r.published for p in packages for r in p.releases]
    times += [d.deleted for p in packages for d in p.deleted_versions]
    return _time(max(times)) if times else ""


def header(
    base_url: str, day: date, packages: Sequence[PackageFacts], deleted: Sequence[DeletedPackage]
) -> dict[str, Any]:
    """The first line. `generated` is the dump's date, not the wall clock, so the same
    facts on the same date give the same bytes; `asOf` is the newest fact's time."""
    return {
        "type": FORMAT,
        "version": FORMAT_VERSION,
        "registry": base_url,
        "generated": day.isoformat(),
        "asOf": _newest(packages, deleted),
        "license": LICENSE,
        "licenseUrl": LICENSE_URL,
        "packages": len(packages),
        "deleted": len(deleted),
    }


def dump_lines(
    base_url: str,
    day: date,
    packages: Iterable[PackageFacts],
    deleted: Iterable[DeletedPackage] = (),
) -> Iterator[str]:
    """The header, then the packages and then the deleted packages, each sorted by
    namespace and name (case-insensitively, then exactly)."""
    live = sorted(
        packages, key=lambda p: (p.namespace.lower(), p.name.lower(), p.namespace, p.name)
    )
    gone = sorted(
        deleted,
        key=lambda d: (
            d.namespace.lower(),
            d.name.lower(),
            d.deleted,
            d.namespace,
            d.name,
            d.category,
        ),
    )
    yield line(header(base_url, day, live, gone))
    for facts in live:
        yield line(package_object(base_url, facts))
    for tombstone in gone:
        yield line(deleted_object(tombstone))


def gzipped(lines: Iterable[str]) -> bytes:
    """The lines as a gzip file with no name and modification time 0 (reproducible)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(
        filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=COMPRESS_LEVEL
    ) as out:
        for text in lines:
            out.write(text.encode())
    return buffer.getvalue()


def file_name(day: date) -> str:
    """`fpmreg-YYYY-MM-DD.jsonl.gz`."""
    return f"fpmreg-{day.isoformat()}.jsonl.gz"


def date_of(name: str) -> date | None:
    """The date a dump's file name carries, or None when it is not a dump's name."""
    found = FILE_NAME.fullmatch(name)
    if found is None:
        return None
    try:
        return date.fromisoformat(found.group(1))
    except ValueError:
        return None


@dataclass(frozen=True)
class DumpEntry:
    """One dump in the index."""

    day: date
    size: int
    sha256: str
    packages: int

    @property
    def file(self) -> str:
        """Its file name."""
        return file_name(self.day)

    @classmethod
    def of(cls, day: date, data: bytes, packages: int) -> DumpEntry:
        """The entry of a dump's bytes."""
        return cls(day, len(data), hashlib.sha256(data).hexdigest(), packages)


def retain(entries: Iterable[DumpEntry], keep: int) -> tuple[list[DumpEntry], list[DumpEntry]]:
    """The `keep` newest dumps, newest first, and the older ones to delete (one per date:
    a later entry for a date replaces an earlier one)."""
    by_date = {entry.day: entry for entry in entries}
    ordered = sorted(by_date.values(), key=lambda e: e.day, reverse=True)
    return ordered[:keep], ordered[keep:]


def index_document(base_url: str, entries: Sequence[DumpEntry]) -> dict[str, Any]:
    """The index of the stored dumps, newest first, with the licence."""
    return {
        "type": INDEX_FORMAT,
        "version": FORMAT_VERSION,
        "registry": base_url,
        "license": LICENSE,
        "licenseUrl": LICENSE_URL,
        "dumps": [
            {
                "date": e.day.isoformat(),
                "file": e.file,
                "url": f"{base_url}/dumps/{e.file}",
                "size": e.size,
                "sha256": e.sha256,
                "packages": e.packages,
            }
            for e in sorted(entries, key=lambda e: e.day, reverse=True)
        ],
    }


def parse_index(data: bytes) -> list[DumpEntry]:
    """The entries of a stored index; `ValueError` if it is not one."""
    document = json.loads(data)
    if not isinstance(document, dict) or document.get("type") != INDEX_FORMAT:
        raise ValueError("not a dump index")
    entries = []
    for item in document.get("dumps", []):
        day = date_of(str(item["file"]))
        if day is None:
            raise ValueError(f"`{item['file']}` is not a dump's file name")
        entries.append(
            DumpEntry(day, int(item["size"]), str(item["sha256"]), int(item["packages"]))
        )
    return entries
