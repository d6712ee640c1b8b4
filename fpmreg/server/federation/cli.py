"""`fpmreg-server keys`: the registry's signing keys (docs/transparency-log.md, "Keys")."""

from __future__ import annotations

from pathlib import Path

import typer

from fpmreg.server.federation.keys import CURRENT, load_keys, rotate_keys
from fpmreg.server.settings import Settings

keys_app = typer.Typer(help="The registry's signing keys.", no_args_is_help=True)


def _show(settings: Settings, *, create: bool) -> None:
    keys = load_keys(Path(settings.keys_dir), settings.base_url, create=create)
    typer.echo(f"log origin: {keys.origin}")
    typer.echo(f"note key:   {keys.verifier.encode()}")
    for i, key in enumerate(keys.multikeys()):
        typer.echo(f"{'current' if i == 0 else 'retired'}:    {key}")


@keys_app.command("init")
def keys_init() -> None:
    """Create the signing key if there is none (the server also does on first start)."""
    settings = Settings()
    path = Path(settings.keys_dir) / CURRENT
    existed = path.exists()
    _show(settings, create=True)
    typer.echo(f"{'kept the key in' if existed else 'created'} {path}")


@keys_app.command("show")
def keys_show() -> None:
    """Print the log's origin, its note verifier key and every public key."""
    settings = Settings()
    if not (Path(settings.keys_dir) / CURRENT).exists():
        typer.echo(f"no key in {settings.keys_dir}: run `fpmreg-server keys init`", err=True)
        raise typer.Exit(1)
    _show(settings, create=False)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Make a new current key; the old public key stays published for old records.

    Restart the servers afterwards: each loads the keys when it starts."""
    settings = Settings()
    rotate_keys(Path(settings.keys_dir), settings.base_url)
    _show(settings, create=False)


log_app = typer.Typer(help="The transparency log.", no_args_is_help=True)


@log_app.command("cosign")
def log_cosign() -> None:
    """Ask every witness of FPMREG_LOG_WITNESSES to cosign the current checkpoint.

    Run it after publishing, from cron or a timer: the checkpoint the registry serves
    carries the cosignatures collected for its size."""
    from fpmreg.server.clock import SystemClock
    from fpmreg.server.db import Database
    from fpmreg.server.federation.witness import cosign_round, log_witnesses

    settings = Settings()
    try:
        peers = log_witnesses(settings.log_witnesses)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if not peers:
        typer.echo("FPMREG_LOG_WITNESSES is empty: no witness to ask", err=True)
        raise typer.Exit(1)
    keys = load_keys(Path(settings.keys_dir), settings.base_url)
    database = Database.from_url(settings.database_url)
    try:
        with database.sessions() as session:
            outcomes = cosign_round(session, keys, peers, SystemClock())
            session.commit()
    finally:
        database.engine.dispose()
    for line in outcomes:
        typer.echo(line)
    if not all(": cosigned size " in line for line in outcomes):
        raise typer.Exit(1)
