"""Which published advisories affect a package version: the OSV API's hot path.

A batch of 1,000 queries must be answered in well under 200 ms (issue 12), so the
database is asked for ids and `modified` times only, in one query for the whole batch,
and each record's ranges are prepared once per process (`fpmreg.core.advisory.prepare`)
and kept, keyed by id and `modified`: a changed record is prepared again, whichever
process changed it. Only records not yet prepared here are read whole.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.advisory import AffectedEntry, prepare
from fpmreg.server.advisories.models import Advisory, AdvisoryPackage
from fpmreg.server.advisories.queries import lookup_name

# Prepared records kept per process: every advisory of a large registry fits.
MAX_PREPARED = 200_000
# SQL `IN` lists are split so no backend's parameter limit is reached.
IN_CHUNK = 900


@dataclass(frozen=True)
class Hit:
    """An advisory that names the queried package: its id and OSV `modified` time."""

    osv_id: str
    modified: str
    entries: dict[tuple[str, str], list[AffectedEntry]]

    def affects(self, key: tuple[str, str], version: str | None) -> bool:
        """Whether it affects `version` (any version when None) of the package with this
        (ecosystem, lookup name)."""
        if version is None:
            return key in self.entries
        return any(entry.affects(version) for entry in self.entries.get(key, ()))


class PreparedCache:
    """Prepared records by id, each with the `modified` it was prepared at (LRU)."""

    def __init__(self, size: int = MAX_PREPARED) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[datetime, Hit]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, osv_id: str, modified_at: datetime) -> Hit | None:
        """The prepared record, if it was prepared at this `modified_at`."""
        with self._lock:
            found = self._items.get(osv_id)
            if found is None or found[0] != modified_at:
                return None
            self._items.move_to_end(osv_id)
            return found[1]

    def put(self, osv_id: str, modified_at: datetime, hit: Hit) -> None:
        """Remember a prepared record."""
        with self._lock:
            self._items[osv_id] = (modified_at, hit)
            self._items.move_to_end(osv_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


CACHE = PreparedCache()


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), IN_CHUNK):
        yield items[i : i + IN_CHUNK]


def _hit(osv_id: str, record: dict[str, object]) -> Hit:
    grouped: dict[tuple[str, str], list[AffectedEntry]] = defaultdict(list)
    for entry in prepare(record):
        grouped[(entry.ecosystem, lookup_name(entry.ecosystem, entry.name))].append(entry)
    return Hit(osv_id, str(record.get("modified", "")), dict(grouped))


def hits_by_package(
    session: Session, keys: Iterable[tuple[str, str]], cache: PreparedCache = CACHE
) -> dict[tuple[str, str], list[Hit]]:
    """The published advisories naming each (ecosystem, lookup name), by id."""
    wanted = {(e, lookup_name(e, n)) for e, n in keys}
    names = sorted({n for _, n in wanted})
    rows: list[tuple[str, str, str, datetime]] = []
    for chunk in _chunks(names):
        rows.extend(
            session.execute(
                select(
                    AdvisoryPackage.ecosystem,
                    AdvisoryPackage.name,
                    Advisory.osv_id,
                    Advisory.modified_at,
                )
                .join(Advisory, Advisory.id == AdvisoryPackage.advisory_id)
                .where(AdvisoryPackage.name.in_(chunk), Advisory.draft.is_(False))
            )
        )
    prepared: dict[str, Hit] = {}
    missing = []
    for _, _, osv_id, modified_at in rows:
        hit = cache.get(osv_id, modified_at)
        if hit is None:
            missing.append(osv_id)
        else:
            prepared[osv_id] = hit
    for chunk in _chunks(sorted(set(missing))):
        for osv_id, modified_at, record in session.execute(
            select(Advisory.osv_id, Advisory.modified_at, Advisory.record).where(
                Advisory.osv_id.in_(chunk)
            )
        ):
            hit = _hit(osv_id, record)
            cache.put(osv_id, modified_at, hit)
            prepared[osv_id] = hit
    found: dict[tuple[str, str], list[Hit]] = defaultdict(list)
    for ecosystem, name, osv_id, _ in rows:
        if (ecosystem, name) in wanted and osv_id in prepared:
            found[(ecosystem, name)].append(prepared[osv_id])
    for hits in found.values():
        hits.sort(key=lambda h: h.osv_id)
    return found
