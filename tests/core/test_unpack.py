"""The safe extractor `fpmreg sync` and `fpmreg mirror` install packages with.

It never writes outside its target, refuses what the reader refuses, and replaces an
existing tree only once the new one is complete.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fpmreg.core.unpack import STAGING_PREFIX, UnpackError, extract_package, remove_leftovers
from tests.support.tarballs import manifest, package_tarball, tarball

MANIFEST = manifest("pkg")


@dataclass(frozen=True)
class Entry:
    """One tar member of any type."""

    name: str
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    mode: int = 0o644
    linkname: str = ""


def targz(entries: list[Entry]) -> bytes:
    """A gzip tar with exactly these members, whatever they are."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar,
    ):
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = entry.type
            info.mode = entry.mode
            info.linkname = entry.linkname
            regular = entry.type == tarfile.REGTYPE
            info.size = len(entry.data) if regular else 0
            tar.addfile(info, io.BytesIO(entry.data) if regular else None)
    return buffer.getvalue()


def snapshot(root: Path) -> dict[str, tuple[str, bytes | str, int]]:
    """Every path under `root`: its kind, content (or link target) and permission bits."""
    found: dict[str, tuple[str, bytes | str, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            key = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                found[key] = ("link", os.readlink(path), 0)
            elif stat.S_ISDIR(info.st_mode):
                found[key] = ("dir", b"", stat.S_IMODE(info.st_mode))
            else:
                found[key] = ("file", path.read_bytes(), stat.S_IMODE(info.st_mode))
    return found


def test_a_package_is_unpacked_with_plain_modes(tmp_path: Path) -> None:
    data = targz(
        [
            Entry("fpm.toml", data=MANIFEST.encode(), mode=0o600),
            Entry("src/", type=tarfile.DIRTYPE, mode=0o700),
            Entry("src/pkg.f90", data=b"module pkg\nend module pkg\n", mode=0o664),
            Entry("scripts/gen.sh", data=b"#!/bin/sh\n", mode=0o744),
        ]
    )
    target = tmp_path / "pin" / "pkg" / "1.0.0"

    written = extract_package(data, target)

    assert written == ["fpm.toml", "scripts/gen.sh", "src/pkg.f90"]
    assert snapshot(target) == {
        "fpm.toml": ("file", MANIFEST.encode(), 0o644),
        "src": ("dir", b"", 0o755),
        "src/pkg.f90": ("file", b"module pkg\nend module pkg\n", 0o644),
        "scripts": ("dir", b"", 0o755),
        "scripts/gen.sh": ("file", b"#!/bin/sh\n", 0o755),
    }
    assert sorted(p.name for p in target.parent.iterdir()) == ["1.0.0"]


def test_an_existing_tree_is_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "pkg"
    extract_package(package_tarball("pkg", files={"old.f90": "! gone soon\n"}), target)

    extract_package(package_tarball("pkg", "0.2.0"), target)

    assert not (target / "old.f90").exists()
    assert 'version = "0.2.0"' in (target / "fpm.toml").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg"]


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        pytest.param(
            [Entry("fpm.toml", data=MANIFEST.encode()), Entry("../evil", data=b"x")],
            "archive-parent-path",
            id="parent",
        ),
        pytest.param(
            [Entry("fpm.toml", data=MANIFEST.encode()), Entry("/tmp/evil", data=b"x")],
            "archive-absolute-path",
            id="absolute",
        ),
        pytest.param(
            [
                Entry("fpm.toml", data=MANIFEST.encode()),
                Entry("src", type=tarfile.SYMTYPE, linkname="/etc"),
            ],
            "archive-link",
            id="symlink",
        ),
        pytest.param(
            [
                Entry("fpm.toml", data=MANIFEST.encode()),
                Entry("hard", type=tarfile.LNKTYPE, linkname="fpm.toml"),
            ],
            "archive-link",
            id="hardlink",
        ),
        pytest.param([Entry("README.md", data=b"hi")], "archive-no-manifest", id="no-manifest"),
        pytest.param(
            [Entry("fpm.toml", data=MANIFEST.encode()), Entry("a", data=b"x"), Entry("a/b")],
            "archive-path-conflict",
            id="file-then-folder",
        ),
        pytest.param(
            [Entry("fpm.toml", data=MANIFEST.encode()), Entry("a/./b"), Entry("a/b")],
            "archive-duplicate-member",
            id="same-path-twice",
        ),
    ],
)
def test_a_refused_tarball_leaves_the_old_tree_as_it_was(
    tmp_path: Path, entries: list[Entry], code: str
) -> None:
    target = tmp_path / "reg" / "pkg"
    extract_package(tarball({"fpm.toml": MANIFEST, "src/pkg.f90": "! v1\n"}), target)
    before = snapshot(tmp_path)

    with pytest.raises(UnpackError) as raised:
        extract_package(targz(entries), target)

    assert code in [p.code for p in raised.value.problems]
    assert snapshot(tmp_path) == before


def test_garbage_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnpackError) as raised:
        extract_package(b"\x1f\x8b not really gzip", tmp_path / "pkg")

    assert raised.value.problems[0].code == "archive-corrupt"
    assert list(tmp_path.iterdir()) == []


def test_leftovers_of_an_interrupted_unpack_are_removed(tmp_path: Path) -> None:
    (tmp_path / f"{STAGING_PREFIX}abc" / "src").mkdir(parents=True)
    (tmp_path / "1.0.0").mkdir()

    removed = remove_leftovers(tmp_path)

    assert [p.name for p in removed] == [f"{STAGING_PREFIX}abc"]
    assert [p.name for p in tmp_path.iterdir()] == ["1.0.0"]


# --- never outside the target, whatever the archive --------------------------------

_parts = st.sampled_from(["..", ".", "", "a", "b", "fpm.toml", "src", "/", "c:", "\\.."])
_names = st.lists(_parts, min_size=1, max_size=4).map("/".join)
_types = st.sampled_from(
    [
        tarfile.REGTYPE,
        tarfile.REGTYPE,
        tarfile.DIRTYPE,
        tarfile.SYMTYPE,
        tarfile.LNKTYPE,
        tarfile.FIFOTYPE,
        tarfile.CHRTYPE,
    ]
)
_entries = st.builds(
    Entry,
    name=_names,
    type=_types,
    data=st.binary(max_size=20),
    mode=st.sampled_from([0o644, 0o755, 0o4755, 0o000, 0o777]),
    linkname=st.sampled_from(["", "..", "../outside", "/etc/passwd", "fpm.toml", "a"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_entries, max_size=8), st.booleans(), st.booleans())
@example([Entry("../outside/evil", data=b"x")], True, True)
@example([Entry("a", type=tarfile.SYMTYPE, linkname=".."), Entry("a/evil", data=b"x")], True, True)
@example([Entry("fpm.toml", data=b"x"), Entry("a/../../evil", data=b"x")], True, False)
def test_nothing_is_ever_written_outside_the_target(
    entries: list[Entry], with_manifest: bool, existing: bool
) -> None:
    if with_manifest:
        entries = [Entry("fpm.toml", data=MANIFEST.encode()), *entries]
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "outside").mkdir()
        (root / "outside" / "keep.txt").write_text("untouched")
        target = root / "reg" / "ns" / "pkg" / "1.0.0"
        target.parent.mkdir(parents=True)
        if existing:
            extract_package(tarball({"fpm.toml": MANIFEST, "old.f90": "! old\n"}), target)
        before = snapshot(root)
        outside_before = {k: v for k, v in before.items() if not k.startswith("reg/ns/pkg/1.0.0")}

        try:
            extract_package(targz(entries), target)
        except UnpackError:
            assert snapshot(root) == before  # refused: nothing changed anywhere
            return

        after = snapshot(root)
        outside_after = {k: v for k, v in after.items() if not k.startswith("reg/ns/pkg/1.0.0")}
        assert outside_after == outside_before
        inside = snapshot(target)
        assert "fpm.toml" in inside
        for kind, _, mode in inside.values():
            assert kind in ("file", "dir")
            assert mode in ((0o644, 0o755) if kind == "file" else (0o755,))
