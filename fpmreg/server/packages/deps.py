"""The packages domain's wiring and dependency aliases: `PackagesDep`, `DownloadListenerDep`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from fpmreg.server.accounts.models import Scope
from fpmreg.server.accounts.service import AccountsService, TokenGrant
from fpmreg.server.http import AppState, SessionDep, StateDep
from fpmreg.server.packages.advisory_hook import AdvisoryHook, NoAdvisories
from fpmreg.server.packages.build_hook import BuildHook, NoBuilds
from fpmreg.server.packages.downloads import DownloadListener, NoDownloads
from fpmreg.server.packages.service import PackagesService, PublishHooks


@dataclass
class PackagesWiring:
    """What `create_app` plugs into the packages domain (on `app.state.packages`)."""

    downloads: DownloadListener = field(default_factory=NoDownloads)
    publish_hooks: PublishHooks = field(default_factory=PublishHooks)
    advisories: AdvisoryHook = field(default_factory=NoAdvisories)
    builds: BuildHook = field(default_factory=NoBuilds)  # docs/builds.md


def packages_wiring(app: Any) -> PackagesWiring:
    """The packages wiring of an app (the defaults if `create_app` set none)."""
    wiring: PackagesWiring | None = getattr(app.state, "packages", None)
    return wiring if wiring is not None else PackagesWiring()


def packages_service(request: Request, state: StateDep, session: SessionDep) -> PackagesService:
    """The packages service on this request's session."""
    return PackagesService(
        session,
        state.clock,
        state.store,
        max_upload_bytes=state.settings.max_upload_bytes,
        changes=state.changes,
        hooks=packages_wiring(request.app).publish_hooks,
        builds=packages_wiring(request.app).builds,
        base_url=state.settings.base_url,
    )


def download_listener(request: Request) -> DownloadListener:
    """Who is told about downloads (the metrics domain's recorder, in `create_app`)."""
    return packages_wiring(request.app).downloads


def advisory_hook(request: Request) -> AdvisoryHook:
    """Who says which advisories concern a package (the advisories domain, in `create_app`)."""
    return packages_wiring(request.app).advisories


def build_hook(request: Request) -> BuildHook:
    """Who queues builds and says what they showed (the builds domain, in `create_app`)."""
    return packages_wiring(request.app).builds


PackagesDep = Annotated[PackagesService, Depends(packages_service)]
BuildHookDep = Annotated[BuildHook, Depends(build_hook)]
AdvisoryHookDep = Annotated[AdvisoryHook, Depends(advisory_hook)]
DownloadListenerDep = Annotated[DownloadListener, Depends(download_listener)]


async def authorize_publisher(accounts: AccountsService, state: AppState, token: str) -> TokenGrant:
    """The first steps of a publish, before any of the archive is read (crates.io's
    order): check the token, its `publish` scope and namespace membership, then count
    the publish against its owner's rate limit (not against the string sent, so a
    stranger's bad tokens never use up a publisher's allowance)."""

    def authorize() -> TokenGrant:  # the database and the limiter's store: off the loop
        grant = accounts.authorize_token(token, Scope.PUBLISH, package=None)
        state.publish_limiter.hit(f"user:{grant.user.id}", "publishes")
        return grant

    return await run_in_threadpool(authorize)
