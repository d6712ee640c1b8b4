"""`fpmreg audit-diff NS/NAME A B`: the registry's diff between two versions, to review.

It reads `GET /api/v1/packages/{ns}/{name}/diff/{A}/{B}` (docs/diffs.md): the unified
diff as the registry serves it, byte for byte, so a review can be bound to the two
tarball digests on its first line. `--stat` prints one line per file instead, and
`--format json` the registry's `PackageDiff` (docs/cli.md, "Scripting")."""

from __future__ import annotations

import pydoc
import re
import sys
from typing import Annotated

import httpx
import typer

from fpmreg.client import config
from fpmreg.client.commands.common import (
    FormatOption,
    OutputFormat,
    RegistryOption,
    handled,
    print_json,
)
from fpmreg.client.commands.info import MISSING_CODES, error_codes
from fpmreg.client.deprecation import PackageRef, parse_package
from fpmreg.client.errors import ClientError, UnexpectedAnswer, UsageError
from fpmreg.client.index import new_client
from fpmreg.client.registry import parse_answer, refusal
from fpmreg.client.report import err
from fpmreg.core.diff import EMPTY
from fpmreg.core.versions import InvalidVersion, Version
from fpmreg.core.wire.diffs import AuditDiffReport, PackageDiff

# What every diff the registry serves starts with (docs/diffs.md, "The text").
HEADER = "# fpmreg diff "
# Characters a terminal would act on (colours, cursor moves, a carriage return that
# hides what came before on the line): shown as `\xNN` on a terminal, never sent raw.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b\u202a-\u202e\u2066-\u2069]")


def _version(text: str, which: str) -> str:
    if which == "from" and text.strip().lower() in (EMPTY, "0.0.0"):
        return EMPTY
    try:
        return str(Version.parse(text))
    except InvalidVersion as exc:
        raise UsageError(f"{exc} ({which} version)") from exc


def fetch_diff(
    registry: str, ref: PackageRef, old: str, new: str, *, as_json: bool
) -> httpx.Response:
    """The registry's answer for the diff; a `ClientError` for any refusal."""
    path = f"/api/v1/packages/{ref.namespace}/{ref.name}/diff/{old}/{new}"
    try:
        with new_client(registry) as client:
            response = client.get(path, params={"format": "json"} if as_json else None)
    except httpx.TransportError as exc:
        raise ClientError(f"cannot reach the registry at `{registry}`: {exc}") from exc
    codes = error_codes(response) if response.status_code == 404 else set()
    if "version-not-found" in codes:
        asked = new if old == EMPTY else f"{old} or {new}"
        raise ClientError(
            f"`{ref.namespace}/{ref.name}` has no version {asked} on `{registry}`: "
            f"`fpmreg info {ref.namespace}/{ref.name}` lists its versions"
        )
    if codes & MISSING_CODES:
        raise ClientError(
            f"no package `{ref.namespace}/{ref.name}` on `{registry}`: check the spelling, "
            f'or look for it with `fpmreg search "{ref.name}"`'
        )
    if response.status_code != 200:
        raise refusal(response)
    return response


def shown(text: str) -> str:
    """`text` safe for a terminal: control and bidirectional characters as escapes."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(escape, text)


def stat_lines(diff: PackageDiff) -> list[str]:
    """One line per file (`path | +A -R` or `| binary`), then the summary."""
    width = max((len(shown(f.path)) for f in diff.files), default=0)
    lines = []
    for f in diff.files:
        what = "binary" if f.binary else f"+{f.lines_added} -{f.lines_removed}"
        lines.append(f" {shown(f.path):<{width}} | {what} ({f.status})")
    lines.append(
        f" {len(diff.files)} files differ: {diff.files_added} added, {diff.files_removed} "
        f"removed, {diff.files_changed} changed; +{diff.lines_added} -{diff.lines_removed} lines"
    )
    return lines


def _print_text(text: str, pager: bool) -> None:
    if not sys.stdout.isatty():
        sys.stdout.write(text)  # verbatim: `| git apply`, `> review.diff` get the exact bytes
    elif pager:
        pydoc.pager(shown(text))  # $PAGER, else `less`, else plain (the client has no click)
    else:
        sys.stdout.write(shown(text))
    sys.stdout.flush()


@handled
def audit_diff_command(
    package: Annotated[str, typer.Argument(help="NAMESPACE/NAME")],
    old: Annotated[str, typer.Argument(help="the reviewed version, or `empty` for a new package")],
    new: Annotated[str, typer.Argument(help="the version to review")],
    stat: Annotated[bool, typer.Option("--stat", help="one line per file, no content")] = False,
    pager: Annotated[
        bool, typer.Option("--pager/--no-pager", help="page the diff on a terminal")
    ] = True,
    registry_url: RegistryOption = None,
    output: FormatOption = OutputFormat.TEXT,
) -> None:
    """Show the registry's diff between two versions of a package, to review it."""
    ref = parse_package(package)
    before, after = _version(old, "from"), _version(new, "to")
    registry = config.resolve_registry(registry_url, config.load_config(config.config_path()))
    as_json = output is OutputFormat.JSON or stat
    response = fetch_diff(registry, ref, before, after, as_json=as_json)
    if as_json:
        diff = parse_answer(response, PackageDiff)
        if output is OutputFormat.JSON:
            print_json(AuditDiffReport(**diff.model_dump(), registry=registry))
            return
        _print_text("".join(line + "\n" for line in stat_lines(diff)), pager=False)
        return
    text = response.text
    if not text.startswith(HEADER):
        raise UnexpectedAnswer(
            f"the registry's answer is not a diff (it does not start with `{HEADER}`): "
            "is this an fpmreg registry?"
        )
    _print_text(text, pager)
    err().print(f"from `{registry}`", markup=False, highlight=False)
