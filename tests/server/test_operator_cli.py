"""An operator sets the registry up with `fpmreg-server` and `FPMREG_*` variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from fpmreg.server.accounts.models import User
from fpmreg.server.db import Database
from fpmreg.server.settings import Environment, Settings
from tests.support.databases import backend_name, fresh_database

SERVER = [sys.executable, "-m", "fpmreg.server"]


def _run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FPMREG_")}
    return subprocess.run(
        [*SERVER, *args],
        env={**clean, **env},
        input=stdin,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_operator_migrates_and_creates_the_first_admin(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        env = {"FPMREG_DATABASE_URL": url, "FPMREG_STORAGE_PATH": str(tmp_path / "blobs")}
        upgraded = _run(["db", "upgrade"], env)
        assert upgraded.returncode == 0, upgraded.stderr
        created = _run(
            [
                "admin",
                "create-user",
                "root-admin",
                "ops@example.org",
                "--admin",
                "--password-stdin",
            ],
            env,
            stdin="a long admin password\n",
        )
        assert created.returncode == 0, created.stderr
        assert "site admin" in created.stdout
        again = _run(
            ["admin", "create-user", "root-admin", "x@example.org", "--password-stdin"],
            env,
            stdin="another long password\n",
        )
        assert again.returncode == 1 and "taken" in again.stderr
        database = Database.from_url(url)
        with database.session() as session:
            user = session.scalar(select(User).where(User.username == "root-admin"))
            assert user is not None and user.is_admin
            assert "a long admin password" not in user.password_hash
        database.engine.dispose()


def test_production_refuses_the_default_secret() -> None:
    result = _run(["db", "upgrade"], {"FPMREG_ENV": "production"})
    assert result.returncode == 2
    assert "FPMREG_SECRET_KEY" in result.stderr


def test_unknown_settings_are_refused_at_start_up() -> None:
    result = _run(["db", "upgrade"], {"FPMREG_DATABSE_URL": "sqlite:///typo.db"})
    assert result.returncode == 2
    assert "databse_url" in result.stderr.lower()


def test_userinfo_download_urls_need_a_public_host() -> None:
    with pytest.raises(ValueError, match="FPMREG_PUBLIC_HOST"):
        Settings(env=Environment.TEST, download_url_mode="userinfo")  # type: ignore[arg-type]


def test_backend_under_test_is_the_requested_one() -> None:
    wanted = "postgresql" if os.environ.get("FPMREG_TEST_DATABASE_URL") else "sqlite"
    assert backend_name() == wanted
