"""CSRF protection of every cookie-authenticated form, in one middleware.

A form's token is `HMAC(FPMREG_SECRET_KEY, binding)`, where the binding is the browser's
session cookie when it has one, else a random visitor id kept in a cookie of its own.
So a token is worth nothing in another browser, or in the same browser once it signs in
or out (both change the binding), and cannot be forged without the secret key. A
planted cookie does not help: the session cookie is the attacker's to know only if the
session is already theirs. The `Origin` header, sent by browsers on every form post, is
checked too when present. Design and reasons: `docs/security.md`, "CSRF".

The JSON API (`/api/`), fpm's routes (`/packages`, `/tarballs`) and the OSV API (`/v1/`)
are exempt: they read no cookie, only a bearer token or the upload token of fpm's form,
which a cross-site page cannot make a browser send.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fpmreg.server.errors import DomainError, Forbidden, TooLarge
from fpmreg.server.settings import Environment, Settings

SESSION_COOKIE = "fpmreg_session"  # the browser session the token is bound to
CSRF_FIELD = "csrf_token"
# Cookie of a visitor without a session. `__Host-` (production): the browser keeps it
# only if it is Secure, for Path=/ and no Domain, so a sibling subdomain cannot set it.
CSRF_COOKIE = "fpmreg_csrf"
PRODUCTION_CSRF_COOKIE = "__Host-fpmreg_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Prefixes of the routes that read no cookie (see the module docstring).
EXEMPT_PREFIXES = (
    "/api/", "/packages/", "/tarballs/", "/v1/", "/log/", "/ap/", "/credentials/", "/badges/",
    "/orgs/", "/dumps/",
)  # fmt: skip
EXEMPT_PATHS = frozenset({"/packages"})  # fpm's publish form
# A community's proxy registry, read by fpm (docs/communities.md, "Proxy registries").
FPM_PROXY_PATH = re.compile(r"^/c/[^/]+/fpm/")
# The pages' forms are a few short fields; the body is read whole to find the token.
MAX_FORM_BYTES = 64 * 1024
# Fields a form may have (the token form's scope boxes are the most: one per scope).
MAX_FORM_FIELDS = 50
_REFUSED = "the form expired or came from another site: reload the page and submit it again"


def cookie_name(settings: Settings) -> str:
    """The visitor cookie's name: `__Host-` prefixed in production."""
    return PRODUCTION_CSRF_COOKIE if settings.env is Environment.PRODUCTION else CSRF_COOKIE


def _key(settings: Settings) -> bytes:
    # A key of its own, so a CSRF token says nothing about other uses of the secret.
    return hmac.new(settings.secret_key.encode(), b"fpmreg csrf v1", hashlib.sha256).digest()


def _token(settings: Settings, binding: str) -> str:
    digest = hmac.new(_key(settings), binding.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _binding(request: Request, settings: Settings) -> str:
    session = request.cookies.get(SESSION_COOKIE, "")
    if session:
        return f"session:{session}"
    visitor = request.cookies.get(cookie_name(settings), "") or getattr(
        request.state, "new_csrf_visitor", ""
    )
    return f"visitor:{visitor}" if visitor else ""


def csrf_token(request: Request, settings: Settings) -> str:
    """The token this browser's forms carry; makes a visitor id on first use (set as a
    cookie by `set_visitor_cookie`)."""
    binding = _binding(request, settings)
    if not binding:
        request.state.new_csrf_visitor = secrets.token_urlsafe(24)
        binding = _binding(request, settings)
    return _token(settings, binding)


def set_visitor_cookie(request: Request, response: Response, settings: Settings) -> None:
    """Set the visitor id `csrf_token` made for this request, if it made one."""
    visitor = getattr(request.state, "new_csrf_visitor", "")
    if visitor:
        production = settings.env is Environment.PRODUCTION
        response.set_cookie(
            cookie_name(settings),
            visitor,
            httponly=True,
            samesite="lax",
            path="/",
            secure=production or settings.base_url.startswith("https"),
        )


def rotate_csrf(response: Response, settings: Settings) -> None:
    """Forget the visitor id (at sign-in and sign-out): the next page makes a new one."""
    response.delete_cookie(cookie_name(settings), path="/")


def verify_csrf(request: Request, settings: Settings, submitted: str) -> None:
    """Refuse a form whose token is not this browser's."""
    binding = _binding(request, settings)
    expected = _token(settings, binding) if binding else ""
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise Forbidden("csrf-failed", _REFUSED, CSRF_FIELD)


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL as browsers send it in `Origin` (default port
    left out, lower case)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{scheme}://{host}{port}"


def is_exempt(path: str) -> bool:
    """Whether `path` is on a route that reads no cookie."""
    return (
        path in EXEMPT_PATHS
        or path.startswith(EXEMPT_PREFIXES)
        or FPM_PROXY_PATH.match(path) is not None
    )


class CsrfMiddleware:
    """Check the `Origin` and the token of every state-changing request to a page."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        refuse: Callable[[Request, DomainError], Response],
    ) -> None:
        self.app = app
        self.settings = settings
        self.refuse = refuse
        self.origin = origin_of(settings.base_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS or is_exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        origin = request.headers.get("origin")
        if origin is not None and origin.lower() != self.origin:
            error = Forbidden(
                "csrf-origin",
                f"the form was sent from `{origin}`, not from this registry "
                f"(`{self.origin}`): open the page at {self.origin} and submit it again",
                "origin",
            )
            await self.refuse(request, error)(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            too_large = TooLarge("form-too-large", f"a form is at most {MAX_FORM_BYTES} bytes")
            await self.refuse(request, too_large)(scope, receive, send)
            return
        form_request = Request(scope, _replay(body, receive))
        try:
            form = await form_request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
            submitted = form.get(CSRF_FIELD)
        except Exception:
            submitted = None
        try:
            verify_csrf(request, self.settings, submitted if isinstance(submitted, str) else "")
        except Forbidden as error:
            await self.refuse(request, error)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None past `MAX_FORM_BYTES`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives `body` once, then whatever the client sends next."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
