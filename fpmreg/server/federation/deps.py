"""The federation domain's wiring: the registry's keys, on `app.state.federation`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.core.tlog.note import Verifier
from fpmreg.server.federation.flags import RemoteReportSink
from fpmreg.server.federation.keys import RegistryKeys, load_keys
from fpmreg.server.federation.offers import OfferAnswerSink
from fpmreg.server.federation.records import install_records_hook
from fpmreg.server.federation.witness import witnessed_logs
from fpmreg.server.settings import Settings


@dataclass(frozen=True)
class FederationWiring:
    """What `create_app` builds once for the federation domain."""

    keys: RegistryKeys
    witnessed: dict[str, list[Verifier]]  # the logs this registry cosigns, by origin
    # Where inbound `Flag`s go (moderation's, plugged in by `create_app`); None: refused.
    reports: RemoteReportSink | None = None
    # Where `Accept`s and `Reject`s of our `Offer`s go (communities', plugged in by
    # `create_app`): docs/activitypub.md, "Audits as Offers".
    offers: OfferAnswerSink | None = None


def install_federation(
    settings: Settings,
    sessions: sessionmaker[Session],
    reports: RemoteReportSink | None = None,
    offers: OfferAnswerSink | None = None,
) -> FederationWiring:
    """Load (or create) the keys and log every public change made through `sessions`;
    inbound `Flag`s go to `reports`."""
    keys = load_keys(Path(settings.keys_dir), settings.base_url)
    install_records_hook(sessions, keys, cosign=bool(settings.log_witnesses.strip()))
    return FederationWiring(keys, witnessed_logs(settings.witness_logs), reports, offers)


def federation_wiring(request: Request) -> FederationWiring:
    wiring: FederationWiring = request.app.state.federation
    return wiring


FederationDep = Annotated[FederationWiring, Depends(federation_wiring)]
