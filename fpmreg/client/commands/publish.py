"""`fpmreg check`, `package` and `publish`: a package folder as `fpm publish` sends it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from fpmreg.client import config, git, registry
from fpmreg.client.commands.common import (
    FormatOption,
    OutputFormat,
    PathArgument,
    RegistryOption,
    announce_registry,
    handled,
    print_json,
    spinner,
    warn_notes,
    wire_problems,
)
from fpmreg.client.errors import ClientError, ProblemsFound, UsageError
from fpmreg.client.report import (
    catalogue_json,
    count,
    err,
    out,
    print_catalogue,
    print_note,
    print_problems,
)
from fpmreg.client.source import Package, inspect_bytes, load_package, uncommitted_notes
from fpmreg.core.manifest import Manifest
from fpmreg.core.names import NAME_PATTERN
from fpmreg.core.problem import Severity
from fpmreg.core.versions import InvalidVersion, Version
from fpmreg.core.wire.cli import CheckReport, PublishReport


def check_report(package: Package) -> CheckReport:
    """What `fpmreg check --format json` prints for `package`."""
    inspection = package.inspection
    problems = inspection.problems
    manifest = inspection.manifest
    errors = sum(p.is_error for p in problems)
    return CheckReport(
        package=manifest.name if manifest else "",
        version=str(manifest.version) if manifest else "",
        origin=package.origin,
        ok=inspection.ok,
        errors=errors,
        warnings=len(problems) - errors,
        problems=wire_problems(problems),
    )


@handled
def check(
    path: PathArgument = None,
    output: FormatOption = OutputFormat.TEXT,
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
    warn_notes(package)
    inspection = package.inspection
    if output is OutputFormat.JSON:
        print_json(check_report(package))
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
    warn_notes(built)
    if not built.inspection.ok:
        print_note(
            err(),
            Severity.WARNING,
            f"the registry would refuse this package ({count(built.inspection.problems)}): "
            f"run `fpmreg check {directory}` to see why",
        )
    out().print(f"path    {target}")
    out().print(f"sha256  {built.sha256}")


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
    output: FormatOption = OutputFormat.TEXT,
) -> None:
    """Check a package, then upload it to the registry (nothing is sent if a check fails)."""
    settings = config.load_config(config.config_path())
    url = config.resolve_registry(registry_url, settings)
    announce_registry(url)
    secret = config.resolve_token(token, settings, url)
    package = load_package(path or Path("."))
    warn_notes(package)
    inspection = package.inspection
    if not inspection.ok:
        raise ProblemsFound(
            f"not uploaded: {package.label} has {count(inspection.problems)}; fix the "
            "errors, then publish again",
            list(inspection.problems),
        )
    if registry.is_plain_http_to_remote(url):
        print_note(err(), Severity.WARNING, f"sending your token unencrypted to `{url}`")
    manifest = inspection.manifest
    filename = f"{manifest.name}-{manifest.version}.tar.gz" if manifest else "package.tar.gz"
    with registry.blame_url([url]), spinner(err(), f"uploading to {url}", output):
        answer = registry.publish(url, secret, package.data, filename, dry_run=dry_run)
    print_problems(err(), answer.warnings)
    if answer.sha256 != package.sha256:
        raise ClientError(
            f"the registry recorded sha256 {answer.sha256} but the tarball sent has sha256 "
            f"{package.sha256}: it was altered on the way; do not use "
            f"`{answer.namespace}/{answer.name}` {answer.version}, and tell the registry's "
            "operators"
        )
    if output is OutputFormat.JSON:
        print_json(publish_report(url, answer))
        return
    what = f"`{answer.namespace}/{answer.name}` {answer.version}"
    if answer.dry_run:
        out().print(f"dry run: {what} passes the registry's checks; nothing was stored")
    else:
        out().print(f"published {what}")
    out().print(f"sha256  {answer.sha256}")
    if answer.url and not answer.dry_run:
        out().print(f"url     {answer.url}")


def publish_report(url: str, answer: registry.PublishAnswer) -> PublishReport:
    """What `fpmreg publish --format json` prints (docs/cli.md, "The documents")."""
    return PublishReport(
        registry=url,
        namespace=answer.namespace,
        name=answer.name,
        version=answer.version,
        sha256=answer.sha256,
        dry_run=answer.dry_run,
        url="" if answer.dry_run else answer.url,
        warnings=wire_problems(answer.warnings),
    )
