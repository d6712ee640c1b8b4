"""The reproducible diff between two package tarballs (docs/diffs.md).

Pure: tarball bytes in, a `PackageDiff` out, nothing written anywhere. Each tarball is
first checked by `archive.read_archive` (any problem refuses it), then read once more
through the same hardened stream (`tarstream`) with every file kept in memory only up
to `DiffLimits`: a file larger than `max_text_file_bytes` is compared by digest alone,
a tree or a diff over its bound is `DiffTooLarge`.

The output depends on the two tarballs only: paths sorted by code point, no dates,
file headers `--- a/PATH` / `+++ b/PATH` followed by a tab and the file's sha256 (the
place a unified diff keeps a timestamp, which `patch` and `git apply` ignore), and a
first line naming both versions and both tarball digests.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import re
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from fpmreg.core.archive import DEFAULT_LIMITS, ArchiveLimits, read_archive
from fpmreg.core.problem import Problem, ProblemsError
from fpmreg.core.tarstream import CHUNK, Gunzip, SafeTarInfo, TooBig
from fpmreg.core.wire.diffs import DiffFile, PackageDiff

# The name of the empty package, as `from` (also accepted: `0.0.0`).
EMPTY = "empty"
# Lines of context around each change, as `diff -u` and git show.
CONTEXT_LINES = 3
_NO_NEWLINE = "\\ No newline at end of file\n"
_HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\]')


@dataclass(frozen=True, slots=True)
class DiffLimits:
    """Bounds on one diff (reasons beside each default)."""

    # Text kept in memory per version: source packages are a few MB unpacked.
    max_tree_bytes: int = 32 * 1024 * 1024
    # A larger file is not shown line by line (a reviewer cannot read it either).
    max_text_file_bytes: int = 1024 * 1024
    # The text answer: beyond a few MB a diff is not reviewable in one piece.
    max_diff_bytes: int = 4 * 1024 * 1024
    archive: ArchiveLimits = DEFAULT_LIMITS


DEFAULT_DIFF_LIMITS = DiffLimits()


class DiffTooLarge(Exception):
    """The diff (or a tree it needs) is over a `DiffLimits` bound; the message says which."""


class DiffInputError(ProblemsError):
    """A tarball is not one the registry would accept; `problems` say why."""


@dataclass(frozen=True, slots=True)
class TreeFile:
    """One regular file of a package: its digest, size and, when small enough, bytes."""

    sha256: str
    size: int
    data: bytes | None  # None when over `max_text_file_bytes`

    @property
    def text(self) -> str | None:
        """The content as text, or None when it is binary (not UTF-8, or has NUL)."""
        if self.data is None or b"\x00" in self.data:
            return None
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return None


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a diff: a version's name, its tarball digest ("" if empty), its files."""

    version: str
    sha256: str
    files: Mapping[str, TreeFile]


def tree_file(data: bytes, limits: DiffLimits = DEFAULT_DIFF_LIMITS) -> TreeFile:
    """A `TreeFile` of `data` (for building sides directly, as the tests do)."""
    kept = data if len(data) <= limits.max_text_file_bytes else None
    return TreeFile(hashlib.sha256(data).hexdigest(), len(data), kept)


def _member_name(member: tarfile.TarInfo) -> str:
    name = member.name
    while name.startswith("./"):
        name = name[2:]
    return name


def read_tree(data: bytes, limits: DiffLimits = DEFAULT_DIFF_LIMITS) -> dict[str, TreeFile]:
    """The regular files of the tarball `data`, by path.

    Raises `DiffInputError` when `read_archive` finds a problem, `DiffTooLarge` when the
    kept bytes pass `max_tree_bytes`."""
    archive = read_archive(io.BytesIO(data), limits.archive)
    if archive.problems:
        raise DiffInputError(list(archive.problems))
    bound = limits.archive.max_uncompressed_bytes + limits.archive.max_members * 4096 + CHUNK
    files: dict[str, TreeFile] = {}
    kept = 0
    try:
        with tarfile.open(
            fileobj=io.BufferedReader(Gunzip(data, bound)),
            mode="r|",
            encoding="utf-8",
            tarinfo=SafeTarInfo,
        ) as tar:
            for member in tar:
                if not member.isfile():
                    continue
                entry = _read_member(tar, member, limits)
                kept += len(entry.data or b"")
                if kept > limits.max_tree_bytes:
                    raise DiffTooLarge(
                        f"the package's text files are over {limits.max_tree_bytes} bytes, "
                        "the most a diff reads"
                    )
                files[_member_name(member)] = entry
    except (tarfile.TarError, EOFError, zlib.error, TooBig, UnicodeError) as exc:
        problem = Problem("archive-corrupt", "tarball", f"the tarball cannot be read ({exc})")
        raise DiffInputError([problem]) from None
    return files


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, limits: DiffLimits) -> TreeFile:
    source = tar.extractfile(member)
    digest = hashlib.sha256()
    keep = member.size <= limits.max_text_file_bytes
    body = bytearray()
    while source is not None and (chunk := source.read(CHUNK)):
        digest.update(chunk)
        if keep:
            body += chunk
    return TreeFile(digest.hexdigest(), member.size, bytes(body) if keep else None)


def quoted(prefix: str, path: str) -> str:
    """`prefix + path`, in double quotes with C escapes when the path has a control
    character, a quote or a backslash (as git quotes paths), so no path forges a line."""
    if not _UNSAFE.search(path):
        return prefix + path

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        named = {"\n": "\\n", "\t": "\\t", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
        return named.get(char, f"\\{ord(char):03o}")

    return '"' + prefix + _UNSAFE.sub(escape, path) + '"'


def split_lines(text: str) -> list[str]:
    """`text` in lines split at `\\n` only, each keeping its `\\n` (the last may lack it)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def _headers(path: str, old: TreeFile | None, new: TreeFile | None) -> str:
    before = f"{quoted('a/', path)}\tsha256:{old.sha256}" if old else "/dev/null"
    after = f"{quoted('b/', path)}\tsha256:{new.sha256}" if new else "/dev/null"
    return f"--- {before}\n+++ {after}\n"


def _text_change(path: str, old: TreeFile | None, new: TreeFile | None) -> tuple[str, int, int]:
    """The file's unified diff and its counts of added and removed lines."""
    before = split_lines((old.text or "") if old else "")
    after = split_lines((new.text or "") if new else "")
    body: list[str] = []
    added = removed = 0
    hunks = difflib.unified_diff(before, after, n=CONTEXT_LINES, lineterm="\n")
    for index, line in enumerate(hunks):
        if index < 2:  # difflib's own `---`/`+++`: ours carry the digests
            continue
        added += line.startswith("+")
        removed += line.startswith("-")
        body.append(line if line.endswith("\n") else line + "\n" + _NO_NEWLINE)
    return _headers(path, old, new) + "".join(body), added, removed


def _binary_change(path: str, old: TreeFile | None, new: TreeFile | None) -> str:
    before = f"{quoted('a/', path)} (sha256:{old.sha256})" if old else "/dev/null"
    after = f"{quoted('b/', path)} (sha256:{new.sha256})" if new else "/dev/null"
    return f"Binary files {before} and {after} differ\n"


def _change(path: str, old: TreeFile | None, new: TreeFile | None) -> DiffFile:
    binary = (old is not None and old.text is None) or (new is not None and new.text is None)
    if binary:
        text, added, removed = _binary_change(path, old, new), 0, 0
    else:
        text, added, removed = _text_change(path, old, new)
    return DiffFile(
        path=path,
        status="added" if old is None else "removed" if new is None else "changed",
        old_sha256=old.sha256 if old else "",
        new_sha256=new.sha256 if new else "",
        old_size=old.size if old else 0,
        new_size=new.size if new else 0,
        binary=binary,
        lines_added=added,
        lines_removed=removed,
        diff=text,
    )


def diff_sides(
    package: str, old: Side, new: Side, limits: DiffLimits = DEFAULT_DIFF_LIMITS
) -> PackageDiff:
    """Every file that differs from `old` to `new`, sorted by path; `package` is
    `NAMESPACE/NAME`. Raises `DiffTooLarge` once the text passes `max_diff_bytes`."""
    changes: list[DiffFile] = []
    size = len(header_line(package, old, new))
    for path in sorted(old.files.keys() | new.files.keys()):
        before, after = old.files.get(path), new.files.get(path)
        if before is not None and after is not None and before.sha256 == after.sha256:
            continue
        change = _change(path, before, after)
        size += len(change.diff.encode())
        if size > limits.max_diff_bytes:
            raise DiffTooLarge(
                f"the diff from {old.version} to {new.version} is larger than "
                f"{limits.max_diff_bytes} bytes, the most the registry serves: "
                "compare the tarballs locally"
            )
        changes.append(change)
    namespace, _, name = package.partition("/")
    return PackageDiff(
        namespace=namespace,
        name=name,
        from_version=old.version,
        from_sha256=old.sha256,
        to_version=new.version,
        to_sha256=new.sha256,
        files_added=sum(c.status == "added" for c in changes),
        files_removed=sum(c.status == "removed" for c in changes),
        files_changed=sum(c.status == "changed" for c in changes),
        lines_added=sum(c.lines_added for c in changes),
        lines_removed=sum(c.lines_removed for c in changes),
        files=changes,
    )


def header_line(package: str, old: Side, new: Side) -> str:
    """The first line of the text: both versions and both tarball digests."""
    before = f"sha256:{old.sha256}" if old.sha256 else "(no tarball)"
    return (
        f"# fpmreg diff {package} from {old.version} {before} "
        f"to {new.version} sha256:{new.sha256}\n"
    )


def render(diff: PackageDiff) -> str:
    """The text answer: the header line, a summary line, then each file's diff."""
    package = f"{diff.namespace}/{diff.name}"
    old = Side(diff.from_version, diff.from_sha256, {})
    new = Side(diff.to_version, diff.to_sha256, {})
    summary = (
        f"# {len(diff.files)} files differ: {diff.files_added} added, "
        f"{diff.files_removed} removed, {diff.files_changed} changed; "
        f"+{diff.lines_added} -{diff.lines_removed} lines\n"
    )
    return header_line(package, old, new) + summary + "".join(f.diff for f in diff.files)


def _apply_file(before: str, patch: str) -> str:
    """`before` with the hunks of one file's `patch` applied (strictly: context must match)."""
    old = split_lines(before)
    result: list[str] = []
    position = 0
    kept_last = False  # whether the previous line went into `result`
    for line in split_lines(patch)[2:]:  # after `---` and `+++`
        if line.startswith("@@"):
            match = _HUNK.match(line)
            if match is None:
                raise ValueError(f"bad hunk header {line!r}")
            start = int(match[1]) - (0 if match[2] == "0" else 1)
            result += old[position:start]
            position = start
        elif line == _NO_NEWLINE:
            if kept_last:
                result[-1] = result[-1].removesuffix("\n")
        elif line.startswith("+"):
            result.append(line[1:])
            kept_last = True
        else:
            if position >= len(old) or old[position].removesuffix("\n") != line[1:-1]:
                raise ValueError(f"context does not match at line {position + 1}")
            kept_last = line.startswith(" ")
            if kept_last:
                result.append(old[position])
            position += 1
    return "".join(result + old[position:])


def apply_diff(files: Mapping[str, str], diff: PackageDiff) -> dict[str, str]:
    """The text files `files` with `diff` applied: what a reviewer's tree becomes.

    Binary changes cannot be applied from the text and raise `ValueError`."""
    result = dict(files)
    for change in diff.files:
        if change.binary:
            raise ValueError(f"`{change.path}` is binary: only its digests are in the diff")
        if change.status == "removed":
            del result[change.path]
        else:
            result[change.path] = _apply_file(result.get(change.path, ""), change.diff)
    return result
