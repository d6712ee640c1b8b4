"""HTTP plumbing shared by every domain: dependencies, error envelopes, CSRF, limits.

CSRF itself lives in `csrf.py` and the security headers in `headers.py`; `render`
gives each page its CSRF token.

Handlers receive services through the `*Dep` aliases below; services never see the
request. Errors are `fpmreg.server.errors.DomainError`s, turned into one of three
envelopes by where the request went (`docs/api-design.md`, "Errors").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from fpmreg.core.fpmjson import dumps_fpm
from fpmreg.server import csrf as _csrf
from fpmreg.server.accounts.models import User
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.csrf import SESSION_COOKIE as SESSION_COOKIE
from fpmreg.server.db import Database
from fpmreg.server.errors import DomainError, RateLimited
from fpmreg.server.metrics.instruments import Instruments
from fpmreg.server.metrics.recorder import DownloadRecorder
from fpmreg.server.metrics.service import DownloadsService
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.ratelimit import BoundLimit, RateLimiter
from fpmreg.server.settings import Settings
from fpmreg.server.storage import BlobStore

FPM_PREFIXES = ("/packages", "/tarballs")


@dataclass
class AppState:
    """Everything `create_app` builds once and requests share."""

    settings: Settings
    database: Database
    store: BlobStore
    clock: Clock
    templates: Jinja2Templates
    limiter: RateLimiter  # every named rate limit (fpmreg/server/ratelimit.py)
    login_limiter: BoundLimit  # failed sign-ins per account
    publish_limiter: BoundLimit  # publishes per authenticated principal
    changes: ChangeCounter
    downloads: DownloadRecorder  # buffered download counts of this process
    instruments: Instruments  # Prometheus metrics of this process


def app_state(request: Request) -> AppState:
    """The application's shared state."""
    state: AppState = request.app.state.fpmreg
    return state


StateDep = Annotated[AppState, Depends(app_state)]


def db_session(state: StateDep) -> Iterator[Session]:
    """A database session for one request; handlers commit what they change."""
    with state.database.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session)]


def accounts_service(state: StateDep, session: SessionDep) -> AccountsService:
    """The accounts service on this request's session."""
    return AccountsService(
        session,
        state.clock,
        session_days=state.settings.session_days,
        max_token_days=state.settings.max_token_days,
    )


def packages_service(state: StateDep, session: SessionDep) -> PackagesService:
    """The packages service on this request's session."""
    return PackagesService(
        session,
        state.clock,
        state.store,
        max_upload_bytes=state.settings.max_upload_bytes,
        crash_at=state.settings.crash_at,
        changes=state.changes,
    )


def downloads_service(state: StateDep, session: SessionDep) -> DownloadsService:
    """The download counts service on this request's session."""
    return DownloadsService(session, state.clock)


AccountsDep = Annotated[AccountsService, Depends(accounts_service)]
PackagesDep = Annotated[PackagesService, Depends(packages_service)]
DownloadsDep = Annotated[DownloadsService, Depends(downloads_service)]


def current_user(request: Request, accounts: AccountsDep) -> User | None:
    """The signed-in user of a browser session, if any."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return accounts.user_for_session(cookie) if cookie else None


CurrentUser = Annotated[User | None, Depends(current_user)]


# CSRF: tokens bound to the browser's session, checked by `csrf.CsrfMiddleware`.


def csrf_token(request: Request) -> str:
    """This browser's CSRF token for the forms of a page."""
    return _csrf.csrf_token(request, app_state(request).settings)


def verify_csrf(request: Request, submitted: str) -> None:
    """Refuse a form whose CSRF field is not this browser's token (the middleware already
    does this for every form; kept for handlers that check again)."""
    _csrf.verify_csrf(request, app_state(request).settings, submitted)


def render(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """Render a page, with the signed-in user and the CSRF token in its context.
    Security headers are added to every answer by `headers.SecurityHeaders`."""
    state = app_state(request)
    token = csrf_token(request)
    response = state.templates.TemplateResponse(
        request, template, {"csrf_token": token, **context}, status_code=status
    )
    _csrf.set_visitor_cookie(request, response, state.settings)
    return response


# Errors -------------------------------------------------------------------


def fpm_response(status: int, message: str) -> Response:
    """fpm's own envelope: integer `code` and `message` (fpm ignores the HTTP status)."""
    return Response(
        dumps_fpm({"code": status, "message": message}),
        status_code=status,
        media_type="application/json",
    )


def error_response(request: Request, error: DomainError) -> Response:
    """Map a domain error to the envelope of the part of the site it happened in."""
    response = _error_envelope(request, error)
    if isinstance(error, RateLimited):  # on every envelope: HTML, JSON and fpm's
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _error_envelope(request: Request, error: DomainError) -> Response:
    path = request.url.path
    if path.startswith(FPM_PREFIXES):
        return fpm_response(error.status, error.detail)
    if path.startswith("/api/"):
        body = {
            "errors": [
                {"code": p.code, "field": p.field, "detail": p.message} for p in error.problems
            ]
        }
        return JSONResponse(body, status_code=error.status)
    if error.status == 401 and request.method == "GET":
        return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
    return render(request, "error.html", {"error": error, "user": None}, status=error.status)


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    """Exception handler for `DomainError`."""
    assert isinstance(exc, DomainError)
    return error_response(request, exc)


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    """Exception handler for FastAPI's request validation errors."""
    assert isinstance(exc, RequestValidationError)
    from fpmreg.core.problem import Problem

    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())[1:]) or "request"
        problems.append(Problem("request-invalid", where, f"`{where}`: {err.get('msg', '')}"))
    error = DomainError.of(problems or [Problem("request-invalid", "", "malformed request")])
    error.status = 422 if request.url.path.startswith("/api/") else 400
    return error_response(request, error)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Exception handler for routing errors (unknown URL, wrong method)."""
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, DomainError):  # FastAPI wraps errors raised in body parsing
        return error_response(request, exc.__cause__)
    code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    detail = {
        404: f"nothing at `{request.url.path}`",
        405: f"`{request.method}` is not allowed on `{request.url.path}`",
    }.get(exc.status_code, str(exc.detail))
    error = DomainError(code, detail)
    error.status = exc.status_code
    return error_response(request, error)
