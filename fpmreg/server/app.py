"""`create_app(settings)`: builds the whole server; nothing is configured at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from fpmreg import __version__
from fpmreg.server.accounts import api as accounts_api
from fpmreg.server.accounts import credential_pages as accounts_credential_pages
from fpmreg.server.accounts import leaving_pages, tokens_api, twofactor_pages
from fpmreg.server.accounts import pages as accounts_pages
from fpmreg.server.accounts.sessions import WebSessions
from fpmreg.server.advisories import api as advisories_api
from fpmreg.server.advisories import osv_api
from fpmreg.server.advisories import pages as advisories_pages
from fpmreg.server.advisories.deps import AdvisoriesWiring
from fpmreg.server.advisories.embedding import EmbeddedAdvisories
from fpmreg.server.builds import pages as builds_pages
from fpmreg.server.builds.hook import QueueBuilds
from fpmreg.server.builds.jobs import BuildConfig, VerifyBuild
from fpmreg.server.builds.service import BUILD_VERSION
from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock, SystemClock
from fpmreg.server.communities import activitypub_api as communities_activitypub
from fpmreg.server.communities import api as communities_api
from fpmreg.server.communities import (
    audits_api,
    facts_api,
    organisations_api,
    proxy_api,
    submissions_api,
    trust_api,
    verdicts_api,
)
from fpmreg.server.communities import pages as communities_pages
from fpmreg.server.communities.imports import IMPORT_EVIDENCE, ImportEvidence
from fpmreg.server.communities.submissions import SubmissionAnswers
from fpmreg.server.communities.verdicts_hook import install_verdicts_hook
from fpmreg.server.csrf import SESSION_COOKIE, CsrfMiddleware
from fpmreg.server.db import Database
from fpmreg.server.errors import DomainError
from fpmreg.server.federation import ap_api
from fpmreg.server.federation import api as federation_api
from fpmreg.server.federation.delivery import DELIVER, Deliver
from fpmreg.server.federation.deps import install_federation
from fpmreg.server.federation.flags import SendFlagDecisions
from fpmreg.server.federation.keys import load_keys
from fpmreg.server.federation.mirror_flags import ForwardToOrigin
from fpmreg.server.federation.mirror_sync import MIRROR_SYNC, MirrorSync
from fpmreg.server.federation.witness import COSIGN, Cosign, log_witnesses
from fpmreg.server.front.hook import install_front
from fpmreg.server.headers import SecurityHeaders
from fpmreg.server.http import (
    AppState,
    domain_error_handler,
    error_response,
    http_error_handler,
    validation_error_handler,
)
from fpmreg.server.jobs import Handler, Handlers, JobRunner, default_worker_id
from fpmreg.server.linked import (
    badges_api,
    codemeta_api,
    credentials_api,
    dumps_api,
    sbom_api,
)
from fpmreg.server.linked.credentials import IssueOnPass
from fpmreg.server.linked.dumps_job import WRITE_DUMP, WriteDailyDump
from fpmreg.server.linked.policy_credentials import install_policy_credentials_hook
from fpmreg.server.mail import SEND_MAIL, SendMail, build_mailer
from fpmreg.server.metrics import api as metrics_api
from fpmreg.server.metrics import pages as metrics_pages
from fpmreg.server.metrics.dedup import SharedRepeats
from fpmreg.server.metrics.deps import MetricsWiring
from fpmreg.server.metrics.instruments import Instruments, RequestMetrics
from fpmreg.server.metrics.jobs import MetricsLoop
from fpmreg.server.metrics.models import VersionDownloads
from fpmreg.server.metrics.recorder import DownloadMiddleware, DownloadRecorder
from fpmreg.server.moderation import api as moderation_api
from fpmreg.server.moderation import expectations as expectations_routes
from fpmreg.server.moderation import notices_api, notices_pages, reports_api, reports_pages
from fpmreg.server.moderation import pages as moderation_pages
from fpmreg.server.moderation.deps import ModerationWiring
from fpmreg.server.moderation.notifications import unread_for_header
from fpmreg.server.moderation.remote import RemoteReports
from fpmreg.server.openapi import docs_router, openapi_document
from fpmreg.server.packages import (
    access_api,
    access_pages,
    diff_api,
    diff_pages,
    fpm_api,
    index_api,
)
from fpmreg.server.packages import api as packages_api
from fpmreg.server.packages import pages as packages_pages
from fpmreg.server.packages.build_hook import NoBuilds
from fpmreg.server.packages.deps import PackagesWiring
from fpmreg.server.packages.fpm_api import FpmMetadataCache, TarballCache
from fpmreg.server.packages.maintainers import MaintainerView
from fpmreg.server.packages.service import PackagesService, PublishHooks
from fpmreg.server.path_guard import FORM_OVERHEAD_BYTES, PathAndSizeGuard
from fpmreg.server.ratelimit import BoundLimit, PublishAuthGuard, RateLimiter
from fpmreg.server.settings import Environment, Settings
from fpmreg.server.storage import StorageUnavailable, build_store
from fpmreg.server.templating import backticks_to_code, filesize
from fpmreg.server.web import api as web_api
from fpmreg.server.web import pages as web_pages
from fpmreg.server.web.advisory_drafts import DraftFromReport
from fpmreg.server.web.advisory_notices import NotifyOnPublish
from fpmreg.server.web.mirroring import ModerationMirrorActions

HERE = Path(__file__).parent
log = logging.getLogger(__name__)


def sweep_orphan_blobs(state: AppState) -> list[str]:
    """Remove blobs no version owns (left by a crashed upload) past the grace period."""
    with state.database.session() as session:
        owned = PackagesService(session, state.clock, state.store).owned_blobs()
    return state.store.sweep_orphans(owned, state.settings.orphan_grace_seconds)


# Routers in the order they are matched; `web` (several domains at once) comes with them.
ROUTERS = (
    fpm_api.router,
    packages_api.router,
    diff_api.router,
    index_api.router,
    moderation_api.router,
    expectations_routes.router,  # docs/expectations.md
    web_api.router,
    accounts_api.router,
    tokens_api.router,
    access_api.router,
    metrics_api.router,
    metrics_api.operator_router,
    notices_api.router,
    reports_api.router,
    advisories_api.router,
    osv_api.router,
    communities_api.router,  # docs/communities.md
    audits_api.router,
    submissions_api.router,
    verdicts_api.router,
    audits_api.documents_router,  # `/c/{c}/audits/{id}`, before `/c/{c}/{kind}/{slug}`
    verdicts_api.documents_router,  # `/c/{c}/verdicts/{id}`, likewise
    proxy_api.router,  # `/c/{c}/fpm/...`, likewise (docs/communities.md, "Proxy registries")
    organisations_api.router,  # docs/organisations.md
    organisations_api.documents_router,
    trust_api.router,
    trust_api.documents_router,  # `/c/{c}/trust/{id}`, `/c/{c}/reviewers/{u}`: before too
    communities_api.documents_router,
    facts_api.router,  # docs/vetting.md, "Facts the registry attests"
    badges_api.router,  # docs/badges.md
    codemeta_api.router,  # docs/linked-data.md
    dumps_api.router,  # docs/dumps.md
    sbom_api.router,  # docs/sbom.md
    packages_pages.router,
    diff_pages.router,
    notices_pages.router,  # before web's `/project/{ns}/{name}/{version}`: it has `/events`
    builds_pages.router,  # `/project/{ns}/{name}/{version}/build.log`
    web_pages.router,
    accounts_pages.router,
    accounts_credential_pages.router,
    access_pages.router,
    leaving_pages.router,
    twofactor_pages.router,
    metrics_pages.router,
    moderation_pages.router,
    expectations_routes.pages_router,
    reports_pages.router,
    advisories_pages.router,
    communities_pages.router,
    communities_activitypub.router,  # `/ap/communities/...`, before federation's `/ap/{path}`
    federation_api.router,
    ap_api.router,
    credentials_api.router,  # docs/credentials.md
    docs_router,
)


def version_download_totals(session: Session, version_ids: list[int]) -> int:
    """All-time downloads of these versions, from the metrics domain's totals: the
    `DownloadTotals` the moderation domain's owner-delete rule reads (it may not import
    metrics itself, `docs/architecture.md`, "Layers")."""
    if not version_ids:
        return 0
    total = session.scalar(
        select(func.coalesce(func.sum(VersionDownloads.count), 0)).where(
            VersionDownloads.version_id.in_(version_ids)
        )
    )
    return int(total or 0)


def build_state(settings: Settings, database: Database, clock: Clock) -> AppState:
    """The shared infrastructure: database, blobs, clock, templates, limits, changes."""
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals["fpmreg_version"] = __version__
    templates.env.globals["unread_notifications"] = unread_for_header  # the header's count
    # The version page's build (builds/_status.html); no query while builds are off.
    templates.env.globals["version_build"] = (
        builds_pages.version_build if settings.build_verification else builds_pages.no_build
    )
    templates.env.filters["code"] = backticks_to_code  # `x` in messages -> <code>x</code>
    templates.env.filters["filesize"] = filesize
    limiter = RateLimiter(settings)

    def page_user(session: Session, cookie: str) -> object:
        return WebSessions(session, clock, session_days=settings.session_days).user_for(cookie)

    return AppState(
        settings=settings,
        database=database,
        store=build_store(settings),
        clock=clock,
        templates=templates,
        limiter=limiter,
        login_limiter=BoundLimit(limiter, limiter.limits.login_failures_per_account),
        publish_limiter=BoundLimit(limiter, limiter.limits.publishes),
        changes=ChangeCounter(database),
        page_user=page_user,
    )


def build_metrics(state: AppState) -> tuple[MetricsWiring, MetricsLoop]:
    """The metrics domain's recorder and instruments, and the loop that flushes them."""
    settings = state.settings
    instruments = Instruments()
    recorder = DownloadRecorder(
        state.database,
        state.clock,
        dedup_seconds=settings.download_dedup_seconds,
        instruments=instruments,
        shared=SharedRepeats(settings.redis_url, settings.redis_key_prefix)
        if settings.redis_url
        else None,
    )
    loop = MetricsLoop(
        recorder,
        state.database,
        state.clock,
        flush_seconds=settings.metrics_flush_seconds,
        retention_days=settings.download_retention_days,
    )
    return MetricsWiring(recorder, instruments), loop


def build_job_handlers(
    settings: Settings, clock: Clock | None = None, database: Database | None = None
) -> Handlers:
    """The background jobs this registry runs, by kind (the worker and the app share it)."""
    mailer = build_mailer(settings.smtp_url.get_secret_value(), settings.mail_sender)
    domain = settings.mail_sender.rpartition("@")[2] or "localhost"
    handlers: dict[str, Handler] = {SEND_MAIL: SendMail(mailer, domain)}
    # ActivityPub deliveries, signed with the registry's key (docs/activitypub.md).
    keys = load_keys(Path(settings.keys_dir), settings.base_url)
    handlers[DELIVER] = Deliver(keys, allow_private=settings.federation_allow_private)
    # Verified mirrors of other registries (docs/mirrors.md); their changes bump the
    # change sequence, so fpm's cached answers follow.
    changes = ChangeCounter(database or Database.from_url(settings.database_url))
    store, job_clock = build_store(settings), clock or SystemClock()
    handlers[MIRROR_SYNC] = MirrorSync(
        store,
        job_clock,
        ModerationMirrorActions(
            job_clock, store, changes, allow_private=settings.federation_allow_private
        ),
        changes,
        max_upload_bytes=settings.max_upload_bytes,
        allow_private=settings.federation_allow_private,
    )
    # Evidence of communities on other registries that policies here accept, verified
    # against their signed logs; each run queues the next (docs/communities.md).
    handlers[IMPORT_EVIDENCE] = ImportEvidence(
        job_clock, settings.base_url, settings.federation_allow_private,
        settings.evidence_refresh_seconds,
    )  # fmt: skip
    # The daily metadata dump, which queues its next run (docs/dumps.md, "Schedule").
    handlers[WRITE_DUMP] = WriteDailyDump(store, settings.base_url, settings.dump_keep)
    peers = log_witnesses(settings.log_witnesses)
    if peers:  # a cosigning round after each append (docs/transparency-log.md)
        handlers[COSIGN] = Cosign(keys, peers, job_clock)
    if settings.build_verification:  # docs/builds.md
        # A failed build's quarantine bumps the change sequence in the job's transaction.
        handlers[BUILD_VERSION] = IssueOnPass(  # a pass issues a credential (docs/credentials.md)
            VerifyBuild(BuildConfig.from_settings(settings), store, job_clock, changes),
            job_clock,
            keys,
        )
    return handlers


def build_job_runner(settings: Settings, database: Database, clock: Clock) -> JobRunner:
    """A runner of every job kind with the lease and polling of `settings`."""
    return JobRunner(
        database,
        clock,
        build_job_handlers(settings, clock, database),
        worker_id=default_worker_id(),
        lease_seconds=settings.job_lease_seconds,
        poll_seconds=settings.job_poll_seconds,
    )


def make_lifespan(
    state: AppState, metrics_loop: MetricsLoop, job_runner: JobRunner | None = None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start-up (orphan sweep, cache invalidation, rollup, flushing) and shutdown."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            sweep_orphan_blobs(state)
        except StorageUnavailable as exc:  # downloads answer 503 until it is back
            log.error("orphan sweep skipped: %s (%s)", exc.detail, state.store.describe())
        metrics_loop.roll_up_daily()
        metrics_loop.start()
        if job_runner is not None:  # FPMREG_RUN_JOBS_IN_PROCESS: the embedded default
            job_runner.start()
        try:
            yield
        finally:
            if job_runner is not None:  # the job in hand is finished first
                await run_in_threadpool(job_runner.stop)
            # Runs on SIGTERM too (uvicorn, and gunicorn's uvicorn workers): the counts
            # still buffered in this process reach the database before it exits.
            await run_in_threadpool(metrics_loop.stop)

    return lifespan


def add_middleware(
    app: FastAPI, settings: Settings, metrics: MetricsWiring, limiter: RateLimiter
) -> None:
    """The ASGI middleware, innermost first: the last added sees a request first."""
    app.add_middleware(CsrfMiddleware, settings=settings, refuse=error_response)
    app.add_middleware(TarballCache)  # inside the counter: its downloads are counted
    app.add_middleware(DownloadMiddleware, recorder=metrics.recorder)
    app.add_middleware(FpmMetadataCache)
    app.add_middleware(PublishAuthGuard, limiter=limiter)  # before any body is read
    app.add_middleware(
        PathAndSizeGuard,
        max_body=settings.max_upload_bytes + FORM_OVERHEAD_BYTES,
        max_tarball=settings.max_upload_bytes,
    )
    app.add_middleware(RequestMetrics, instruments=metrics.instruments, routes=app.routes)
    app.add_middleware(
        SecurityHeaders,
        production=settings.env is Environment.PRODUCTION,
        session_cookie=SESSION_COOKIE,
    )


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Clock | None = None,
    publish_hooks: PublishHooks | None = None,
) -> FastAPI:
    """Build the registry application from `settings` (default: the environment).

    `publish_hooks` are called at the named steps of every publish (tests use them to
    kill the process mid-publish); the default does nothing."""
    settings = settings or Settings()
    state = build_state(
        settings, database or Database.from_url(settings.database_url), clock or SystemClock()
    )
    metrics, metrics_loop = build_metrics(state)
    job_runner = (
        build_job_runner(settings, state.database, state.clock)
        if settings.run_jobs_in_process
        else None
    )
    app = FastAPI(
        title="fpmreg",
        version=__version__,
        summary="A package registry for the Fortran Package Manager",
        openapi_url="/api/openapi.json",
        docs_url=None,  # `fpmreg.server.openapi.docs_router`: Swagger UI served offline
        redoc_url=None,
        lifespan=make_lifespan(state, metrics_loop, job_runner),
    )
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    app.state.fpmreg = state
    # The domains' wiring: metrics counts the downloads the packages domain announces.
    app.state.metrics = metrics
    app.state.packages = PackagesWiring(
        downloads=metrics.recorder,
        publish_hooks=publish_hooks or PublishHooks(),
        advisories=EmbeddedAdvisories(settings.base_url),
        builds=QueueBuilds(state.clock) if settings.build_verification else NoBuilds(),
    )
    # With FPMREG_FRONT_DIR, nginx's files follow every commit (docs/operating.md).
    app.state.front = install_front(state, app.state.packages.advisories)
    # Publishing an advisory notifies through moderation's notifications (web layer).
    app.state.advisories = AdvisoriesWiring(
        listener=NotifyOnPublish(
            state.clock,
            mail=bool(settings.smtp_url.get_secret_value()),
            base_url=settings.base_url,
        )
    )
    # Every public change is signed and appended to the transparency log (federation).
    # Inbound ActivityPub `Flag`s are filed as remote reports (moderation), and deciding
    # one answers the flagger (federation): docs/activitypub.md, "Federated reports".
    mail = bool(settings.smtp_url.get_secret_value())
    # Every change that alters a verdict issues it in its transaction (docs/communities.md).
    install_verdicts_hook(state.database.sessions, state.clock, settings.base_url)
    remote_reports = RemoteReports(state.clock, state.store, mail=mail, base_url=settings.base_url)
    # Answers to our users' audit `Offer`s are recorded by communities (docs/communities.md).
    app.state.federation = install_federation(
        settings, state.database.sessions, remote_reports, offers=SubmissionAnswers()
    )
    # A passing verdict issues its credential, a failing one revokes it (docs/credentials.md).
    install_policy_credentials_hook(state.database.sessions, state.clock, app.state.federation.keys)
    app.state.packages_view = MaintainerView()  # accounts asks it who maintains a package
    app.state.moderation = ModerationWiring(
        download_totals=version_download_totals,
        # The queue's `advisory` decision opens a draft in the advisories domain (web layer).
        advisory_drafter=DraftFromReport(state.clock, prefix=settings.advisory_prefix),
        remote_decisions=SendFlagDecisions(app.state.federation.keys),
        report_forwarder=ForwardToOrigin(app.state.federation.keys),  # docs/mirrors.md
    )
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    add_middleware(app, settings, metrics, state.limiter)
    return app
