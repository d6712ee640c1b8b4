"""Operator metrics for Prometheus (`GET /metrics`), with the standard `prometheus_client`.

Requests are labelled by route template (`/tarballs/{namespace}/{name}/{filename}`),
never by raw path, so the number of series stays bounded whatever clients ask for.

With several gunicorn workers, set `PROMETHEUS_MULTIPROC_DIR` to an empty directory
before the server starts: every worker then writes its values to files there and
`/metrics` adds them up, whichever worker answers (`docs/operating.md`, "Metrics").
"""

from __future__ import annotations

import os
import time
from functools import lru_cache

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds; from a cached metadata answer (~0.1 ms) to a 10 MB upload being checked.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
UNMATCHED = "unmatched"  # the route label of a request no route answers
# The two publish endpoints, fpm's form and the JSON API.
UPLOAD_ROUTES = {("POST", "/packages"): "fpm", ("POST", "/api/v1/packages"): "api"}
# Any other method a client invents is labelled `other` (labels must stay few).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Instruments:
    """Every Prometheus metric of one app, in the app's own registry."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no `*_created` series
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "fpmreg_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "fpmreg_http_request_duration_seconds",
            "Time from a request's arrival to its last body byte, by route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.exceptions = Counter(
            "fpmreg_http_exceptions",
            "Requests that raised an unexpected exception (answered 500), by route template.",
            ["route"],
            registry=self.registry,
        )
        self.uploads = Counter(
            "fpmreg_uploads",
            "Publish requests by endpoint (fpm, api) and outcome (accepted, refused, failed).",
            ["endpoint", "outcome"],
            registry=self.registry,
        )
        self.downloads = Counter(
            "fpmreg_downloads",
            "Tarball downloads counted (repeats within the window left out), by client kind.",
            ["client"],
            registry=self.registry,
        )
        self.repeats = Counter(
            "fpmreg_download_repeats",
            "Tarball downloads not counted: the same source fetched the same version within "
            "the deduplication window.",
            registry=self.registry,
        )
        self.flush_failures = Counter(
            "fpmreg_download_flush_failures",
            "Failed writes of buffered download counts (kept in memory and retried).",
            registry=self.registry,
        )

    def exposition(self) -> tuple[bytes, str]:
        """The text format of every metric: this process's, or all workers' in
        multiprocess mode."""
        directory = os.environ.get(MULTIPROC_ENV, "")
        if directory:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def flat_routes(routes: list[BaseRoute]) -> list[BaseRoute]:
    """The routes of an app with included routers opened up (FastAPI wraps each
    `include_router` in a route object whose own `path` is not a template)."""
    flat: list[BaseRoute] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            flat.extend(flat_routes(inner.routes))
        else:
            flat.append(route)
    return flat


class RequestMetrics:
    """ASGI middleware: counts and times every HTTP request by route template."""

    def __init__(self, app: ASGIApp, instruments: Instruments, routes: list[BaseRoute]) -> None:
        self.app = app
        self.instruments = instruments
        self.routes = routes

        @lru_cache(maxsize=4096)
        def template(method: str, path: str) -> str:
            # Paths answered before routing (the fpm metadata cache) or by no route.
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            partial = UNMATCHED
            for route in flat_routes(self.routes):
                match, _ = route.matches(scope)
                if match is Match.FULL:
                    return str(getattr(route, "path", UNMATCHED))
                if match is Match.PARTIAL and partial == UNMATCHED:
                    partial = str(getattr(route, "path", UNMATCHED))
            return partial

        self._template = template
        # (method, route, status) -> its series; bounded, since every label is.
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram, Counter | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        except Exception:
            self.instruments.exceptions.labels(self.route_of(scope)).inc()
            raise
        finally:
            self.observe(scope, status, time.perf_counter() - start)

    def route_of(self, scope: Scope) -> str:
        """The template of the route that answered (or would answer) `scope`."""
        route = scope.get("route")
        path = getattr(route, "path", None)
        if isinstance(path, str):
            return path
        return self._template(scope["method"], scope["path"])

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Record one answered request."""
        method = scope["method"] if scope["method"] in METHODS else "other"
        route = self.route_of(scope)
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:  # `labels()` costs more than the increments: look it up once
            series = self._series[key] = self._series_of(method, route, status)
        requests, latency, uploads = series
        requests.inc()
        latency.observe(seconds)
        if uploads is not None:
            uploads.inc()

    def _series_of(
        self, method: str, route: str, status: int
    ) -> tuple[Counter, Histogram, Counter | None]:
        instruments = self.instruments
        endpoint = UPLOAD_ROUTES.get((method, route))
        uploads = None
        if endpoint is not None:
            outcome = "accepted" if status < 400 else "refused" if status < 500 else "failed"
            uploads = instruments.uploads.labels(endpoint, outcome)
        return (
            instruments.requests.labels(method, route, str(status)),
            instruments.latency.labels(method, route),
            uploads,
        )
