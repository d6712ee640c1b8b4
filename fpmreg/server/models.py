"""Imports every domain's tables so `Base.metadata` knows them all."""

from __future__ import annotations


def import_all_models() -> None:
    """Register every table with the metadata (for migrations and tests)."""
    import fpmreg.server.accounts.models
    import fpmreg.server.advisories.models
    import fpmreg.server.builds.models
    import fpmreg.server.changes
    import fpmreg.server.communities.imported_models
    import fpmreg.server.communities.models
    import fpmreg.server.communities.org_models
    import fpmreg.server.communities.remote_models
    import fpmreg.server.events
    import fpmreg.server.federation.mirror_models
    import fpmreg.server.federation.models
    import fpmreg.server.front.models
    import fpmreg.server.jobs
    import fpmreg.server.linked.credentials_models
    import fpmreg.server.metrics.models
    import fpmreg.server.moderation.models
    import fpmreg.server.packages.models  # noqa: F401
