"""`fpmreg sync` and `fpmreg fpm`: the locked versions installed, and fpm run on them."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Annotated

import typer

from fpmreg.client import auditing, config, registry, states
from fpmreg.client import fpm as fpm_runner
from fpmreg.client import lock as locking
from fpmreg.client import sync as syncing
from fpmreg.client.commands.common import (
    DirectoryOption,
    FormatOption,
    JobsOption,
    OutputFormat,
    announce_registry,
    handled,
    print_json,
)
from fpmreg.client.errors import UsageError
from fpmreg.client.fetch import DEFAULT_JOBS, default_cache
from fpmreg.client.report import err, out, print_note
from fpmreg.core.lockfile import LOCK_FILE_NAME
from fpmreg.core.manifest import parse_manifest
from fpmreg.core.problem import Severity


@handled
def sync_command(
    registry_url: Annotated[
        str | None,
        typer.Option(
            "--registry",
            help="download from this registry or mirror (default: each package's registry "
            "in fpm.lock)",
            show_default=False,
        ),
    ] = None,
    dest: Annotated[
        Path | None,
        typer.Option(
            help=f"the local registry folder (default: {syncing.DEFAULT_DEST})",
            show_default=False,
        ),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help=f"the fpm config to write (default: {syncing.DEFAULT_CONFIG})",
            show_default=False,
        ),
    ] = None,
    jobs: JobsOption = DEFAULT_JOBS,
    force: Annotated[
        bool, typer.Option("--force", help="unpack every package again, even if up to date")
    ] = False,
    directory: DirectoryOption = Path("."),
    output: FormatOption = OutputFormat.TEXT,
) -> None:
    """Download, verify (sha256) and unpack exactly the versions in fpm.lock into a local
    registry folder, and write the fpm config that points at it."""
    _, lock = locking.read_lock(directory)
    if lock is None:
        raise UsageError(f"no {LOCK_FILE_NAME} in `{directory}`: run `fpmreg lock` first")
    url = config.normalize_registry(registry_url) if registry_url else None
    registries = [url] if url else sorted({p.registry for p in lock.packages})
    announce_registry(*registries)
    console = err(interactive=output is not OutputFormat.JSON)
    manifest_text, drift = locking.manifest_drift(directory, lock)
    for message in drift:
        print_note(console, Severity.WARNING, message)
    with registry.blame_url(registries):
        states.check_sync(list(lock.packages), url, console)
        result = syncing.sync(
            directory,
            lock,
            dest=dest if dest is not None else directory / syncing.DEFAULT_DEST,
            config_file=config_file
            if config_file is not None
            else directory / syncing.DEFAULT_CONFIG,
            cache=default_cache(),
            console=console,
            jobs=jobs,
            registry=url,
            force=force,
            root_manifest=manifest_text,
        )
    if output is OutputFormat.JSON:
        for note in result.notes:
            print_note(console, Severity.WARNING, note)
        print_json(syncing.sync_report(result, registries, len(lock.packages)))
    else:
        syncing.print_result(out(), console, result, len(lock.packages))
    manifest = parse_manifest(manifest_text).manifest if manifest_text is not None else None
    # `states.check_sync` refused deleted versions and warned about deprecations.
    skip = {auditing.FindingKind.DELETED, auditing.FindingKind.DEPRECATED}
    auditing.warn(lock, manifest, directory, console, registry=None, skip=skip)


@handled
def fpm_command(
    args: Annotated[
        list[str] | None, typer.Argument(help="fpm's command and options, after `--`")
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help=f"the fpm config (default: {syncing.DEFAULT_CONFIG})",
            show_default=False,
        ),
    ] = None,
    directory: DirectoryOption = Path("."),
) -> None:
    """Run fpm on the synced folder: `fpmreg fpm -- build` runs
    `fpm build --config-file build/fpmreg/config.toml` (fpm from $FPMREG_FPM or PATH)."""
    chosen = config_file if config_file is not None else directory / syncing.DEFAULT_CONFIG
    if not chosen.is_file():
        raise UsageError(f"no fpm config at `{chosen}`: run `fpmreg sync` first")
    argv = fpm_runner.fpm_argv(fpm_runner.find_fpm(), args or [], chosen.absolute())
    try:
        # A list argv, no shell: arguments reach fpm exactly as given.
        code = subprocess.run(argv, cwd=directory, check=False).returncode  # noqa: S603
    except OSError as exc:
        raise UsageError(f"cannot run `{argv[0]}`: {exc}") from exc
    raise typer.Exit(code)
