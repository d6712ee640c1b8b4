"""A cross-process change counter, so per-process caches never serve stale metadata.

Every write that changes what the fpm API answers (publish, yank…) appends one byte
to a file after its transaction commits; the counter is the file's size. Appends with
`O_APPEND` are atomic, so the size only grows and every reader on the host sees a
change in a single `stat` (~1 µs) before its next answer. Deployments whose app
processes run on several hosts turn the cache off (`FPMREG_METADATA_CACHE=false`).
"""

from __future__ import annotations

import os
from pathlib import Path


class ChangeCounter:
    """A monotonic counter shared by every process that opens the same file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)

    def bump(self) -> None:
        """Record that something changed (call after the change is committed)."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, b".")
        finally:
            os.close(fd)

    def value(self) -> int:
        """The current count."""
        return os.stat(self.path).st_size
