"""The event loop keeps answering while handlers wait for the database
(docs/architecture.md, "One request lifecycle").

SQLite has one write lock for the whole database; a handler that waits for it on the
event loop (for up to the 30 s busy timeout) stalls every request of the process. That
happened to a registry whose in-process mirror sync held the lock while a witness
submission waited for it: pages and the API stopped answering."""

from __future__ import annotations

import inspect
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from fpmreg.core.tlog.merkle import MemoryTree, leaf_hash
from fpmreg.core.tlog.note import Checkpoint, Signer, sign
from fpmreg.core.tlog.witness import submission_body
from tests.factories import PASSWORD
from tests.support.databases import backend_name, fresh_database
from tests.support.live import LiveServer

# Handlers that read a body themselves and hand the work to the thread pool (each says so
# where it does); every other handler must be a plain `def`.
OFFLOADING = {
    "publish", "inbox_post", "group_inbox", "add_checkpoint_route", "query", "querybatch"
}  # fmt: skip
LOG_ORIGIN = "log.example.test/witnessed"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _handlers(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # `include_router`'s wrapper
        if included is not None:
            yield from _handlers(included.routes)


def test_every_handler_that_waits_runs_in_the_thread_pool(app: FastAPI) -> None:
    handlers = list(_handlers(app.routes))
    assert len(handlers) > 100  # every router was walked
    coroutines = {r.endpoint.__name__ for r in handlers if inspect.iscoroutinefunction(r.endpoint)}
    assert coroutines <= OFFLOADING, f"async handlers on the event loop: {coroutines - OFFLOADING}"


@pytest.fixture
def witness_server(tmp_path: Path) -> Iterator[tuple[LiveServer, Signer]]:
    if backend_name() != "sqlite":
        pytest.skip("holds SQLite's database-wide write lock; PostgreSQL locks rows")
    log = Signer.generate(LOG_ORIGIN)
    with (
        fresh_database(tmp_path) as url,
        LiveServer(url, tmp_path, env={"FPMREG_WITNESS_LOGS": log.verifier.encode()}) as server,
    ):
        yield server, log


def _in_thread(call: Callable[[], httpx.Response]) -> tuple[threading.Thread, list[httpx.Response]]:
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(call()), daemon=True)
    thread.start()
    return thread, answers


def test_pages_and_the_api_answer_while_writers_wait_for_the_lock(
    witness_server: tuple[LiveServer, Signer],
) -> None:
    server, log = witness_server
    browser = httpx.Client(base_url=server.url, timeout=60)
    match = CSRF.search(browser.get("/signup").text)
    assert match, "the sign-up page has no CSRF field"
    form = {"csrf_token": match.group(1), "username": "waiting", "email": "w@example.org",
            "password": PASSWORD, "password2": PASSWORD}  # fmt: skip
    checkpoint = sign(Checkpoint(LOG_ORIGIN, 1, MemoryTree([leaf_hash(b"a")]).root()).text(), log)

    holder = sqlite3.connect(server.database_url.removeprefix("sqlite:///"), timeout=1)
    holder.execute("BEGIN IMMEDIATE")  # another process writing: holds the write lock
    try:
        signup, signed_up = _in_thread(lambda: browser.post("/signup", data=form))
        witness, cosigned = _in_thread(
            lambda: httpx.post(
                f"{server.url}/log/witness/add-checkpoint",
                content=submission_body(0, [], checkpoint),
                timeout=60,
            )
        )
        time.sleep(1.5)  # both reach the database and wait for the lock
        started = time.monotonic()
        assert httpx.get(f"{server.url}/api/v1/packages", timeout=10).status_code == 200
        assert httpx.get(f"{server.url}/", timeout=10).status_code == 200
        answered_in = time.monotonic() - started
        assert signup.is_alive() and witness.is_alive(), "the writers did not wait for the lock"
    finally:
        holder.rollback()
        holder.close()
    signup.join(60)
    witness.join(60)
    assert answered_in < 10
    assert signed_up[0].status_code == 303, signed_up[0].text  # written once the lock is free
    assert cosigned[0].status_code == 200, cosigned[0].text
    assert cosigned[0].text.startswith("— ")  # a cosignature line of the witness
