"""What the package page shows beside the version's own fields: the repository link, who
maintains the package, and which packages use it (`docs/pages.md`, "Package pages")."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import Membership, Role, User
from fpmreg.server.federation.mirror_models import MirroredRelease
from fpmreg.server.federation.mirror_sync import source_of_namespace
from fpmreg.server.packages.models import Package, PackageMaintainer, Version
from fpmreg.server.packages.search import used_by

# Hosts whose pages are source repositories: a homepage there is shown as the
# repository too (a subdomain counts: `git.sr.ht`, `www.github.com`).
FORGES = ("github.com", "gitlab.com", "codeberg.org", "sr.ht", "bitbucket.org")
# Where fpm.toml may name the repository: fpm ignores `[extra]`, so these are free.
REPOSITORY_KEYS = (("extra", "repository"), ("extra", "fpmreg", "repository"))


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who may publish the package, and why: a namespace role or `maintainer`."""

    username: str
    role: str


def _web_url(value: object) -> str:
    """`value` if it is an http(s) URL with a host, else ""."""
    if not isinstance(value, str):
        return ""
    parts = urlsplit(value.strip())
    return value.strip() if parts.scheme in ("https", "http") and parts.hostname else ""


def _is_forge(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    on_forge = any(host == f or host.endswith("." + f) for f in FORGES)
    return on_forge and parts.path.strip("/") != ""


def _lookup(table: dict[str, Any], keys: tuple[str, ...]) -> object:
    value: object = table
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def repository_link(version: Version) -> str:
    """The source repository of a version: `[extra] repository` (or
    `[extra.fpmreg] repository`) of its fpm.toml, else its homepage when that is on a
    forge; "" when neither says."""
    try:
        manifest = tomllib.loads(version.manifest or "")
    except tomllib.TOMLDecodeError:
        manifest = {}
    for keys in REPOSITORY_KEYS:
        url = _web_url(_lookup(manifest, keys))
        if url:
            return url
    homepage = _web_url(version.homepage)
    return homepage if homepage and _is_forge(homepage) else ""


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
