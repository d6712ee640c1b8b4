"""`fpmreg search QUERY`: packages whose name, namespace or description match.

It pages through `GET /api/v1/packages?q=...&namespace=...` (20 a page, following
`next_cursor`) until it has `--limit` packages (docs/commands.md, "fpmreg search")."""

from __future__ import annotations

from typing import Annotated

import httpx
import typer
from rich import box
from rich.table import Table

from fpmreg.client import config
from fpmreg.client.commands.common import (
    FormatOption,
    OutputFormat,
    RegistryOption,
    handled,
    print_json,
)
from fpmreg.client.errors import ClientError
from fpmreg.client.index import new_client
from fpmreg.client.registry import parse_answer, refusal
from fpmreg.client.report import err, out
from fpmreg.core.wire import WireModel
from fpmreg.core.wire.cli_queries import SearchHit, SearchReport
from fpmreg.core.wire.packages import PackageSummary

DEFAULT_LIMIT = 20
# The registry serves at most 50 pages of 20; asking for more would only be refused.
MAX_LIMIT = 100
# A table row stays on one terminal line: longer descriptions end in `…`.
DESCRIPTION_WIDTH = 60


class _Summary(PackageSummary):
    # Download counts, when the registry adds them to search results; older ones do not.
    downloads: int | None = None


class _Results(WireModel):
    # `SearchResults`, with the counts above.
    packages: list[_Summary]
    total: int
    next_cursor: str = ""


def search_packages(registry: str, query: str, namespace: str, limit: int) -> SearchReport:
    """The first `limit` matches of `query` on `registry`, most relevant first."""
    hits: list[SearchHit] = []
    total = 0
    params = {"q": query, "namespace": namespace}
    with new_client(registry) as client:
        cursor = ""
        while len(hits) < limit:
            try:
                response = client.get("/api/v1/packages", params={**params, "cursor": cursor})
            except httpx.TransportError as exc:
                raise ClientError(f"cannot reach the registry at `{registry}`: {exc}") from exc
            if response.status_code != 200:
                raise refusal(response)
            page = parse_answer(response, _Results)
            total = page.total
            hits += [
                SearchHit(
                    namespace=p.namespace,
                    name=p.name,
                    latest_version=p.latest_version,
                    description=p.description,
                    license=p.license,
                    downloads=p.downloads,
                )
                for p in page.packages
            ]
            cursor = page.next_cursor
            if not cursor or not page.packages:
                break
    return SearchReport(
        registry=registry, query=query, namespace=namespace, total=total, packages=hits[:limit]
    )


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= DESCRIPTION_WIDTH else line[: DESCRIPTION_WIDTH - 1] + "…"


def print_hits(report: SearchReport) -> None:
    """A table: package, latest version, downloads (when known), description."""
    if not report.packages:
        what = f"`{report.query}`" if report.query else "the search"
        where = f" in namespace `{report.namespace}`" if report.namespace else ""
        out().print(f"no packages match {what}{where} on `{report.registry}`")
        return
    counted = any(p.downloads is not None for p in report.packages)
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    for column in ("package", "latest", *(("downloads",) if counted else ()), "description"):
        # One line per package even in a narrow terminal: long cells end in `…`.
        table.add_column(
            column,
            justify="right" if column == "downloads" else "left",
            no_wrap=True,
            overflow="ellipsis",
        )
    for p in report.packages:
        downloads = ("" if p.downloads is None else str(p.downloads),) if counted else ()
        latest = p.latest_version or "(yanked)"
        table.add_row(f"{p.namespace}/{p.name}", latest, *downloads, _short(p.description))
    out().print(table)
    more = report.total - len(report.packages)
    hint = f"; `--limit {min(report.total, MAX_LIMIT)}` shows more" if more > 0 else ""
    err().print(
        f"{len(report.packages)} of {report.total} packages on `{report.registry}`{hint}; "
        "`fpmreg info NS/NAME` tells more"
    )


@handled
def search_command(
    query: Annotated[
        str, typer.Argument(help="words in the name, namespace or description", show_default=False)
    ] = "",
    namespace: Annotated[
        str, typer.Option("--namespace", help="only this namespace's packages", show_default=False)
    ] = "",
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=MAX_LIMIT, help="show at most this many")
    ] = DEFAULT_LIMIT,
    registry_url: RegistryOption = None,
    output: FormatOption = OutputFormat.TEXT,
) -> None:
    """Search the registry's packages by name, namespace and description."""
    registry = config.resolve_registry(registry_url, config.load_config(config.config_path()))
    report = search_packages(registry, query.strip(), namespace.strip(), limit)
    if output is OutputFormat.JSON:
        print_json(report)
        return
    print_hits(report)
