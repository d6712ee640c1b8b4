"""The `/api/v1/advisories` JSON endpoints: create a draft, update, publish, withdraw."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from fpmreg.core.wire.advisories import AdvisoryInfo, AdvisoryWrite, WithdrawRequest
from fpmreg.server.accounts.deps import AccountsDep
from fpmreg.server.accounts.models import Scope, User
from fpmreg.server.advisories.deps import AdvisoriesDep, Credentials, token_user
from fpmreg.server.advisories.models import Advisory
from fpmreg.server.advisories.records import scores
from fpmreg.server.advisories.service import AdvisoriesService, record_of, state_of
from fpmreg.server.http import StateDep
from fpmreg.server.openapi import BEARER, api_errors
from fpmreg.server.packages.models import Package

router = APIRouter(prefix="/api/v1", tags=["advisories"])

IdPath = Annotated[
    str,
    Path(
        description="the OSV id, e.g. `FPMREG-2026-0001`",
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
    ),
]
_WRITE_ERRORS = api_errors(400, 401, 403, 404, 409, 422)


def advisory_info(advisory: Advisory, base_url: str) -> AdvisoryInfo:
    """An advisory in the `/api/v1` shape."""
    return AdvisoryInfo(
        id=advisory.osv_id,
        state=state_of(advisory),
        package=advisory.package,
        summary=advisory.summary,
        url=f"{base_url}/advisories/{advisory.osv_id}",
        scores=scores(advisory.record),
        record=record_of(advisory),
    )


def _package(service: AdvisoriesService, advisory: Advisory) -> Package | None:
    if advisory.package_id is None:
        return None
    return service.session.get(Package, advisory.package_id)


def _reader(accounts: AccountsDep, credentials: Credentials) -> User | None:
    """The token's owner when a token is sent (drafts are shown to them), else nobody."""
    if credentials is None or not credentials.credentials.strip():
        return None
    secret = credentials.credentials.strip()
    return accounts.authorize_token(secret, Scope.MANAGE, package=None).user


Reader = Annotated[User | None, Depends(_reader)]


@router.post(
    "/advisories",
    summary="Create a draft advisory",
    status_code=201,
    response_model=AdvisoryInfo,
    responses=_WRITE_ERRORS,
    dependencies=[Depends(BEARER)],
)
def create_advisory(
    write: AdvisoryWrite,
    advisories: AdvisoriesDep,
    accounts: AccountsDep,
    credentials: Credentials,
    state: StateDep,
) -> AdvisoryInfo:
    """A draft, visible to the package's namespace members and the security team only.

    Needs a `manage` token of the package's namespace, or a security team member's."""
    user = token_user(accounts, credentials, advisories.package_named(write.package))
    return advisory_info(advisories.create_draft(user, write), state.settings.base_url)


@router.get(
    "/advisories/{osv_id}",
    summary="One advisory",
    response_model=AdvisoryInfo,
    responses=api_errors(401, 404, 422),
)
def get_advisory(
    osv_id: IdPath, advisories: AdvisoriesDep, reader: Reader, state: StateDep
) -> AdvisoryInfo:
    """A published advisory; a draft only with a token of someone who may edit it."""
    return advisory_info(advisories.get(osv_id, reader), state.settings.base_url)


def _writer(
    osv_id: str, advisories: AdvisoriesService, accounts: AccountsDep, credentials: Credentials
) -> User:
    user = token_user(accounts, credentials, None)
    advisory = advisories.get(osv_id, user)
    return token_user(accounts, credentials, _package(advisories, advisory))


@router.put(
    "/advisories/{osv_id}",
    summary="Change an advisory",
    response_model=AdvisoryInfo,
    responses=_WRITE_ERRORS,
    dependencies=[Depends(BEARER)],
)
def update_advisory(
    osv_id: IdPath,
    write: AdvisoryWrite,
    advisories: AdvisoriesDep,
    accounts: AccountsDep,
    credentials: Credentials,
    state: StateDep,
) -> AdvisoryInfo:
    """New content; the record's `modified` moves (its id and package stay)."""
    user = _writer(osv_id, advisories, accounts, credentials)
    return advisory_info(advisories.update(user, osv_id, write), state.settings.base_url)


@router.post(
    "/advisories/{osv_id}/publish",
    summary="Publish a draft",
    response_model=AdvisoryInfo,
    responses=_WRITE_ERRORS,
    dependencies=[Depends(BEARER)],
)
def publish_advisory(
    osv_id: IdPath,
    advisories: AdvisoriesDep,
    accounts: AccountsDep,
    credentials: Credentials,
    state: StateDep,
) -> AdvisoryInfo:
    """Make it public: the OSV API serves it, and the package's namespace members and
    everyone who reported the package as a security vulnerability are notified."""
    user = _writer(osv_id, advisories, accounts, credentials)
    return advisory_info(advisories.publish(user, osv_id), state.settings.base_url)


@router.post(
    "/advisories/{osv_id}/withdraw",
    summary="Withdraw a published advisory",
    response_model=AdvisoryInfo,
    responses=_WRITE_ERRORS,
    dependencies=[Depends(BEARER)],
)
def withdraw_advisory(
    osv_id: IdPath,
    body: WithdrawRequest,
    advisories: AdvisoriesDep,
    accounts: AccountsDep,
    credentials: Credentials,
    state: StateDep,
) -> AdvisoryInfo:
    """It stays served with `withdrawn` set, and no longer affects any version."""
    user = _writer(osv_id, advisories, accounts, credentials)
    return advisory_info(advisories.withdraw(user, osv_id, body.reason), state.settings.base_url)
