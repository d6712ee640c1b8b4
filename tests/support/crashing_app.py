"""Test-only ASGI entry point: the registry with a publish that dies at a chosen step.

`uvicorn --factory tests.support.crashing_app:create_crashing_app` builds the app as
`fpmreg.server.asgi` does, but with `PublishHooks` whose hook named in
`FPMREG_TEST_CRASH_AT` (`before-blob`, `after-blob`, `before-commit`, `after-commit`)
ends the process on the spot with `os._exit(137)`, as a power cut or `kill -9` would:
no `finally`, no rollback, no cleanup. Production code has no such switch.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from fastapi import FastAPI

from fpmreg.server.app import create_app
from fpmreg.server.packages.service import PublishHooks

CRASH_ENV = "FPMREG_TEST_CRASH_AT"
CRASH_POINTS = ("before-blob", "after-blob", "before-commit", "after-commit")


def _die() -> None:
    os._exit(137)


def _nothing() -> None:
    """Carry on."""


def crashing_hooks(point: str) -> PublishHooks:
    """Hooks that end the process at `point` and do nothing at the other steps."""
    if point not in CRASH_POINTS:
        raise ValueError(f"{CRASH_ENV}={point!r}: choose one of {', '.join(CRASH_POINTS)}")
    hooks: dict[str, Callable[[], None]] = {
        name.replace("-", "_"): _die if name == point else _nothing for name in CRASH_POINTS
    }
    return PublishHooks(**hooks)


def create_crashing_app() -> FastAPI:
    """The app from the environment's settings, dying at `FPMREG_TEST_CRASH_AT`."""
    return create_app(publish_hooks=crashing_hooks(os.environ[CRASH_ENV]))
