"""`fpmreg`: check, package and publish Fortran packages, keep a registry token, and lock,
sync, mirror and yank dependencies."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, ParamSpec

import typer

from fpmreg import __version__
from fpmreg.client import config, git, registry
from fpmreg.client import lock as locking
from fpmreg.client import mirror as mirroring
from fpmreg.client import sync as syncing
from fpmreg.client import yank as yanking
from fpmreg.client.errors import ClientError, RegistryRefused, UsageError
from fpmreg.client.index import HttpIndex, cache_root, new_client
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
from fpmreg.core.lockfile import LOCK_FILE_NAME
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


DirectoryOption = Annotated[
    Path,
    typer.Option("-C", "--directory", help="the project folder (with fpm.toml and fpm.lock)"),
]
JobsOption = Annotated[
    int,
    typer.Option("--jobs", "-j", min=1, max=syncing.MAX_JOBS, help="parallel downloads"),
]


@app.command("lock")
@handled
def lock_command(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="with `--update`: only these packages move", show_default=False),
    ] = None,
    update: Annotated[
        bool,
        typer.Option("--update", help="move to the newest versions that fit (all, or NAMES)"),
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="write nothing; exit 1 when fpm.lock is out of date (CI)"),
    ] = False,
    registry_url: RegistryOption = None,
    directory: DirectoryOption = Path("."),
) -> None:
    """Resolve fpm.toml's registry dependencies to exact versions and sha256 in fpm.lock.

    Locked versions are kept while they still fit; `--update` moves them."""
    if names and not update:
        raise UsageError(f"to move {', '.join(names)}, add `--update`: `fpmreg lock --update NAME`")
    if check and update:
        raise UsageError("`--check` writes nothing: drop `--update`")
    project = locking.load_project(directory, err())
    url = locking.choose_registry(registry_url, project.lock)
    with new_client(url) as client:
        index = HttpIndex(url, client, cache_root())
        if check:
            locking.check_and_report(project, index, url, out(), err())
            return
        outcome = locking.lock_project(
            project,
            index,
            url,
            update_all=update and not names,
            update=names or (),
            console=err(),
        )
    yanked = {p.key for p in outcome.resolution.packages if p.yanked}
    locking.print_changes(out(), outcome, yanked)


@app.command("sync")
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
    jobs: JobsOption = syncing.DEFAULT_JOBS,
    force: Annotated[
        bool, typer.Option("--force", help="unpack every package again, even if up to date")
    ] = False,
    directory: DirectoryOption = Path("."),
) -> None:
    """Download, verify (sha256) and unpack exactly the versions in fpm.lock into a local
    registry folder, and write the fpm config that points at it."""
    _, lock = locking.read_lock(directory)
    if lock is None:
        raise UsageError(f"no {LOCK_FILE_NAME} in `{directory}`: run `fpmreg lock` first")
    url = config.normalize_registry(registry_url) if registry_url else None
    manifest_text, drift = locking.manifest_drift(directory, lock)
    for message in drift:
        print_note(err(), Severity.WARNING, message)
    result = syncing.sync(
        directory,
        lock,
        dest=dest if dest is not None else directory / syncing.DEFAULT_DEST,
        config_file=config_file if config_file is not None else directory / syncing.DEFAULT_CONFIG,
        cache=syncing.default_cache(),
        console=err(),
        jobs=jobs,
        registry=url,
        force=force,
        root_manifest=manifest_text,
    )
    syncing.print_result(out(), err(), result, len(lock.packages))


@app.command("fpm", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
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
    argv = syncing.fpm_argv(syncing.find_fpm(), args or [], chosen.absolute())
    try:
        # A list argv, no shell: arguments reach fpm exactly as given.
        code = subprocess.run(argv, cwd=directory, check=False).returncode  # noqa: S603
    except OSError as exc:
        raise UsageError(f"cannot run `{argv[0]}`: {exc}") from exc
    raise typer.Exit(code)


@app.command("mirror")
@handled
def mirror_command(
    dest: Annotated[Path, typer.Argument(help="the local registry folder to fill")],
    namespace: Annotated[
        str | None, typer.Option(help="every package of this namespace", show_default=False)
    ] = None,
    lock_file: Annotated[
        Path | None,
        typer.Option("--lock", help="the versions an fpm.lock names", show_default=False),
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="every package")] = False,
    registry_url: RegistryOption = None,
    jobs: JobsOption = syncing.DEFAULT_JOBS,
) -> None:
    """Copy packages, verified, into a local fpm registry folder (for machines without
    network access); only what is not there yet is downloaded."""
    if sum((namespace is not None, lock_file is not None, everything)) != 1:
        raise UsageError("say what to mirror: one of `--namespace NS`, `--lock FILE`, `--all`")
    settings = config.load_config(config.config_path())
    if lock_file is not None:
        try:
            _, lock = locking.read_lock_file(lock_file)
        except FileNotFoundError:
            raise UsageError(f"no lock file at `{lock_file}`") from None
        url = config.normalize_registry(registry_url) if registry_url else None
        wanted = [syncing.Wanted.of(p) for p in lock.packages]
    else:
        url = config.resolve_registry(registry_url, settings)
        with mirroring.mirror_client(url) as client:
            index = HttpIndex(url, client, cache_root())
            listed = mirroring.list_packages(client, namespace or "")
            wanted = mirroring.registry_versions(index, listed)
        if not wanted:
            where = f" in namespace `{namespace}`" if namespace else ""
            print_note(err(), Severity.WARNING, f"`{url}` lists no packages{where}")
    result = mirroring.mirror(
        wanted, dest, cache=syncing.default_cache(), console=err(), jobs=jobs, registry=url
    )
    mirroring.print_result(out(), result)
    if result.refused:
        raise ClientError(f"{len(result.refused)} versions refused (see above)")


@app.command("yank")
@handled
def yank_command(
    target: Annotated[str, typer.Argument(help="NAMESPACE/NAME@VERSION")],
    reason: Annotated[
        str | None, typer.Option(help="why (shown to its users)", show_default=False)
    ] = None,
    undo: Annotated[bool, typer.Option("--undo", help="unyank: offer it again")] = False,
    registry_url: RegistryOption = None,
    token: Annotated[
        str | None,
        typer.Option(
            help=f"API token with the `yank` scope (default: ${config.TOKEN_ENV}, or the one "
            "`fpmreg login` saved)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Yank a version: no longer chosen for new locks, still downloadable for old ones."""
    chosen = yanking.parse_target(target)
    if not undo and not (reason or "").strip():
        raise UsageError('say why with `--reason "..."`: users of the version see it')
    settings = config.load_config(config.config_path())
    url = config.resolve_registry(registry_url, settings)
    secret = config.resolve_token(token, settings, url)
    if registry.is_plain_http_to_remote(url):
        print_note(err(), Severity.WARNING, f"sending your token unencrypted to `{url}`")
    answer = yanking.set_yanked(url, secret, chosen, yank=not undo, reason=reason or "")
    if answer.yanked:
        out().print(f"yanked {chosen.label}: {answer.reason}")
        out().print(
            "projects that locked it keep building; `fpmreg lock --update "
            f"{chosen.name}` moves them off it"
        )
    else:
        out().print(f"unyanked {chosen.label}: it is offered again")


def main() -> None:
    """Entry point of `fpmreg`."""
    app()
