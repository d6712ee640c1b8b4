"""Reports about mirrored packages go to their origin (docs/mirrors.md, "Reports").

A report filed here about a package this registry mirrors stays in this registry's
queue, and is also sent to the origin registry as an ActivityPub `Flag` from the
instance actor (`flags.send_flag`), with its category and the reporter's message, never
the reporter's name. The origin's moderators decide the original; their `Accept` or
`Reject` comes back to the local report (`flags.receive_flag_decision`), and the change
they make reaches the mirror through the log like any other.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fpmreg.server.federation.actors import AP_PREFIX
from fpmreg.server.federation.flags import send_flag
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.federation.mirror_sync import source_of_namespace


class ForwardToOrigin:
    """moderation's `ReportForwarder`: a `Flag` to the origin of a mirrored package."""

    def __init__(self, keys: RegistryKeys) -> None:
        self.keys = keys

    def report_filed(
        self, session: Session, *, report_id: int, namespace_id: int, name: str,
        version: str, category: str, message: str, now: datetime,
    ) -> str:  # fmt: skip
        """Flag the original of a mirrored package; the Flag's id, or "" if the package
        is not a mirror's."""
        source = source_of_namespace(session, namespace_id)
        if source is None:
            return ""
        target = f"{source.origin}{AP_PREFIX}/packages/{source.remote_namespace}/{name}"
        if version:
            target += f"/versions/{version}"
        return send_flag(
            session, self.keys, package_actor_url=target, inbox=f"{source.origin}{AP_PREFIX}/inbox",
            category=category, content=message, now=now, report_id=report_id,
        )  # fmt: skip
