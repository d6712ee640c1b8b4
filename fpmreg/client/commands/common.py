"""What every `fpmreg` command shares: the error handler and the common options."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec

import typer
from pydantic import BaseModel

from fpmreg.client import config
from fpmreg.client.errors import ClientError, RegistryRefused
from fpmreg.client.fetch import MAX_JOBS
from fpmreg.client.report import err, print_note, print_problems
from fpmreg.client.source import Package
from fpmreg.core.problem import Severity

P = ParamSpec("P")


def handled(command: Callable[P, None]) -> Callable[P, None]:
    """Print a `ClientError` as `error: ...` on stderr and exit with its status."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except RegistryRefused as exc:
            print_problems(err(), exc.problems)
            raise typer.Exit(exc.exit_code) from None
        except ClientError as exc:
            print_note(err(), Severity.ERROR, str(exc))
            raise typer.Exit(exc.exit_code) from None

    return run


def warn_notes(package: Package) -> None:
    """Print the warnings about where a package came from (uncommitted changes...)."""
    for note in package.notes:
        print_note(err(), Severity.WARNING, note)


class OutputFormat(StrEnum):
    """`--format`: text for people, json for scripts (docs/cli.md, "Scripting")."""

    TEXT = "text"
    JSON = "json"


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="text for people, json for scripts")
]


def print_json(data: BaseModel | dict[str, Any] | list[Any]) -> None:
    """Print one JSON document on stdout: the whole answer of a `--format json` command."""
    if isinstance(data, BaseModel):
        typer.echo(data.model_dump_json(indent=2))
    else:
        typer.echo(json.dumps(data, indent=2, sort_keys=True))


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
