"""`fpmreg expectations NS/NAME`: show, or with options declare, a package's maintenance
status and security expectations (docs/expectations.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from fpmreg.client import config
from fpmreg.client.commands.common import (
    FormatOption,
    OutputFormat,
    RegistryOption,
    handled,
    print_json,
)
from fpmreg.client.commands.deprecate import TokenOption, _registry_and_token
from fpmreg.client.deprecation import parse_package
from fpmreg.client.expectations import declare_expectations, read_expectations
from fpmreg.client.report import err, out
from fpmreg.core.expectations import RESPONSES, STATUSES
from fpmreg.core.wire.expectations import ExpectationsState


def print_expectations(state: ExpectationsState) -> None:
    """The declaration as lines for people."""
    console = out()
    label = f"{state.namespace}/{state.name}"
    declared = state.expectations
    if declared is None:
        console.print(f"{label}: its owners declared no expectations")
        return
    console.print(f"{label} expectations (updated {declared.updated_at}):")
    rows = [
        ("status", f"{declared.status_label} ({declared.status})"),
        ("security", f"{RESPONSES.get(declared.response, declared.response)}"),
        ("contact", declared.contact),
        ("supported", declared.supported),
        ("note", declared.note),
    ]
    for key, value in rows:
        if value:
            console.print(f"  {key + ':':<11}{value}", markup=False, highlight=False)


@handled
def expectations_command(
    target: Annotated[str, typer.Argument(help="NAMESPACE/NAME")],
    status: Annotated[
        str | None, typer.Option(help="maintenance status: " + ", ".join(STATUSES))
    ] = None,
    contact: Annotated[
        str | None, typer.Option(help="where to report security issues: email or https URL")
    ] = None,
    response: Annotated[
        str | None,
        typer.Option(help="do security reports get a response: " + ", ".join(RESPONSES)),
    ] = None,
    supported: Annotated[
        str | None, typer.Option(help='versions that get security fixes, e.g. ">=2.0"')
    ] = None,
    note: Annotated[str | None, typer.Option(help="anything else, in a sentence")] = None,
    registry_url: RegistryOption = None,
    token: TokenOption = None,
    output: FormatOption = OutputFormat.TEXT,
) -> None:
    """Show a package's expectations; with options, declare them (owners, `manage` token).

    Options not given keep their declared value; `--contact ""` clears one."""
    ref = parse_package(target)
    changes = {
        "status": status,
        "contact": contact,
        "response": response,
        "supported": supported,
        "note": note,
    }
    reading = all(v is None for v in changes.values())
    if reading:
        registry = config.resolve_registry(registry_url, config.load_config(config.config_path()))
        state = read_expectations(registry, ref)
    else:
        registry, secret = _registry_and_token(registry_url, token)
        state = declare_expectations(registry, secret, ref, changes)
    if output is OutputFormat.JSON:
        print_json(state)
        return
    print_expectations(state)
    if reading:
        err().print(f"from `{registry}`")
