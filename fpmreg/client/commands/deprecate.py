"""`fpmreg deprecate` and `undeprecate`: a package's users warned, and told what to use."""

from __future__ import annotations

from typing import Annotated

import typer

from fpmreg.client import config
from fpmreg.client import deprecation as deprecating
from fpmreg.client.commands.common import RegistryOption, announce_registry, handled
from fpmreg.client.errors import UsageError
from fpmreg.client.registry import is_plain_http_to_remote
from fpmreg.client.report import err, out, print_note
from fpmreg.core.problem import Severity

TokenOption = Annotated[
    str | None,
    typer.Option(
        help=f"API token with the `manage` scope (default: ${config.TOKEN_ENV}, or the one "
        "`fpmreg login` saved)",
        show_default=False,
    ),
]


def _registry_and_token(registry_url: str | None, token: str | None) -> tuple[str, str]:
    settings = config.load_config(config.config_path())
    url = config.resolve_registry(registry_url, settings)
    announce_registry(url)
    secret = config.resolve_token(token, settings, url)
    if is_plain_http_to_remote(url):
        print_note(err(), Severity.WARNING, f"sending your token unencrypted to `{url}`")
    return url, secret


@handled
def deprecate_command(
    target: Annotated[str, typer.Argument(help="NAMESPACE/NAME")],
    message: Annotated[
        str | None, typer.Option(help="why, and what to do (shown to its users)")
    ] = None,
    replacement: Annotated[
        str | None,
        typer.Option(help="NAMESPACE/NAME of the package to use instead", show_default=False),
    ] = None,
    registry_url: RegistryOption = None,
    token: TokenOption = None,
) -> None:
    """Deprecate a package: a banner on its pages, and `fpmreg lock`/`sync` warn its users."""
    chosen = deprecating.parse_package(target)
    if replacement:
        deprecating.parse_package(replacement, "replacement")
    if not (message or "").strip():
        raise UsageError('say why with `--message "..."`: users of the package see it')
    url, secret = _registry_and_token(registry_url, token)
    state = deprecating.set_deprecation(
        url, secret, chosen, message=message or "", replacement=replacement or ""
    )
    line = f"deprecated `{state.namespace}/{state.name}`: {state.deprecation_message}"
    if state.replacement:
        line += f" (use `{state.replacement}` instead)"
    out().print(line)


@handled
def undeprecate_command(
    target: Annotated[str, typer.Argument(help="NAMESPACE/NAME")],
    registry_url: RegistryOption = None,
    token: TokenOption = None,
) -> None:
    """Remove a package's deprecation."""
    chosen = deprecating.parse_package(target)
    url, secret = _registry_and_token(registry_url, token)
    state = deprecating.set_deprecation(url, secret, chosen, message=None)
    out().print(f"`{state.namespace}/{state.name}` is no longer deprecated")
