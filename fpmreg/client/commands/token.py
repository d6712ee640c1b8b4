"""`fpmreg whoami` and `fpmreg token create|list|revoke`: tokens through the registry's
API (`/api/v1/whoami`, `/api/v1/tokens`; the caller's token needs the `manage` scope to
manage tokens). Answers are parsed with the wire models of `fpmreg.core.wire.accounts`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
import typer

from fpmreg.client import config, registry
from fpmreg.client.commands.common import RegistryOption, announce_registry, handled
from fpmreg.client.errors import ClientError
from fpmreg.client.report import err, out, print_note
from fpmreg.core.problem import Severity
from fpmreg.core.wire.accounts import TokenCreate, TokenCreated, TokenInfo, TokenList, Whoami

app = typer.Typer(help="Create, list and revoke API tokens (needs a `manage` token).")

TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        help=f"API token (default: ${config.TOKEN_ENV}, or the one `fpmreg login` saved)",
        show_default=False,
    ),
]


def call(url: str, secret: str, method: str, path: str, body: Any = None) -> httpx.Response:
    """One request to the registry's API with the token; the refusal is raised."""
    try:
        with httpx.Client(
            base_url=url, headers=registry.request_headers(secret), timeout=registry.TIMEOUT
        ) as client:
            response = client.request(method, path, json=body)
    except httpx.TransportError as exc:
        raise ClientError(f"cannot reach the registry at `{url}`: {exc}") from exc
    if not response.is_success:
        raise registry.refusal(response)
    return response


def fetch_whoami(url: str, secret: str) -> Whoami:
    """Who the token is and what it may do, as the registry says."""
    return registry.parse_answer(call(url, secret, "GET", "/api/v1/whoami"), Whoami)


def describe(token: TokenInfo) -> str:
    """`publish, yank on `ns` (package `p`), expires 2027-01-01`."""
    where = f"`{token.namespace}`" + (f" (package `{token.package}` only)" if token.package else "")
    return f"{', '.join(token.scopes)} on {where}, expires {token.expires_at:%Y-%m-%d}"


def print_whoami(who: Whoami, url: str) -> None:
    """The user and what the credential may do."""
    out().print(f"you are `{who.username}` on `{url}`", markup=False)
    if who.token is not None:
        out().print(f"token `{who.token.name}`: {describe(who.token)}", markup=False)


def _credentials(registry_url: str | None, token: str | None) -> tuple[str, str]:
    settings = config.load_config(config.config_path())
    url = config.resolve_registry(registry_url, settings)
    announce_registry(url)
    secret = config.resolve_token(token, settings, url)
    if registry.is_plain_http_to_remote(url):
        print_note(err(), Severity.WARNING, f"sending your token unencrypted to `{url}`")
    return url, secret


@handled
def whoami(registry_url: RegistryOption = None, token: TokenOption = None) -> None:
    """Show who your token belongs to and what it may do."""
    url, secret = _credentials(registry_url, token)
    print_whoami(fetch_whoami(url, secret), url)


@app.command("list")
@handled
def list_command(registry_url: RegistryOption = None, token: TokenOption = None) -> None:
    """List your tokens (never their secrets) in the token's namespace."""
    url, secret = _credentials(registry_url, token)
    answer = registry.parse_answer(call(url, secret, "GET", "/api/v1/tokens"), TokenList)
    now = datetime.now(UTC)
    for t in answer.tokens:
        state = (
            f"revoked {t.revoked_at:%Y-%m-%d}"
            if t.revoked_at
            else ("expired" if t.expires_at <= now else "active")
        )
        used = f"{t.last_used_at:%Y-%m-%d}" if t.last_used_at else "never"
        line = f"{t.id}  {t.name}  {t.prefix}…  {describe(t)}, last used {used}, {state}"
        out().print(line, markup=False)
    if not answer.tokens:
        out().print("no tokens")


@app.command("create")
@handled
def create_command(
    name: Annotated[str, typer.Argument(help="a name for the new token")],
    namespace: Annotated[str, typer.Option(help="the namespace it works in")],
    scope: Annotated[
        list[str], typer.Option("--scope", help="publish, yank or manage (repeat for more)")
    ],
    package: Annotated[str, typer.Option(help="limit it to one package")] = "",
    days: Annotated[int, typer.Option(help="days until it expires")] = 90,
    registry_url: RegistryOption = None,
    token: TokenOption = None,
) -> None:
    """Create a token; its secret is printed once, on stdout alone."""
    url, secret = _credentials(registry_url, token)
    body = TokenCreate.model_construct(
        name=name, scopes=scope, namespace=namespace, package=package, days=days
    ).model_dump()
    answer = registry.parse_answer(call(url, secret, "POST", "/api/v1/tokens", body), TokenCreated)
    err().print(
        f"created token `{answer.token.name}` (id {answer.token.id}): "
        f"{describe(answer.token)}; copy it now, it is shown only once",
        markup=False,
    )
    typer.echo(answer.secret)


@app.command("revoke")
@handled
def revoke_command(
    token_id: Annotated[int, typer.Argument(help="the token's id (`fpmreg token list`)")],
    registry_url: RegistryOption = None,
    token: TokenOption = None,
) -> None:
    """Revoke a token: it stops working at once."""
    url, secret = _credentials(registry_url, token)
    answer = registry.parse_answer(
        call(url, secret, "DELETE", f"/api/v1/tokens/{token_id}"), TokenInfo
    )
    out().print(f"revoked token `{answer.name}` (id {answer.id})", markup=False)
