"""Fixtures: a real migrated database, per-test transactions, the real app over HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.app import create_app
from fpmreg.server.db import Database, make_engine
from fpmreg.server.settings import Environment, Settings
from fpmreg.server.storage import FilesystemBlobStore
from tests.support.databases import fresh_database
from tests.support.live import LiveServer

# Apps built in this process share one test connection between threads; a job-runner
# thread must not poll on it. Live servers and workers (fresh environments) keep the
# real default, and the job tests run their runners themselves.
os.environ.setdefault("FPMREG_RUN_JOBS_IN_PROCESS", "false")

# Hypothesis's per-example deadline is a timing assertion: on a loaded 2-core machine a
# fast example sometimes takes over its 200 ms. Speed is measured in `make bench`.
hypothesis_settings.register_profile("fpmreg", deadline=None)
hypothesis_settings.load_profile("fpmreg")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database shared by the session's transactional tests."""
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """One connection in a transaction that is rolled back after the test."""
    with engine.connect() as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


@pytest.fixture
def sessions(connection: Connection) -> sessionmaker[Session]:
    """Sessions whose commits are savepoints inside the test's transaction."""
    return sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as s:
        yield s


@pytest.fixture
def store(tmp_path: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        env=Environment.TEST,
        database_url=database_url,
        storage_path=tmp_path / "blobs",
        base_url="http://testserver",
        keys_dir=str(tmp_path / "keys"),
    )


@pytest.fixture
def app(settings: Settings, engine: Engine, sessions: sessionmaker[Session]) -> FastAPI:
    return create_app(settings, database=Database(engine, sessions))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real `fpmreg-server run` process on loopback, with a fresh database."""
    with fresh_database(tmp_path) as url, LiveServer(url, tmp_path) as server:
        yield server
