"""A real registry process on a loopback port, as an operator would run it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from fpmreg.server.accounts.models import Scope
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.clock import SystemClock
from fpmreg.server.db import Database

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# How long a server may take to answer after it was started: generous, since a loaded
# 2-core CI machine has been seen to need more than 30 s (a wait, not a measurement).
START_SECONDS = 120


class LiveServer:
    """`fpmreg-server run` in a subprocess, with its own database and blob folder."""

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        *,
        workers: int = 1,
        env: dict[str, str] | None = None,
        app_factory: str = "",
    ) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.storage = workdir / "blobs"
        self.extra_env = env or {}
        # A test-only app (`module:function` building it) instead of `fpmreg.server.asgi`,
        # served by one uvicorn process.
        self.app_factory = app_factory
        self.log = workdir / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FPMREG_")}
        env.update(
            {
                "FPMREG_ENV": "test",
                "FPMREG_DATABASE_URL": self.database_url,
                "FPMREG_STORAGE_PATH": str(self.storage),
                "FPMREG_KEYS_DIR": str(self.storage.parent / "keys"),
                "FPMREG_BASE_URL": self.url,
                **self.extra_env,
            }
        )
        return env

    def start(self) -> LiveServer:
        """Start the server and wait until it answers."""
        env = self.environment()
        cmd = [
            sys.executable,
            "-m",
            "fpmreg.server",
            "run",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-migrate",
        ]
        if self.app_factory:
            cmd = [
                *(sys.executable, "-m", "uvicorn", "--factory", self.app_factory),
                *("--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"),
            ]
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                cmd, cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()}")
            try:
                httpx.get(self.url + "/api/openapi.json", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop the server with `sig`; returns its exit status."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code

    def publisher_token(
        self, namespace: str, username: str = "publisher", scopes: set[Scope] | None = None
    ) -> str:
        """Create a user, their namespace and a publish token, straight in the database."""
        database = Database.from_url(self.database_url)
        try:
            with database.session() as session:
                accounts = AccountsService(session, SystemClock())
                user = accounts.user_by_name(username) or accounts.create_user(
                    username, f"{username}@example.org", "correct horse battery", verified=True
                )
                if accounts.namespace_by_name(namespace) is None:
                    accounts.create_namespace(user, namespace)
                token, _ = accounts.create_token(
                    user,
                    name=f"t-{namespace}-{time.monotonic_ns()}",
                    namespace=namespace,
                    scopes=scopes or {Scope.PUBLISH},
                    days=30,
                )
                session.commit()
                return token
        finally:
            database.engine.dispose()

    def verify_email(self, username: str) -> None:
        """Mark a user's address verified, straight in the database (as following the
        mailed link would; `tests/server/test_email_flows.py` follows real ones)."""
        database = Database.from_url(self.database_url)
        try:
            with database.session() as session:
                user = AccountsService(session, SystemClock()).user_by_name(username)
                assert user is not None, f"no user {username}"
                user.email_verified_at = SystemClock().now()
                session.commit()
        finally:
            database.engine.dispose()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
