"""`fpmreg-server credentials`: revoke a release's credentials (docs/credentials.md,
"Revocation")."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from fpmreg.server.settings import Settings

credentials_app = typer.Typer(help="The registry's verifiable credentials.", no_args_is_help=True)
RELEASE = re.compile(
    r"^([A-Za-z][A-Za-z0-9_-]{0,63})/([A-Za-z][A-Za-z0-9_-]{0,63})@([0-9.]{1,32})$"
)


def _settings() -> Settings:
    """The settings, or exit 2 saying what is wrong with them (no traceback)."""
    try:
        return Settings()
    except ValueError as exc:
        typer.echo(f"error: invalid configuration:\n{exc}", err=True)
        raise typer.Exit(2) from None


@credentials_app.command("revoke")
def revoke(
    release: Annotated[str, typer.Argument(help="the release, `NAMESPACE/NAME@VERSION`")],
    reason: Annotated[str, typer.Option("--reason", help="why, kept with the credential")],
) -> None:
    """Revoke the release's build credential: its bit in the status list is set, so
    every copy of it stops verifying."""
    from fpmreg.server.clock import SystemClock
    from fpmreg.server.db import Database
    from fpmreg.server.errors import DomainError
    from fpmreg.server.federation.keys import load_keys
    from fpmreg.server.linked.credentials import CredentialsService

    match = RELEASE.fullmatch(release)
    if match is None:
        typer.echo(f"error: `{release[:100]}` is not NAMESPACE/NAME@VERSION", err=True)
        raise typer.Exit(2)
    settings = _settings()
    keys = load_keys(Path(settings.keys_dir), settings.base_url)
    database = Database.from_url(settings.database_url)
    try:
        with database.sessions() as session:
            service = CredentialsService(session, SystemClock(), keys)
            try:
                namespace, package, version = match.groups()
                count = service.revoke_build_credentials(namespace, package, version, reason)
            except DomainError as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from None
            session.commit()
    finally:
        database.engine.dispose()
    if not count:
        typer.echo(f"{release}: no active build credential to revoke", err=True)
        raise typer.Exit(1)
    typer.echo(f"{release}: revoked {count} build credential(s)")
