"""Server configuration from `FPMREG_*` environment variables, validated at start-up."""

from __future__ import annotations

import ipaddress
import os
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fpmreg.core.tlog.witness import parse_log_witnesses, parse_witness_logs

DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"  # noqa: S105

# Where `fpmreg-server run` listens unless told otherwise (`make run PORT=...`).
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - names, not binds


def listening_base_url(host: str, port: int) -> str:
    """The base URL of a server listening on `host:port`: the default of
    `FPMREG_BASE_URL` (docs/operating.md, "Settings"), so that the links it prints name
    the port it runs on. A wildcard address is reached as loopback on this machine."""
    name = DEFAULT_HOST if host in _WILDCARD_HOSTS else host
    if ":" in name:  # an IPv6 literal
        name = f"[{name}]"
    return f"http://{name}:{port}"


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

    # Inputs are never repeated in errors: they may be the secret key or the SMTP password.
    model_config = SettingsConfigDict(
        env_prefix="FPMREG_", extra="forbid", hide_input_in_errors=True
    )

    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite:///./var/fpmreg.db"
    storage_path: Path = Path("./var/blobs")
    # Where blobs live (docs/operating.md, "Blob storage"): empty or `file:///path` for a
    # folder (empty: `storage_path`), `s3://bucket/prefix` for an S3-compatible bucket,
    # with endpoint, region and credentials from boto3's own `AWS_*` variables.
    storage_url: str = ""
    secret_key: str = DEVELOPMENT_SECRET
    # Public URL in links and the CSRF origin; `run` sets it from its host and port
    # unless FPMREG_BASE_URL is set (`listening_base_url`).
    base_url: str = listening_base_url(DEFAULT_HOST, DEFAULT_PORT)
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
    # Rate limits (fixed windows; `fpmreg/server/ratelimit.py` and docs/operating.md,
    # "Limits and proxies", give each one's reason). Failed sign-ins per account a
    # minute: online password guessing from many addresses stays under 15,000 a day.
    login_attempts_per_minute: int = Field(default=10, ge=1)
    # Publishes per authenticated principal a minute: a CI matrix releasing at once fits.
    publishes_per_minute: int = Field(default=30, ge=1)
    # Rate-limit counters and download repeats shared by several app processes or hosts
    # (`redis://host:port/db`); empty keeps them in each process's memory (the embedded
    # single-process default). docs/operating.md, "Several hosts".
    redis_url: str = ""
    # Prefix of every key this registry writes to Redis (several registries, one Redis).
    redis_key_prefix: str = Field(default="fpmreg", min_length=1, max_length=64)
    # Addresses or CIDRs of the reverse proxies whose `X-Forwarded-For`/`-Proto` are
    # believed, comma-separated; empty (the default) believes no one: the TCP peer is
    # the client.
    trusted_proxies: str = ""
    # Seconds a client has to send a whole request head (line and headers); then 408.
    header_timeout_seconds: float = Field(default=10, gt=0)
    # Seconds a client has to send a whole request body once its head has arrived:
    # the largest upload at ~1 Mbit/s. Behind nginx (which buffers bodies) it never fires.
    body_timeout_seconds: float = Field(default=120, gt=0)
    # Seconds an idle keep-alive connection is held open between requests.
    keep_alive_seconds: int = Field(default=5, ge=1)
    # Per-process cache of fpm metadata and tarballs, validated per request by the
    # database's change sequence, so it is safe on several hosts (`fpmreg/server/changes.py`).
    metadata_cache: bool = True
    # Repeats of one version from one source (address + User-Agent, as a keyed hash)
    # within this many seconds count once; 0 counts every download.
    download_dedup_seconds: float = Field(default=60, ge=0)
    # How often each process adds its buffered download counts to the database; 0
    # flushes only at shutdown (tests). At most this much is lost to a SIGKILL.
    metrics_flush_seconds: float = Field(default=5, ge=0)
    # Daily download rows are kept at least this long, then rolled up into monthly ones.
    download_retention_days: int = Field(default=730, ge=1)
    # How often the criteria and accepted audits of communities on other registries that
    # a policy here accepts are imported again (docs/communities.md, "Remote acceptFrom").
    evidence_refresh_seconds: float = Field(default=3600, gt=0)
    # Daily metadata dumps kept in blob storage (docs/dumps.md, "Retention").
    dump_keep: int = Field(default=14, ge=1)
    # Outgoing mail (notifications): `smtp://[user:pass@]host[:port]` (plain, port 25),
    # `smtp+starttls://...` (587) or `smtps://...` (TLS, 465); empty sends no mail.
    smtp_url: SecretStr = SecretStr("")
    # The `From:` of every mail; empty: `noreply@` and the host of `base_url`.
    mail_from: str = ""
    # Run background jobs (mail) in a thread of every server process: the embedded
    # default. In production set it false and run `fpmreg-server worker` processes.
    run_jobs_in_process: bool = True
    # Seconds a worker holds a claimed job, renewed every third of it while the job runs;
    # a worker killed mid-job loses its jobs to another worker this long after.
    job_lease_seconds: float = Field(default=300, gt=0)
    # Seconds an idle worker waits before it looks for due jobs again.
    job_poll_seconds: float = Field(default=1, gt=0)
    # Folder of fpm metadata and tarball files for nginx to serve, rewritten after every
    # change (docs/operating.md, "Front server (nginx)"); empty (the default): none.
    front_dir: str = ""
    # Folder of the registry's signing keys: the current Ed25519 key and the public keys
    # of retired ones (docs/transparency-log.md, "Keys"). Created on first start.
    keys_dir: str = "./var/keys"
    # The logs this registry witnesses: their note verifier keys (`name+id+base64`,
    # the origin is the name), separated by spaces (docs/transparency-log.md).
    witness_logs: str = ""
    # Test-only: let federation fetch and deliver to loopback and private addresses
    # (refused in production: it would let any remote actor point us at the intranet).
    federation_allow_private: bool = False
    # The witnesses this registry's log asks for cosignatures: `URL KEY` pairs separated
    # by commas, URL the witness's submission prefix, KEY its cosignature verifier key.
    log_witnesses: str = ""
    # The id prefix of this registry's advisories (`FPMREG-2026-0001`; docs/advisories.md).
    advisory_prefix: str = Field(default="FPMREG", pattern=r"^[A-Z][A-Z0-9]{1,15}$")
    # Build verification (docs/builds.md): after each publish a job builds the version
    # with the real fpm and gfortran in a bubblewrap sandbox. Off by default: the workers
    # need fpm, gfortran, bwrap and prlimit.
    build_verification: bool = False
    # A failed (or timed-out) build quarantines the package; by default it is shown only.
    build_failure_quarantines: bool = False
    # The fpm *binary* (not the PyPI wrapper script); empty: the PyPI `fpm` package's.
    build_fpm: str = ""
    build_compiler: str = "gfortran"
    build_bwrap: str = "bwrap"
    # Limits of one build (`fpm build`, then `fpm test`): each under the job lease.
    build_wall_seconds: float = Field(default=120, gt=0)
    build_cpu_seconds: int = Field(default=120, ge=1)  # per process
    build_memory_bytes: int = Field(default=2 * 1024**3, ge=64 * 1024**2)  # per process
    build_disk_bytes: int = Field(default=512 * 1024**2, ge=1024**2)
    build_processes: int = Field(default=256, ge=8)
    # The user builds run as when the worker runs as root (the processes limit counts
    # this user's processes: give builds a user of their own).
    build_uid: int = Field(default=65534, ge=1)
    build_gid: int = Field(default=65534, ge=1)

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
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://")):
            raise ValueError("FPMREG_REDIS_URL must be a `redis://` or `rediss://` URL")
        self.trusted_proxy_list()  # refuse a malformed address at start-up
        from fpmreg.server.storage.factory import parse_storage_url  # it imports this module

        parse_storage_url(self.storage_url)  # refuse a malformed storage URL at start-up
        parse_log_witnesses(self.log_witnesses)  # a malformed witness list, too
        parse_witness_logs(self.witness_logs)
        self._check_smtp_url()
        if self.build_verification and 2 * self.build_wall_seconds >= self.job_lease_seconds:
            raise ValueError(
                "FPMREG_BUILD_WALL_SECONDS must be under half of FPMREG_JOB_LEASE_SECONDS "
                "(a build and its tests each get the wall time, all within one job lease)"
            )
        if self.env is Environment.PRODUCTION and self.federation_allow_private:
            raise ValueError(
                "FPMREG_FEDERATION_ALLOW_PRIVATE is for tests only: in production remote "
                "actors could make the registry fetch private addresses"
            )
        self.base_url = self.base_url.rstrip("/")
        return self

    def _check_smtp_url(self) -> None:
        # The messages never repeat the URL: it holds the SMTP password.
        url = self.smtp_url.get_secret_value()
        if not url:
            return
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtp+starttls", "smtps"):
            raise ValueError(
                "FPMREG_SMTP_URL must start with `smtp://`, `smtp+starttls://` or `smtps://`"
            )
        if not parts.hostname:
            raise ValueError("FPMREG_SMTP_URL names no host (`smtp://user:pass@host:port`)")
        try:
            parts.port  # noqa: B018 - parsing the port is the check
        except ValueError as exc:
            raise ValueError("FPMREG_SMTP_URL has a port that is not a number") from exc

    @property
    def mail_sender(self) -> str:
        """The `From:` address of outgoing mail."""
        return self.mail_from or f"noreply@{urlsplit(self.base_url).hostname or 'localhost'}"

    def trusted_proxy_list(self) -> list[str]:
        """`trusted_proxies` as addresses and networks; `ValueError` names a bad one."""
        entries = [entry.strip() for entry in self.trusted_proxies.split(",") if entry.strip()]
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"FPMREG_TRUSTED_PROXIES: `{entry}` is not an IP address or CIDR network"
                ) from exc
        return entries

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite default."""
        return self.database_url.startswith("sqlite")
