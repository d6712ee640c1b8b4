"""Unpack a package tarball into a folder, safely: what `fpmreg sync` and `mirror` install.

fpm itself runs `tar -zxf FILE -C DIR` (docs/fpm-protocol.md §1.4) and trusts the archive.
Here the tarball first passes `read_archive` (every problem refuses it), then each
member is checked again while it is written (defence in depth, so this module is safe
on its own): regular files and folders only, relative paths without `..`, every path
resolved and verified to stay inside the target, files created with `O_EXCL |
O_NOFOLLOW`. Files get mode 0644, or 0755 when the archive gave the owner the execute
bit; folders 0755 (ownership and odd modes from the archive are not kept).

The tree is written into a fresh folder beside the target and renamed into place, so
a failure at any point leaves the previous tree as it was.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tarfile
import tempfile
import uuid
import zlib
from pathlib import Path, PurePosixPath
from typing import IO

from fpmreg.core.archive import DEFAULT_LIMITS, ArchiveLimits, read_archive
from fpmreg.core.problem import Problem, ProblemsError

FILE_MODE = 0o644
EXECUTABLE_MODE = 0o755
FOLDER_MODE = 0o755
_CHUNK = 64 * 1024
# The work folders beside the target start with this. fpm aborts on a folder in a
# registry package folder whose name is not a version (docs/fpm-protocol.md §1.8), so they
# are removed on every failure, and `remove_leftovers` clears those a crash left.
STAGING_PREFIX = ".fpmreg-unpack-"


class UnpackError(ProblemsError):
    """The tarball was not unpacked; `problems` says why. The target is untouched."""


def _problem(code: str, message: str) -> UnpackError:
    return UnpackError([Problem(code, "tarball", message)])


def _member_path(name: str) -> PurePosixPath | None:
    """The relative path of a member, or None for the archive root itself."""
    if name.startswith("/") or "\\" in name or (len(name) > 1 and name[1] == ":"):
        raise _problem("archive-absolute-path", f"archive member `{name}` is not a relative path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _problem("archive-parent-path", f"archive member `{name}` contains `..`")
    return PurePosixPath(*parts) if parts else None


def _inside(root: Path, relative: PurePosixPath) -> Path:
    """`root / relative`, refused unless it resolves to a path inside `root`."""
    path = root.joinpath(*relative.parts)
    resolved = path.resolve()
    if resolved == root or not resolved.is_relative_to(root):
        raise _problem(
            "archive-path-escape", f"archive member `{relative}` would be written outside"
        )
    return path


def _make_folders(root: Path, relative: PurePosixPath) -> None:
    """Create the folders of `relative` under `root`, refusing anything but folders."""
    current = root
    for part in relative.parts:
        current = current / part
        with contextlib.suppress(FileExistsError):
            os.mkdir(current, FOLDER_MODE)
        if current.is_symlink() or not current.is_dir():
            raise _problem(
                "archive-path-conflict",
                f"archive member path `{relative}` goes through a file",
            )
        os.chmod(current, FOLDER_MODE)


def _write_file(path: Path, source: IO[bytes], size: int, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise _problem(
            "archive-duplicate-member", f"archive member `{path.name}` appears more than once"
        ) from None
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), mode)  # the umask must not change what fpm sees
        remaining = size
        while remaining > 0:
            chunk = source.read(min(_CHUNK, remaining))
            if not chunk:
                raise _problem("archive-corrupt", f"archive member `{path.name}` is truncated")
            out.write(chunk)
            remaining -= len(chunk)


def _unpack_into(data: bytes, root: Path, limits: ArchiveLimits) -> list[str]:
    written: list[str] = []
    total = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|gz", encoding="utf-8") as tar:
        for count, member in enumerate(tar, start=1):
            if count > limits.max_members:
                raise _problem("archive-too-many-members", "the tarball has too many members")
            relative = _member_path(member.name)
            if relative is None:
                continue
            if not (member.isfile() or member.isdir()):
                raise _problem(
                    "archive-special-file",
                    f"archive member `{relative}` is not a regular file or folder",
                )
            if member.isdir():
                _inside(root, relative)
                _make_folders(root, relative)
                continue
            total += member.size
            if member.size > limits.max_file_bytes or total > limits.max_uncompressed_bytes:
                raise _problem("archive-too-large-uncompressed", "the tarball unpacks too large")
            if relative.parent.parts:
                _inside(root, relative.parent)
                _make_folders(root, relative.parent)
            path = _inside(root, relative)
            source = tar.extractfile(member)
            if source is None:  # pragma: no cover - regular files always have a body
                raise _problem("archive-corrupt", f"archive member `{relative}` has no data")
            mode = EXECUTABLE_MODE if member.mode & 0o100 else FILE_MODE
            _write_file(path, source, member.size, mode)
            written.append(str(relative))
    return written


def extract_package(data: bytes, target: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> list[str]:
    """Unpack the tarball `data` so that `target` holds exactly its files; returns them.

    Raises `UnpackError` (target untouched) when `read_archive` finds any problem or a
    member would land outside `target`. An existing `target` is replaced only once the
    new tree is complete."""
    archive = read_archive(io.BytesIO(data), limits)
    if archive.problems:
        raise UnpackError(list(archive.problems))
    target = Path(os.path.abspath(target))
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=parent)).resolve()
    try:
        os.chmod(staging, FOLDER_MODE)
        try:
            written = _unpack_into(data, staging, limits)
        except (tarfile.TarError, EOFError, zlib.error, UnicodeError) as exc:
            raise _problem("archive-corrupt", f"the tarball cannot be read ({exc})") from None
        except OSError as exc:
            raise _problem("unpack-failed", f"cannot write the package: {exc}") from None
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(written)


def _swap(staging: Path, target: Path) -> None:
    """Put `staging` at `target`; the old `target`, if any, is moved aside then removed.

    Two renames on one filesystem: at every instant either the old or the new tree is
    complete on disk (between the two renames the old one is at `.fpmreg-unpack-old-*`)."""
    if not target.exists() and not target.is_symlink():
        os.rename(staging, target)
        return
    old = target.parent / f"{STAGING_PREFIX}old-{uuid.uuid4().hex}"
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)
        raise
    if old.is_symlink() or not old.is_dir():
        old.unlink()
    else:
        shutil.rmtree(old)


def remove_leftovers(folder: Path) -> list[Path]:
    """Remove the work folders an interrupted `extract_package` left in `folder`."""
    removed = []
    for path in sorted(folder.glob(STAGING_PREFIX + "*")) if folder.is_dir() else []:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed
