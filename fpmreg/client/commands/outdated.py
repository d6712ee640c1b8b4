"""`fpmreg outdated`: how far `fpm.lock` is behind the registry, as `cargo outdated` says.

For each locked package (and each registry dependency of fpm.toml not locked yet):
the locked version; "compatible", the version a fresh resolution of the whole graph
picks (what `fpmreg lock --update` would write); and "latest", the newest version not
yanked, whatever fpm.toml allows (docs/commands.md, "fpmreg outdated")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from fpmreg.client import lock as locking
from fpmreg.client.commands.common import (
    DirectoryOption,
    FormatOption,
    OutputFormat,
    RegistryOption,
    handled,
    print_json,
)
from fpmreg.client.errors import ClientError, UsageError
from fpmreg.client.index import HttpIndex, cache_root, new_client
from fpmreg.client.report import err, out, print_note
from fpmreg.core.lockfile import LOCK_FILE_NAME, LockedPackage, dependency_requirement
from fpmreg.core.manifest import DependencyKind, Manifest
from fpmreg.core.problem import Severity
from fpmreg.core.resolve import Index, ResolutionError, resolve
from fpmreg.core.versions import InvalidRequirement, InvalidVersion, Requirement, Version
from fpmreg.core.wire.cli_queries import OutdatedPackage, OutdatedReport


def _newest(index: Index, namespace: str, name: str, requirement: Requirement) -> str:
    best: Version | None = None
    for entry in index.versions(namespace, name):
        try:
            version = Version.parse(entry.version)
        except InvalidVersion:
            continue  # the resolver skips these too
        if not entry.yanked and requirement.matches(version) and (best is None or best < version):
            best = version
    return str(best) if best else ""


def _direct(manifest: Manifest) -> dict[str, tuple[str, str]]:
    """name → (namespace, requirement text) of fpm.toml's registry dependencies."""
    found: dict[str, tuple[str, str]] = {}
    for dep in manifest.dependencies:
        if dep.kind is not DependencyKind.REGISTRY or dep.name in found:
            continue
        try:
            requirement = str(dependency_requirement(dep, manifest.requirements))
        except (InvalidRequirement, InvalidVersion) as exc:
            raise ClientError(f"fpm.toml [extra.fpmreg.dependencies] `{dep.name}`: {exc}") from None
        found[dep.name] = (dep.namespace, "" if requirement == "*" else requirement)
    return found


def _compatible(manifest: Manifest, index: Index) -> dict[str, str] | None:
    """name → version of a fresh resolution (as `lock --update`); None when none exists."""
    try:
        resolution = resolve(manifest, index, None)
    except ResolutionError as exc:
        print_note(
            err(),
            Severity.WARNING,
            f'fpm.toml cannot be resolved afresh ({exc}); "compatible" is the newest '
            "version each requirement allows on its own",
        )
        return None
    return {p.name: str(p.version) for p in resolution.packages}


def outdated_report(
    manifest: Manifest, locked: tuple[LockedPackage, ...], index: Index, registry: str
) -> OutdatedReport:
    """Every locked package and each unlocked direct dependency, with the three versions."""
    direct = _direct(manifest)
    fresh = _compatible(manifest, index)
    rows: list[OutdatedPackage] = []
    keys: list[tuple[str, str, LockedPackage | None]] = [(p.namespace, p.name, p) for p in locked]
    keys += [
        (ns, name, None) for name, (ns, _) in direct.items() if all(p.name != name for p in locked)
    ]
    for namespace, name, package in sorted(keys, key=lambda k: (k[1], k[0])):
        ns_of_direct, requirement = direct.get(name, ("", ""))
        is_direct = name in direct and ns_of_direct == namespace
        if fresh is not None:
            compatible = fresh.get(name, "")
        else:
            allowed = Requirement.parse(requirement) if is_direct and requirement else Requirement()
            compatible = _newest(index, namespace, name, allowed)
        latest = _newest(index, namespace, name, Requirement())
        entries = {e.version: e for e in index.versions(namespace, name)}
        version = package.version if package else ""
        yanked = bool(package and version in entries and entries[version].yanked)
        rows.append(
            OutdatedPackage(
                namespace=namespace,
                name=name,
                direct=is_direct,
                requirement=requirement if is_direct else "",
                locked=version,
                locked_yanked=yanked,
                compatible=compatible,
                latest=latest,
                outdated=bool(version != compatible or (latest and version != latest)),
            )
        )
    return OutdatedReport(
        registry=registry,
        project=manifest.name,
        outdated=sum(r.outdated for r in rows),
        packages=rows,
    )


def print_outdated(report: OutdatedReport) -> None:
    """A table of the outdated packages, then one summary line."""
    behind = [p for p in report.packages if p.outdated]
    if behind:
        table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
        for column in ("package", "requirement", "locked", "compatible", "latest", "kind"):
            table.add_column(column)
        for p in behind:
            locked = p.locked or "(not locked)"
            locked += " (yanked)" if p.locked_yanked else ""
            table.add_row(
                f"{p.namespace}/{p.name}",
                p.requirement or ("*" if p.direct else ""),
                locked,
                p.compatible or "(none fits)",
                p.latest or "(none)",
                "direct" if p.direct else "transitive",
            )
        out().print(table)
        update = any(p.compatible and p.compatible != p.locked for p in behind)
        held = any(p.latest and p.latest != p.compatible for p in behind)
        if update:
            out().print("`fpmreg lock --update` moves to the compatible versions")
        if held:
            out().print(
                "fpm.toml's `v` pins and ranges hold back the latest versions: edit them to move"
            )
    total = len(report.packages)
    if behind:
        out().print(f"{len(behind)} of {total} packages of `{report.project}` are outdated")
    else:
        out().print(f"all {total} packages of `{report.project}` are up to date")


@handled
def outdated_command(
    exit_code: Annotated[
        bool,
        typer.Option("--exit-code", help="exit 1 when a package is outdated (for CI)"),
    ] = False,
    registry_url: RegistryOption = None,
    directory: DirectoryOption = Path("."),
    output: FormatOption = OutputFormat.TEXT,
) -> None:
    """Show locked versions next to the newest that fpm.toml allows and the newest of all."""
    project = locking.load_project(directory, err())
    if project.lock is None:
        raise UsageError(
            f"there is no {LOCK_FILE_NAME} in `{directory}`: run `fpmreg lock` first, then "
            "`fpmreg outdated`"
        )
    url = locking.choose_registry(registry_url, project.lock)
    with new_client(url) as client:
        index = HttpIndex(url, client, cache_root())
        report = outdated_report(project.manifest, project.lock.packages, index, url)
    if output is OutputFormat.JSON:
        print_json(report)
    else:
        print_outdated(report)
        err().print(f"compared with `{url}`")
    if exit_code and report.outdated:
        raise typer.Exit(1)
