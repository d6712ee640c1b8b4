"""What the advisories domain tells when an advisory is published: a small interface.

`advisories` may not import `moderation` (docs/architecture.md, "Layers"), yet the
people to tell include those who reported the package as a security vulnerability,
and notifications belong to moderation. So the domain announces the publication to a
`PublishListener`, and `create_app` wires in the web layer's implementation
(`fpmreg.server.web.advisory_notices.NotifyOnPublish`), which finds the namespace's
members and the security reporters and notifies them in the request's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Published:
    """An advisory that has just been published."""

    osv_id: str
    summary: str
    package: str  # `namespace/name`
    package_id: int
    namespace_id: int
    url: str  # the advisory's page, a path on this registry


class PublishListener(Protocol):
    """Told, inside the publishing transaction, that an advisory was published."""

    def advisory_published(self, session: Session, published: Published) -> None:
        """Tell whoever should know (in `session`'s transaction)."""


class NoListener:
    """Tells nobody (an app built without notifications)."""

    def advisory_published(self, session: Session, published: Published) -> None:
        """Ignore it."""
