"""Expectations on `/api/v1` and the owners' form on the package page
(docs/expectations.md).

`GET /api/v1/packages/{ns}/{name}/expectations` is public; `PUT` takes a token with the
`manage` scope of one of the package's owners (a member of its namespace, or one of its
own maintainers). Moderators and site admins do not declare for them: these are the
maintainers' own words. The form on the package page is for signed-in owners and is
CSRF-checked by `csrf.CsrfMiddleware` like every form.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from fpmreg.core.expectations import NOTICE_STATUSES, RESPONSES, STATUSES
from fpmreg.core.wire.expectations import ExpectationsRequest, ExpectationsState
from fpmreg.server.accounts.deps import AccountsDep, CurrentUser
from fpmreg.server.accounts.models import Scope, User
from fpmreg.server.errors import Forbidden, Unauthenticated
from fpmreg.server.http import FormFields, SessionDep, StateDep
from fpmreg.server.moderation.api import Credentials, token_principals
from fpmreg.server.moderation.permissions import Principal
from fpmreg.server.moderation.roles import principals_for
from fpmreg.server.openapi import api_errors
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.expectations import (
    ExpectationsService,
    InvalidExpectations,
    expectations_of,
    expectations_wire,
)
from fpmreg.server.packages.models import Package
from fpmreg.server.packages.schemas import NamePath, NamespacePath

router = APIRouter(prefix="/api/v1", tags=["packages"])
pages_router = APIRouter(include_in_schema=False)
OWNERS = frozenset({Principal.MAINTAINER, Principal.NAMESPACE_ADMIN})
# `status`, `response`, `contact`, `supported`, `note`, the CSRF field, and a few spare.
MAX_FORM_FIELDS = 10
# What `?expectations-error=CODE` shows in the form: a fixed sentence, never the input.
FORM_ERRORS = {
    "expectations-status-invalid": "Choose a maintenance status from the list.",
    "expectations-response-invalid": "Choose whether security reports get a response.",
    "expectations-contact-invalid": "The security contact must be an email address or an "
    "https:// URL.",
    "expectations-contact-missing": "Say where to send security reports, since they get a "
    "response.",
    "expectations-supported-invalid": "The supported versions must be a version requirement "
    "such as >=2.0 or ^1.4.",
    "expectations-note-invalid": "The note is too long: say it in under 500 characters.",
}


def require_owner(principals: set[Principal], package: Package) -> None:
    """Refuse anyone who is not an owner of `package` (403, or 401 when signed out)."""
    if principals & OWNERS:
        return
    label = f"{package.namespace.name}/{package.name}"
    if principals <= {Principal.ANONYMOUS}:
        raise Unauthenticated("sign-in-required", f"sign in to set the expectations of `{label}`")
    raise Forbidden(
        "not-an-owner",
        f"only the owners of `{label}` (members of namespace `{package.namespace.name}`, "
        "or its maintainers) may set its expectations",
        "authorization",
    )


def expectations_context(
    request: Request,
    user: User | None,
    principals: set[Principal],
    package: Package,
    session: Session,
) -> dict[str, Any]:
    """What the package page shows of the expectations, and the owners' form."""
    row = expectations_of(session, package)
    error = FORM_ERRORS.get(request.query_params.get("expectations-error", ""), "")
    return {
        "expectations": row,
        "expectations_notice": row is not None and row.status in NOTICE_STATUSES,
        "expectation_statuses": STATUSES,
        "expectation_responses": RESPONSES,
        "may_declare": user is not None and bool(principals & OWNERS),
        "expectations_error": error,
        "expectations_saved": request.query_params.get("expectations") == "saved",
    }


def _state(package: Package, packages: PackagesDep) -> ExpectationsState:
    return ExpectationsState(
        namespace=package.namespace.name,
        name=package.name,
        expectations=expectations_wire(expectations_of(packages.session, package)),
    )


@router.get(
    "/packages/{namespace}/{name}/expectations",
    summary="A package's expectations",
    response_model=ExpectationsState,
    responses=api_errors(403, 404, 410),
)
def get_expectations(
    namespace: NamespacePath, name: NamePath, packages: PackagesDep
) -> ExpectationsState:
    """Its maintenance status and security expectations, as its owners declared them;
    `expectations` is absent when they declared none."""
    return _state(packages.available_package(namespace, name), packages)


@router.put(
    "/packages/{namespace}/{name}/expectations",
    summary="Declare a package's expectations",
    response_model=ExpectationsState,
    responses=api_errors(400, 401, 403, 404, 410, 422),
)
def put_expectations(
    namespace: NamespacePath,
    name: NamePath,
    request_body: Annotated[ExpectationsRequest, Body()],
    session: SessionDep,
    state: StateDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> ExpectationsState:
    """Replace the declaration (every field; what is left out is cleared). Owners only,
    with a `manage` token; audited and signed into the transparency log."""
    user, principals, package = token_principals(
        session, accounts, credentials, Scope.MANAGE, packages, (namespace, name)
    )
    require_owner(principals, package)
    ExpectationsService(session, state.clock).declare(user.id, package, request_body)
    return _state(package, packages)


def form_request(fields: dict[str, str]) -> ExpectationsRequest:
    """The form's fields as a request; the service checks the values."""
    return ExpectationsRequest.model_construct(
        status=fields.get("status", ""),
        response=fields.get("response", ""),
        contact=fields.get("contact", ""),
        supported=fields.get("supported", ""),
        note=fields.get("note", ""),
    )


@pages_router.post("/project/{namespace}/{name}/expectations")
def expectations_form(
    namespace: str,
    name: str,
    request: Request,
    fields: FormFields,
    user: CurrentUser,
    state: StateDep,
    packages: PackagesDep,
) -> Response:
    """Declare the expectations from the package page, then back to it."""
    if user is None:
        raise Unauthenticated("sign-in-required", "sign in to set a package's expectations")
    package = packages.get_package(namespace, name)
    require_owner(principals_for(packages.session, user, package.namespace_id, package.id), package)
    page = f"/project/{quote(package.namespace.name)}/{quote(package.name)}"
    try:
        ExpectationsService(packages.session, state.clock).declare(
            user.id, package, form_request(fields)
        )
    except InvalidExpectations as exc:
        code = exc.problems[0].code
        return RedirectResponse(f"{page}?expectations-error={quote(code)}#expectations-form", 303)
    return RedirectResponse(f"{page}?expectations=saved#expectations", 303)
