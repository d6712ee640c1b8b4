"""`fpmreg-server advisories import|export`: OSV records in and out (docs/advisories.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

advisories_app = typer.Typer(help="Security advisories (OSV records).", no_args_is_help=True)


def _settings() -> object:
    from fpmreg.server.settings import Settings

    try:
        return Settings()
    except ValueError as exc:
        typer.echo(f"error: invalid configuration:\n{exc}", err=True)
        raise typer.Exit(2) from exc


@advisories_app.command("import")
def import_command(
    source: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="an OSV `.json` file or a zip")
    ],
) -> None:
    """Import OSV records (any ecosystem; they keep their ids). A record already stored
    is replaced when its `modified` differs. Invalid records are listed and skipped."""
    from fpmreg.server.advisories.transfer import import_path
    from fpmreg.server.clock import SystemClock
    from fpmreg.server.db import Database
    from fpmreg.server.settings import Settings

    settings = _settings()
    assert isinstance(settings, Settings)
    database = Database.from_url(settings.database_url)
    try:
        with database.session() as session:
            report = import_path(session, SystemClock(), source, settings.advisory_prefix)
            session.commit()
    finally:
        database.engine.dispose()
    for where, why in report.refused:
        typer.echo(f"refused {where}: {why}", err=True)
    typer.echo(
        f"imported {len(report.created)} new, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.refused)} refused"
    )
    if report.refused:
        raise typer.Exit(1)


@advisories_app.command("export")
def export_command(
    target: Annotated[
        Path, typer.Argument(help="a folder (one `ID.json` each, and `all.zip`) or `FILE.zip`")
    ],
) -> None:
    """Export every published advisory in osv.dev's dump layout."""
    from fpmreg.server.advisories.transfer import export
    from fpmreg.server.db import Database
    from fpmreg.server.settings import Settings

    settings = _settings()
    assert isinstance(settings, Settings)
    database = Database.from_url(settings.database_url)
    try:
        with database.session() as session:
            count = export(session, target)
    finally:
        database.engine.dispose()
    typer.echo(f"exported {count} advisory record(s) to {target}")
