"""Writes fpm's metadata and tarballs as files under `FPMREG_FRONT_DIR` for nginx.

docs/operating.md, "Front server (nginx)": nginx serves `/packages/{ns}/{name}` and
`/packages/{ns}/{name}/{version}` from these files and `/tarballs/...` from links to the
blobs, and passes every other request (and every file that is missing) to the app. A file
is only ever an answer the app gives with status 200, rendered by the app's own
`fpm_metadata`, so nginx and the app serve the same bytes. Answers that are not 200
(quarantined, deleted, all yanked) have no file: nginx passes them to the app.

Layout, with the exact stored spelling of namespace, name and version:

    packages/{ns}/{name}/latest.json        GET /packages/{ns}/{name}
    packages/{ns}/{name}/{version}.json     GET /packages/{ns}/{name}/{version}
    tarballs/{ns}/{name}/{version}.tar.gz   GET /tarballs/{ns}/{name}/{version}.tar.gz
    .ids/{package_id}                       `{ns}/{name}` last written for the package

Every file is replaced atomically (a temporary file in the same folder, then a rename),
so nginx never serves half a file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import select

from fpmreg.server.errors import DomainError
from fpmreg.server.http import AppState
from fpmreg.server.packages.advisory_hook import AdvisoryHook
from fpmreg.server.packages.fpm_api import fpm_metadata
from fpmreg.server.packages.models import Package
from fpmreg.server.packages.service import PackagesService

log = logging.getLogger(__name__)

LATEST = "latest.json"  # versions are digits and dots: never this name
IDS = ".ids"


def atomic_write(target: Path, body: bytes) -> bool:
    """Replace `target` with `body` unless it already holds exactly that; True if written."""
    with contextlib.suppress(OSError):
        if target.stat().st_size == len(body) and target.read_bytes() == body:
            return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return True


def atomic_link(target: Path, source: Path) -> None:
    """Make `target` the same bytes as `source`: a hard link (no copy) where the two share
    a file system, else a copy; either way put in place with one rename."""
    with contextlib.suppress(OSError):
        if os.path.samefile(target, source):
            return
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f".tmp-{os.getpid()}-{target.name}"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    try:
        os.link(source, temporary)
    except OSError:
        shutil.copyfile(source, temporary)
        os.chmod(temporary, 0o644)
    os.replace(temporary, target)


class FrontWriter:
    """Keeps the front folder equal to what the app answers, one package at a time."""

    def __init__(self, state: AppState, root: Path, advisories: AdvisoryHook | None) -> None:
        self.state = state
        self.root = root
        self.advisories = advisories

    def write_packages(self, package_ids: set[int]) -> None:
        """Rewrite (or remove) the files of these packages; a failure is logged, and
        `fpmreg-server front rebuild` repairs it (docs/operating.md)."""
        for package_id in sorted(package_ids):
            try:
                self.write_package(package_id)
            except Exception:
                log.exception("writing the front files of package %d failed", package_id)

    def write_package(self, package_id: int) -> None:
        """Make the package's files what the app answers now (none if it answers no 200)."""
        spelled = self._spelling(package_id)
        old = self._recorded(package_id)
        if old is not None and old != spelled:
            self._remove(old)  # moved to another namespace, or gone
        if spelled is None:
            self._id_file(package_id).unlink(missing_ok=True)
            return
        atomic_write(self._id_file(package_id), f"{spelled[0]}/{spelled[1]}\n".encode())
        self._write(package_id, *spelled)

    def rebuild(self) -> int:
        """Rewrite every package and remove files no package owns; returns packages written."""
        with self.state.database.session() as session:
            ids = set(session.scalars(select(Package.id)))
        for stale in (self.root / IDS).glob("*") if (self.root / IDS).is_dir() else ():
            if not stale.name.isdigit() or int(stale.name) not in ids:
                recorded = self._recorded_at(stale)
                if recorded is not None:
                    self._remove(recorded)
                stale.unlink(missing_ok=True)
        self.write_packages(ids)
        self._remove_unowned(ids)
        return len(ids)

    # internals -----------------------------------------------------------

    def _spelling(self, package_id: int) -> tuple[str, str] | None:
        with self.state.database.session() as session:
            package = session.get(Package, package_id)
            if package is None:
                return None
            return package.namespace.name, package.name

    def _write(self, package_id: int, namespace: str, name: str) -> None:
        with self.state.database.session() as session:
            packages = PackagesService(session, self.state.clock, self.state.store)
            try:
                package = packages.available_package(namespace, name)
            except DomainError:  # quarantined: the app answers 403, so nginx must ask it
                self._remove((namespace, name))
                return
            versions = [(v.version, v.sha256) for v in packages.versions(package)]
        folder = self.root / "packages" / namespace / name
        tarballs = self.root / "tarballs" / namespace / name
        wanted = {LATEST} | {f"{v}.json" for v, _ in versions}
        self._metadata(folder / LATEST, namespace, name, None)
        for version, sha256 in versions:
            self._metadata(folder / f"{version}.json", namespace, name, version)
            blob = self._blob(sha256)
            if blob is not None:
                atomic_link(tarballs / f"{version}.tar.gz", blob)
        self._prune(folder, wanted)
        self._prune(tarballs, {f"{v}.tar.gz" for v, _ in versions})

    def _metadata(self, target: Path, namespace: str, name: str, version: str | None) -> None:
        try:
            body = fpm_metadata(self.state, namespace, name, version, self.advisories)
        except DomainError:  # e.g. every version yanked: latest answers 404 from the app
            target.unlink(missing_ok=True)
            return
        atomic_write(target, body)

    def _blob(self, sha256: str) -> Path | None:
        """The blob's local file, if the store keeps blobs on this file system."""
        path_of = getattr(self.state.store, "path_of", None)
        if path_of is None:
            return None  # an object store: the app (or the CDN) serves tarballs
        path: Path = path_of(sha256)
        return path if path.is_file() else None

    def _prune(self, folder: Path, wanted: set[str]) -> None:
        if not folder.is_dir():
            return
        for child in folder.iterdir():
            if child.name not in wanted and child.is_file():
                child.unlink(missing_ok=True)

    def _remove(self, spelled: tuple[str, str]) -> None:
        namespace, name = spelled
        for kind in ("packages", "tarballs"):
            shutil.rmtree(self.root / kind / namespace / name, ignore_errors=True)

    def _remove_unowned(self, ids: set[int]) -> None:
        owned = {s for s in (self._recorded(i) for i in ids) if s is not None}
        for kind in ("packages", "tarballs"):
            base = self.root / kind
            for folder in base.glob("*/*") if base.is_dir() else ():
                if folder.is_dir() and (folder.parent.name, folder.name) not in owned:
                    shutil.rmtree(folder, ignore_errors=True)

    def _id_file(self, package_id: int) -> Path:
        return self.root / IDS / str(package_id)

    def _recorded(self, package_id: int) -> tuple[str, str] | None:
        return self._recorded_at(self._id_file(package_id))

    @staticmethod
    def _recorded_at(path: Path) -> tuple[str, str] | None:
        try:
            namespace, _, name = path.read_text().strip().partition("/")
        except OSError:
            return None
        return (namespace, name) if namespace and name else None
