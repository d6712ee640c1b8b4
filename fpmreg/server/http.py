"""HTTP plumbing shared by every domain: dependencies, error envelopes, CSRF, limits.

Handlers receive services through the `*Dep` aliases below; services never see the
request. Errors are `fpmreg.server.errors.DomainError`s, turned into one of three
envelopes by where the request went (`docs/api-design.md`, "Errors").
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from fpmreg.core.fpmjson import dumps_fpm
from fpmreg.core.problem import Problem
from fpmreg.core.wire.errors import ErrorEnvelope, FpmMessage
from fpmreg.server.accounts.models import User
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.db import Database
from fpmreg.server.errors import DomainError, Forbidden, RateLimited
from fpmreg.server.metrics.instruments import Instruments
from fpmreg.server.metrics.recorder import DownloadRecorder
from fpmreg.server.metrics.service import DownloadsService
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.settings import Settings
from fpmreg.server.storage import BlobStore

SESSION_COOKIE = "fpmreg_session"
CSRF_COOKIE = "fpmreg_csrf"
CSRF_FIELD = "csrf_token"
FPM_PREFIXES = ("/packages", "/tarballs")


class FixedWindowLimiter:
    """Counts events per key in one-minute windows, in this process's memory only."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._windows: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, what: str) -> None:
        """Count one event for `key`; raise `RateLimited` past the limit."""
        window = int(time.monotonic() // 60)
        start, count = self._windows.get(key, (window, 0))
        if start != window:
            start, count = window, 0
        if count >= self.per_minute:
            raise RateLimited("rate-limited", f"too many {what}: wait a minute and try again")
        self._windows[key] = (start, count + 1)
        if len(self._windows) > 100_000:  # bound memory under a flood of distinct keys
            self._windows = {k: v for k, v in self._windows.items() if v[0] == window}


@dataclass
class AppState:
    """Everything `create_app` builds once and requests share."""

    settings: Settings
    database: Database
    store: BlobStore
    clock: Clock
    templates: Jinja2Templates
    login_limiter: FixedWindowLimiter
    publish_limiter: FixedWindowLimiter
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


# CSRF: double-submit cookie. Every form carries the cookie's value in a hidden field;
# a cross-site page can make the browser send the cookie but cannot read it.


def csrf_token(request: Request) -> str:
    """This browser's CSRF token (made on first use, set as a cookie by `render`)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", "")
    if not token:
        token = secrets.token_urlsafe(24)
        request.state.new_csrf = token
    return token


def verify_csrf(request: Request, submitted: str) -> None:
    """Refuse a form whose CSRF field does not match the browser's cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise Forbidden(
            "csrf-failed",
            "the form expired or came from another site: reload the page and submit it again",
            CSRF_FIELD,
        )


def render(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """Render a page, with the signed-in user and the CSRF token in its context."""
    state = app_state(request)
    token = csrf_token(request)
    response = state.templates.TemplateResponse(
        request, template, {"csrf_token": token, **context}, status_code=status
    )
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=state.settings.base_url.startswith("https"),
        )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' https: data:; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'"
    )
    return response


# Errors -------------------------------------------------------------------

API_PREFIX = "/api/"


def fpm_response(status: int, message: str) -> Response:
    """fpm's own envelope: integer `code` and `message` (fpm ignores the HTTP status)."""
    return Response(
        dumps_fpm(FpmMessage(code=status, message=message).model_dump()),
        status_code=status,
        media_type="application/json",
    )


def error_body(path: str, status: int, problems: Sequence[Problem]) -> bytes:
    """The one place an error envelope is written: the JSON API's list of problems under
    `/api/`, fpm's `{code, message}` elsewhere. The exception handlers and the body-size
    guard (`fpmreg.server.app`) both call it."""
    if path.startswith(API_PREFIX):
        return ErrorEnvelope.of(problems).model_dump_json().encode()
    message = "; ".join(p.message for p in problems)
    return dumps_fpm(FpmMessage(code=status, message=message).model_dump())


def error_response(
    request: Request, error: DomainError, headers: dict[str, str] | None = None
) -> Response:
    """Map a domain error to the envelope of the part of the site it happened in."""
    path = request.url.path
    headers = dict(headers or {})
    if error.status == 429:
        headers["Retry-After"] = "60"
    if path.startswith(API_PREFIX) or path.startswith(FPM_PREFIXES):
        body = error_body(path, error.status, error.problems)
        return Response(
            body, status_code=error.status, media_type="application/json", headers=headers
        )
    if error.status == 401 and request.method == "GET":
        return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
    response = render(request, "error.html", {"error": error, "user": None}, status=error.status)
    response.headers.update(headers)
    return response


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    """Exception handler for `DomainError`."""
    assert isinstance(exc, DomainError)
    return error_response(request, exc)


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    """Exception handler for FastAPI's request validation errors: 422 on `/api/`, 400 on
    the fpm routes and pages (fpm's `code` is the status, and 422 means nothing to it)."""
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())[1:]) or "request"
        problems.append(Problem("request-invalid", where, f"`{where}`: {err.get('msg', '')}"))
    error = DomainError.of(problems or [Problem("request-invalid", "", "malformed request")])
    error.status = 422 if request.url.path.startswith(API_PREFIX) else 400
    return error_response(request, error)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """The `Allow` header of a 405: every method some route takes at this path (asked of
    the routes themselves, as the router does, so included routers count too)."""
    routes = request.app.router.routes
    # A fresh scope: the request's own carries the routing state of its failed match.
    bare = {"type": "http", "path": request.url.path, "root_path": "", "headers": []}
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**bare, "method": method})[0] is Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Exception handler for routing errors (unknown URL, wrong method, unreadable body)."""
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, DomainError):  # FastAPI wraps errors raised in body parsing
        return error_response(request, exc.__cause__)
    code = {400: "request-invalid", 404: "not-found", 405: "method-not-allowed"}.get(
        exc.status_code, "http-error"
    )
    detail = {
        400: f"the request body cannot be read ({exc.detail}): send what the API documents",
        404: f"nothing at `{request.url.path}`",
        405: f"`{request.method}` is not allowed on `{request.url.path}`",
    }.get(exc.status_code, str(exc.detail))
    error = DomainError(code, detail)
    error.status = exc.status_code
    headers = {"Allow": allowed_methods(request)} if exc.status_code == 405 else None
    return error_response(request, error, headers)
