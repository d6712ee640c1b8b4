"""What the registry says about locked packages beyond their versions: deprecations
(warned about, naming the replacement) and deleted versions (refused, naming the
tombstone). Read from the resolver index (`/api/v1/index/…`), which lists both.

`fpmreg lock` reads the index anyway; `fpmreg sync` asks it once per locked package
(revalidated with the `ETag`, so usually a bodyless 304) and skips the check when the
registry cannot be reached, so a sync from the cache still works offline.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx
from rich.console import Console

from fpmreg.client.errors import ClientError, RegistryRefused, RegistryUnreachable
from fpmreg.client.index import HttpIndex, cache_root, new_client
from fpmreg.client.report import print_note
from fpmreg.core.lockfile import LockedPackage
from fpmreg.core.problem import Severity
from fpmreg.core.wire.index import IndexDocument, IndexTombstone

# Statuses that say something about the package itself: quarantined, deleted.
_TELLING = frozenset({403, 410})


def tombstone_message(namespace: str, name: str, tombstone: IndexTombstone) -> str:
    """`ns/name@v was deleted from the registry on DATE (category): see URL`."""
    return (
        f"{namespace}/{name}@{tombstone.version} was deleted from the registry on "
        f"{tombstone.deleted_at[:10]} ({tombstone.category}): see {tombstone.url}"
    )


def deprecation_message(document: IndexDocument) -> str | None:
    """The warning for a deprecated package, naming the replacement; None if it is not."""
    if not document.deprecated:
        return None
    text = f"`{document.namespace}/{document.name}` is deprecated"
    if document.deprecation_message:
        text += f": {document.deprecation_message}"
    if document.replacement:
        text += f" (use `{document.replacement}` instead)"
    return text


def deleted_version(document: IndexDocument, version: str) -> str | None:
    """The tombstone message if `version` of the package was deleted."""
    for tombstone in document.tombstones:
        if tombstone.version == version:
            return tombstone_message(document.namespace, document.name, tombstone)
    return None


def warn_deprecated(console: Console, documents: Iterable[IndexDocument]) -> None:
    """One warning per deprecated package (stderr; the command still succeeds)."""
    for document in documents:
        message = deprecation_message(document)
        if message is not None:
            print_note(console, Severity.WARNING, message)


def check_lock_entries(
    index: HttpIndex, packages: Iterable[LockedPackage], *, keep_moving: Iterable[str] = ()
) -> None:
    """Refuse locked versions that were deleted (unless their key is in `keep_moving`,
    the packages `lock --update` moves anyway)."""
    moving = set(keep_moving)
    for package in packages:
        if package.name in moving or package.key in moving:
            continue
        document = index.document_of(package.namespace, package.name)
        message = deleted_version(document, package.version) if document else None
        if message is not None:
            raise ClientError(f"{message}; move off it with `fpmreg lock --update {package.name}`")


def _document(index: HttpIndex, package: LockedPackage) -> IndexDocument | None:
    """The package's index, or None when the registry cannot tell (offline, a mirror
    without an index, some other server's error page)."""
    try:
        return index.document_of(package.namespace, package.name)
    except RegistryUnreachable:
        raise  # the caller skips the rest of that registry: one cause, one wait
    except RegistryRefused as refused:
        if refused.status in _TELLING:
            raise
        return None
    except ClientError:
        return None


def check_sync(packages: list[LockedPackage], registry: str | None, console: Console) -> None:
    """Before a sync: fail on a deleted (or quarantined) locked version, warn about
    deprecated packages. Each package is asked of its lock's registry (or `registry`)."""
    by_registry: dict[str, list[LockedPackage]] = {}
    for package in packages:
        by_registry.setdefault(registry or package.registry, []).append(package)
    documents = []
    for url, group in by_registry.items():
        try:
            with new_client(url) as client:
                index = HttpIndex(url, client, cache_root())
                for package in group:
                    document = _document(index, package)
                    if document is None:
                        continue
                    message = deleted_version(document, package.version)
                    if message is not None:
                        raise ClientError(
                            f"{message}; `fpmreg lock --update {package.name}` "
                            "moves to another version"
                        )
                    documents.append(document)
        except (httpx.InvalidURL, RegistryUnreachable):
            continue  # offline: the download says so, once (docs/cli.md, "Network")
    warn_deprecated(console, documents)
