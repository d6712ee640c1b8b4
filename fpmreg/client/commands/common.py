"""What every `fpmreg` command shares: the error handler and the common options."""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec

import typer
from pydantic import BaseModel
from rich.console import Console

from fpmreg.client import config
from fpmreg.client.errors import ClientError, ProblemsFound, RegistryRefused
from fpmreg.client.fetch import MAX_JOBS
from fpmreg.client.report import err, print_note, print_problems
from fpmreg.client.source import Package
from fpmreg.core.problem import Problem, Severity
from fpmreg.core.wire.cli import CheckProblem, CliError

P = ParamSpec("P")


def handled(command: Callable[P, None]) -> Callable[P, None]:
    """Print a `ClientError` as `error: ...` on stderr and exit with its status; with
    `--format json` (a parameter named `output`), as a `CliError` document on stdout."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        as_json = kwargs.get("output") is OutputFormat.JSON
        try:
            command(*args, **kwargs)
        except ClientError as exc:
            problems = exc.problems if isinstance(exc, ProblemsFound) else []
            if as_json:
                print_json(
                    CliError(
                        error=str(exc), exit_code=exc.exit_code, problems=wire_problems(problems)
                    )
                )
            print_problems(err(), problems)
            if not isinstance(exc, RegistryRefused):
                print_note(err(), Severity.ERROR, str(exc))
            raise typer.Exit(exc.exit_code) from None

    return run


def wire_problems(problems: Iterable[Problem]) -> list[CheckProblem]:
    """Problems as `--format json` prints them."""
    return [
        CheckProblem(code=p.code, field=p.field, message=p.message, severity=str(p.severity))
        for p in problems
    ]


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
