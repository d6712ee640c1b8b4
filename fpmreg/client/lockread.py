"""Reading `fpm.lock` from a project folder (docs/locking.md).

Apart from `fpmreg.client.lock` (which re-exports these), whose resolver and tables a
command that only reads the lock (`fpmreg verify`) need not import."""

from __future__ import annotations

from pathlib import Path

from fpmreg.client.errors import ClientError, UsageError
from fpmreg.core.lockfile import LOCK_FILE_NAME, Lock, LockFileError, loads


def read_lock(directory: Path) -> tuple[str | None, Lock | None]:
    """The text and content of `directory/fpm.lock`, (None, None) when there is none."""
    try:
        text, lock = read_lock_file(directory / LOCK_FILE_NAME)
    except FileNotFoundError:
        return None, None
    return text, lock


def read_lock_file(path: Path) -> tuple[str, Lock]:
    """The text and content of a lock file; `FileNotFoundError` when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except (OSError, UnicodeError) as exc:
        raise UsageError(f"cannot read `{path}`: {exc}") from exc
    try:
        return text, loads(text)
    except LockFileError as exc:
        raise ClientError(f"`{path}`: {exc}") from exc
