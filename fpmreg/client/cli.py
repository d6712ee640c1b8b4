"""`fpmreg`: check, package and publish Fortran packages, keep a registry token, and lock,
sync, mirror and yank dependencies.

The commands live in `fpmreg.client.commands`, one module per action; this module only
registers them, in the order `fpmreg --help` lists them."""

from __future__ import annotations

from typing import Annotated

import typer

from fpmreg import __version__
from fpmreg.client.commands import (
    audit,
    deprecate,
    expectations,
    info,
    lock,
    login,
    mirror,
    outdated,
    owner,
    publish,
    report,
    search,
    sync,
    token,
    verify,
    yank,
)

# Never show local variables in a traceback: one of them may be the token.
app = typer.Typer(
    help="The fpmreg client for Fortran packages.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"fpmreg {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="print the client's version and exit",
        ),
    ] = False,
) -> None:
    """The fpmreg client for Fortran packages."""


@app.command()
def version() -> None:
    """Print the client's version."""
    typer.echo(__version__)


app.command()(publish.check)
app.command()(publish.package)
app.command()(publish.publish)
app.command()(login.login)
app.command()(login.logout)
app.command("lock")(lock.lock_command)
app.command("sync")(sync.sync_command)
app.command("fpm", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
    sync.fpm_command
)
app.command("mirror")(mirror.mirror_command)
app.command("yank")(yank.yank_command)
app.command("unyank")(yank.unyank_command)
app.command("whoami")(token.whoami)
app.add_typer(token.app, name="token")
app.command("deprecate")(deprecate.deprecate_command)
app.command("undeprecate")(deprecate.undeprecate_command)
app.command("report")(report.report_command)
app.command("audit")(audit.audit_command)
app.command("verify")(verify.verify_command)
app.command("search")(search.search_command)
app.command("info")(info.info_command)
app.command("expectations")(expectations.expectations_command)
app.command("outdated")(outdated.outdated_command)
app.command("owner")(owner.owner_command)


def main() -> None:
    """Entry point of `fpmreg`."""
    app()
