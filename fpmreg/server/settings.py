"""Server configuration from `FPMREG_*` environment variables, validated at start-up."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"  # noqa: S105


class Environment(StrEnum):
    """Where the server runs; only `development` and `test` accept insecure defaults."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class DownloadUrlMode(StrEnum):
    """How `download_url` is written for fpm (`docs/api-design.md`, "download_url")."""

    RELATIVE = "relative"  # `/tarballs/...`: for the official base URL fpm hard-codes
    USERINFO = "userinfo"  # `@host/tarballs/...`: for a custom registry, unmodified fpm


class Settings(BaseSettings):
    """Everything an operator can set. Unknown `FPMREG_*` variables are refused."""

    model_config = SettingsConfigDict(env_prefix="FPMREG_", extra="forbid")

    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite:///./var/fpmreg.db"
    storage_path: Path = Path("./var/blobs")
    secret_key: str = DEVELOPMENT_SECRET
    base_url: str = "http://127.0.0.1:8000"
    download_url_mode: DownloadUrlMode = DownloadUrlMode.RELATIVE
    public_host: str = ""
    # crates.io's default; Fortran source packages are far smaller.
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Longest lifetime a new API token may have (GitHub caps fine-grained tokens at a year).
    max_token_days: int = Field(default=366, ge=1)
    session_days: int = Field(default=14, ge=1)
    signup_enabled: bool = True
    # Blobs with no owning version older than this are removed (a crashed upload's).
    orphan_grace_seconds: int = Field(default=3600, ge=0)
    # Fixed-window limits, per minute: login attempts per account, sign-ups per process.
    login_attempts_per_minute: int = Field(default=10, ge=1)
    publishes_per_minute: int = Field(default=30, ge=1)
    # Per-process cache of fpm metadata, validated by a change counter file on this
    # host; turn off when app processes run on several hosts.
    metadata_cache: bool = True
    # Repeats of one version from one source (address + User-Agent, as a keyed hash)
    # within this many seconds count once; 0 counts every download.
    download_dedup_seconds: float = Field(default=60, ge=0)
    # How often each process adds its buffered download counts to the database; 0
    # flushes only at shutdown (tests). At most this much is lost to a SIGKILL.
    metrics_flush_seconds: float = Field(default=5, ge=0)
    # Daily download rows are kept at least this long, then rolled up into monthly ones.
    download_retention_days: int = Field(default=730, ge=1)

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        # pydantic-settings ignores unknown prefixed variables; a typo must not
        # silently fall back to a default (FPMREG_TEST_* belong to the test suite).
        known = {f"FPMREG_{name.upper()}" for name in type(self).model_fields}
        unknown = sorted(
            k
            for k in os.environ
            if k.startswith("FPMREG_") and k not in known and not k.startswith("FPMREG_TEST_")
        )
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(unknown)}; known: {sorted(known)}")
        if self.env is Environment.PRODUCTION and (
            self.secret_key == DEVELOPMENT_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "FPMREG_SECRET_KEY must be set to a random value of at least 32 "
                "characters in production (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`)"
            )
        if self.download_url_mode is DownloadUrlMode.USERINFO and not self.public_host:
            raise ValueError(
                "FPMREG_DOWNLOAD_URL_MODE=userinfo needs FPMREG_PUBLIC_HOST (host[:port] "
                "that fpm clients reach over HTTPS)"
            )
        self.base_url = self.base_url.rstrip("/")
        return self

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite default."""
        return self.database_url.startswith("sqlite")
