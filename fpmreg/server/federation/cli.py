"""`fpmreg-server keys`, `log` and `mirror`: the signing keys, the transparency log and
verified mirrors (docs/transparency-log.md, docs/mirrors.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fpmreg.server.federation.keys import CURRENT, load_keys, rotate_keys
from fpmreg.server.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from fpmreg.server.federation.keys import RegistryKeys


def _settings() -> Settings:
    """The settings, or exit 2 saying what is wrong with them (no traceback)."""
    try:
        return Settings()
    except ValueError as exc:
        typer.echo(f"error: invalid configuration:\n{exc}", err=True)
        raise typer.Exit(2) from None


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
    settings = _settings()
    path = Path(settings.keys_dir) / CURRENT
    existed = path.exists()
    _show(settings, create=True)
    typer.echo(f"{'kept the key in' if existed else 'created'} {path}")


@keys_app.command("show")
def keys_show() -> None:
    """Print the log's origin, its note verifier key and every public key."""
    settings = _settings()
    if not (Path(settings.keys_dir) / CURRENT).exists():
        typer.echo(f"no key in {settings.keys_dir}: run `fpmreg-server keys init`", err=True)
        raise typer.Exit(1)
    _show(settings, create=False)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Make a new current key; the old public key stays published for old records.

    Restart the servers afterwards: each loads the keys when it starts."""
    settings = _settings()
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

    settings = _settings()
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


mirror_app = typer.Typer(help="Verified mirrors of other registries.", no_args_is_help=True)


@mirror_app.command("follow")
def mirror_follow(
    url: Annotated[str, typer.Argument(help="https://HOST/ap/namespaces/NS or …/packages/NS/NAME")],
    local: Annotated[
        str, typer.Option("--as", help="the local namespace (default: the remote one's name)")
    ] = "",
    log_key: Annotated[
        str, typer.Option(help="the origin's log key, learnt from its operator: pinned, not TOFU")
    ] = "",
) -> None:
    """Mirror a namespace or package of another fpmreg registry (docs/mirrors.md).

    Pins the origin's log key, sends a Follow, and queues the first sync: every release
    the origin's log has is verified, then served here in the local namespace."""
    from fpmreg.server.clock import SystemClock
    from fpmreg.server.federation.mirror_follow import follow

    with _mirror_session() as (session, keys, settings):
        source = follow(session, keys, url, SystemClock().now(), local=local, log_key=log_key,
                        allow_private=settings.federation_allow_private)  # fmt: skip
        session.commit()
        local_name = _local_name(session, source.local_namespace_id)
        typer.echo(f"mirroring {source.remote_actor} into `{local_name}` (source {source.id})")
    typer.echo("the first sync is queued: `fpmreg-server mirror list` shows its progress")


@mirror_app.command("resume")
def mirror_resume(
    source_id: Annotated[int, typer.Argument(help="the source's number in `mirror list`")],
    log_key: Annotated[
        str, typer.Option(help="the origin's new log key, when it changed (confirm it first)")
    ] = "",
) -> None:
    """Follow a stopped (forked) source again from the start of the origin's current log,
    once its operator has explained the change (docs/mirrors.md)."""
    from fpmreg.server.clock import SystemClock
    from fpmreg.server.federation.mirror_follow import resume
    from fpmreg.server.federation.mirror_models import MirrorSource

    with _mirror_session() as (session, keys, settings):
        source = session.get(MirrorSource, source_id)
        if source is None:
            typer.echo(f"error: no source {source_id}: `mirror list` shows them", err=True)
            raise typer.Exit(1)
        resume(session, keys, source, SystemClock().now(), log_key=log_key,
               allow_private=settings.federation_allow_private)  # fmt: skip
        session.commit()
        typer.echo(f"resumed {source.remote_actor}: a sync from the start of its log is queued")


@contextmanager
def _mirror_session() -> Iterator[tuple[Session, RegistryKeys, Settings]]:
    """A session on the configured database with the registry's keys; a refused domain
    action exits with status 1 and its message."""
    from fpmreg.server.db import Database
    from fpmreg.server.errors import DomainError

    settings = _settings()
    keys = load_keys(Path(settings.keys_dir), settings.base_url)
    database = Database.from_url(settings.database_url)
    try:
        with database.sessions() as session:
            yield session, keys, settings
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.engine.dispose()


@mirror_app.command("list")
def mirror_list() -> None:
    """Every mirrored source: its state, the origin's log size verified, and refusals."""
    from sqlalchemy import func, select

    from fpmreg.server.db import Database
    from fpmreg.server.federation.mirror_models import (
        MirroredRelease,
        MirrorRefusal,
        MirrorSource,
    )

    database = Database.from_url(_settings().database_url)
    try:
        with database.sessions() as session:
            for source in session.scalars(select(MirrorSource).order_by(MirrorSource.id)):
                releases = session.scalar(select(func.count()).where(
                    MirroredRelease.source_id == source.id))  # fmt: skip
                typer.echo(
                    f"{source.id}: {source.remote_actor} -> "
                    f"{_local_name(session, source.local_namespace_id)}: {source.status}, "
                    f"verified {source.size} log entries, {releases} releases"
                    + (f" ({source.status_reason})" if source.status_reason else "")
                )
                refusals = session.scalars(select(MirrorRefusal).where(
                    MirrorRefusal.source_id == source.id).order_by(MirrorRefusal.id))  # fmt: skip
                for refusal in refusals:
                    typer.echo(f"   refused entry {refusal.log_index} {refusal.subject}: "
                               f"{refusal.reason}")  # fmt: skip
    finally:
        database.engine.dispose()


@mirror_app.command("sync")
def mirror_sync() -> None:
    """Queue a sync of every followed source now (the job runner does it)."""
    from sqlalchemy import select

    from fpmreg.server.clock import SystemClock
    from fpmreg.server.db import Database
    from fpmreg.server.federation.mirror_models import MirrorSource
    from fpmreg.server.federation.mirror_sync import FOLLOWING, queue_sync

    database = Database.from_url(_settings().database_url)
    try:
        with database.sessions() as session:
            ids = list(session.scalars(select(MirrorSource.id).where(
                MirrorSource.status == FOLLOWING)))  # fmt: skip
            for source_id in ids:
                queue_sync(session, source_id, SystemClock().now())
            session.commit()
    finally:
        database.engine.dispose()
    typer.echo(f"queued a sync of {len(ids)} source(s)")


def _local_name(session: Any, namespace_id: int) -> str:
    from fpmreg.server.accounts.models import Namespace

    namespace = session.get(Namespace, namespace_id)
    return namespace.name if namespace is not None else "?"
