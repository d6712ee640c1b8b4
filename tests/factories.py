"""Factories: the one place tests make users, namespaces, tokens and versions."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fpmreg.core.checks import UploadForm
from fpmreg.core.wire.advisories import AdvisoryWrite
from fpmreg.server.accounts.models import Namespace, Scope, User
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.advisories.service import AdvisoriesService
from fpmreg.server.clock import SystemClock
from fpmreg.server.packages.service import PackagesService, PublishResult
from fpmreg.server.storage import BlobStore
from tests.support.tarballs import package_tarball

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}{next(_counter)}"


@dataclass
class Publisher:
    """A user with a namespace and a publish token for it."""

    user: User
    namespace: Namespace
    token: str


def make_user(session: Session, username: str | None = None, *, admin: bool = False) -> User:
    username = username or unique("user")
    return AccountsService(session, SystemClock()).create_user(
        username, f"{username}@example.org", PASSWORD, is_admin=admin
    )


def make_publisher(
    session: Session,
    *,
    namespace: str | None = None,
    scopes: set[Scope] | None = None,
    package: str = "",
    days: int = 30,
) -> Publisher:
    accounts = AccountsService(session, SystemClock())
    user = make_user(session)
    ns = accounts.create_namespace(user, namespace or unique("ns"))
    token, _ = accounts.create_token(
        user,
        name="t",
        scopes=scopes or {Scope.PUBLISH},
        namespace=ns.name,
        package=package,
        days=days,
    )
    session.flush()
    return Publisher(user, ns, token)


def publish(
    session: Session,
    store: BlobStore,
    publisher: Publisher,
    name: str,
    version: str = "0.1.0",
    **kwargs: object,
) -> PublishResult:
    """Publish a version with the publisher's token, and commit it (as a request would)."""
    data = package_tarball(name, version, **kwargs)  # type: ignore[arg-type]
    service = PackagesService(session, SystemClock(), store)
    result = service.publish_version(
        AccountsService(session, SystemClock()),
        io.BytesIO(data),
        token=publisher.token,
        form=UploadForm(),
    )
    session.commit()
    return result


# --- advisories (issue 12) ------------------------------------------------------------


def advisory_write(package: str, **fields: object) -> AdvisoryWrite:
    """An advisory's content: by default, every version before `1.2.0` is affected."""
    data: dict[str, object] = {
        "package": package,
        "summary": "Buffer overflow in the parser",
        "events": [{"introduced": "0"}, {"fixed": "1.2.0"}],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        **fields,
    }
    return AdvisoryWrite.model_validate(data)


def make_advisory(
    session: Session,
    user: User,
    package: str,
    *,
    published: bool = True,
    **fields: object,
) -> str:
    """Create (and by default publish) an advisory as `user`, commit, and return its id."""
    service = AdvisoriesService(session, SystemClock())
    draft = service.create_draft(user, advisory_write(package, **fields))
    if published:
        service.publish(user, draft.osv_id)
    session.commit()
    return draft.osv_id


def pypi_record(osv_id: str, name: str, fixed: str, **extra: object) -> dict[str, object]:
    """An OSV record of another database (PyPI ecosystem), as osv.dev serves it."""
    return {
        "schema_version": "1.6.0",
        "id": osv_id,
        "modified": "2024-03-01T12:00:00Z",
        "published": "2024-02-01T12:00:00Z",
        "aliases": [f"CVE-2024-{10000 + sum(map(ord, osv_id))}"],
        "summary": f"Vulnerability in {name}",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": name, "purl": f"pkg:pypi/{name}"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
            }
        ],
        "references": [{"type": "WEB", "url": f"https://example.org/{osv_id}"}],
        **extra,
    }


# moderation states (yank, deprecation, quarantine, deletion) ---------------------------


def make_owner_token(session: Session, publisher: Publisher, *scopes: Scope) -> str:
    """Another token of `publisher` for their namespace, with `scopes` (committed)."""
    secret, _ = AccountsService(session, SystemClock()).create_token(
        publisher.user,
        name=unique("tok"),
        scopes=set(scopes) or {Scope.MANAGE},
        namespace=publisher.namespace.name,
    )
    session.commit()
    return secret


def make_moderator(session: Session) -> Publisher:
    """A moderator with a namespace of their own and a `manage`+`yank` token (committed)."""
    from fpmreg.server.accounts.models import SiteRole
    from fpmreg.server.moderation.roles import grant_role

    moderator = make_publisher(session, scopes={Scope.MANAGE, Scope.YANK})
    grant_role(session, moderator.user, SiteRole.MODERATOR, at=SystemClock().now(), actor_id=None)
    session.commit()
    return moderator


# Reports and the queue (the `reports` helper) ---------------------------------


def make_reports_moderator(session: Session) -> Publisher:
    """A user with the moderator role (and a token of their own namespace)."""
    from fpmreg.server.accounts.models import SiteRole
    from fpmreg.server.moderation.roles import grant_role

    moderator = make_publisher(session)
    grant_role(session, moderator.user, SiteRole.MODERATOR, at=SystemClock().now(), actor_id=None)
    session.commit()
    return moderator


def make_reports_trusted(session: Session) -> Publisher:
    """A user with the trusted-reporter role (and a token of their own namespace)."""
    from fpmreg.server.accounts.models import SiteRole
    from fpmreg.server.moderation.roles import grant_role

    reporter = make_publisher(session)
    grant_role(
        session, reporter.user, SiteRole.TRUSTED_REPORTER, at=SystemClock().now(), actor_id=None
    )
    session.commit()
    return reporter


def reports_bearer(publisher: Publisher) -> dict[str, str]:
    """The `Authorization` header of the publisher's token."""
    return {"Authorization": f"Bearer {publisher.token}"}
