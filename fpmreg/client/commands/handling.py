"""How every `fpmreg` command ends: a `ClientError` printed as `error: ...` (or as a
`--format json` error document) and its exit status.

Kept apart from `common` (which re-exports it) and free of pydantic, the downloader and
the config at import time, so a command that needs nothing more (`fpmreg verify`)
starts quickly; the JSON models are imported only when a JSON document is printed."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec

import typer

from fpmreg.client.errors import ClientError, ProblemsFound, RegistryRefused
from fpmreg.client.report import err, print_note, print_problems
from fpmreg.core.problem import Problem, Severity

if TYPE_CHECKING:
    from pydantic import BaseModel

    from fpmreg.core.wire.cli import CheckProblem

P = ParamSpec("P")


class OutputFormat(StrEnum):
    """`--format`: text for people, json for scripts (docs/cli.md, "Scripting")."""

    TEXT = "text"
    JSON = "json"


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="text for people, json for scripts")
]


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
                from fpmreg.core.wire.cli import CliError

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
    from fpmreg.core.wire.cli import CheckProblem

    return [
        CheckProblem(code=p.code, field=p.field, message=p.message, severity=str(p.severity))
        for p in problems
    ]


def print_json(data: BaseModel | dict[str, Any] | list[Any]) -> None:
    """Print one JSON document on stdout: the whole answer of a `--format json` command."""
    if isinstance(data, dict | list):
        typer.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        typer.echo(data.model_dump_json(indent=2))
