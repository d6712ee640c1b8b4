"""`fpmreg owner NS/NAME`: who may publish a package, and its per-package maintainers.

`--list` reads the namespace's members and `GET /api/v1/packages/{ns}/{name}/maintainers`
(public). `--add USER` and `--remove USER` are `PUT` and `DELETE` on
`.../maintainers/{user}`, with a token that has the `manage` scope for the namespace,
held by one of its admins (docs/accounts-tokens.md, "Package maintainers";
docs/commands.md, "fpmreg owner")."""

from __future__ import annotations

from typing import Annotated

import httpx
import typer

from fpmreg.client import config, registry
from fpmreg.client.commands.common import (
    FormatOption,
    OutputFormat,
    RegistryOption,
    handled,
    print_json,
)
from fpmreg.client.commands.info import MISSING_CODES, error_codes, no_package, read_owners
from fpmreg.client.deprecation import PackageRef, parse_package
from fpmreg.client.errors import ClientError, RegistryRefused, UsageError
from fpmreg.client.index import new_client
from fpmreg.client.registry import TIMEOUT, refusal, request_headers
from fpmreg.client.report import err, out, print_note, print_problems
from fpmreg.core.problem import Severity
from fpmreg.core.wire.cli_queries import OwnerReport

# What a 403 means here, per the registry's code (fpmreg/server/accounts/tokens.py).
_FORBIDDEN_HINTS = {
    "token-scope": "the token needs the `manage` scope: create one with `fpmreg token create "
    "NAME --namespace {ns} --scope manage`, or on your account's token page",
    "token-namespace": "the token is for another namespace: use one made for `{ns}`",
    "token-package": "the token is limited to another package: use one for `{ns}/{name}` "
    "or for the whole namespace",
    "not-namespace-admin": "only an admin of `{ns}` can change who maintains its packages: "
    "ask one of them (`fpmreg owner {ns}/{name} --list`)",
}


def change_maintainer(url: str, token: str, ref: PackageRef, username: str, *, add: bool) -> None:
    """`PUT` (add) or `DELETE` (remove) one maintainer; the registry's refusal is raised."""
    path = f"/api/v1/packages/{ref.namespace}/{ref.name}/maintainers/{username}"
    try:
        with httpx.Client(base_url=url, headers=request_headers(token), timeout=TIMEOUT) as c:
            response = c.request("PUT" if add else "DELETE", path)
    except httpx.TransportError as exc:
        raise ClientError(f"cannot reach the registry at `{url}`: {exc}") from exc
    if response.status_code == 404 and error_codes(response) & MISSING_CODES:
        raise ClientError(no_package(ref, url))
    if response.status_code == 403:
        problems = refusal(response)
        codes = error_codes(response)
        hint = next((h for code, h in _FORBIDDEN_HINTS.items() if code in codes), None)
        if isinstance(problems, RegistryRefused) and hint is not None:
            print_problems(err(), problems.problems)
            raise ClientError(hint.format(ns=ref.namespace, name=ref.name))
        raise problems
    if response.status_code != 200:
        raise refusal(response)


def _action(add: str, remove: str) -> tuple[str, str]:
    if add and remove:
        raise UsageError("give one of `--add USER` and `--remove USER`, not both")
    if add:
        return "add", add.strip()
    if remove:
        return "remove", remove.strip()
    return "list", ""


def _print(report: OwnerReport) -> None:
    label = f"`{report.namespace}/{report.name}`"
    if report.action == "add":
        out().print(f"added `{report.username}` as a maintainer of {label}")
    elif report.action == "remove":
        out().print(f"removed `{report.username}` from the maintainers of {label}")
    if report.action != "list":
        out().print(f"owners of {label} now:")
    for owner in report.owners:
        out().print(f"  {owner.username:<24}{owner.role}")
    if not report.owners:
        out().print(f"  nobody: {label} has no owner")


@handled
def owner_command(
    target: Annotated[str, typer.Argument(help="NAMESPACE/NAME")],
    list_owners: Annotated[
        bool, typer.Option("--list", help="list who may publish it (the default)")
    ] = False,
    add: Annotated[
        str, typer.Option("--add", help="make USER a maintainer of the package", show_default=False)
    ] = "",
    remove: Annotated[
        str, typer.Option("--remove", help="USER is no longer a maintainer", show_default=False)
    ] = "",
    registry_url: RegistryOption = None,
    token: Annotated[
        str | None,
        typer.Option(
            help=f"API token with the `manage` scope (default: ${config.TOKEN_ENV}, or the one "
            "`fpmreg login` saved)",
            show_default=False,
        ),
    ] = None,
    output: FormatOption = OutputFormat.TEXT,
) -> None:
    """List a package's owners, or add or remove one of its maintainers."""
    ref = parse_package(target)
    action, username = _action(add, remove)
    if list_owners and action != "list":
        raise UsageError(f"`--list` and `--{action}` do not go together: give one")
    settings = config.load_config(config.config_path())
    url = config.resolve_registry(registry_url, settings)
    if action != "list":
        secret = config.resolve_token(token, settings, url)
        if registry.is_plain_http_to_remote(url):
            print_note(err(), Severity.WARNING, f"sending your token unencrypted to `{url}`")
        change_maintainer(url, secret, ref, username, add=action == "add")
    with new_client(url) as client:
        owners = read_owners(client, url, ref)
    report = OwnerReport(
        registry=url,
        namespace=ref.namespace,
        name=ref.name,
        action=action,
        username=username,
        owners=owners,
    )
    if output is OutputFormat.JSON:
        print_json(report)
        return
    _print(report)
