"""The moderator queue's "open an advisory" decision: the web layer joins moderation
(which decides the report) and advisories (which writes the draft); neither imports the
other (`docs/architecture.md`, "Layers")."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fpmreg.core.wire.advisories import MAX_SUMMARY_LENGTH, AdvisoryWrite
from fpmreg.server.accounts.models import User
from fpmreg.server.advisories.service import AdvisoriesService
from fpmreg.server.clock import Clock
from fpmreg.server.packages.models import Package


def draft_summary(text: str) -> str:
    """A one-line summary (OSV's) from the decision's reason: its first line, cut short."""
    line = " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""
    if len(line) <= MAX_SUMMARY_LENGTH:
        return line or "Security report under review"
    return line[: MAX_SUMMARY_LENGTH - 1].rstrip() + "…"


def draft_write(package: Package, version: str, text: str) -> AdvisoryWrite:
    """The draft's content: the reason as summary and details; when the report names a
    version, the range says it is affected (`introduced: 0`, `last_affected: V`), else
    every version is (`introduced: 0`). The maintainers correct the range when they
    complete the draft (a `fixed` version, severity, references)."""
    events = [{"introduced": "0"}]
    if version:
        events.append({"last_affected": version})
    return AdvisoryWrite(
        package=f"{package.namespace.name}/{package.name}",
        summary=draft_summary(text),
        details=f"{text.strip()}\n\n(Opened by the moderators from a security report; "
        "the range, severity and fix are to be completed before publishing.)",
        events=events,
    )


class DraftFromReport:
    """The app's `AdvisoryDrafter` (`fpmreg.server.moderation.queue`): the draft is the
    moderator's, created with the advisories service's moderation write path."""

    def __init__(self, clock: Clock, *, prefix: str) -> None:
        self.clock = clock
        self.prefix = prefix

    def open_draft(
        self, session: Session, moderator: User, package: Package, version: str, text: str
    ) -> str:
        """Create the draft in the deciding transaction; return its id."""
        service = AdvisoriesService(session, self.clock, prefix=self.prefix)
        draft = service.create_draft_for_moderation(moderator, draft_write(package, version, text))
        return draft.osv_id
