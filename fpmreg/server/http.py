"""HTTP plumbing shared by every domain: state, the unit of work, error envelopes, CSRF.

This module sits below every domain (`docs/architecture.md`, "Layers") and imports
none: each domain gives its handlers their service aliases in its own `deps.py`
(`AccountsDep`, `PackagesDep`, `DownloadsDep`); services never see the request.
Errors are `fpmreg.server.errors.DomainError`s, turned into one of three envelopes by
where the request went (`docs/api-design.md`, "Errors").

CSRF itself lives in `csrf.py` and the security headers in `headers.py`; `render`
gives each page its CSRF token.
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
from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.csrf import SESSION_COOKIE as SESSION_COOKIE
from fpmreg.server.db import Database
from fpmreg.server.errors import DomainError, RateLimited
from fpmreg.server.ratelimit import BoundLimit, RateLimiter
from fpmreg.server.settings import Settings
from fpmreg.server.storage import BlobStore

FPM_PREFIXES = ("/packages", "/tarballs")


@dataclass
class AppState:
    """The infrastructure `create_app` builds once and requests share (no domain's
    objects: those sit on `app.state` under the domain's name, see its `deps.py`)."""

    settings: Settings
    database: Database
    store: BlobStore
    clock: Clock
    templates: Jinja2Templates
    limiter: RateLimiter  # every named rate limit (fpmreg/server/ratelimit.py)
    login_limiter: BoundLimit  # failed sign-ins per account
    publish_limiter: BoundLimit  # publishes per authenticated principal
    changes: ChangeCounter


def app_state(request: Request) -> AppState:
    """The application's shared state."""
    state: AppState = request.app.state.fpmreg
    return state


StateDep = Annotated[AppState, Depends(app_state)]


def db_session(state: StateDep) -> Iterator[Session]:
    """The request's unit of work (warehouse's `pyramid_tm`): one session, committed
    when the handler returns, rolled back when it raises. Services only flush.

    Function scope: the commit runs before the response is sent, so a client that got
    its 201 finds the data from any other connection at once (FastAPI's default
    `request` scope would run it after the response)."""
    with state.database.session() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


SessionDep = Annotated[Session, Depends(db_session, scope="function")]


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
