"""Publishing a version: read the archive, check it against the registry, store it.

Called by `PackagesService.publish_as` once the publisher is authenticated and
rate-limited (`docs/architecture.md`, "One request lifecycle"). Crash-safe: the
version's rows are flushed and its blob is written to its content address before the
caller commits; the blob is removed again if the transaction rolls back and no version
owns it (`fpmreg.server.transaction`). A crash in between leaves at worst an orphan
blob, which the start-up sweep removes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fpmreg.core.archive import ArchiveLimits
from fpmreg.core.checks import Inspection, UploadForm, inspect_package
from fpmreg.core.manifest import DependencyKind, Manifest
from fpmreg.core.problem import errors_of
from fpmreg.core.versions import Version as FpmVersion
from fpmreg.server.accounts.models import Namespace
from fpmreg.server.accounts.service import TokenGrant
from fpmreg.server.errors import Conflict, InvalidInput
from fpmreg.server.events import record_event
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.packages.readme import render_readme
from fpmreg.server.storage import StagedBlob
from fpmreg.server.transaction import after_commit, after_rollback, before_commit

if TYPE_CHECKING:
    from fpmreg.server.packages.service import PackagesService, PublishResult


def dependency_records(manifest: Manifest) -> list[dict[str, str]]:
    """Dependencies as stored: fpm's entries, plus any `[extra.fpmreg]` range."""
    ranges = manifest.requirements
    records = []
    for dep in manifest.dependencies:
        record = dep.as_dict()
        if dep.kind is DependencyKind.REGISTRY and dep.name in ranges:
            record["requirement"] = ranges[dep.name]
        records.append(record)
    return records


@dataclass(frozen=True)
class Publisher:
    """Who a version is added for: a token's owner, or nobody for a release mirrored
    from another registry (docs/mirrors.md), whose event names its origin instead."""

    namespace: Namespace
    user_id: int | None
    data: dict[str, Any] = field(default_factory=dict)  # more of the publish event's data

    @classmethod
    def of(cls, grant: TokenGrant) -> Publisher:
        return cls(grant.namespace, grant.user.id, {"token_id": grant.token_id})


class Publication:
    """One publish of a staged upload, on a `PackagesService`'s session and store."""

    def __init__(self, service: PackagesService) -> None:
        self.service = service

    def publish(
        self, grant: TokenGrant, staged: StagedBlob, *, form: UploadForm, dry_run: bool
    ) -> PublishResult:
        """Check the staged upload; unless `dry_run`, add the version (uncommitted)."""
        inspection = self._inspect(staged, form, grant)
        return self._publish(Publisher.of(grant), staged, inspection, dry_run=dry_run)

    def publish_mirrored(
        self, namespace: Namespace, staged: StagedBlob, origin: dict[str, Any]
    ) -> PublishResult:
        """Add a release taken from another registry into the mirror's `namespace`:
        the same checks as an upload, no publisher, and `origin` in its record."""
        inspection = self._inspect(staged, UploadForm(), None)
        publisher = Publisher(namespace, None, {"origin": origin})
        return self._publish(publisher, staged, inspection, dry_run=False)

    def _publish(
        self, publisher: Publisher, staged: StagedBlob, inspection: Inspection, *, dry_run: bool
    ) -> PublishResult:
        manifest = inspection.manifest
        assert manifest is not None  # `_inspect` refuses an archive without one
        namespace = publisher.namespace
        version = FpmVersion.parse(manifest.version)
        package = self.service._lookup(namespace, manifest.name)
        self.service._check_new_version(namespace, package, manifest.name, version)
        registry_problems = self.service.registry_problems(package, manifest)
        if registry_problems:
            raise InvalidInput.of(registry_problems)
        from fpmreg.server.packages.service import PublishResult

        result = PublishResult(
            namespace.name,
            manifest.name,
            str(version),
            staged.sha256,
            staged.size,
            dry_run,
            package is None,
            tuple(p for p in inspection.problems if not p.is_error),
        )
        if not dry_run:
            self._store_version(publisher, staged, inspection, package, version)
        return result

    def _inspect(
        self, staged: StagedBlob, form: UploadForm, grant: TokenGrant | None
    ) -> Inspection:
        """Read the archive; refuse it if it has errors or names a package the token
        may not publish."""
        with staged.path.open("rb") as stream:
            limits = ArchiveLimits(max_compressed_bytes=self.service.max_upload_bytes)
            inspection = inspect_package(stream, form, limits)
        if inspection.manifest is not None and grant is not None:
            grant.check_package(inspection.manifest.name)
        errors = errors_of(inspection.problems)
        if errors or inspection.manifest is None:
            raise InvalidInput.of(errors)
        return inspection

    def _store_version(
        self,
        publisher: Publisher,
        staged: StagedBlob,
        inspection: Inspection,
        package: Package | None,
        version: FpmVersion,
    ) -> None:
        """Add the version's rows and write its blob, crash-safely (see the module docstring)."""
        manifest = inspection.manifest
        assert manifest is not None
        namespace = publisher.namespace
        if package is None:
            package = self.service._create_package(namespace, manifest.name, version)
        if isinstance(manifest.module_naming, str):
            self.service._claim_prefix(package, manifest.module_naming)
        row = self._version_row(publisher, staged, inspection, package, version)
        self.service.session.add(row)
        self.service.hooks.before_blob()
        blob_existed = self.service.store.exists(staged.sha256)
        self.service.store.commit(staged)
        if not blob_existed:
            after_rollback(self.service.session, lambda: self._forget_blob(staged.sha256))
        self.service.hooks.after_blob()
        try:
            self.service.session.flush()
        except IntegrityError as exc:
            raise Conflict(
                "version-exists",
                f"package `{namespace.name}/{manifest.name}` already has a version `{version}`",
                "version",
            ) from exc
        self.service.refresh_package(package)
        record_event(
            self.service.session,
            at=self.service.clock.now(),
            actor_id=publisher.user_id,
            action="version.publish",
            subject=f"package:{namespace.name}/{package.name}@{version}",
            data={"sha256": staged.sha256, **publisher.data},
        )
        self.service.session.flush()
        self.service.builds.version_added(self.service.session, row)  # docs/builds.md
        before_commit(self.service.session, self.service.hooks.before_commit)
        if self.service.changes is not None:
            self.service.changes.bump(self.service.session)
        after_commit(self.service.session, self.service.hooks.after_commit)

    def _version_row(
        self,
        publisher: Publisher,
        staged: StagedBlob,
        inspection: Inspection,
        package: Package,
        version: FpmVersion,
    ) -> Version:
        manifest = inspection.manifest
        assert manifest is not None
        readme = inspection.archive.readme
        return Version(
            package=package,
            version=str(version),
            major=version.major,
            minor=version.minor,
            patch=version.patch,
            sha256=staged.sha256,
            size=staged.size,
            license=manifest.license,
            description=manifest.description,
            author=manifest.author,
            maintainer=manifest.maintainer,
            homepage=manifest.homepage,
            keywords=list(manifest.keywords),
            categories=list(manifest.categories),
            dependencies=dependency_records(manifest),
            manifest=inspection.archive.manifest_text or "",
            readme=readme[1].replace("\x00", "\ufffd") if readme else "",
            readme_name=readme[0] if readme else "",
            readme_html=render_readme(*readme) if readme else "",  # bounded: readme.py
            published_at=self.service.clock.now(),
            publisher_id=publisher.user_id,
        )

    def _forget_blob(self, sha256: str) -> None:
        """After a rollback: remove the blob this publish wrote, unless a version that
        committed meanwhile (the same bytes, published by someone else) owns it."""
        with Session(bind=self.service.session.get_bind()) as fresh:
            owned = fresh.scalar(select(Version.id).where(Version.sha256 == sha256))
        if owned is None:
            self.service.store.delete(sha256)
