"""Who is told when an advisory is published: the web layer joins advisories and
moderation (`fpmreg.server.advisories.notices` says why it sits here)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import Membership
from fpmreg.server.advisories.notices import Published
from fpmreg.server.clock import Clock
from fpmreg.server.moderation.models import Report, ReportCategory
from fpmreg.server.moderation.notifications import NotificationsService

ADVISORY_PUBLISHED = "advisory.published"


def recipients(session: Session, published: Published) -> list[int]:
    """The namespace's members and everyone who reported the package (or one of its
    versions) as a security vulnerability, each once, in a stable order."""
    members = session.scalars(
        select(Membership.user_id).where(Membership.namespace_id == published.namespace_id)
    )
    reporters = session.scalars(
        select(Report.reporter_id).where(
            Report.package_id == published.package_id,
            Report.category == ReportCategory.SECURITY.value,
            Report.reporter_id.is_not(None),
        )
    )
    found: dict[int, None] = {}
    for user_id in [*members, *reporters]:
        if user_id is not None:
            found[user_id] = None
    return list(found)


class NotifyOnPublish:
    """The `PublishListener` of the app: one notification (and mail) per recipient."""

    def __init__(self, clock: Clock, *, mail: bool, base_url: str) -> None:
        self.clock = clock
        self.mail = mail
        self.base_url = base_url

    def advisory_published(self, session: Session, published: Published) -> None:
        """Notify the recipients in the publishing transaction."""
        NotificationsService(session, self.clock, mail=self.mail, base_url=self.base_url).notify(
            recipients(session, published),
            kind=ADVISORY_PUBLISHED,
            subject=f"Security advisory {published.osv_id} for {published.package}",
            message=(
                f"Advisory {published.osv_id} was published for `{published.package}`: "
                f"{published.summary}"
            ),
            url=published.url,
        )
