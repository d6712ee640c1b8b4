"""What `fpmreg lock` and `sync` say about deprecated packages and deleted versions."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from fpmreg.client.errors import ClientError
from fpmreg.client.states import check_lock_entries, deleted_version, warn_deprecated
from fpmreg.core.lockfile import LockedPackage
from fpmreg.core.wire.index import IndexDocument, IndexTombstone

TOMBSTONE = IndexTombstone(
    version="1.1.0",
    category="malware",
    deleted_at="2026-03-04T05:06:07Z",
    url="https://registry.example/project/acme/lib/1.1.0",
)
DOCUMENT = IndexDocument(
    namespace="acme",
    name="lib",
    versions=[],
    tombstones=[TOMBSTONE],
    deprecated=True,
    deprecation_message="unmaintained",
    replacement="acme/lib2",
)


class FakeIndex:
    def document_of(self, namespace: str, name: str) -> IndexDocument | None:
        return DOCUMENT if (namespace, name) == ("acme", "lib") else None


def test_a_deleted_locked_version_is_refused_naming_the_tombstone() -> None:
    assert deleted_version(DOCUMENT, "1.1.0") == (
        "acme/lib@1.1.0 was deleted from the registry on 2026-03-04 (malware): see "
        "https://registry.example/project/acme/lib/1.1.0"
    )
    assert deleted_version(DOCUMENT, "1.0.0") is None
    locked = LockedPackage("acme", "lib", "1.1.0", "0" * 64, "https://registry.example")
    with pytest.raises(ClientError, match=r"acme/lib@1\.1\.0 was deleted .* see https://"):
        check_lock_entries(FakeIndex(), [locked])  # type: ignore[arg-type]
    check_lock_entries(FakeIndex(), [locked], keep_moving=["lib"])  # type: ignore[arg-type]


def test_a_deprecated_package_is_a_warning_naming_the_replacement() -> None:
    buffer = io.StringIO()
    warn_deprecated(Console(file=buffer, markup=False, highlight=False), [DOCUMENT])
    assert buffer.getvalue().strip() == (
        "warning: `acme/lib` is deprecated: unmaintained (use `acme/lib2` instead)"
    )
