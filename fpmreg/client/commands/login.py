"""`fpmreg login` and `logout`: the API tokens kept in the config file."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from fpmreg.client import config
from fpmreg.client.commands.common import RegistryOption, announce_registry, handled
from fpmreg.client.commands.token import fetch_whoami, print_whoami
from fpmreg.client.report import out


@handled
def login(
    registry_url: RegistryOption = None,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="read the token from stdin, not a prompt")
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify/--no-verify",
            help="ask the registry who the token is before saving it (`--no-verify`: offline)",
        ),
    ] = True,
) -> None:
    """Check an API token with the registry, show who it is, and save it in the config
    file (mode 0600). A token the registry refuses is not saved."""
    path = config.config_path()
    settings = config.load_config(path)
    url = config.resolve_registry(registry_url, settings)
    announce_registry(url)
    if token_stdin:
        secret = config.check_token(sys.stdin.readline(), "stdin")
    else:
        entered = typer.prompt(f"API token for {url}", hide_input=True)
        secret = config.check_token(entered, "the prompt")
    if verify:
        print_whoami(fetch_whoami(url, secret), url)  # a refused token raises: not saved
    settings.tokens[url] = secret
    settings.registry = url
    config.save_config(path, settings)
    out().print(f"saved the token for `{url}` in `{path}` (readable by you only)")


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
