"""A safe reader for package tarballs: it inspects, never extracts, in bounded memory.

fpm unpacks tarballs with `tar -zxf FILE -C DIR` and needs `fpm.toml` at the root
(`docs/api-design.md`). Everything that could escape the target directory, exhaust
memory or disk, or surprise `tar` is refused here, before a byte is stored.
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from fpmreg.core.problem import Problem
from fpmreg.core.sources import MAX_SCANNED_BYTES


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Bounds on what an uploaded tarball may contain (reasons beside each default)."""

    # crates.io's default is 10 MB compressed; Fortran sources are small.
    max_compressed_bytes: int = 10 * 1024 * 1024
    # Unpacked size: bounds the disk every consumer gives the package.
    max_uncompressed_bytes: int = 100 * 1024 * 1024
    # A single file: large data files belong elsewhere.
    max_file_bytes: int = 50 * 1024 * 1024
    # Member count: bounds per-member work and inodes on consumers.
    max_members: int = 10_000
    # Source text compresses ~5-10x; 200x means a bomb, not code.
    max_ratio: int = 200
    # Root files kept in memory for inspection (fpm.toml, README, version file).
    max_kept_file_bytes: int = 512 * 1024


DEFAULT_LIMITS = ArchiveLimits()
# Root files the package page may show as the README, Markdown first.
README_FILES = re.compile(r"(?i)readme(\.(md|markdown|txt|rst))?")
# fpm reads `version = "path"` from any file; its first line is kept for that.
_FIRST_LINE_BYTES = 64
# fpm.toml is a small text file; anything bigger is not a real manifest.
MAX_MANIFEST_BYTES = 256 * 1024
_CHUNK = 64 * 1024


class _Bounded(io.RawIOBase):
    """Decompressed stream that stops at a byte limit (so a bomb costs nothing)."""

    def __init__(self, inner: io.BufferedIOBase | BinaryIO, limit: int) -> None:
        self._inner = inner
        self._limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(min(len(buffer), _CHUNK))
        self.count += len(data)
        if self.count > self._limit:
            raise _TooBig
        buffer[: len(data)] = data
        return len(data)


class _TooBig(Exception):
    pass


# `tarfile` reads a pax or GNU long-name header whole, and a GNU sparse map into lists,
# before the reader sees the member: refuse big headers and sparse files before that.
_MAX_EXTENDED_HEADER_BYTES = 64 * 1024
_EXTENDED_HEADER_TYPES = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)


class _SafeTarInfo(tarfile.TarInfo):
    """A `TarInfo` that refuses the headers `tarfile` would buffer without bound."""

    def _proc_member(self, tar):  # type: ignore[no-untyped-def]
        if self.type in _EXTENDED_HEADER_TYPES and self.size > _MAX_EXTENDED_HEADER_BYTES:
            raise _TooBig
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise tarfile.HeaderError("sparse files are not allowed")
        return super()._proc_member(tar)  # type: ignore[misc]

    def _proc_gnusparse_00(self, *args):  # type: ignore[no-untyped-def]
        raise tarfile.HeaderError("sparse files are not allowed")

    _proc_gnusparse_01 = _proc_gnusparse_10 = _proc_gnusparse_00


@dataclass
class PackageArchive:
    """What the reader learned about a tarball: its members and small root files."""

    members: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    # The start of every file (for `version = "sub/VERSION"`), at most 64 bytes each.
    first_lines: dict[str, bytes] = field(default_factory=dict)
    uncompressed_bytes: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def manifest_text(self) -> str | None:
        """The root `fpm.toml`, decoded, when present."""
        data = self.files.get("fpm.toml")
        return None if data is None else data.decode("utf-8", "replace")

    @property
    def readme(self) -> tuple[str, str] | None:
        """The (file name, text) of the root README, when there is one."""
        names = sorted(
            (n for n in self.files if README_FILES.fullmatch(n)),
            key=lambda n: (not n.lower().endswith((".md", ".markdown")), n),
        )
        if not names:
            return None
        return names[0], self.files[names[0]].decode("utf-8", "replace")


def _member_problem(member: tarfile.TarInfo, name: str) -> Problem | None:
    def bad(code: str, what: str) -> Problem:
        return Problem(code, "tarball", f"archive member `{name}` {what}")

    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return bad("archive-absolute-path", "has an absolute path: paths must be relative")
    if ".." in name.split("/"):
        return bad("archive-parent-path", "contains `..`, which would escape the package")
    if "\\" in name:
        return bad("archive-backslash", "contains `\\`; use `/` between path parts")
    if member.issym() or member.islnk():
        return bad("archive-link", "is a link: symbolic and hard links are not allowed")
    if member.isdev() or member.isfifo():
        return bad("archive-special-file", "is a device or FIFO: only files and folders")
    if not (member.isfile() or member.isdir()):
        return bad("archive-special-file", "is not a regular file or folder")
    if member.mode & 0o6000:
        return bad("archive-setuid", "has the setuid or setgid bit set")
    return None


def read_archive(
    stream: BinaryIO,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    visit: Callable[[str, bytes], None] | None = None,
) -> PackageArchive:
    """Inspect a gzip tar from `stream`; every problem lands in `.problems`, never raised.

    `visit(path, head)` is called for each regular file with at most its first
    `MAX_SCANNED_BYTES` bytes, so checks can look inside without unbounded memory."""
    result = PackageArchive()
    problems = result.problems
    compressed = stream.read(limits.max_compressed_bytes + 1)
    if len(compressed) > limits.max_compressed_bytes:
        problems.append(
            Problem(
                "archive-too-large",
                "tarball",
                f"the tarball is larger than {limits.max_compressed_bytes} bytes",
            )
        )
        return result
    if not compressed.startswith(b"\x1f\x8b"):
        problems.append(
            Problem(
                "archive-not-gzip",
                "tarball",
                "the tarball is not gzip-compressed: upload a `.tar.gz` "
                "(as `git archive HEAD --format=tar.gz` makes)",
            )
        )
        return result
    limit = min(limits.max_uncompressed_bytes, max(len(compressed), 1) * limits.max_ratio)
    # tar headers and padding: allow a little above the content limit.
    bounded = _Bounded(gzip.GzipFile(fileobj=io.BytesIO(compressed)), limit + 1024 * 1024)
    seen: set[str] = set()
    try:
        with tarfile.open(
            fileobj=io.BufferedReader(bounded),
            mode="r|",
            encoding="utf-8",
            errors="strict",
            tarinfo=_SafeTarInfo,
        ) as tar:
            for count, member in enumerate(tar, start=1):
                if count > limits.max_members:
                    problems.append(
                        Problem(
                            "archive-too-many-members",
                            "tarball",
                            f"the tarball has more than {limits.max_members} members",
                        )
                    )
                    break
                name = member.name
                while name.startswith("./"):
                    name = name[2:]
                name = name.rstrip("/") if member.isdir() else name
                if not name or name == ".":
                    continue
                problem = _member_problem(member, name)
                if problem is not None:
                    problems.append(problem)
                    continue
                if name in seen:
                    problems.append(
                        Problem(
                            "archive-duplicate-member",
                            "tarball",
                            f"archive member `{name}` appears more than once",
                        )
                    )
                    continue
                seen.add(name)
                result.members.append(name + ("/" if member.isdir() else ""))
                if not member.isfile():
                    continue
                if member.size > limits.max_file_bytes:
                    problems.append(
                        Problem(
                            "archive-file-too-large",
                            "tarball",
                            f"archive member `{name}` is larger than {limits.max_file_bytes} bytes",
                        )
                    )
                result.uncompressed_bytes += member.size
                if result.uncompressed_bytes > limits.max_uncompressed_bytes:
                    raise _TooBig
                if name == "fpm.toml" and member.size > MAX_MANIFEST_BYTES:
                    problems.append(
                        Problem(
                            "archive-file-too-large",
                            "tarball",
                            f"`fpm.toml` is larger than {MAX_MANIFEST_BYTES} bytes: a manifest "
                            "is a small text file",
                        )
                    )
                    continue
                keep = "/" not in name and member.size <= limits.max_kept_file_bytes
                wanted = max(
                    member.size if keep else 0,
                    MAX_SCANNED_BYTES if visit else 0,
                    min(member.size, _FIRST_LINE_BYTES),
                )
                handle = tar.extractfile(member) if wanted else None
                if handle is not None:
                    head = handle.read(wanted)
                    result.first_lines[name] = head[:_FIRST_LINE_BYTES]
                    if keep:
                        result.files[name] = head
                    if visit is not None:
                        visit(name, head[:MAX_SCANNED_BYTES])
    except _TooBig:
        problems.append(
            Problem(
                "archive-too-large-uncompressed",
                "tarball",
                f"the tarball unpacks to more than {limit} bytes (limit "
                f"{limits.max_uncompressed_bytes} bytes, at most {limits.max_ratio}x "
                "the compressed size)",
            )
        )
        return result
    except UnicodeError:
        problems.append(
            Problem("archive-name-encoding", "tarball", "an archive member name is not UTF-8")
        )
        return result
    except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError) as exc:
        problems.append(
            Problem(
                "archive-corrupt",
                "tarball",
                f"the tarball cannot be read as gzip tar ({exc}): upload the output of "
                "`git archive HEAD --format=tar.gz`",
            )
        )
        return result
    if "fpm.toml" not in result.files and not problems:
        nested = [m for m in result.members if m.endswith("/fpm.toml")]
        hint = (
            f" (found `{nested[0]}`: put the package at the archive root, no top folder)"
            if nested
            else ""
        )
        problems.append(
            Problem(
                "archive-no-manifest",
                "tarball",
                f"the tarball has no `fpm.toml` at its root{hint}",
            )
        )
    return result
