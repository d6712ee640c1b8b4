"""`fpmreg-server front`: rebuild nginx's files, count downloads from nginx's log."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from fpmreg.server.settings import Settings

front_app = typer.Typer(help="The nginx front (docs/operating.md).", no_args_is_help=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        typer.echo(f"error: invalid configuration:\n{exc}", err=True)
        raise typer.Exit(2) from exc


@front_app.command("rebuild")
def rebuild() -> None:
    """Rewrite every file under FPMREG_FRONT_DIR from the database and remove stale ones.

    Run it on a fresh deploy, and after a crash (a process killed between a commit and
    its file write leaves that package's files one change behind)."""
    from fpmreg.server.app import create_app

    settings = _settings()
    if not settings.front_dir:
        typer.echo("error: set FPMREG_FRONT_DIR to the folder nginx serves", err=True)
        raise typer.Exit(2)
    app = create_app(settings)
    try:
        written = app.state.front.rebuild()
    finally:
        app.state.fpmreg.database.engine.dispose()
    typer.echo(f"wrote the front files of {written} package(s) to {settings.front_dir}")


@front_app.command("ingest-log")
def ingest_log(
    path: Annotated[Path, typer.Argument(help="nginx's download log (fpmreg_downloads format)")],
    every: Annotated[
        float,
        typer.Option(min=0, help="keep running, reading new lines every this many seconds"),
    ] = 0,
) -> None:
    """Count the tarball downloads nginx logged since the last run into the daily series.

    Safe to run at any time and to kill at any time: each batch of counts is stored in
    the same transaction as the place in the log it reached."""
    from fpmreg.server.clock import SystemClock
    from fpmreg.server.db import Database
    from fpmreg.server.front.ingest import LogIngest

    settings = _settings()
    database = Database.from_url(settings.database_url)
    ingest = LogIngest(database, SystemClock(), path)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while True:
            result = ingest.run()
            typer.echo(
                f"counted {result.counted} download(s); {result.ignored} other line(s), "
                f"{result.malformed} malformed, {result.unknown} of deleted versions"
            )
            for note in result.notes:
                typer.echo(f"warning: {note}", err=True)
            if every <= 0 or stop.wait(every):
                break
    finally:
        database.engine.dispose()
