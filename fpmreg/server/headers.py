"""Security headers on every answer: pages, JSON, fpm routes, redirects, errors, files.

One pure ASGI middleware, outermost in `create_app`, so answers made by other
middleware (the 413 of `PathAndSizeGuard`, the cached tarballs and fpm metadata) get the
headers too. A header a route set itself is left as it is (the Swagger UI page sets its
own CSP; tarballs set their own `Cache-Control`). Reasons: `docs/security.md`, "Headers".
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style, nothing from other hosts (README images are links, see
# packages/readme.py), no framing, forms only to this registry. `img-src data:` is for
# the `data:image/...` images a README may hold and Swagger UI's icons.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
BASE_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    # Other sites learn this registry's origin from a followed link, never the page path
    # (which may name a private namespace's management page).
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),  # frame-ancestors for browsers without CSP level 2
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
)
# Production only: a development server on http://127.0.0.1 must not make browsers
# refuse plain HTTP on that host for a year. One year is the preload lists' minimum;
# no `includeSubDomains`: the operator's other hosts under the domain are not ours.
HSTS = ("Strict-Transport-Security", "max-age=31536000")
# Answers that carry a session's private data, a new secret or a new cookie are kept by
# no cache; other pages hold a per-visitor CSRF token, so no shared cache keeps them.
NO_STORE = "no-store"
PRIVATE = "private"


class SecurityHeaders:
    """Add `BASE_HEADERS` (and HSTS in production) to every HTTP answer, and a
    `Cache-Control` to pages and private answers that have none."""

    def __init__(self, app: ASGIApp, *, production: bool, session_cookie: str) -> None:
        self.app = app
        self.headers = BASE_HEADERS + ((HSTS,) if production else ())
        self.session_cookie = session_cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Headers(scope=scope)
        cookies = cookie_parser(request.get("cookie", ""))
        signed_in = bool(cookies.get(self.session_cookie))
        bearer = "authorization" in request  # an API token: the answer is that principal's

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    headers.setdefault(name, value)
                if "cache-control" not in headers:
                    page = headers.get("content-type", "").startswith("text/html")
                    if "set-cookie" in headers or bearer or (signed_in and page):
                        headers["Cache-Control"] = NO_STORE
                    elif page:
                        headers["Cache-Control"] = PRIVATE
            await send(message)

        await self.app(scope, receive, send_with_headers)
