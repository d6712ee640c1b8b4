"""`fpmreg-server`: run the registry and its workers, migrate its database, manage admins."""

from __future__ import annotations

import getpass
import os
import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from alembic import command
from alembic.config import Config

from fpmreg.server.advisories.commands import advisories_app
from fpmreg.server.federation.cli import keys_app, log_app, mirror_app
from fpmreg.server.front.cli import front_app
from fpmreg.server.linked.credentials_cli import credentials_app
from fpmreg.server.linked.dumps_cli import dump_app
from fpmreg.server.settings import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    Environment,
    Settings,
    listening_base_url,
)

app = typer.Typer(help="Run and administer an fpmreg registry.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
admin_app = typer.Typer(help="Administration.", no_args_is_help=True)
metrics_app = typer.Typer(help="Download counts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")
app.add_typer(metrics_app, name="metrics")
app.add_typer(advisories_app, name="advisories")
app.add_typer(front_app, name="front")
app.add_typer(keys_app, name="keys")
app.add_typer(log_app, name="log")
app.add_typer(mirror_app, name="mirror")
app.add_typer(credentials_app, name="credentials")
app.add_typer(dump_app, name="dump")

MIGRATIONS = Path(__file__).parent / "migrations"


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        typer.echo(f"error: invalid configuration:\n{exc}", err=True)
        raise typer.Exit(2) from exc


def alembic_config(database_url: str) -> Config:
    """Alembic configured for `database_url`, with the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    return config


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = _settings()
    command.upgrade(alembic_config(settings.database_url), revision)
    typer.echo(f"database at revision {revision}")


@db_app.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    command.check(alembic_config(_settings().database_url))


@admin_app.command("create-user")
def create_user(
    username: str,
    email: str,
    admin: Annotated[bool, typer.Option("--admin", help="make the user a site admin")] = False,
    password_stdin: Annotated[bool, typer.Option(help="read the password from stdin")] = False,
) -> None:
    """Create a user (the first admin, typically); asks for the password."""
    from fpmreg.server.accounts.service import AccountsService
    from fpmreg.server.clock import SystemClock
    from fpmreg.server.db import Database
    from fpmreg.server.errors import DomainError

    settings = _settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            typer.echo("error: the passwords differ", err=True)
            raise typer.Exit(1)
    database = Database.from_url(settings.database_url)
    with database.session() as session:
        try:
            user = AccountsService(session, SystemClock()).create_user(
                username, email, password, is_admin=admin, verified=True
            )
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from exc
        session.commit()
    typer.echo(f"created user `{user.username}`" + (" (site admin)" if admin else ""))


# `fpmreg-server admin grant ROLE USER`: the site roles, and `admin` (`User.is_admin`).
ADMIN_ROLE = "admin"
ROLE_NAMES = ("moderator", "trusted-reporter", "security", ADMIN_ROLE)


def _role_or_exit(role: str) -> str:
    if role not in ROLE_NAMES:
        typer.echo(
            f"error: there is no role `{role}`: choose one of {', '.join(ROLE_NAMES)}", err=True
        )
        raise typer.Exit(2)
    return role


def _change_role(role: str, username: str, *, grant: bool) -> None:
    """Grant or revoke `role`, audited as `role.grant` / `role.revoke` (actor: none, the
    operator at the console)."""
    from fpmreg.server.accounts.models import SiteRole
    from fpmreg.server.accounts.service import AccountsService
    from fpmreg.server.clock import SystemClock
    from fpmreg.server.db import Database
    from fpmreg.server.events import record_event
    from fpmreg.server.moderation.roles import grant_role, revoke_role

    role = _role_or_exit(role)
    settings = _settings()
    database = Database.from_url(settings.database_url)
    clock = SystemClock()
    try:
        with database.session() as session:
            user = AccountsService(session, clock).user_by_name(username)
            if user is None:
                typer.echo(f"error: there is no user `{username}`", err=True)
                raise typer.Exit(2)
            if role == ADMIN_ROLE:
                changed = user.is_admin != grant
                if changed:
                    user.is_admin = grant
                    record_event(
                        session,
                        at=clock.now(),
                        actor_id=None,
                        action="role.grant" if grant else "role.revoke",
                        subject=f"user:{user.username}",
                        data={"role": ADMIN_ROLE},
                    )
            else:
                change = grant_role if grant else revoke_role
                changed = change(session, user, SiteRole(role), at=clock.now(), actor_id=None)
            session.commit()
    finally:
        database.engine.dispose()
    if grant:
        typer.echo(
            f"granted `{role}` to `{username}`" if changed else f"`{username}` already is `{role}`"
        )
    else:
        typer.echo(
            f"revoked `{role}` from `{username}`" if changed else f"`{username}` is not `{role}`"
        )


@admin_app.command("grant")
def admin_grant(
    role: Annotated[str, typer.Argument(help="moderator, trusted-reporter, security or admin")],
    username: Annotated[str, typer.Argument(help="the user to give it to")],
) -> None:
    """Give USER a site role (`admin` makes them a site admin). Audited."""
    _change_role(role, username, grant=True)


@admin_app.command("revoke")
def admin_revoke(
    role: Annotated[str, typer.Argument(help="moderator, trusted-reporter, security or admin")],
    username: Annotated[str, typer.Argument(help="the user to take it from")],
) -> None:
    """Take a site role from USER. Audited."""
    _change_role(role, username, grant=False)


@admin_app.command("roles")
def admin_roles(username: Annotated[str, typer.Argument(help="a username")]) -> None:
    """List USER's site roles, one a line."""
    from fpmreg.server.accounts.service import AccountsService
    from fpmreg.server.clock import SystemClock
    from fpmreg.server.db import Database
    from fpmreg.server.moderation.roles import site_roles

    settings = _settings()
    database = Database.from_url(settings.database_url)
    try:
        with database.session() as session:
            user = AccountsService(session, SystemClock()).user_by_name(username)
            if user is None:
                typer.echo(f"error: there is no user `{username}`", err=True)
                raise typer.Exit(2)
            held = sorted(r.value for r in site_roles(session, user))
            if user.is_admin:
                held.append(ADMIN_ROLE)
    finally:
        database.engine.dispose()
    typer.echo("\n".join(held) if held else f"`{username}` holds no site role")


@app.command("gc")
def gc() -> None:
    """Remove blobs that no version owns (left by crashed uploads)."""
    from fpmreg.server.app import create_app, sweep_orphan_blobs
    from fpmreg.server.storage import StorageUnavailable

    state = create_app(_settings()).state.fpmreg
    try:
        removed = sweep_orphan_blobs(state)
    except StorageUnavailable as exc:
        typer.echo(f"error: {exc.detail} ({state.store.describe()})", err=True)
        raise typer.Exit(1) from exc
    finally:
        state.database.engine.dispose()
    typer.echo(f"removed {len(removed)} orphan blob(s) from {state.store.describe()}")


@metrics_app.command("rollup")
def metrics_rollup(
    retention_days: Annotated[
        int | None,
        typer.Option(min=1, help="keep this many days of daily rows (default: the setting)"),
    ] = None,
) -> None:
    """Fold daily download counts older than the retention into monthly ones.

    Every server process also does this once a UTC day; running it by hand (or from
    cron) is safe at any time, alongside running servers: totals never change."""
    from fpmreg.server.clock import SystemClock
    from fpmreg.server.db import Database
    from fpmreg.server.metrics.jobs import roll_up_downloads

    settings = _settings()
    database = Database.from_url(settings.database_url)
    try:
        result = roll_up_downloads(
            database, SystemClock(), retention_days or settings.download_retention_days
        )
    finally:
        database.engine.dispose()
    typer.echo(
        f"rolled up {result.downloads} download(s) from {result.rows} daily row(s) "
        f"before {result.cutoff} into {result.months} month(s)"
    )


@app.command("worker")
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="run the due jobs, then exit (tests, cron)")
    ] = False,
) -> None:
    """Run background jobs (mail) until SIGTERM or SIGINT; the job in hand is finished.

    Run one or more beside the servers when FPMREG_RUN_JOBS_IN_PROCESS is false."""
    import signal

    from fpmreg.server.app import build_job_runner
    from fpmreg.server.clock import SystemClock
    from fpmreg.server.db import Database

    settings = _settings()
    from fpmreg.server.federation.deps import install_federation

    database = Database.from_url(settings.database_url)
    from fpmreg.server.communities.verdicts_hook import install_verdicts_hook

    install_verdicts_hook(database.sessions, SystemClock(), settings.base_url)  # mirrored releases
    wiring = install_federation(settings, database.sessions)  # jobs' changes are logged too
    from fpmreg.server.linked.policy_credentials import install_policy_credentials_hook

    install_policy_credentials_hook(database.sessions, SystemClock(), wiring.keys)
    runner = build_job_runner(settings, database, SystemClock())

    def _stop(_signum: int, _frame: object) -> None:
        runner.stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    typer.echo(f"worker {runner.worker_id} running jobs: {', '.join(sorted(runner.handlers))}")
    try:
        if once:
            ran = runner.run_until_idle()
            typer.echo(f"ran {ran} job(s)")
        else:
            runner.run_forever()
            typer.echo("worker stopped")
    finally:
        database.engine.dispose()


# Files prometheus_client writes in multiprocess mode: `counter_1234.db`, `gauge_all_1234.db`.
_PROMETHEUS_FILE = re.compile(r"^(counter|histogram|summary|gauge_[a-z]+)_\d+\.db$")


def _fresh_prometheus_directory() -> None:
    """Create `PROMETHEUS_MULTIPROC_DIR` if needed and remove the previous run's values
    (prometheus_client's rule: the directory is wiped between runs); nothing else in it
    is touched."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.iterdir():
        if _PROMETHEUS_FILE.match(stale.name):
            stale.unlink(missing_ok=True)


def _follow_listening_address(host: str, port: int) -> None:
    """Links name the port the server runs on unless FPMREG_BASE_URL says otherwise
    (docs/operating.md, "Settings"). Set in the environment, so that the app uvicorn
    imports and gunicorn's workers read the same value."""
    if not os.environ.get("FPMREG_BASE_URL"):
        os.environ["FPMREG_BASE_URL"] = listening_base_url(host, port)


@app.command("run")
def run(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    workers: Annotated[int, typer.Option(help="processes (production: gunicorn)")] = 1,
    migrate: Annotated[bool, typer.Option(help="apply migrations first")] = True,
) -> None:
    """Serve the registry: uvicorn in development, gunicorn with uvicorn workers otherwise.

    Links use FPMREG_BASE_URL, by default `http://HOST:PORT`."""
    _follow_listening_address(host, port)
    settings = _settings()
    if migrate:
        command.upgrade(alembic_config(settings.database_url), "head")
    _fresh_prometheus_directory()
    from fpmreg.server import serving

    if settings.env is Environment.DEVELOPMENT and workers == 1:
        import uvicorn

        options = serving.server_options(settings)  # header size, deadlines, proxies
        uvicorn.run("fpmreg.server.asgi:app", host=host, port=port, **options)
        return
    gunicorn = Path(sys.executable).with_name("gunicorn")
    os.execv(  # noqa: S606 - fixed argv, no shell
        gunicorn,
        [
            str(gunicorn),
            "fpmreg.server.asgi:app",
            "--worker-class",
            "fpmreg.server.serving.Worker",  # the same options as uvicorn above
            "--workers",
            str(workers),
            "--bind",
            f"{host}:{port}",
            "--backlog",
            str(serving.BACKLOG),
            "--keep-alive",
            str(settings.keep_alive_seconds),
            "--timeout",
            str(serving.WORKER_TIMEOUT_SECONDS),
            "--graceful-timeout",
            str(serving.GRACEFUL_TIMEOUT_SECONDS),
        ],
    )


def main() -> None:
    """Entry point of `fpmreg-server`."""
    app()
