"""The outermost middleware: paths fpm sends with doubled slashes, and request bodies over
the upload limit, both settled before anything parses the request (docs/fpm-protocol.md
§2.3, docs/api-design.md "Limits")."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fpmreg.core.problem import Problem
from fpmreg.server.errors import BodyTooLarge as _BodyTooLarge
from fpmreg.server.http import error_body

_SLASHES = re.compile(r"^/{2,}")
# The same within a community's proxy registry: `url = ".../c/x/fpm/"` (docs/communities.md).
_PROXY_SLASHES = re.compile(r"^(/c/[^/]+/fpm)/{2,}")
# Multipart framing and the small fields around the tarball.
FORM_OVERHEAD_BYTES = 64 * 1024


class PathAndSizeGuard:
    """Collapse leading `//` (fpm with a trailing-slash url) without a redirect, and
    cut off request bodies over the upload limit before they are parsed."""

    def __init__(self, app: ASGIApp, max_body: int, max_tarball: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_tarball = max_tarball

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith("//") or _PROXY_SLASHES.match(path):
            path = _PROXY_SLASHES.sub(r"\1/", _SLASHES.sub("/", path))
            scope = dict(scope, path=path, raw_path=path.encode())
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await self._too_large(scope, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _BodyTooLarge(self.max_tarball)
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLarge:
            await self._too_large(scope, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        # Said as the archive check says it: the form around the tarball is tiny.
        problem = Problem(
            "archive-too-large", "tarball", f"the tarball is larger than {self.max_tarball} bytes"
        )
        body = error_body(scope["path"], 413, [problem])
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
