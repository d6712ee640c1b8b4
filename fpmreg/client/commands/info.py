"""`fpmreg info NS/NAME[@VERSION]`: one package as `pip show` and `cargo info` show it.

It reads `GET /api/v1/packages/{ns}/{name}` (every version, deprecation, advisories),
`.../versions/{v}` when a version is named, the namespace's members and the package's
maintainers, and its download counts (docs/commands.md, "fpmreg info")."""

from __future__ import annotations

import re
from typing import Annotated, TypeVar
from urllib.parse import urlsplit

import httpx
import typer
from pydantic import BaseModel, ValidationError

from fpmreg.client import config
from fpmreg.client.commands.common import (
    FormatOption,
    OutputFormat,
    RegistryOption,
    handled,
    print_json,
)
from fpmreg.client.deprecation import PackageRef, parse_package
from fpmreg.client.errors import ClientError, UsageError
from fpmreg.client.index import new_client
from fpmreg.client.registry import parse_answer, refusal
from fpmreg.client.report import err, out
from fpmreg.core.expectations import STATUSES
from fpmreg.core.versions import InvalidVersion, Version
from fpmreg.core.wire.accounts import MaintainerList, NamespaceInfo
from fpmreg.core.wire.cli_queries import InfoDependency, InfoOwner, InfoReport, InfoVersion
from fpmreg.core.wire.downloads import PackageDownloads
from fpmreg.core.wire.errors import ErrorEnvelope
from fpmreg.core.wire.packages import Dependency, PackageInfo, VersionInfo

Model = TypeVar("Model", bound=BaseModel)
# Hosts whose homepage is the source repository (docs/commands.md, "fpmreg info").
FORGES = frozenset({"github.com", "gitlab.com", "codeberg.org", "bitbucket.org", "git.sr.ht"})
# The registry's codes for "there is no such thing here" (docs/api-design.md, "Errors").
MISSING_CODES = frozenset({"package-not-found", "namespace-not-found", "version-not-found"})
_TARGET = re.compile(r"^(?P<package>[^@\s]+)(@(?P<version>[^@\s]+))?$")


def error_codes(response: httpx.Response) -> set[str]:
    """The `code`s of the registry's error envelope; empty when it sent none."""
    try:
        return {e.code for e in ErrorEnvelope.model_validate_json(response.content).errors}
    except ValidationError:
        return set()


def get_answer(
    client: httpx.Client, registry: str, path: str, model: type[Model], missing: str
) -> Model:
    """`GET path` read as `model`; `missing` is the error when the registry says 404."""
    try:
        response = client.get(path)
    except httpx.TransportError as exc:
        raise ClientError(f"cannot reach the registry at `{registry}`: {exc}") from exc
    if response.status_code == 404 and error_codes(response) & MISSING_CODES:
        raise ClientError(missing)
    if response.status_code != 200:
        raise refusal(response)
    return parse_answer(response, model)


def no_package(ref: PackageRef, registry: str) -> str:
    """The message for a package the registry does not have."""
    return (
        f"no package `{ref.namespace}/{ref.name}` on `{registry}`: check the spelling, "
        f'or look for it with `fpmreg search "{ref.name}"`'
    )


def read_owners(client: httpx.Client, registry: str, ref: PackageRef) -> list[InfoOwner]:
    """The namespace's members, then the package's own maintainers."""
    base = f"/api/v1/packages/{ref.namespace}/{ref.name}"
    maintainers = get_answer(
        client, registry, f"{base}/maintainers", MaintainerList, no_package(ref, registry)
    )
    namespace = get_answer(
        client,
        registry,
        f"/api/v1/namespaces/{maintainers.namespace}",
        NamespaceInfo,
        no_package(ref, registry),
    )
    owners = [InfoOwner(username=m.username, role=f"namespace {m.role}") for m in namespace.members]
    owners += [
        InfoOwner(username=m.username, role="package maintainer") for m in maintainers.maintainers
    ]
    return owners


def parse_info_target(text: str) -> tuple[PackageRef, str]:
    """`NS/NAME` or `NS/NAME@VERSION` (the version normalized; "" when absent)."""
    match = _TARGET.fullmatch(text.strip())
    if match is None:
        raise UsageError(f"`{text}` is not `NAMESPACE/NAME[@VERSION]`, e.g. `acme/trilib@1.2.0`")
    ref = parse_package(match["package"])
    if match["version"] is None:
        return ref, ""
    try:
        return ref, str(Version.parse(match["version"]))
    except InvalidVersion as exc:
        raise UsageError(str(exc)) from exc


def _requirement(dep: Dependency) -> str:
    parts = [f"={dep.version}"] if dep.version else []
    return ", ".join([*parts, dep.requirement] if dep.requirement else parts)


def _downloads(client: httpx.Client, ref: PackageRef) -> int | None:
    # Counts are a bonus: a registry without the metrics domain still answers `info`.
    try:
        response = client.get(f"/api/v1/packages/{ref.namespace}/{ref.name}/downloads")
        return PackageDownloads.model_validate_json(response.content).all_time
    except (httpx.TransportError, ValidationError):
        return None


def _shown_version(
    client: httpx.Client, registry: str, ref: PackageRef, info: PackageInfo, asked: str
) -> VersionInfo | None:
    if not asked:
        chosen = info.latest_version or (info.versions[0].version if info.versions else "")
        return next((v for v in info.versions if v.version == chosen), None)
    missing = (
        f"no version {asked} of `{ref.namespace}/{ref.name}` on `{registry}`: "
        f"`fpmreg info {ref.namespace}/{ref.name}` lists its versions"
    )
    path = f"/api/v1/packages/{ref.namespace}/{ref.name}/versions/{asked}"
    return get_answer(client, registry, path, VersionInfo, missing)


def repository_of(homepage: str) -> str:
    """The homepage when it is on a code forge (its source), else ""."""
    host = (urlsplit(homepage).hostname or "").lower()
    return homepage if host in FORGES or host.startswith("gitlab.") else ""


def info_report(registry: str, ref: PackageRef, asked: str) -> InfoReport:
    """Everything `fpmreg info` shows, read from `registry`."""
    with new_client(registry) as client:
        path = f"/api/v1/packages/{ref.namespace}/{ref.name}"
        info = get_answer(client, registry, path, PackageInfo, no_package(ref, registry))
        canonical = PackageRef(info.namespace, info.name)
        shown = _shown_version(client, registry, canonical, info, asked)
        owners = read_owners(client, registry, canonical)
        downloads = _downloads(client, canonical)
    return InfoReport(
        registry=registry,
        namespace=info.namespace,
        name=info.name,
        description=shown.description if shown else info.description,
        license=shown.license if shown else info.license,
        homepage=info.homepage,
        repository=repository_of(info.homepage),
        latest_version=info.latest_version,
        version=shown.version if shown else "",
        versions=[
            InfoVersion(
                version=v.version,
                published_at=v.published_at,
                yanked=v.yanked,
                yank_reason=v.yank_reason,
            )
            for v in info.versions
        ],
        dependencies=[
            InfoDependency(
                name=d.name,
                kind=d.kind,
                scope=d.scope,
                namespace=d.namespace,
                requirement=_requirement(d),
            )
            for d in (shown.dependencies if shown else [])
        ],
        owners=owners,
        deprecated=info.deprecated,
        deprecation_message=info.deprecation_message,
        replacement=info.replacement,
        advisories=[a.id for a in (shown.advisories if shown else info.advisories)],
        downloads=downloads,
        maintenance=info.expectations.status if info.expectations else "",
    )


def _print_info(report: InfoReport) -> None:
    console = out()
    latest = report.latest_version or "none (every version is yanked)"
    shown = next((v for v in report.versions if v.version == report.version), None)
    yanked = f"yanked: {shown.yank_reason}; " if shown and shown.yanked else ""
    console.print(f"{report.namespace}/{report.name} {report.version} ({yanked}latest: {latest})")
    if report.description:
        console.print(report.description)
    rows = [("license", report.license), ("homepage", report.homepage)]
    rows.append(("repository", report.repository))
    if report.deprecated:
        instead = f"; use `{report.replacement}` instead" if report.replacement else ""
        rows.append(("deprecated", f"{report.deprecation_message or 'yes'}{instead}"))
    if report.maintenance:
        rows.append(("maintained", STATUSES.get(report.maintenance, report.maintenance)))
    if report.advisories:
        rows.append(("advisories", ", ".join(report.advisories)))
    rows.append(("owners", ", ".join(f"{o.username} ({o.role})" for o in report.owners)))
    if report.downloads is not None:
        rows.append(("downloads", str(report.downloads)))
    for key, value in rows:
        if value:
            console.print(f"{key + ':':<12}{value}")
    console.print("versions:")
    for v in report.versions:
        yanked = f"  yanked: {v.yank_reason}" if v.yanked else ""
        console.print(f"  {v.version:<12}{v.published_at}{yanked}")
    if not report.dependencies:
        console.print(f"dependencies of {report.version}: none")
        return
    console.print(f"dependencies of {report.version}:")
    for d in report.dependencies:
        who = f"{d.namespace}/{d.name}" if d.namespace else d.name
        console.print(f"  {who} {d.requirement or '*'}  ({d.kind}, {d.scope})")


@handled
def info_command(
    target: Annotated[str, typer.Argument(help="NAMESPACE/NAME, or NAMESPACE/NAME@VERSION")],
    registry_url: RegistryOption = None,
    output: FormatOption = OutputFormat.TEXT,
) -> None:
    """Show a package: versions, licence, owners, deprecation, and a version's dependencies."""
    ref, asked = parse_info_target(target)
    registry = config.resolve_registry(registry_url, config.load_config(config.config_path()))
    report = info_report(registry, ref, asked)
    if output is OutputFormat.JSON:
        print_json(report)
        return
    _print_info(report)
    err().print(f"from `{registry}`")
