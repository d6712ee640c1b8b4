"""The app server's own limits: header size, slow-client deadlines, concurrency, proxies.

`fpmreg-server run` serves with uvicorn in development and gunicorn with `Worker` (a
uvicorn worker) otherwise; both get `server_options(settings)`. Every request is read
by `GuardedH11Protocol`: uvicorn's h11 protocol with two deadlines it lacks, one for
the request head and one for the body. Values and reasons: docs/operating.md, "Limits
and proxies".
"""

from __future__ import annotations

import asyncio
import re
import warnings
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from fpmreg.server.settings import Settings

with warnings.catch_warnings():  # "use the uvicorn-worker package": the same class
    warnings.simplefilter("ignore", DeprecationWarning)
    from uvicorn.workers import UvicornWorker

# Largest request head (request line and every header) a client may send; a longer one
# gets a 431 before more is buffered. 16 KiB is h11's and Node.js's default, 40 times
# what fpm and browsers send (cookies here are two short tokens). We run h11, not
# httptools: uvicorn's httptools protocol has no bound at all on the head it buffers.
MAX_HEAD_BYTES = 16 * 1024
# Open connections per process; past it uvicorn answers 503. Each costs at most the head
# buffer (16 KiB) and a little state, so this bounds a flood of slow clients to ~20 MiB.
MAX_CONNECTIONS = 1000
# Connections the kernel queues for `accept`; uvicorn's and gunicorn's default, said once.
BACKLOG = 2048
# Seconds gunicorn waits for a worker's heartbeat before replacing it (its default).
WORKER_TIMEOUT_SECONDS = 30
# Seconds a stopping worker has to finish its requests and flush its download counts.
GRACEFUL_TIMEOUT_SECONDS = 20

_BLANK_LINE = re.compile(rb"\n\r?\n")  # the end of a head, as h11 finds it
_TOO_LARGE_BODY = (
    f"the request head is over {MAX_HEAD_BYTES} bytes: send fewer or shorter headers\n"
).encode()
_HEAD_TOO_LARGE_RESPONSE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: " + str(len(_TOO_LARGE_BODY)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _TOO_LARGE_BODY
)
_TIMEOUT_BODY = b"the request was not received in time: send it again, faster\n"
_HEAD_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _TIMEOUT_BODY
)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose client is too slow to send a
    request: the head within `head_timeout` seconds of its first byte (or of the
    connection), the body within `body_timeout` seconds of the head. Both are whole-
    request deadlines, so dripping a byte at a time does not extend them. A head over
    `MAX_HEAD_BYTES` gets a 431, pipelined or not."""

    head_timeout: ClassVar[float] = 10.0
    body_timeout: ClassVar[float] = 120.0

    _deadline: asyncio.TimerHandle | None = None
    _phase: str = ""  # "head", "body", or "" while no deadline runs

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("head")  # uvicorn itself would wait forever for a first byte

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and self._head_too_long(data):
            self._refuse_head()
            return
        super().data_received(data)
        self._follow(received=True)

    def on_response_complete(self) -> None:
        if self.conn.their_state is h11.DONE and self._head_too_long(b""):
            self._refuse_head()  # a pipelined request, read while this one was served
        super().on_response_complete()
        self._follow(received=False)

    def _refuse_head(self) -> None:
        self._disarm()
        if self.conn.our_state in (h11.IDLE, h11.DONE):
            self.transport.write(_HEAD_TOO_LARGE_RESPONSE)
        self.transport.close()

    def _head_too_long(self, data: bytes) -> bool:
        """Whether the request head being received ends past `MAX_HEAD_BYTES`.

        h11's own bound covers only a head still incomplete after a read, and one read
        takes up to 256 KiB: a longer head in one read would pass it."""
        buffered = self.conn.trailing_data[0]  # the head's earlier part, if any
        window = (buffered + data)[: MAX_HEAD_BYTES + 3]
        end = _BLANK_LINE.search(window)
        return (end.start() if end else len(window)) > MAX_HEAD_BYTES

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _follow(self, *, received: bool) -> None:
        """Start, keep or stop the deadline for what the client is sending now."""
        state = self.conn.their_state
        if self.transport.is_closing():
            self._disarm()
        elif state is h11.IDLE:
            if received:
                self._arm("head")  # part of a head came: it must all come in time
            else:
                self._disarm()  # between requests uvicorn's keep-alive timeout rules
        elif state is h11.SEND_BODY:
            self._arm("body")
        else:
            self._disarm()  # the request is in; the app's time is not the client's

    def _arm(self, phase: str) -> None:
        if self._phase == phase:
            return  # a running deadline is never pushed back
        self._disarm()
        seconds = self.head_timeout if phase == "head" else self.body_timeout
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline, self._phase = None, ""

    def _expire(self) -> None:
        """Answer 408 when nothing was answered yet, and close the connection."""
        phase = self._phase
        self._deadline, self._phase = None, ""
        if self.transport.is_closing():
            return
        cycle = self.cycle if phase == "body" else None
        if phase == "head" and self.conn.our_state is h11.IDLE:
            self.transport.write(_HEAD_TIMEOUT_RESPONSE)
        elif cycle is not None and not cycle.response_started:
            self._send_body_timeout()
        if cycle is not None:  # the app's `receive` now says `http.disconnect`
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()

    def _send_body_timeout(self) -> None:
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(_TIMEOUT_BODY)).encode()),
            (b"connection", b"close"),
        ]
        try:
            for event in (
                h11.Response(status_code=408, headers=headers, reason=b"Request Timeout"),
                h11.Data(data=_TIMEOUT_BODY),
                h11.EndOfMessage(),
            ):
                self.transport.write(self.conn.send(event) or b"")
        except h11.LocalProtocolError:
            pass  # the connection is closed right after, answered or not


def guarded_protocol(settings: Settings) -> type[GuardedH11Protocol]:
    """`GuardedH11Protocol` with the deadlines of `settings`."""
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {
            "head_timeout": settings.header_timeout_seconds,
            "body_timeout": settings.body_timeout_seconds,
        },
    )


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn `Config` options for the development server and each gunicorn worker."""
    trusted = settings.trusted_proxy_list()
    return {
        "http": guarded_protocol(settings),
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "limit_concurrency": MAX_CONNECTIONS,
        "backlog": BACKLOG,
        # uvicorn believes `X-Forwarded-For` from 127.0.0.1 unless told otherwise: any
        # local process (or a proxy that passes the header through) could then pick
        # the address that downloads and rate limits are counted under.
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or [],
        "server_header": False,
        "access_log": False,  # it would write client addresses (docs/data-policy.md)
    }


class Worker(UvicornWorker):
    """gunicorn's uvicorn worker with `server_options` (read from the environment, as
    the app's settings are)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        options = server_options(Settings())
        options.pop("backlog")  # the arbiter's socket has it: `--backlog`
        options.pop("timeout_keep_alive")  # `--keep-alive`
        self.CONFIG_KWARGS = {"loop": "auto", **options}
        super().__init__(*args, **kwargs)
