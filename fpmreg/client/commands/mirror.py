"""`fpmreg mirror`: packages copied, verified, into a local registry folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fpmreg.client import config, registry
from fpmreg.client import lock as locking
from fpmreg.client import mirror as mirroring
from fpmreg.client.commands.common import (
    FormatOption,
    JobsOption,
    OutputFormat,
    RegistryOption,
    announce_registry,
    handled,
    print_json,
    spinner,
)
from fpmreg.client.download import Wanted
from fpmreg.client.errors import ClientError, UsageError
from fpmreg.client.fetch import DEFAULT_JOBS, default_cache
from fpmreg.client.index import HttpIndex, cache_root
from fpmreg.client.report import err, out, print_note
from fpmreg.core.problem import Severity


@handled
def mirror_command(
    dest: Annotated[Path, typer.Argument(help="the local registry folder to fill")],
    namespace: Annotated[
        str | None, typer.Option(help="every package of this namespace", show_default=False)
    ] = None,
    lock_file: Annotated[
        Path | None,
        typer.Option("--lock", help="the versions an fpm.lock names", show_default=False),
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="every package")] = False,
    include_yanked: Annotated[
        bool,
        typer.Option(
            "--include-yanked",
            help="mirror yanked versions too (left out by default: fpm would build them)",
        ),
    ] = False,
    registry_url: RegistryOption = None,
    jobs: JobsOption = DEFAULT_JOBS,
    output: FormatOption = OutputFormat.TEXT,
) -> None:
    """Copy packages, verified, into a local fpm registry folder (for machines without
    network access); only what is not there yet is downloaded. Yanked versions are left
    out unless `--include-yanked` (a lock's versions are always mirrored as locked)."""
    if sum((namespace is not None, lock_file is not None, everything)) != 1:
        raise UsageError("say what to mirror: one of `--namespace NS`, `--lock FILE`, `--all`")
    settings = config.load_config(config.config_path())
    console = err(interactive=output is not OutputFormat.JSON)
    yanked = 0
    if lock_file is not None:
        try:
            _, lock = locking.read_lock_file(lock_file)
        except FileNotFoundError:
            raise UsageError(f"no lock file at `{lock_file}`") from None
        url = config.normalize_registry(registry_url) if registry_url else None
        announce_registry(*([url] if url else sorted({p.registry for p in lock.packages})))
        wanted = [Wanted.of(p) for p in lock.packages]
    else:
        url = config.resolve_registry(registry_url, settings)
        announce_registry(url)
        with (
            registry.blame_url([url]),
            mirroring.mirror_client(url) as client,
            spinner(console, f"listing the packages of {url}", output),
        ):
            index = HttpIndex(url, client, cache_root())
            listed = mirroring.list_packages(client, namespace or "")
            wanted, yanked = mirroring.registry_versions(
                index, listed, include_yanked=include_yanked
            )
        if yanked:
            print_note(
                console,
                Severity.WARNING,
                f"left out {yanked} yanked version{'s' if yanked != 1 else ''}: fpm builds "
                "the highest version in the folder; pass `--include-yanked` to mirror them",
            )
        if not wanted:
            where = f" in namespace `{namespace}`" if namespace else ""
            print_note(console, Severity.WARNING, f"`{url}` lists no packages{where}")
    with registry.blame_url([url] if url else sorted({w.registry for w in wanted})):
        result = mirroring.mirror(
            wanted, dest, cache=default_cache(), console=console, jobs=jobs, registry=url
        )
    if output is OutputFormat.JSON:
        print_json(mirroring.mirror_report(result, url or "", yanked))
        if result.refused:
            raise typer.Exit(1)
        return
    mirroring.print_result(out(), result)
    if result.refused:
        raise ClientError(f"{len(result.refused)} versions refused (see above)")
