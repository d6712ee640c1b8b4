"""What the package page shows beside the version's own fields: the repository link, who
maintains the package, and which packages use it (`docs/pages.md`, "Package pages")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import Membership, Role, User
from fpmreg.server.federation.mirror_models import MirroredRelease
from fpmreg.server.federation.mirror_sync import source_of_namespace
from fpmreg.server.linked.codemeta_repository import repository_link
from fpmreg.server.packages.models import Package, PackageMaintainer, Version
from fpmreg.server.packages.search import used_by


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who may publish the package, and why: a namespace role or `maintainer`."""

    username: str
    role: str


def maintainers(session: Session, package: Package) -> list[Person]:
    """The namespace's members (admins first) and then the package's own maintainers,
    each by username, in one query."""
    members = (
        select(User.username, Membership.role.label("role"), literal(0).label("rank"))
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.namespace_id == package.namespace_id)
    )
    own = (
        select(User.username, literal("package maintainer").label("role"), literal(1))
        .join(PackageMaintainer, PackageMaintainer.user_id == User.id)
        .where(PackageMaintainer.package_id == package.id)
    )
    rows = session.execute(union_all(members, own)).all()
    order = sorted(rows, key=lambda r: (r[2], r[1] != Role.ADMIN, r[0].lower()))
    seen: set[str] = set()
    people = []
    for username, role, _rank in order:
        if username not in seen:
            seen.add(username)
            people.append(Person(username, str(role)))
    return people


def package_extras(session: Session, package: Package, shown: Version) -> dict[str, Any]:
    """The package page's context beyond the version row."""
    users, used_by_total = used_by(session, package)
    return {
        "repository": repository_link(shown),
        "maintainers": maintainers(session, package),
        "used_by": users,
        "used_by_total": used_by_total,
        "mirror_of": mirror_of(session, package, shown),
    }


def mirror_of(session: Session, package: Package, shown: Version) -> dict[str, str] | None:
    """Where a mirrored package comes from (docs/mirrors.md): the actor followed and,
    for the version shown, the origin's log entry that proved it."""
    source = source_of_namespace(session, package.namespace_id)
    if source is None:
        return None
    subject = f"pkg:fpm/{package.namespace.name}/{package.name}@{shown.version}"
    index = session.scalar(
        select(MirroredRelease.log_index).where(MirroredRelease.local_subject == subject)
    )
    entry = f"{source.origin}/api/v1/log/entries/{index}" if index is not None else ""
    return {"origin": source.origin, "actor": source.remote_actor, "entry": entry}
