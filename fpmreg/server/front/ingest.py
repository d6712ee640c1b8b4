"""Download counts from nginx's download log: every whole 200 GET of a tarball, once.

nginx writes one JSON line per tarball request it served from the front folder
(`log_format fpmreg_downloads` in `deploy/nginx/fpmreg.conf`), with no client address.
`LogIngest.run` reads the complete lines past its cursor, adds them to the same daily
series the app writes (`DownloadsService.add_counts`) and moves the cursor, all in one
transaction: a crash before the commit leaves both as they were, one after it leaves
both moved, so nothing is lost or counted twice. The cursor knows the file by inode and
first-line hash, so after a rotation it finishes the rotated file (`PATH.1`, renamed or
copied) before it starts the new one. docs/operating.md, "Front server (nginx)".
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.names import canonical_name
from fpmreg.server.accounts.models import Namespace
from fpmreg.server.clock import Clock
from fpmreg.server.db import Database
from fpmreg.server.front.models import MAX_LOG_PATH, LogCursor
from fpmreg.server.metrics.service import CountKey, DownloadsService, client_kind
from fpmreg.server.packages.models import Package, Version

log = logging.getLogger(__name__)

# Bytes read (and committed) at a time: ~5,000 lines of ~200 bytes per transaction.
CHUNK_BYTES = 1024 * 1024
# The first line is hashed to recognise the file; nginx's lines are far shorter.
MAX_FIRST_LINE = 64 * 1024
_TARBALL = re.compile(r"^/tarballs/([^/]+)/([^/]+)/([0-9][0-9.]*)\.tar\.gz$")
_FIELDS = ("time", "method", "uri", "status", "completion", "ua", "ci", "upstream")


class MalformedLine(ValueError):
    """A line that is not one of `log_format fpmreg_downloads`."""


@dataclass(frozen=True, slots=True)
class LoggedDownload:
    """One counted download as the log says it: which tarball, when, by what client."""

    namespace: str
    name: str
    version: str
    day: date
    client: str
    ci: bool


def parse_line(line: bytes) -> LoggedDownload | None:
    """The download a log line records; None for a line that is no download (a HEAD, a
    404, a broken transfer, one the app answered); `MalformedLine` if it is not ours."""
    try:
        entry = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedLine("not JSON") from exc
    if not isinstance(entry, dict) or any(not isinstance(entry.get(k), str) for k in _FIELDS):
        raise MalformedLine("a field is missing or not a string")
    try:
        at = datetime.fromtimestamp(float(entry["time"]), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise MalformedLine("`time` is not a Unix time") from exc
    match = _TARBALL.match(entry["uri"])
    if (
        match is None
        or entry["method"] != "GET"
        or entry["status"] != "200"
        or entry["completion"] != "OK"  # nginx's `$request_completion`: the whole body
        or entry["upstream"] not in ("", "-")  # the app answered: it counted it itself
    ):
        return None
    return LoggedDownload(
        namespace=match.group(1),
        name=match.group(2),
        version=match.group(3),
        day=at.date(),
        client=client_kind(entry["ua"]).value,
        ci=entry["ci"].strip().lower() in ("1", "true", "yes"),
    )


@dataclass
class IngestResult:
    """What one run read: downloads added, lines that were no download, malformed lines,
    downloads of versions that no longer exist, and bytes read."""

    counted: int = 0
    ignored: int = 0
    malformed: int = 0
    unknown: int = 0
    bytes_read: int = 0
    rotations: int = 0
    lost_files: int = 0
    notes: list[str] = field(default_factory=list)


def first_line_hash(path: Path) -> str | None:
    """SHA-256 of the file's first line (with its newline); None while it is incomplete."""
    with path.open("rb") as handle:
        head = handle.readline(MAX_FIRST_LINE)
    if not head.endswith(b"\n"):
        return None
    return hashlib.sha256(head).hexdigest()


@dataclass(frozen=True, slots=True)
class _Place:
    """A file to read from `offset`, known by `inode` and its first line's hash."""

    path: Path
    inode: int
    first_line: str
    offset: int


class LogIngest:
    """Counts the downloads of one nginx download log into the daily series."""

    def __init__(self, database: Database, clock: Clock, path: Path) -> None:
        self.database = database
        self.clock = clock
        self.path = path.absolute()
        self.key = str(self.path)[:MAX_LOG_PATH]
        self._versions: dict[tuple[str, str, str], int | None] = {}

    def run(self) -> IngestResult:
        """Read everything complete that is new since the last run, and count it."""
        result = IngestResult()
        for place in self._places(result):
            self._read(place, result)
        if result.malformed:
            log.warning("%d malformed line(s) in %s skipped", result.malformed, self.path)
        return result

    # which files, from where --------------------------------------------

    def _places(self, result: IngestResult) -> list[_Place]:
        with self.database.session() as session:
            cursor = session.get(LogCursor, self.key)
            saved = (
                None if cursor is None else (cursor.inode, cursor.first_line_sha256, cursor.offset)
            )
        current = self._identify(self.path)
        if current is None:
            return []  # no log yet (or between a rename and nginx's reopen)
        inode, first_line, size = current
        if saved is None:
            return [_Place(self.path, inode, first_line or "", 0)]
        old_inode, old_first, offset = saved
        if inode == old_inode and (offset == 0 or first_line == old_first) and size >= offset:
            return [_Place(self.path, inode, old_first or first_line or "", offset)]
        result.rotations += 1
        rotated = self.path.with_name(self.path.name + ".1")
        found = self._identify(rotated)
        places: list[_Place] = []
        if found is not None and (found[0] == old_inode or (offset and found[1] == old_first)):
            places.append(_Place(rotated, found[0], old_first, offset))
        elif offset > 0 and size > 0:
            result.lost_files += 1
            result.notes.append(f"the rotated log {rotated} is not the file last read")
            log.error("%s was rotated and the old file is gone: its unread end is lost", self.path)
        # nginx writes to the rotated file until it reopens its logs (`nginx -s reopen`),
        # and to the new one only after: while the new one is empty, the old one is not
        # finished, so the cursor stays on it.
        if size > 0 or not places:
            places.append(_Place(self.path, inode, first_line or "", 0))
        return places

    @staticmethod
    def _identify(path: Path) -> tuple[int, str | None, int] | None:
        try:
            stat = os.stat(path)
            return stat.st_ino, first_line_hash(path), stat.st_size
        except FileNotFoundError:
            return None

    # reading and counting -------------------------------------------------

    def _read(self, place: _Place, result: IngestResult) -> None:
        """Count `place` from its offset to its last complete line, chunk by chunk."""
        offset, first_line = place.offset, place.first_line
        with place.path.open("rb") as handle:
            while True:
                handle.seek(offset)
                chunk = handle.read(CHUNK_BYTES)
                end = chunk.rfind(b"\n") + 1
                if end == 0 and len(chunk) == CHUNK_BYTES:
                    end = len(chunk)  # a "line" longer than any nginx writes: skip it
                    result.malformed += 1
                if end == 0:
                    if offset == place.offset:  # nothing new: adopt the file as it is
                        self._save(place, offset, first_line, Counter(), 0)
                    return  # a partial last line waits for its end
                if not first_line and offset == 0:
                    first_line = hashlib.sha256(chunk[: chunk.find(b"\n") + 1]).hexdigest()
                counts, malformed = self._tally(chunk[:end].splitlines(), result)
                result.counted += self._save(place, offset + end, first_line, counts, malformed)
                result.bytes_read += end
                offset += end

    def _tally(self, lines: list[bytes], result: IngestResult) -> tuple[Counter[CountKey], int]:
        counts: Counter[CountKey] = Counter()
        malformed = 0
        with self.database.session() as session:
            for line in lines:
                if not line.strip():
                    continue
                try:
                    download = parse_line(line)
                except MalformedLine:
                    malformed += 1
                    continue
                if download is None:
                    result.ignored += 1
                    continue
                version_id = self._version_id(session, download)
                if version_id is None:
                    result.unknown += 1
                    continue
                counts[CountKey(version_id, download.day, download.client, download.ci)] += 1
        result.malformed += malformed
        return counts, malformed

    def _version_id(self, session: Session, download: LoggedDownload) -> int | None:
        key = (canonical_name(download.namespace), canonical_name(download.name), download.version)
        if key not in self._versions:
            self._versions[key] = session.scalar(
                select(Version.id)
                .join(Package, Version.package_id == Package.id)
                .join(Namespace, Package.namespace_id == Namespace.id)
                .where(
                    Namespace.canonical == key[0],
                    Package.canonical == key[1],
                    Version.version == key[2],
                )
            )
        return self._versions[key]

    def _save(
        self,
        place: _Place,
        offset: int,
        first_line: str,
        counts: Counter[CountKey],
        malformed: int,
    ) -> int:
        """Add `counts` and move the cursor in one transaction; the downloads added."""
        with self.database.session() as session:
            try:
                added = DownloadsService(session, self.clock).add_counts(counts)
                cursor = session.get(LogCursor, self.key)
                if cursor is None:
                    cursor = LogCursor(path=self.key, counted=0, skipped=0)
                    session.add(cursor)
                cursor.inode = place.inode
                cursor.first_line_sha256 = first_line
                cursor.offset = offset
                cursor.counted += added
                cursor.skipped += malformed
                cursor.updated_at = self.clock.now()
                session.commit()  # a job owns its transaction
            except BaseException:
                session.rollback()
                raise
        return added
