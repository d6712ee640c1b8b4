"""`fpmreg`: check, package and publish Fortran packages, keep a registry token, and lock,
sync, mirror and yank dependencies.

The commands live in `fpmreg.client.commands`, one module per action; this module only
registers them, in the order `fpmreg --help` lists them. A run imports the module of
the command it runs and no other (the others pull in rich tables, pydantic models and
the auditing code), so a command such as `fpmreg verify` starts quickly; `--help`, no
command or an unknown one builds the whole app."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Any

import typer

from fpmreg import __version__

# (command name, module in fpmreg.client.commands, function; None: the module's `app`,
# a group of commands), in the order of `fpmreg --help`.
_COMMANDS: tuple[tuple[str, str, str | None], ...] = (
    ("check", "publish", "check"),
    ("package", "publish", "package"),
    ("publish", "publish", "publish"),
    ("login", "login", "login"),
    ("logout", "login", "logout"),
    ("lock", "lock", "lock_command"),
    ("sync", "sync", "sync_command"),
    ("fpm", "sync", "fpm_command"),
    ("mirror", "mirror", "mirror_command"),
    ("yank", "yank", "yank_command"),
    ("unyank", "yank", "unyank_command"),
    ("whoami", "token", "whoami"),
    ("token", "token", None),
    ("deprecate", "deprecate", "deprecate_command"),
    ("undeprecate", "deprecate", "undeprecate_command"),
    ("report", "report", "report_command"),
    ("audit", "audit", "audit_command"),
    ("audit-diff", "audit_diff", "audit_diff_command"),
    ("certify", "certify", "certify_command"),
    ("verify", "verify", "verify_command"),
    ("vet", "vet", "vet_command"),
    ("sbom", "sbom", "sbom_command"),
    ("search", "search", "search_command"),
    ("info", "info", "info_command"),
    ("expectations", "expectations", "expectations_command"),
    ("outdated", "outdated", "outdated_command"),
    ("owner", "owner", "owner_command"),
)
# `fpmreg fpm -- build ...` passes everything after the command on to fpm.
_PASS_THROUGH = {"fpm": {"allow_extra_args": True, "ignore_unknown_options": True}}


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"fpmreg {__version__}")
        raise typer.Exit()


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


def version() -> None:
    """Print the client's version."""
    typer.echo(__version__)


def build_app(only: str | None = None) -> typer.Typer:
    """The `fpmreg` app with every command, or with the command `only` alone."""
    # Never show local variables in a traceback: one of them may be the token.
    built = typer.Typer(
        help="The fpmreg client for Fortran packages.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
    )
    built.callback()(root)
    if only in (None, "version"):
        built.command()(version)
    for name, module_name, function in _COMMANDS:
        if only is not None and name != only:
            continue
        module = importlib.import_module(f"fpmreg.client.commands.{module_name}")
        if function is None:
            built.add_typer(module.app, name=name)
        else:
            settings = _PASS_THROUGH.get(name)
            built.command(name, context_settings=settings)(getattr(module, function))
    return built


def _command_name(argv: list[str]) -> str | None:
    """The command `argv` runs when it is a known one and no help is asked of the root;
    None otherwise (then the whole app is built, to list or suggest commands)."""
    for arg in argv:
        if arg in ("--help", "--install-completion", "--show-completion"):
            return None
        if not arg.startswith("-"):
            known = {name for name, _, _ in _COMMANDS} | {"version"}
            return arg if arg in known else None
    return None


def __getattr__(name: str) -> Any:
    """`app`: the whole app, built when first asked for (tests drive it in process)."""
    if name == "app":
        whole = globals()["app"] = build_app()
        return whole
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Entry point of `fpmreg`."""
    build_app(_command_name(sys.argv[1:]))()
