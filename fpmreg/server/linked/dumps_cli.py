"""`fpmreg-server dump write`: write the daily metadata dump into blob storage
(docs/dumps.md, "Schedule")."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

import typer

from fpmreg.server.settings import Settings

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
dump_app = typer.Typer(help="The daily metadata dump (docs/dumps.md).", no_args_is_help=True)


def _settings() -> Settings:
    """The settings, or exit 2 saying what is wrong with them (no traceback)."""
    try:
        return Settings()
    except ValueError as exc:
        typer.echo(f"error: invalid configuration:\n{exc}", err=True)
        raise typer.Exit(2) from None


def _day(text: str | None) -> date:
    from fpmreg.server.clock import SystemClock

    if text is None:
        return SystemClock().now().date()  # the UTC day
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        typer.echo(f"error: `{text[:40]}` is not a date: write it as YYYY-MM-DD", err=True)
        raise typer.Exit(2) from None


@dump_app.command("write")
def write(
    day: Annotated[
        str | None, typer.Option("--date", help="the dump's date, YYYY-MM-DD (default: today, UTC)")
    ] = None,
    keep: Annotated[
        int | None, typer.Option(min=1, help="dumps to keep (default: FPMREG_DUMP_KEEP)")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="overwrite that date's dump if it differs")
    ] = False,
) -> None:
    """Write `dumps/fpmreg-DATE.jsonl.gz` and the index; older dumps past the
    retention are deleted. Safe to run again: the same facts give the same bytes."""
    from fpmreg.server.db import Database
    from fpmreg.server.errors import DomainError
    from fpmreg.server.linked.dumps import write_dump
    from fpmreg.server.storage import StorageUnavailable, build_store

    when = _day(day)
    settings = _settings()
    store = build_store(settings)
    database = Database.from_url(settings.database_url)
    try:
        with database.session() as session:
            result = write_dump(
                session, store, settings.base_url, when,
                keep=keep or settings.dump_keep, replace=replace,
            )  # fmt: skip
    except StorageUnavailable as exc:
        typer.echo(f"error: {exc} ({store.describe()})", err=True)
        raise typer.Exit(1) from None
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.engine.dispose()
    entry = result.entry
    state = "written" if result.changed else "unchanged"
    typer.echo(
        f"{entry.file}: {state}, {entry.packages} package(s), {entry.size} bytes, "
        f"sha256 {entry.sha256}"
    )
    for name in result.removed:
        typer.echo(f"removed {name} (past the retention of {keep or settings.dump_keep})")


@dump_app.command("schedule")
def schedule() -> None:
    """Queue the daily dump job (a quarter past midnight UTC); each run queues the next.
    Does nothing when one is already queued. Workers (or the servers' job threads) run it."""
    from fpmreg.server.clock import SystemClock
    from fpmreg.server.db import Database
    from fpmreg.server.linked.dumps_job import next_run, schedule_dump

    settings = _settings()
    database = Database.from_url(settings.database_url)
    now = SystemClock().now()
    try:
        with database.session() as session:
            queued = schedule_dump(session, now)
            session.commit()
    finally:
        database.engine.dispose()
    if queued:
        typer.echo(f"daily dump queued for {next_run(now):%Y-%m-%d %H:%M} UTC")
    else:
        typer.echo("a daily dump is already queued")
