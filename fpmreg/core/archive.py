"""A safe reader for package tarballs: it inspects, never extracts, in bounded memory.

fpm unpacks tarballs with `tar -zxf FILE -C DIR` and needs `fpm.toml` at the root
(`docs/api-design.md`). Everything that could escape the target directory, exhaust
memory or disk, or surprise `tar` is refused here, before a byte is stored.
"""

from __future__ import annotations

import io
import re
import tarfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from fpmreg.core.problem import Problem, bounded
from fpmreg.core.sources import MAX_SCANNED_BYTES
from fpmreg.core.tarstream import CHUNK, Gunzip, SafeTarInfo, TooBig, TooCostly, Trailing

# The CPU budget bounds what one upload can cost the server (with the per-principal
# publish rate limits, what one account can). Measured (`bench/adversarial.py`, loaded
# 2-core machine): the 10 MB realistic package ~0.75 s, small ones under 30 ms, the
# costliest shape the member limit allows (8,000 members, each with a pax header)
# ~1.05 s. 2 s plus 3e-7 s/B gives the 10 MB package 5.1 s (7x) and small ones over 60x.
# `time.thread_time()` is this thread's CPU, so other requests' load does not count;
# read every `_BUDGET_CHECK_MEMBERS` members, it overruns by that many members' work.
CPU_BUDGET_FIXED_S = 2.0
CPU_BUDGET_PER_BYTE_S = 3e-7
# The thread's CPU clock is a system call (15-60 us on a loaded VM, a member's tar
# parsing): read every 16 members, it stays under 1% of the cost.
_BUDGET_CHECK_MEMBERS = 16


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
    # Source text compresses ~5-10x; 200x means a bomb, not code. Not lowered: the
    # realistic corpus unpacks to 1-4x, but generated sources and padded tables reach
    # tens of x and no wider sample was measured; the CPU a high ratio buys an attacker
    # (100 MiB scanned from ~0.5 MB) is bounded by the CPU budget instead.
    max_ratio: int = 200
    # Root files kept in memory for inspection (fpm.toml, README, version file).
    max_kept_file_bytes: int = 512 * 1024
    # CPU seconds the inspection may spend: `cpu_fixed_s + compressed bytes *
    # cpu_per_byte_s` (see `CPU_BUDGET_FIXED_S`).
    cpu_fixed_s: float = CPU_BUDGET_FIXED_S
    cpu_per_byte_s: float = CPU_BUDGET_PER_BYTE_S

    def cpu_budget(self, compressed_bytes: int) -> float:
        """CPU seconds the inspection of a tarball of `compressed_bytes` may take."""
        return self.cpu_fixed_s + compressed_bytes * self.cpu_per_byte_s


DEFAULT_LIMITS = ArchiveLimits()
# Root files the package page may show as the README, Markdown first.
README_FILES = re.compile(r"(?i)readme(\.(md|markdown|txt|rst))?")
# fpm reads `version = "path"` from any file; its first line is kept for that.
_FIRST_LINE_BYTES = 64
# fpm.toml is a small text file; anything bigger is not a real manifest.
MAX_MANIFEST_BYTES = 256 * 1024


# Member paths that unpack on the file systems consumers use. ext4, XFS, APFS and NTFS
# take at most 255 bytes (NTFS: UTF-16 units) in one file or folder name.
MAX_PATH_PART_BYTES = 255
# macOS's PATH_MAX is 1024 bytes, and it must also hold the folder fpm unpacks into
# (`~/.local/share/fpm/dependencies/NAME/` or a project's `build/dependencies/NAME/`):
# 256 bytes are left for that.
MAX_PATH_BYTES = 768
# Folders in a member path. Source trees are a few levels deep; each level is a folder
# every consumer creates and every tool walks, and deep trees break recursive tools.
MAX_PATH_DEPTH = 32
# The tar stream may exceed the content limit by its headers and padding: the end
# blocks, a record's padding and read-ahead buffers (at most ~30 KiB) at once, then
# per member a header, a pax or GNU long-name header for a path up to
# `MAX_PATH_BYTES`, and padding to 512 bytes. A flat 1 MiB let a 2 KB upload unpack
# (and be scanned) 1.4 MB.
_TAR_SLACK_BYTES = 64 * 1024
_MEMBER_OVERHEAD_BYTES = 4 * 1024
# Characters of a member name quoted in a message (its start and its end).
_SHOWN_NAME_CHARS = 120


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


def shown_name(name: str) -> str:
    """`name` as a message quotes it: very long names keep their start and end."""
    if len(name) <= _SHOWN_NAME_CHARS:
        return name
    return name[: _SHOWN_NAME_CHARS - 40] + "…" + name[-39:]


def _path_problem(name: str, bad: Callable[[str, str], Problem]) -> Problem | None:
    parts = name.split("/")
    if len(parts) - 1 > MAX_PATH_DEPTH:
        return bad(
            "archive-path-too-deep",
            f"is {len(parts) - 1} folders deep, more than {MAX_PATH_DEPTH}: flatten the tree",
        )
    encoded = name.encode()
    if len(encoded) > MAX_PATH_BYTES:
        return bad(
            "archive-path-too-long",
            f"is a path of more than {MAX_PATH_BYTES} bytes, too long for some file "
            "systems: use shorter names",
        )
    if max(map(len, encoded.split(b"/"))) > MAX_PATH_PART_BYTES:
        return bad(
            "archive-path-too-long",
            f"has a file or folder name of more than {MAX_PATH_PART_BYTES} bytes, which "
            "file systems refuse: use a shorter name",
        )
    return None


def _member_problem(member: tarfile.TarInfo, name: str) -> Problem | None:
    def bad(code: str, what: str) -> Problem:
        return Problem(code, "tarball", f"archive member `{shown_name(name)}` {what}")

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
    return _path_problem(name, bad)


def _container_problem(compressed: bytes, limits: ArchiveLimits) -> Problem | None:
    """Whether the upload is a gzip stream of an acceptable size."""
    if len(compressed) > limits.max_compressed_bytes:
        return Problem(
            "archive-too-large",
            "tarball",
            f"the tarball is larger than {limits.max_compressed_bytes} bytes",
        )
    if not compressed.startswith(b"\x1f\x8b"):
        return Problem(
            "archive-not-gzip",
            "tarball",
            "the tarball is not gzip-compressed: upload a `.tar.gz` "
            "(as `git archive HEAD --format=tar.gz` makes)",
        )
    return None


_LEADING_DOTS = re.compile(r"(?:\./)*")


def _member_name(member: tarfile.TarInfo) -> str:
    """The member's path without leading `./` (and a folder's trailing `/`)."""
    name = member.name
    name = name[_LEADING_DOTS.match(name).end() :]  # type: ignore[union-attr]
    return name.rstrip("/") if member.isdir() else name


class _Reader:
    """One pass over a tarball's members, filling in a `PackageArchive`."""

    def __init__(
        self,
        result: PackageArchive,
        limits: ArchiveLimits,
        visit: Callable[[str, bytes], None] | None,
    ) -> None:
        self.result = result
        self.limits = limits
        self.visit = visit
        self.seen: set[str] = set()
        self.deadline = 0.0  # `time.thread_time()` past which the reading stops

    def problem(self, code: str, message: str) -> None:
        self.result.problems.append(Problem(code, "tarball", message))

    def read(self, tar: tarfile.TarFile, gunzip: Gunzip) -> None:
        """Every member, then what follows the end-of-archive blocks."""
        for count, member in enumerate(tar, start=1):
            if count > self.limits.max_members:
                self.problem(
                    "archive-too-many-members",
                    f"the tarball has more than {self.limits.max_members} members",
                )
                return
            gunzip.allow(_MEMBER_OVERHEAD_BYTES)
            self.member(tar, member)
            if count % _BUDGET_CHECK_MEMBERS == 0 and time.thread_time() > self.deadline:
                raise TooCostly
        # After the first zero block, only zeros may follow (the rest of the end blocks
        # and the padding to a whole record), and nothing after the gzip member.
        stream = tar.fileobj
        while chunk := stream.read(CHUNK):
            if chunk.count(0) != len(chunk):
                raise Trailing
        if gunzip.trailing:
            raise Trailing

    def member(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        name = _member_name(member)
        if not name or name == ".":
            return
        problem = _member_problem(member, name)
        if problem is not None:
            self.result.problems.append(problem)
            return
        if name in self.seen:
            self.problem(
                "archive-duplicate-member", f"archive member `{name}` appears more than once"
            )
            return
        self.seen.add(name)
        self.result.members.append(name + ("/" if member.isdir() else ""))
        if member.isfile():
            self.file(tar, member, name)

    def file(self, tar: tarfile.TarFile, member: tarfile.TarInfo, name: str) -> None:
        limits, result = self.limits, self.result
        if member.size > limits.max_file_bytes:
            self.problem(
                "archive-file-too-large",
                f"archive member `{name}` is larger than {limits.max_file_bytes} bytes",
            )
        result.uncompressed_bytes += member.size
        if result.uncompressed_bytes > limits.max_uncompressed_bytes:
            raise TooBig
        if name == "fpm.toml" and member.size > MAX_MANIFEST_BYTES:
            self.problem(
                "archive-file-too-large",
                f"`fpm.toml` is larger than {MAX_MANIFEST_BYTES} bytes: a manifest "
                "is a small text file",
            )
            return
        keep = "/" not in name and member.size <= limits.max_kept_file_bytes
        wanted = max(
            member.size if keep else 0,
            MAX_SCANNED_BYTES if self.visit else 0,
            min(member.size, _FIRST_LINE_BYTES),
        )
        handle = tar.extractfile(member) if wanted else None
        if handle is None:
            return
        head = handle.read(wanted)
        result.first_lines[name] = head[:_FIRST_LINE_BYTES]
        if keep:
            result.files[name] = head
        if self.visit is not None:
            self.visit(name, head[:MAX_SCANNED_BYTES])


def _no_manifest_problem(result: PackageArchive) -> Problem:
    nested = [m for m in result.members if m.endswith("/fpm.toml")]
    hint = (
        f" (found `{nested[0]}`: put the package at the archive root, no top folder)"
        if nested
        else ""
    )
    return Problem(
        "archive-no-manifest", "tarball", f"the tarball has no `fpm.toml` at its root{hint}"
    )


def _read(
    compressed: bytes,
    limits: ArchiveLimits,
    visit: Callable[[str, bytes], None] | None,
    result: PackageArchive,
) -> None:
    problems = result.problems
    limit = min(limits.max_uncompressed_bytes, max(len(compressed), 1) * limits.max_ratio)
    gunzip = Gunzip(compressed, limit + _TAR_SLACK_BYTES)
    budget = limits.cpu_budget(len(compressed))
    reader = _Reader(result, limits, visit)
    reader.deadline = time.thread_time() + budget
    try:
        with tarfile.open(
            fileobj=io.BufferedReader(gunzip),
            mode="r|",
            encoding="utf-8",
            errors="strict",
            tarinfo=SafeTarInfo,
        ) as tar:
            reader.read(tar, gunzip)
    except TooCostly:
        problems.append(
            Problem(
                "archive-too-costly",
                "tarball",
                f"the package is too costly to check (over {budget:.2f} s of CPU for "
                f"{len(compressed)} compressed bytes): split it, or remove generated files",
            )
        )
    except TooBig:
        problems.append(
            Problem(
                "archive-too-large-uncompressed",
                "tarball",
                f"the tarball unpacks to more than {limit} bytes (limit "
                f"{limits.max_uncompressed_bytes} bytes, at most {limits.max_ratio}x "
                "the compressed size)",
            )
        )
    except Trailing:
        problems.append(
            Problem(
                "archive-trailing-data",
                "tarball",
                "the tarball has data after its end (a second gzip member, or bytes after "
                "the tar's end-of-archive blocks), which some unpackers read and others "
                "ignore: upload the output of `git archive HEAD --format=tar.gz` as it is",
            )
        )
    except UnicodeError:
        problems.append(
            Problem("archive-name-encoding", "tarball", "an archive member name is not UTF-8")
        )
    except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError) as exc:
        problems.append(
            Problem(
                "archive-corrupt",
                "tarball",
                f"the tarball cannot be read as gzip tar ({exc}): upload the output of "
                "`git archive HEAD --format=tar.gz`",
            )
        )
    else:
        if "fpm.toml" not in result.files and not problems:
            problems.append(_no_manifest_problem(result))


def read_archive(
    stream: BinaryIO,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    visit: Callable[[str, bytes], None] | None = None,
) -> PackageArchive:
    """Inspect a gzip tar from `stream`; every problem lands in `.problems`, never raised.

    `visit(path, head)` is called for each regular file with at most its first
    `MAX_SCANNED_BYTES` bytes, so checks can look inside without unbounded memory.
    Problems are `bounded` (at most `MAX_PROBLEMS_PER_CODE` of a code are listed)."""
    result = PackageArchive()
    compressed = stream.read(limits.max_compressed_bytes + 1)
    problem = _container_problem(compressed, limits)
    if problem is not None:
        result.problems.append(problem)
    else:
        _read(compressed, limits, visit, result)
    result.problems = bounded(result.problems)
    return result
