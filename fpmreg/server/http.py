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

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from fpmreg.core.fpmjson import dumps_fpm
from fpmreg.core.problem import Problem
from fpmreg.core.wire import MAX_ROW_ID
from fpmreg.core.wire.errors import ErrorEnvelope, FpmMessage
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


def is_fpm_path(path: str) -> bool:
    """Whether `path` is read by fpm, whose errors are its `{code, message}` envelope."""
    # A community's proxy registry speaks fpm's protocol too (docs/communities.md).
    return path.startswith(FPM_PREFIXES) or _csrf.FPM_PROXY_PATH.match(path) is not None


# A row id in a path: 1 to PostgreSQL's `integer` (docs/api-design.md, "Limits").
RowIdPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


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
    # The signed-in user of a session cookie, for pages rendered outside a handler (error
    # pages keep the header's user); plugged in by `create_app` (accounts sits above).
    page_user: Callable[[Session, str], Any] | None = None


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


async def form_fields(request: Request) -> dict[str, str]:
    """The text fields of a submitted form (its CSRF token was checked by csrf.py).

    A dependency, so the handler that uses it can be a plain `def`: FastAPI runs those
    in its thread pool, and a handler waiting on the database (SQLite waits up to 30 s
    for a writer's lock) never stalls the event loop that answers everyone else
    (docs/architecture.md, "One request lifecycle")."""
    form = await request.form(max_files=0, max_fields=_csrf.MAX_FORM_FIELDS)
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def form_lists(request: Request) -> dict[str, list[str]]:
    """Every value of each text field of a submitted form (checkboxes sharing a name)."""
    form = await request.form(max_files=0, max_fields=_csrf.MAX_FORM_FIELDS)
    lists: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            lists.setdefault(key, []).append(value)
    return lists


FormFields = Annotated[dict[str, str], Depends(form_fields)]
FormLists = Annotated[dict[str, list[str]], Depends(form_lists)]


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

# Paths that answer errors in the JSON API's envelope: the API, the transparency log (its
# tiles are binary, its errors JSON), the ActivityPub routes (docs/activitypub.md), the
# verifiable credentials (docs/credentials.md) and the badges (docs/badges.md).
API_PREFIX = (
    "/api/", "/log/", "/ap/", "/.well-known/", "/nodeinfo/", "/credentials/", "/badges/",
    "/dumps/",
)  # fmt: skip


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
    """Map a domain error to the envelope of the part of the site it happened in;
    `headers` are added to it (the `Allow` of a 405)."""
    response = _error_envelope(request, error)
    if isinstance(error, RateLimited):  # on every envelope: HTML, JSON and fpm's
        response.headers["Retry-After"] = str(error.retry_after)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _error_envelope(request: Request, error: DomainError) -> Response:
    path = request.url.path
    if path.startswith(API_PREFIX) or is_fpm_path(path):
        body = error_body(path, error.status, error.problems)
        return Response(body, status_code=error.status, media_type="application/json")
    if error.status == 401 and request.method == "GET":
        return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
    return _error_page(request, error)


def _error_page(request: Request, error: DomainError) -> Response:
    """The HTML error page, with the signed-in user in its header (read in a session of
    its own: the request's was rolled back; nothing is written)."""
    state = app_state(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if not cookie or state.page_user is None:
        return render(request, "error.html", {"error": error, "user": None}, status=error.status)
    with state.database.session() as session:
        user = state.page_user(session, cookie)
        response = render(request, "error.html", {"error": error, "user": user},
                          status=error.status)  # fmt: skip
        session.rollback()
        return response


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    """Exception handler for `DomainError`."""
    assert isinstance(exc, DomainError)
    return await run_in_threadpool(error_response, request, exc)  # an HTML page reads who
    # is signed in from the database: never on the event loop


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
    return await run_in_threadpool(error_response, request, error)


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
        return await run_in_threadpool(error_response, request, exc.__cause__)
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
    return await run_in_threadpool(error_response, request, error, headers)
