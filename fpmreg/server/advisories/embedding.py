"""The advisories domain's `AdvisoryHook`: advisories in package and version answers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from fpmreg.server.advisories.queries import refs_by_version
from fpmreg.server.packages.advisory_hook import Refs


class EmbeddedAdvisories:
    """Published, not withdrawn advisories of a package, by affected version."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def for_versions(self, session: Session, package_id: int, versions: Sequence[str]) -> Refs:
        """(the package's current advisories, those affecting each of `versions`)."""
        return refs_by_version(session, package_id, versions, self.base_url)
