"""`fpmreg`: check packages before publishing them (more commands arrive with later issues)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from fpmreg import __version__
from fpmreg.core.checks import inspect_package

app = typer.Typer(help="The fpmreg client for Fortran packages.", no_args_is_help=True)


@app.command()
def version() -> None:
    """Print the client's version."""
    typer.echo(__version__)


@app.command()
def check(
    tarball: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a .tar.gz")],
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Run the registry's client-side upload checks on a package tarball."""
    with tarball.open("rb") as stream:
        inspection = inspect_package(stream)
    if output == "json":
        typer.echo(
            json.dumps(
                [
                    {
                        "code": p.code,
                        "field": p.field,
                        "message": p.message,
                        "severity": str(p.severity),
                    }
                    for p in inspection.problems
                ]
            )
        )
    else:
        for p in inspection.problems:
            typer.echo(f"{p.severity}[{p.code}]: {p.message}")
        typer.echo("ok: no blocking problem" if inspection.ok else "refused: fix the errors above")
    raise typer.Exit(0 if inspection.ok else 1)


def main() -> None:
    """Entry point of `fpmreg`."""
    app()
