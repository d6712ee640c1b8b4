"""`fpmreg yank`: a version no longer chosen for new locks (or offered again)."""

from __future__ import annotations

from typing import Annotated

import typer

from fpmreg.client import config, registry
from fpmreg.client import yank as yanking
from fpmreg.client.commands.common import (
    FormatOption,
    OutputFormat,
    RegistryOption,
    announce_registry,
    handled,
    print_json,
)
from fpmreg.client.errors import UsageError
from fpmreg.client.report import err, out, print_note
from fpmreg.core.problem import Severity
from fpmreg.core.wire.cli import YankReport

YankTokenOption = Annotated[
    str | None,
    typer.Option(
        help=f"API token with the `yank` scope (default: ${config.TOKEN_ENV}, or the one "
        "`fpmreg login` saved)",
        show_default=False,
    ),
]


@handled
def yank_command(
    target: Annotated[str, typer.Argument(help="NAMESPACE/NAME@VERSION")],
    reason: Annotated[
        str | None, typer.Option(help="why (shown to its users)", show_default=False)
    ] = None,
    undo: Annotated[bool, typer.Option("--undo", help="unyank: offer it again")] = False,
    registry_url: RegistryOption = None,
    token: YankTokenOption = None,
    output: FormatOption = OutputFormat.TEXT,
) -> None:
    """Yank a version: no longer chosen for new locks, still downloadable for old ones."""
    chosen = yanking.parse_target(target)
    if not undo and not (reason or "").strip():
        raise UsageError('say why with `--reason "..."`: users of the version see it')
    settings = config.load_config(config.config_path())
    url = config.resolve_registry(registry_url, settings)
    announce_registry(url)
    secret = config.resolve_token(token, settings, url)
    if registry.is_plain_http_to_remote(url):
        print_note(err(), Severity.WARNING, f"sending your token unencrypted to `{url}`")
    with registry.blame_url([url]):
        answer = yanking.set_yanked(url, secret, chosen, yank=not undo, reason=reason or "")
    if output is OutputFormat.JSON:
        print_json(
            YankReport(
                registry=url,
                package=f"{chosen.namespace}/{chosen.name}",
                version=answer.version or chosen.version,
                yanked=answer.yanked,
                reason=answer.reason,
            )
        )
    elif answer.yanked:
        out().print(f"yanked {chosen.label}: {answer.reason}")
        out().print(
            "projects that locked it keep building; `fpmreg lock --update "
            f"{chosen.name}` moves them off it"
        )
    else:
        out().print(f"unyanked {chosen.label}: it is offered again")


@handled
def unyank_command(
    target: Annotated[str, typer.Argument(help="NAMESPACE/NAME@VERSION")],
    registry_url: RegistryOption = None,
    token: YankTokenOption = None,
    output: FormatOption = OutputFormat.TEXT,
) -> None:
    """Unyank a version: offered again for new locks (the same as `yank --undo`)."""
    yank_command(
        target=target, reason=None, undo=True, registry_url=registry_url, token=token, output=output
    )
