"""Fixtures of the server tests beyond the suite-wide ones in `tests/conftest.py`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.app import create_app
from fpmreg.server.db import Database
from fpmreg.server.settings import Environment, Settings


@pytest.fixture
def production_client(
    tmp_path: Path, database_url: str, engine: Engine, sessions: sessionmaker[Session]
) -> Iterator[TestClient]:
    """The app as production runs it (HTTPS base URL, real secret), in process."""
    settings = Settings(
        env=Environment.PRODUCTION,
        secret_key="a-production-secret-of-at-least-32-characters",
        database_url=database_url,
        storage_path=tmp_path / "blobs",
        base_url="https://registry.example",
    )
    app = create_app(settings, database=Database(engine, sessions))
    with TestClient(app, base_url="https://registry.example") as client:
        yield client
