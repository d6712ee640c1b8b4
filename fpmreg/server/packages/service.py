"""Publishing and reading packages. No HTTP here: errors are `fpmreg.server.errors`.

The publish itself (archive, registry checks, crash-safe storing) is in `publishing.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import Select, String, Subquery, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fpmreg.core.checks import UploadForm
from fpmreg.core.manifest import DependencyKind, Manifest
from fpmreg.core.names import canonical_name, confusable_name
from fpmreg.core.problem import Problem
from fpmreg.core.versions import InvalidVersion
from fpmreg.core.versions import Version as FpmVersion
from fpmreg.server.accounts.models import Namespace, Scope, User
from fpmreg.server.accounts.service import AccountsService, TokenGrant
from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from fpmreg.server.packages.build_hook import BuildHook, NoBuilds
from fpmreg.server.packages.models import ModulePrefix, Package, Version
from fpmreg.server.packages.publishing import Publication
from fpmreg.server.packages.search import MAX_QUERY_LENGTH as MAX_QUERY_LENGTH
from fpmreg.server.packages.search import SEARCH_PAGE_SIZE as SEARCH_PAGE_SIZE
from fpmreg.server.packages.search import SearchFilters, Sort, search_packages
from fpmreg.server.packages.tombstones import (
    Removed,
    find_tombstone,
    held_name,
    tombstone_message,
    tombstone_path,
)
from fpmreg.server.storage import BlobStore, BlobTooLarge, StagedBlob


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What a publish (or a dry run) did."""

    namespace: str
    name: str
    version: str
    sha256: str
    size: int
    dry_run: bool
    created_package: bool
    warnings: tuple[Problem, ...] = ()


def _nothing() -> None:
    """The default hook: do nothing."""


@dataclass(frozen=True, slots=True)
class PublishHooks:
    """Named points of a publish, each called as it is passed; no-ops by default.

    The crash tests start a server whose hooks end the process there (as a power cut
    would), to prove that no step leaves a half-published version behind."""

    before_blob: Callable[[], None] = _nothing
    after_blob: Callable[[], None] = _nothing
    before_commit: Callable[[], None] = _nothing
    after_commit: Callable[[], None] = _nothing


class PackagesService:
    """Publish, look up and search packages. It flushes; its caller commits."""

    def __init__(
        self,
        session: Session,
        clock: Clock,
        store: BlobStore,
        *,
        max_upload_bytes: int = 10 * 1024 * 1024,
        changes: ChangeCounter | None = None,
        hooks: PublishHooks | None = None,
        base_url: str = "",
        builds: BuildHook | None = None,
    ) -> None:
        self.session = session
        self.builds = builds or NoBuilds()  # told of each new version (docs/builds.md)
        self.base_url = base_url  # for the tombstone pages named in messages
        self.clock = clock
        self.store = store
        self.max_upload_bytes = max_upload_bytes
        self.changes = changes
        self.hooks = hooks or PublishHooks()

    # publishing ----------------------------------------------------------

    def publish_version(
        self,
        accounts: AccountsService,
        upload: BinaryIO,
        *,
        token: str,
        form: UploadForm,
        dry_run: bool = False,
    ) -> PublishResult:
        """Authorize `token`, then check and stage a new version (CLI, jobs, tests).

        Request handlers call `authorize_token` and their rate limit first, then
        `publish_as`: the archive is read only for an authenticated publisher."""
        grant = accounts.authorize_token(token, Scope.PUBLISH, package=None)
        return self.publish_as(grant, upload, form=form, dry_run=dry_run)

    def publish_as(
        self, grant: TokenGrant, upload: BinaryIO, *, form: UploadForm, dry_run: bool = False
    ) -> PublishResult:
        """Check and stage a new version for an authorized publisher.

        The version exists once the caller commits; if the transaction rolls back
        instead, the blob written for it is removed again (unless a version owns it)."""
        with self._staged(upload) as staged:
            return Publication(self).publish(grant, staged, form=form, dry_run=dry_run)

    def publish_mirrored(
        self, namespace: Namespace, upload: BinaryIO, origin: dict[str, Any]
    ) -> PublishResult:
        """Add a release verified on another registry to the mirror `namespace`
        (docs/mirrors.md); refused like an upload if the archive fails the checks."""
        with self._staged(upload) as staged:
            return Publication(self).publish_mirrored(namespace, staged, origin)

    @contextmanager
    def _staged(self, upload: BinaryIO) -> Iterator[StagedBlob]:
        """`upload` staged in the store (413 past the upload limit), discarded after."""
        try:
            staged = self.store.stage(upload, self.max_upload_bytes)
        except BlobTooLarge as exc:
            raise TooLarge(
                "archive-too-large",
                f"the tarball is larger than {self.max_upload_bytes} bytes",
                "tarball",
            ) from exc
        try:
            yield staged
        finally:
            self.store.discard(staged)

    def _lookup(self, namespace: Namespace, name: str) -> Package | None:
        return self.session.scalar(
            select(Package).where(
                Package.namespace_id == namespace.id, Package.canonical == canonical_name(name)
            )
        )

    def _check_new_version(
        self, namespace: Namespace, package: Package | None, name: str, version: FpmVersion
    ) -> None:
        """Refuse a version that exists or was deleted, a name that clashes with another
        package or is held after a deletion, and any version of a quarantined package."""
        tombstone = find_tombstone(self.session, namespace.name, name, str(version))
        if tombstone is not None:
            raise Conflict(
                "version-tombstoned",
                f"{tombstone_message(tombstone, self.base_url)}; a deleted version can never "
                "be published again: publish a new version number",
                "version",
            )
        if package is None:
            held = held_name(self.session, namespace.name, name, self.clock.now())
            if held is not None:
                assert held.name_held_until is not None
                same = canonical_name(held.name) == canonical_name(name)
                raise Conflict(
                    "name-held",
                    ("the name" if same else f"`{name}` is too close to the name")
                    + f" `{namespace.name}/{held.name}`, which belonged to a package deleted on "
                    f"{held.deleted_at:%Y-%m-%d} and is held until "
                    f"{held.name_held_until:%Y-%m-%d} (see {self.base_url}"
                    f"{tombstone_path(held)}): choose another name",
                    "name",
                )
            self._refuse_confusable(namespace, name)
            return
        if package.quarantined_at is not None:
            raise Forbidden(
                "package-quarantined",
                f"`{namespace.name}/{package.name}` is under review by the registry's "
                "moderators: no new version can be published until they decide",
                "name",
            )
        if package.name != name:
            raise Conflict(
                "name-spelling",
                f"`{namespace.name}` already has the package `{package.name}`: "
                f"use that exact spelling, not `{name}`",
                "name",
            )
        if self._find(package, version) is not None:
            raise Conflict(
                "version-exists",
                f"package `{namespace.name}/{package.name}` already has a version "
                f"`{version}`: versions are immutable, publish a new one",
                "version",
            )

    def _create_package(self, namespace: Namespace, name: str, version: FpmVersion) -> Package:
        """Create the package row, or take the one a concurrent upload just created."""
        now = self.clock.now()
        package = Package(
            namespace_id=namespace.id,
            name=name,
            canonical=canonical_name(name),
            confusable=confusable_name(name),
            created_at=now,
            updated_at=now,
        )
        package.namespace = namespace
        try:
            with self.session.begin_nested():
                self.session.add(package)
                self.session.flush()
        except IntegrityError:
            existing = self._lookup(namespace, name)
            if existing is None:
                raise
            self._check_new_version(namespace, existing, name, version)
            return existing
        return package

    def registry_problems(self, package: Package | None, manifest: Manifest) -> list[Problem]:
        """Checks that need the registry: dependencies exist, the prefix is free."""
        problems = []
        for dep in manifest.dependencies:
            # dev-dependencies are only built by the package's own tests, never by consumers.
            if dep.kind is not DependencyKind.REGISTRY or dep.scope == "dev-dependencies":
                continue
            target = self.session.scalar(
                select(Package)
                .join(Package.namespace)
                .where(
                    Namespace.canonical == canonical_name(dep.namespace),
                    Package.canonical == canonical_name(dep.name),
                    Package.latest_version != "",
                )
            )
            if target is None:
                problems.append(
                    Problem(
                        "dependency-not-found",
                        dep.scope,
                        f"dependency `{dep.namespace}/{dep.name}` is not in this registry: "
                        "publish it first, or fix its name or namespace",
                    )
                )
            elif dep.version and self._find(target, FpmVersion.parse(dep.version)) is None:
                problems.append(
                    Problem(
                        "dependency-version-not-found",
                        dep.scope,
                        f"dependency `{dep.namespace}/{dep.name}` has no version "
                        f"`{dep.version}` (newest: `{target.latest_version}`)",
                    )
                )
        if isinstance(manifest.module_naming, str):
            owner = self.session.scalar(
                select(Package)
                .join(ModulePrefix, ModulePrefix.package_id == Package.id)
                .where(ModulePrefix.prefix == manifest.module_naming.lower())
            )
            if owner is not None and (package is None or owner.id != package.id):
                problems.append(self._prefix_taken(manifest.module_naming, owner))
        return problems

    def _prefix_taken(self, prefix: str, owner: Package) -> Problem:
        return Problem(
            "module-prefix-taken",
            "build.module-naming",
            f"the module prefix `{prefix}` belongs to `{owner.namespace.name}/{owner.name}`: "
            "choose another prefix (or `module-naming = true`)",
        )

    def _claim_prefix(self, package: Package, prefix: str) -> None:
        """Reserve `prefix` for `package`, first come first served."""
        key = prefix.lower()
        if self.session.scalar(select(ModulePrefix.id).where(ModulePrefix.prefix == key)):
            return  # already this package's (checked in `registry_problems`)
        try:
            with self.session.begin_nested():
                self.session.add(
                    ModulePrefix(prefix=key, package_id=package.id, created_at=self.clock.now())
                )
                self.session.flush()
        except IntegrityError as exc:
            owner = self.session.scalar(
                select(Package)
                .join(ModulePrefix, ModulePrefix.package_id == Package.id)
                .where(ModulePrefix.prefix == key)
            )
            if owner is None or owner.id == package.id:
                raise
            raise InvalidInput.of([self._prefix_taken(prefix, owner)]) from exc

    def _refuse_confusable(self, namespace: Namespace, name: str) -> None:
        twin = self.session.scalar(
            select(Package.name).where(
                Package.namespace_id == namespace.id, Package.confusable == confusable_name(name)
            )
        )
        if twin is not None:
            raise Conflict(
                "name-confusable",
                f"`{name}` is too easily confused with `{namespace.name}/{twin}`: "
                "choose a more distinct name",
                "name",
            )

    def refresh_package(self, package: Package) -> None:
        """Point the package's summary at its newest unyanked version."""
        newest = self.session.scalar(
            self._ordered(package).where(Version.yanked.is_(False)).limit(1)
        )
        package.updated_at = self.clock.now()
        if newest is None and self._find_any(package) is None:
            package.latest_version = ""  # every version was deleted: unlisted
        if newest is not None:
            package.latest_version = newest.version
            package.description = newest.description
            package.license = newest.license
            package.homepage = newest.homepage

    def _find_any(self, package: Package) -> Version | None:
        return self.session.scalar(select(Version).where(Version.package_id == package.id).limit(1))

    def dependents(self, package: Package, version: str) -> int:
        """How many versions of other packages depend on `package` at `version` (an
        exact pin to it, or no pin at all); dev-dependencies do not count."""
        ns, name = canonical_name(package.namespace.name), canonical_name(package.name)
        rows = self.session.scalars(
            select(Version.dependencies).where(
                Version.package_id != package.id,
                func.lower(cast(Version.dependencies, String)).contains(package.name.lower()),
            )
        )
        found = 0
        for deps in rows:
            for dep in deps:
                if (
                    dep.get("kind") == "registry"
                    and dep.get("scope") != "dev-dependencies"
                    and canonical_name(str(dep.get("name", ""))) == name
                    and canonical_name(str(dep.get("namespace", ""))) == ns
                    and dep.get("version", "") in ("", version)
                ):
                    found += 1
                    break
        return found

    def owned_blobs(self) -> set[str]:
        """Every blob hash some version owns."""
        return set(self.session.scalars(select(Version.sha256)).all())

    # reading -------------------------------------------------------------

    def get_package(self, namespace: str, name: str) -> Package:
        """A package by namespace and name, or `NotFound` with fpm-friendly wording."""
        package = self.session.scalar(
            select(Package)
            .join(Package.namespace)
            .where(
                Namespace.canonical == canonical_name(namespace),
                Package.canonical == canonical_name(name),
            )
        )
        if package is None:
            tombstone = find_tombstone(self.session, namespace, name)
            if tombstone is not None:
                raise Removed(tombstone, self.base_url)
            raise NotFound("package-not-found", f"package `{namespace}/{name}` not found")
        return package

    def available_package(self, namespace: str, name: str) -> Package:
        """A package that may be installed: `get_package`, refusing a quarantined one
        (403 `package-quarantined`) on every install path (fpm metadata, tarballs, index)."""
        package = self.get_package(namespace, name)
        if package.quarantined_at is not None:
            raise Forbidden(
                "package-quarantined",
                f"`{package.namespace.name}/{package.name}` is under review by the "
                "registry's moderators and cannot be installed until they decide",
            )
        return package

    def _ordered(self, package: Package) -> Select[Version]:
        return (
            select(Version)
            .where(Version.package_id == package.id)
            .order_by(Version.major.desc(), Version.minor.desc(), Version.patch.desc())
        )

    def versions(self, package: Package) -> list[Version]:
        """Every version of a package, newest first."""
        return list(self.session.scalars(self._ordered(package)).all())

    def _find(self, package: Package, version: FpmVersion) -> Version | None:
        return self.session.scalar(
            select(Version).where(Version.package_id == package.id, Version.version == str(version))
        )

    def get_version(self, package: Package, text: str) -> Version:
        """A version by its text; `1.0` finds `1.0.0` as fpm's comparison does."""
        try:
            parsed = FpmVersion.parse(text)
        except InvalidVersion as exc:
            raise InvalidInput("version-invalid", str(exc), "version") from exc
        row = self._find(package, parsed)
        if row is None:
            tombstone = find_tombstone(
                self.session, package.namespace.name, package.name, str(parsed)
            )
            if tombstone is not None:
                raise Removed(tombstone, self.base_url)
            raise NotFound(
                "version-not-found",
                f"package `{package.namespace.name}/{package.name}` has no version `{text}`",
                "version",
            )
        return row

    def latest_version(self, package: Package) -> Version:
        """The newest version that is not yanked."""
        row = self.session.scalar(self._ordered(package).where(Version.yanked.is_(False)).limit(1))
        if row is None:
            raise NotFound(
                "no-installable-version",
                f"package `{package.namespace.name}/{package.name}` has no "
                "installable version (all are yanked)",
            )
        return row

    def search(
        self,
        query: str,
        *,
        page: int = 1,
        namespace: str = "",
        sort: Sort = "relevance",
        downloads: Subquery | None = None,
        filters: SearchFilters | None = None,
    ) -> tuple[list[Package], int]:
        """Packages matching `query` (and `namespace` or `filters`): `search.search_packages`."""
        filters = filters or SearchFilters(namespace=namespace)
        return search_packages(
            self.session, query, filters, page=page, sort=sort, downloads=downloads
        )

    def packages_in(self, namespace: Namespace) -> list[Package]:
        """A namespace's packages, by name."""
        return list(
            self.session.scalars(
                select(Package)
                .where(
                    Package.namespace_id == namespace.id,
                    Package.latest_version != "",
                    Package.quarantined_at.is_(None),
                )
                .order_by(Package.name)
            ).all()
        )

    def published_by(self, user: User) -> list[tuple[Package, Version]]:
        """Versions a user published, newest first (at most 50)."""
        rows = self.session.execute(
            select(Package, Version)
            .join(Version, Version.package_id == Package.id)
            .where(Version.publisher_id == user.id)
            .order_by(Version.published_at.desc())
            .limit(50)
        ).all()
        return [(p, v) for p, v in rows]

    def publishers(self, versions: list[Version]) -> dict[int, str]:
        """Usernames of the publishers of these versions, in one query."""
        ids = {v.publisher_id for v in versions if v.publisher_id is not None}
        if not ids:
            return {}
        rows = self.session.execute(select(User.id, User.username).where(User.id.in_(ids)))
        return {uid: name for uid, name in rows}
