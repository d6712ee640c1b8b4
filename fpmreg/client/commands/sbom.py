"""`fpmreg sbom`: an SBOM of the project from fpm.lock and fpm.toml, in SPDX 2.3, SPDX
3.0.1 or CycloneDX 1.6 (docs/sbom.md, "`fpmreg sbom`")."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from fpmreg.client import lock as locking
from fpmreg.client.commands.common import DirectoryOption, RegistryOption, handled
from fpmreg.client.errors import UsageError
from fpmreg.client.index import write_atomically
from fpmreg.client.report import err, print_note
from fpmreg.client.sbom import (
    DEFAULT_NAMESPACE,
    Licences,
    creation_time,
    fetch_licences,
    project_sbom,
)
from fpmreg.core.lockfile import LOCK_FILE_NAME
from fpmreg.core.names import NAME_PATTERN
from fpmreg.core.problem import Severity
from fpmreg.core.sbom import DEFAULT_FORMAT, FORMATS, UnknownFormat, emit, format_named


@handled
def sbom_command(
    directory: DirectoryOption = Path("."),
    format_name: Annotated[
        str,
        typer.Option("--format", help="one of " + ", ".join(FORMATS)),
    ] = DEFAULT_FORMAT,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write it here, not to stdout")
    ] = None,
    namespace: Annotated[
        str, typer.Option(help="the project's namespace in its package URL")
    ] = DEFAULT_NAMESPACE,
    offline: Annotated[
        bool, typer.Option("--offline", help="ask no registry: licences are NOASSERTION")
    ] = False,
    registry: RegistryOption = None,
) -> None:
    """Write an SBOM of the project: every package of fpm.lock, exactly as locked."""
    try:
        chosen = format_named(format_name)
    except UnknownFormat as exc:
        raise UsageError(f"--format: {exc}") from None
    if not NAME_PATTERN.match(namespace):
        raise UsageError(f"--namespace `{namespace[:40]}` is not a namespace name")
    console = err()
    project = locking.load_project(directory, console)
    if project.lock is None:
        raise UsageError(f"there is no {LOCK_FILE_NAME} in `{directory}`: run `fpmreg lock`")
    for drift in locking.manifest_drift(directory, project.lock)[1]:
        print_note(console, Severity.WARNING, f"{drift}: run `fpmreg lock` for an SBOM of fpm.toml")
    created = creation_time()
    licences = Licences() if offline else fetch_licences(project.lock.packages)
    for unreachable in sorted(licences.unreachable):
        print_note(
            console,
            Severity.WARNING,
            f"{unreachable} cannot be reached: its packages' licences are NOASSERTION",
        )
    for purl in licences.missing:
        print_note(console, Severity.WARNING, f"the registry has no {purl}: licence NOASSERTION")
    content = project_sbom(
        project.manifest,
        project.lock,
        locking.choose_registry(registry, project.lock),
        namespace,
        licences,
    )
    body = emit(content, chosen.name, created)
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    write_atomically(output, body)
    console.print(
        f"wrote {output}: {chosen.name}, {len(content.components)} locked packages", highlight=False
    )
