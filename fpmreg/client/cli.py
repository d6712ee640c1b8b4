"""`fpmreg`: check, package and publish Fortran packages, and keep a registry token."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, ParamSpec

import typer

from fpmreg import __version__
from fpmreg.client import config, git, registry
from fpmreg.client.errors import ClientError, RegistryRefused, UsageError
from fpmreg.client.report import (
    catalogue_json,
    count,
    err,
    out,
    print_catalogue,
    print_note,
    print_problems,
    problems_json,
)
from fpmreg.client.source import Package, inspect_bytes, load_package, uncommitted_notes
from fpmreg.core.manifest import Manifest
from fpmreg.core.names import NAME_PATTERN
from fpmreg.core.problem import Severity
from fpmreg.core.versions import InvalidVersion, Version

# Never show local variables in a traceback: one of them may be the token.
app = typer.Typer(
    help="The fpmreg client for Fortran packages.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
P = ParamSpec("P")


class OutputFormat(StrEnum):
    """How `check` prints its findings."""

    TEXT = "text"
    JSON = "json"


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


def _warn_notes(package: Package) -> None:
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


@app.command()
def version() -> None:
    """Print the client's version."""
    typer.echo(__version__)


@app.command()
@handled
def check(
    path: PathArgument = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="text or json")] = (
        OutputFormat.TEXT
    ),
    list_checks: Annotated[bool, typer.Option("--list", help="list every check and exit")] = False,
) -> None:
    """Run the registry's upload checks on a package folder (as `fpm publish` would
    package it: the committed HEAD) or a tarball. Exit 1 when any error is found."""
    if list_checks:
        if output is OutputFormat.JSON:
            typer.echo(catalogue_json())
        else:
            print_catalogue(out())
        return
    package = load_package(path or Path("."))
    _warn_notes(package)
    inspection = package.inspection
    if output is OutputFormat.JSON:
        typer.echo(problems_json(inspection.problems))
    else:
        print_problems(out(), inspection.problems)
        where = f"{package.label} ({package.origin})" if inspection.manifest else package.origin
        if not inspection.problems:
            out().print(f"ok: {where} passes every check")
        elif inspection.ok:
            out().print(f"ok: {where} can be published ({count(inspection.problems)})")
        else:
            out().print(
                f"refused: {where} has {count(inspection.problems)}: fix the errors "
                "before publishing"
            )
    if not inspection.ok:
        raise typer.Exit(1)


def _tarball_name(manifest: Manifest | None) -> str:
    """`{name}-{version}.tar.gz` from the tarball's own fpm.toml."""
    if manifest is None or not NAME_PATTERN.fullmatch(manifest.name):
        raise ClientError(
            "cannot name the tarball: the committed fpm.toml has no valid `name`; run "
            "`fpmreg check` to see why, or pass `-o FILE`"
        )
    try:
        number = Version.parse(manifest.version)
    except InvalidVersion as exc:
        raise ClientError(
            "cannot name the tarball: the committed fpm.toml has no valid `version`; run "
            "`fpmreg check` to see why, or pass `-o FILE`"
        ) from exc
    return f"{manifest.name}-{number}.tar.gz"


@app.command()
@handled
def package(
    directory: Annotated[Path, typer.Argument(help="the package folder")] = Path("."),
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="where to write it (default: DIRECTORY/build/fpmreg/NAME-VERSION.tar.gz)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write the tarball `fpm publish` would upload: `git archive HEAD --format=tar.gz`."""
    git.require_commit(directory)
    if output is not None and output.is_dir():
        raise UsageError(f"`{output}` is a folder: give `-o` a file name ending in `.tar.gz`")
    folder = output.parent if output is not None else directory / "build" / "fpmreg"
    folder.mkdir(parents=True, exist_ok=True)
    # git creates the file (with the usual permissions); it is renamed into place only
    # once complete, so OUT is never a half-written tarball.
    with tempfile.TemporaryDirectory(dir=folder, prefix=".fpmreg-") as staging:
        staged = Path(staging) / "package.tar.gz"
        git.archive_head(directory, staged)
        data = staged.read_bytes()
        inspection = inspect_bytes(data)
        target = output if output is not None else folder / _tarball_name(inspection.manifest)
        os.replace(staged, target)
    built = Package(data, f"`{directory}`", inspection, uncommitted_notes(directory, inspection))
    _warn_notes(built)
    if not built.inspection.ok:
        print_note(
            err(),
            Severity.WARNING,
            f"the registry would refuse this package ({count(built.inspection.problems)}): "
            f"run `fpmreg check {directory}` to see why",
        )
    out().print(f"path    {target}")
    out().print(f"sha256  {built.sha256}")


@app.command()
@handled
def publish(
    path: PathArgument = None,
    registry_url: RegistryOption = None,
    token: Annotated[
        str | None,
        typer.Option(
            help=f"API token (default: ${config.TOKEN_ENV}, or the one `fpmreg login` saved)",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="let the registry check it, store nothing")
    ] = False,
) -> None:
    """Check a package, then upload it to the registry (nothing is sent if a check fails)."""
    settings = config.load_config(config.config_path())
    url = config.resolve_registry(registry_url, settings)
    secret = config.resolve_token(token, settings, url)
    package = load_package(path or Path("."))
    _warn_notes(package)
    inspection = package.inspection
    if not inspection.ok:
        print_problems(err(), inspection.problems)
        raise ClientError(
            f"not uploaded: {package.label} has {count(inspection.problems)}; fix the "
            "errors, then publish again"
        )
    if registry.is_plain_http_to_remote(url):
        print_note(err(), Severity.WARNING, f"sending your token unencrypted to `{url}`")
    manifest = inspection.manifest
    filename = f"{manifest.name}-{manifest.version}.tar.gz" if manifest else "package.tar.gz"
    answer = registry.publish(url, secret, package.data, filename, dry_run=dry_run)
    print_problems(err(), answer.warnings)
    if answer.sha256 != package.sha256:
        raise ClientError(
            f"the registry recorded sha256 {answer.sha256} but the tarball sent has sha256 "
            f"{package.sha256}: it was altered on the way; do not use "
            f"`{answer.namespace}/{answer.name}` {answer.version}, and tell the registry's "
            "operators"
        )
    what = f"`{answer.namespace}/{answer.name}` {answer.version}"
    if answer.dry_run:
        out().print(f"dry run: {what} passes the registry's checks; nothing was stored")
    else:
        out().print(f"published {what}")
    out().print(f"sha256  {answer.sha256}")
    if answer.url and not answer.dry_run:
        out().print(f"url     {answer.url}")


@app.command()
@handled
def login(
    registry_url: RegistryOption = None,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="read the token from stdin, not a prompt")
    ] = False,
) -> None:
    """Save an API token for a registry in the config file (mode 0600)."""
    path = config.config_path()
    settings = config.load_config(path)
    url = config.resolve_registry(registry_url, settings)
    if token_stdin:
        secret = config.check_token(sys.stdin.readline(), "stdin")
    else:
        entered = typer.prompt(f"API token for {url}", hide_input=True)
        secret = config.check_token(entered, "the prompt")
    settings.tokens[url] = secret
    settings.registry = url
    config.save_config(path, settings)
    out().print(f"saved the token for `{url}` in `{path}` (readable by you only)")


@app.command()
@handled
def logout(registry_url: RegistryOption = None) -> None:
    """Remove the saved token of a registry (the config file goes with the last one)."""
    path = config.config_path()
    settings = config.load_config(path)
    url = config.resolve_registry(registry_url, settings)
    if url not in settings.tokens:
        out().print(f"no token saved for `{url}` in `{path}`")
        return
    del settings.tokens[url]
    if settings.registry == url:
        settings.registry = ""
    config.save_config(path, settings)
    gone = "removed" if not path.exists() else "kept for the other registries"
    out().print(f"removed the token for `{url}`; `{path}` {gone}")


def main() -> None:
    """Entry point of `fpmreg`."""
    app()
