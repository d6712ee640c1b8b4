"""What every `fpmreg` command shares: the error handler and the common options."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fpmreg.client import config

# Re-exported: every command takes these from here (handling.py says why they live apart).
from fpmreg.client.commands.handling import FormatOption as FormatOption
from fpmreg.client.commands.handling import OutputFormat as OutputFormat
from fpmreg.client.commands.handling import handled as handled
from fpmreg.client.commands.handling import print_json as print_json
from fpmreg.client.commands.handling import wire_problems as wire_problems
from fpmreg.client.fetch import MAX_JOBS
from fpmreg.client.report import err, print_note
from fpmreg.client.source import Package
from fpmreg.core.problem import Severity


def announce_registry(*urls: str | None) -> None:
    """`registry: URL` on stderr, once per registry a command talks to (docs/cli.md,
    "Which registry"). Never on stdout, so `--format json` output stays one document."""
    for url in dict.fromkeys(u for u in urls if u):
        err().print(f"registry: {url}")


@contextlib.contextmanager
def spinner(console: Console, text: str, output: OutputFormat) -> Iterator[None]:
    """A spinner on `console` while the block runs: only on a terminal, never with
    `--format json` (docs/cli.md, "Scripting")."""
    if output is OutputFormat.JSON or not console.is_terminal:
        yield
        return
    with console.status(text):
        yield


def warn_notes(package: Package) -> None:
    """Print the warnings about where a package came from (uncommitted changes...)."""
    for note in package.notes:
        print_note(err(), Severity.WARNING, note)


PathArgument = Annotated[
    Path | None,
    typer.Argument(help="a package folder (default: `.`) or a `.tar.gz`", show_default=False),
]
RegistryOption = Annotated[
    str | None,
    typer.Option(
        "--registry",
        help=f"registry URL (default: ${config.REGISTRY_ENV}, the config file, "
        f"or {config.DEFAULT_REGISTRY})",
        show_default=False,
    ),
]


DirectoryOption = Annotated[
    Path,
    typer.Option("-C", "--directory", help="the project folder (with fpm.toml and fpm.lock)"),
]
JobsOption = Annotated[
    int,
    typer.Option("--jobs", "-j", min=1, max=MAX_JOBS, help="parallel downloads"),
]
