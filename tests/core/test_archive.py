"""The package tarball reader: what it accepts, what it refuses, and that it stays safe.

fpm unpacks with `tar -zxf FILE -C DIR` and needs `fpm.toml` at the root
(docs/fpm-protocol.md §0 item 6). The reader inspects, never extracts, in bounded memory.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import random
import sys
import tarfile
import tempfile
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fpmreg.core.archive import DEFAULT_LIMITS, ArchiveLimits, PackageArchive, read_archive
from fpmreg.core.problem import Problem
from tests.support.tarballs import manifest, package_tarball, tarball

MiB = 1024 * 1024
GiB = 1024 * MiB
MANIFEST = manifest("pkg")


@dataclass
class Entry:
    """One tar member to write, of any type."""

    name: str
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    mode: int = 0o644
    linkname: str = ""


def tar_bytes(
    entries: list[Entry], *, format: int = tarfile.GNU_FORMAT, encoding: str = "utf-8"
) -> bytes:
    """An uncompressed tar holding exactly these entries, whatever they are."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=format, encoding=encoding) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = entry.type
            info.mode = entry.mode
            info.linkname = entry.linkname
            regular = entry.type in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
            info.size = len(entry.data) if regular else 0
            tar.addfile(info, io.BytesIO(entry.data) if regular else None)
    return buffer.getvalue()


def targz(entries: list[Entry], **kwargs: Any) -> bytes:
    return gzip.compress(tar_bytes(entries, **kwargs))


def read(data: bytes, limits: ArchiveLimits = DEFAULT_LIMITS) -> PackageArchive:
    return read_archive(io.BytesIO(data), limits)


def codes(archive: PackageArchive) -> list[str]:
    return [p.code for p in archive.problems]


def with_manifest(*entries: Entry) -> bytes:
    return targz([Entry("fpm.toml", data=MANIFEST.encode()), *entries])


def noise(size: int) -> bytes:
    """Bytes that do not compress, so only the size limit under test is reached."""
    return random.Random(size).randbytes(size)


# --- what a good tarball gives -------------------------------------------------------------


def test_package_tarball_is_read_without_extracting() -> None:
    archive = read(package_tarball("hello", "1.0.0", readme="# Hello\n"))
    assert archive.problems == []
    assert sorted(archive.members) == ["LICENSE", "README.md", "fpm.toml", "src/hello.f90"]
    assert archive.manifest_text is not None
    assert archive.manifest_text.startswith('name = "hello"\nversion = "1.0.0"')
    assert archive.readme == ("README.md", "# Hello\n")
    assert set(archive.files) == {"LICENSE", "README.md", "fpm.toml"}


def test_uncompressed_size_counts_every_file() -> None:
    files = {"fpm.toml": MANIFEST, "src/a.f90": "x" * 1000, "data/b.dat": b"\x00" * 5}
    archive = read(tarball(files))
    assert archive.uncompressed_bytes == len(MANIFEST) + 1005


def test_dot_slash_names_as_tar_makes_them_are_read_at_the_root() -> None:
    archive = read(
        targz([Entry("./", tarfile.DIRTYPE, mode=0o755), Entry("./fpm.toml", data=b'name="a"'),
               Entry("./src/", tarfile.DIRTYPE, mode=0o755), Entry("./src/a.f90", data=b"!")])
    )  # fmt: skip
    assert archive.problems == []
    assert archive.members == ["fpm.toml", "src/", "src/a.f90"]
    assert archive.manifest_text == 'name="a"'


def test_readme_other_spellings_are_found() -> None:
    archive = read(tarball({"fpm.toml": MANIFEST, "README.rst": "Title\n=====\n"}))
    assert archive.readme == ("README.rst", "Title\n=====\n")


def test_root_file_bigger_than_the_kept_limit_is_listed_but_not_kept() -> None:
    limits = ArchiveLimits(max_kept_file_bytes=len(MANIFEST))
    archive = read(tarball({"fpm.toml": MANIFEST, "README.md": "x" * (len(MANIFEST) + 1)}), limits)
    assert archive.problems == []
    assert "README.md" in archive.members
    assert archive.readme is None


def test_files_below_the_root_are_not_kept_in_memory() -> None:
    archive = read(tarball({"fpm.toml": MANIFEST, "src/big.f90": "x" * 1000}))
    assert "src/big.f90" in archive.members
    assert "src/big.f90" not in archive.files


# --- refusals, each with its code ----------------------------------------------------------


@pytest.mark.parametrize(
    "data", [b"", b"hello", b"PK\x03\x04zip", tar_bytes([Entry("fpm.toml", data=b"x")])]
)
def test_data_that_is_not_gzip_is_refused(data: bytes) -> None:
    archive = read(data)
    assert codes(archive) == ["archive-not-gzip"]
    assert "git archive HEAD --format=tar.gz" in archive.problems[0].message


@pytest.mark.parametrize(
    "data",
    [
        b"\x1f\x8b" + b"garbage" * 20,
        package_tarball("hello")[:200],
        gzip.compress(b"this is not a tar file\n" * 100),
        gzip.compress(b""),
    ],
    ids=["bad-deflate", "truncated", "not-tar-inside", "empty-inside"],
)
def test_corrupt_gzip_is_refused(data: bytes) -> None:
    archive = read(data)
    assert codes(archive) == ["archive-corrupt"]
    assert archive.problems[0].message.startswith("the tarball cannot be read as gzip tar")


def test_tarball_bigger_than_the_compressed_limit_is_refused() -> None:
    data = tarball({"fpm.toml": MANIFEST, "data.bin": noise(5000)})
    assert codes(read(data, ArchiveLimits(max_compressed_bytes=len(data) - 1))) == [
        "archive-too-large"
    ]
    assert read(data, ArchiveLimits(max_compressed_bytes=len(data))).problems == []


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        (Entry("/etc/passwd"), "archive-absolute-path"),
        (Entry("//server/share"), "archive-absolute-path"),
        (Entry("C:/Windows/x"), "archive-absolute-path"),
        (Entry("../evil"), "archive-parent-path"),
        (Entry("src/../../evil"), "archive-parent-path"),
        (Entry("./../evil"), "archive-parent-path"),
        (Entry(".."), "archive-parent-path"),
        (Entry("src\\..\\evil"), "archive-backslash"),
        (Entry("evil", tarfile.SYMTYPE, linkname="/etc/passwd"), "archive-link"),
        (Entry("src", tarfile.SYMTYPE, linkname="../.."), "archive-link"),
        (Entry("copy", tarfile.LNKTYPE, linkname="fpm.toml"), "archive-link"),
        (Entry("null", tarfile.CHRTYPE), "archive-special-file"),
        (Entry("sda", tarfile.BLKTYPE), "archive-special-file"),
        (Entry("pipe", tarfile.FIFOTYPE), "archive-special-file"),
        (Entry("odd", b"Z"), "archive-special-file"),
        (Entry("run.sh", data=b"#!/bin/sh\n", mode=0o4755), "archive-setuid"),
        (Entry("bin", tarfile.DIRTYPE, mode=0o2755), "archive-setuid"),
    ],
)
def test_member_that_could_surprise_tar_is_refused(entry: Entry, code: str) -> None:
    archive = read(with_manifest(entry))
    assert codes(archive) == [code]
    assert f"`{entry.name.removeprefix('./')}`" in archive.problems[0].message
    assert archive.problems[0].field == "tarball"
    assert entry.name.removeprefix("./") not in archive.members


def test_every_refused_member_is_reported() -> None:
    archive = read(with_manifest(Entry("/abs"), Entry("../up"), Entry("l", tarfile.SYMTYPE)))
    assert codes(archive) == ["archive-absolute-path", "archive-parent-path", "archive-link"]


@pytest.mark.parametrize(
    "names",
    [["fpm.toml", "fpm.toml"], ["./fpm.toml", "fpm.toml"], ["src/a.f90", "./src/a.f90"]],
)
def test_duplicate_member_is_refused(names: list[str]) -> None:
    archive = read(targz([Entry("fpm.toml", data=b"a"), *(Entry(n, data=b"b") for n in names)]))
    assert "archive-duplicate-member" in codes(archive)


def test_duplicate_member_cannot_replace_the_manifest_that_was_read() -> None:
    archive = read(targz([Entry("fpm.toml", data=b'name = "a"'), Entry("fpm.toml", data=b"X")]))
    assert codes(archive) == ["archive-duplicate-member"]
    assert archive.manifest_text == 'name = "a"'


def test_more_members_than_the_limit_is_refused() -> None:
    files = [Entry(f"src/m{i}.f90", data=b"!") for i in range(4)]
    limits = ArchiveLimits(max_members=4)
    assert read(with_manifest(*files), limits).problems[-1].code == "archive-too-many-members"
    assert read(with_manifest(*files[:3]), limits).problems == []


def test_refused_members_count_towards_the_member_limit() -> None:
    links = [Entry(f"l{i}", tarfile.SYMTYPE, linkname="x") for i in range(20)]
    archive = read(with_manifest(*links), ArchiveLimits(max_members=5))
    assert "archive-too-many-members" in codes(archive)
    assert len(archive.problems) <= 6


def test_single_file_bigger_than_the_limit_is_refused() -> None:
    limits = ArchiveLimits(max_file_bytes=1000)
    archive = read(with_manifest(Entry("data/big.bin", data=noise(1001))), limits)
    assert codes(archive) == ["archive-file-too-large"]
    assert "`data/big.bin`" in archive.problems[0].message
    assert read(with_manifest(Entry("data/ok.bin", data=noise(1000))), limits).problems == []


def test_files_adding_up_past_the_uncompressed_limit_are_refused() -> None:
    limits = ArchiveLimits(max_uncompressed_bytes=3000, max_file_bytes=2000)
    files = [Entry(f"data/{i}.bin", data=noise(1000 + i)) for i in range(3)]
    archive = read(with_manifest(*files), limits)
    assert codes(archive) == ["archive-too-large-uncompressed"]


def test_member_of_zeros_past_the_compression_ratio_is_refused() -> None:
    zeros = 20 * MiB
    # Within the file and total limits: only the ratio can refuse it.
    assert zeros < DEFAULT_LIMITS.max_file_bytes < DEFAULT_LIMITS.max_uncompressed_bytes
    data = with_manifest(Entry("data/zeros.bin", data=bytes(zeros)))
    assert len(data) * DEFAULT_LIMITS.max_ratio + MiB < zeros
    archive = read(data)
    assert codes(archive) == ["archive-too-large-uncompressed"]
    assert f"{DEFAULT_LIMITS.max_ratio}x the compressed size" in archive.problems[0].message


def gzip_bomb(header: bytes, zeros: int) -> bytes:
    """A gzip stream of `header` then `zeros` zero bytes, built without making them.

    gzip allows members to be concatenated, and tar and Python read them as one stream.
    """
    mib_of_zeros = gzip.compress(bytes(MiB), 9)
    return gzip.compress(header, 9) + mib_of_zeros * (zeros // MiB) + gzip.compress(bytes(1024))


def header_block(name: str, size: int, type: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = type
    return info.tobuf(format=tarfile.GNU_FORMAT)


@contextlib.contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Measure the peak traced allocation of the block, in bytes."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
        peak.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


GIB_OF_ZEROS_AS_A_FILE = (
    header_block("fpm.toml", len(MANIFEST))
    + MANIFEST.encode().ljust(512, b"\x00")
    + header_block("data/zeros.bin", GiB)
)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(GIB_OF_ZEROS_AS_A_FILE, id="file"),
        pytest.param(
            header_block("././@PaxHeader", GiB, tarfile.XHDTYPE),
            id="pax-header",
        ),
        pytest.param(
            header_block("././@LongLink", GiB, tarfile.GNUTYPE_LONGNAME),
            id="gnu-long-name",
        ),
    ],
)
def test_gzip_bomb_of_a_gibibyte_is_refused_in_bounded_memory(header: bytes) -> None:
    data = gzip_bomb(header, GiB)
    assert len(data) < 2 * MiB
    with peak_memory() as peak:
        archive = read(data)
    assert "archive-too-large-uncompressed" in codes(archive)
    assert peak[0] < 100_000_000


SPARSE_1_0 = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "a",
              "GNU.sparse.realsize": "10"}  # fmt: skip


def pax_member(pax: dict[str, str], data: bytes) -> bytes:
    info = tarfile.TarInfo("a")
    info.size = len(data)
    info.pax_headers = pax
    block = info.tobuf(format=tarfile.PAX_FORMAT)
    return block + data + bytes(-len(data) % 512) + bytes(1024)


@pytest.mark.parametrize(
    "pax",
    [
        SPARSE_1_0,
        {"GNU.sparse.major": "0", "GNU.sparse.minor": "1", "GNU.sparse.map": "a,b",
         "GNU.sparse.size": "1"},
    ],
)  # fmt: skip
def test_malformed_sparse_map_is_reported_not_raised(pax: dict[str, str]) -> None:
    archive = read(gzip.compress(pax_member(pax, b"x" * 512)))
    assert any(p.is_error for p in archive.problems)


def test_sparse_map_is_refused_without_buffering_it() -> None:
    entries = 50_000
    data = gzip.compress(pax_member(SPARSE_1_0, b"%d\n" % entries + b"0\n" * (2 * entries)), 9)
    assert len(data) < 4096
    with peak_memory() as peak:
        archive = read(data)
    assert any(p.is_error for p in archive.problems)
    assert peak[0] < 2_000_000


def test_member_name_that_is_not_utf8_is_refused() -> None:
    data = targz(
        [Entry("fpm.toml", data=b"x"), Entry("caf\u00e9.f90", data=b"!")],
        format=tarfile.USTAR_FORMAT,
        encoding="latin-1",
    )
    archive = read(data)
    assert codes(archive) == ["archive-name-encoding"]


def test_utf8_member_names_are_fine() -> None:
    archive = read(with_manifest(Entry("doc/caf\u00e9-\u03bb.md", data=b"ok")))
    assert archive.problems == []
    assert "doc/caf\u00e9-\u03bb.md" in archive.members


def test_package_in_a_top_folder_gets_a_hint() -> None:
    archive = read(tarball({"hello-1.0/fpm.toml": MANIFEST, "hello-1.0/src/a.f90": "!"}))
    assert codes(archive) == ["archive-no-manifest"]
    assert "found `hello-1.0/fpm.toml`" in archive.problems[0].message
    assert "put the package at the archive root" in archive.problems[0].message


def test_tarball_without_any_manifest_is_refused() -> None:
    archive = read(tarball({"src/a.f90": "!"}))
    assert codes(archive) == ["archive-no-manifest"]
    assert archive.problems[0].message == "the tarball has no `fpm.toml` at its root"


def test_manifest_bigger_than_the_kept_limit_is_not_read() -> None:
    archive = read(
        tarball({"fpm.toml": MANIFEST + "#" * 200}), ArchiveLimits(max_kept_file_bytes=100)
    )
    assert archive.manifest_text is None
    assert codes(archive) == ["archive-no-manifest"]


# --- properties: any input gives problems, never an exception, and nothing is written ------

_WRITE_EVENTS = frozenset({"os.mkdir", "os.symlink", "os.link", "os.rename", "os.remove",
                           "os.rmdir", "os.chmod", "os.chown", "os.truncate", "os.utime",
                           "shutil.copyfile", "shutil.copymode", "shutil.move"})  # fmt: skip
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_writes: list[tuple[str, tuple[Any, ...]]] | None = None
_hooked = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _writes is None:
        return
    if event == "open":
        mode, flags = args[1], args[2]
        if (isinstance(mode, str) and set(mode) & set("wax+")) or (
            mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS
        ):
            _writes.append((event, args))
    elif event in _WRITE_EVENTS:
        _writes.append((event, args))


@contextlib.contextmanager
def no_file_written() -> Iterator[None]:
    """Fail if the block writes a file anywhere, or leaves one in its cwd or temp dir."""
    global _writes, _hooked
    if not _hooked:
        sys.addaudithook(_audit)
        _hooked = True
    saved_tempdir = tempfile.tempdir
    with tempfile.TemporaryDirectory() as cwd, tempfile.TemporaryDirectory() as tmp:
        tempfile.tempdir = tmp
        _writes = []
        try:
            with contextlib.chdir(cwd):
                yield
            assert _writes == []
        finally:
            _writes = None
            tempfile.tempdir = saved_tempdir
        assert os.listdir(cwd) == []
        assert os.listdir(tmp) == []


def test_the_write_detector_sees_a_write() -> None:
    with pytest.raises(AssertionError), no_file_written(), open("x", "w"):
        pass


def check_safe(archive: PackageArchive, limits: ArchiveLimits) -> None:
    """What holds for any input: only problems, and only safe members listed."""
    assert isinstance(archive, PackageArchive)
    for problem in archive.problems:
        assert isinstance(problem, Problem)
        assert problem.code.startswith("archive-")
        assert problem.field == "tarball"
    for member in archive.members:
        assert member and not member.startswith("/")
        assert ".." not in member.split("/")
        assert "\\" not in member
    assert len(archive.members) <= limits.max_members
    assert len(set(archive.members)) == len(archive.members)
    assert set(archive.files) <= set(archive.members)
    assert all(len(data) <= limits.max_kept_file_bytes for data in archive.files.values())


names = st.one_of(
    st.sampled_from(["fpm.toml", "./fpm.toml", "README.md", "src", "src/", "src/a.f90", ".",
                     "./", "..", "../x", "a/../../x", "/etc/passwd", "C:/x", "a\\b",
                     "pkg/fpm.toml", "x" * 200, "a//b", "./././fpm.toml"]),
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
            min_size=1, max_size=40),
)  # fmt: skip
entries = st.builds(
    Entry,
    name=names,
    type=st.sampled_from([tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE,
                          tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE,
                          tarfile.CONTTYPE, b"Z"]),
    data=st.one_of(st.binary(max_size=300), st.just(MANIFEST.encode())),
    mode=st.one_of(st.sampled_from([0o644, 0o755]), st.integers(0, 0o7777)),
    linkname=names,
)  # fmt: skip
small_limits = st.builds(
    ArchiveLimits,
    max_compressed_bytes=st.integers(20, 4000),
    max_uncompressed_bytes=st.integers(0, 5000),
    max_file_bytes=st.integers(0, 500),
    max_members=st.integers(1, 8),
    max_ratio=st.integers(1, 300),
    max_kept_file_bytes=st.integers(0, 500),
)
# Damage applied to the tar (before gzip) or to the gzip stream: (layer, kind, position, byte).
damages = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(["tar", "gzip"]), st.sampled_from(["truncate", "flip"]),
              st.integers(0, 20_000), st.integers(0, 255)),
)  # fmt: skip


def damaged(data: bytes, kind: str, position: int, byte: int) -> bytes:
    if not data:
        return data
    position %= len(data)
    if kind == "truncate":
        return data[:position]
    return data[:position] + bytes([byte]) + data[position + 1 :]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(entries, max_size=12),
    st.sampled_from([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]),
    st.one_of(st.just(DEFAULT_LIMITS), small_limits),
    damages,
    st.booleans(),
)
def test_any_tarball_gives_problems_never_an_exception_and_writes_nothing(
    members: list[Entry],
    format: int,
    limits: ArchiveLimits,
    damage: tuple[str, str, int, int] | None,
    compress: bool,
) -> None:
    raw = tar_bytes(members, format=format)
    if damage is not None and damage[0] == "tar":
        raw = damaged(raw, *damage[1:])
    data = gzip.compress(raw) if compress else raw
    if damage is not None and damage[0] == "gzip":
        data = damaged(data, *damage[1:])
    with no_file_written():
        archive = read_archive(io.BytesIO(data), limits)
    check_safe(archive, limits)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_after_a_gzip_magic_give_problems_never_an_exception(tail: bytes) -> None:
    with no_file_written():
        archive = read(b"\x1f\x8b" + tail)
    check_safe(archive, DEFAULT_LIMITS)
    assert archive.problems


pax_keywords = st.sampled_from(
    ["GNU.sparse.major", "GNU.sparse.minor", "GNU.sparse.map", "GNU.sparse.size",
     "GNU.sparse.realsize", "GNU.sparse.name", "GNU.sparse.numblocks", "GNU.sparse.offset",
     "GNU.sparse.numbytes", "size", "path", "linkpath", "uid", "gid", "mtime", "uname",
     "hdrcharset", "comment"]
)  # fmt: skip
pax_values = st.one_of(st.sampled_from(["0", "1", "10", "-1", "a,b", "1,2,3", "BINARY", ""]),
                       st.text(max_size=10))  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(pax_keywords, pax_values, max_size=6), st.binary(max_size=1200))
@example(SPARSE_1_0, b"x" * 512)
def test_any_pax_header_gives_problems_never_an_exception(pax: dict[str, str], data: bytes) -> None:
    with no_file_written():
        archive = read(gzip.compress(pax_member(pax, data)))
    check_safe(archive, DEFAULT_LIMITS)
