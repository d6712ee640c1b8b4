"""`fpmreg report`: tell the registry's moderators what is wrong with a package.

`POST /api/v1/packages/{ns}/{name}/reports` with a token of any scope (a report is the
user's own); the answer says the report is queued, and the registry notifies the
reporter of the moderators' decision.
"""

from __future__ import annotations

import re
from typing import Annotated

import httpx
import typer

from fpmreg.client import config, registry
from fpmreg.client.commands.common import RegistryOption, announce_registry, handled
from fpmreg.client.errors import ClientError, UsageError
from fpmreg.client.registry import TIMEOUT, parse_answer, refusal, request_headers
from fpmreg.client.report import err, out, print_note
from fpmreg.core.names import NAME_PATTERN
from fpmreg.core.problem import Severity
from fpmreg.core.versions import InvalidVersion, Version
from fpmreg.core.wire.reports import (
    CATEGORIES,
    MAX_REPORT_MESSAGE_LENGTH,
    ReportReceipt,
    ReportRequest,
)

_SPEC = re.compile(r"^(?P<namespace>[^/@\s]+)/(?P<name>[^/@\s]+)(?:@(?P<version>[^/@\s]+))?$")


def parse_subject(text: str) -> tuple[str, str, str]:
    """`NS/NAME` or `NS/NAME@VERSION` as (namespace, name, version or "")."""
    match = _SPEC.fullmatch(text.strip())
    if match is None:
        raise UsageError(
            f"`{text}` is not `NAMESPACE/NAME` or `NAMESPACE/NAME@VERSION`, e.g. "
            "`acme/trilib` or `acme/trilib@1.2.0`"
        )
    namespace, name = match["namespace"], match["name"]
    for part, what in ((namespace, "namespace"), (name, "name")):
        if not NAME_PATTERN.fullmatch(part):
            raise UsageError(f"`{part}` is not a valid package {what}")
    version = ""
    if match["version"]:
        try:
            version = str(Version.parse(match["version"]))
        except InvalidVersion as exc:
            raise UsageError(str(exc)) from exc
    return namespace, name, version


def send_report(
    url: str, token: str, namespace: str, name: str, body: ReportRequest
) -> ReportReceipt:
    """File the report; the registry's refusal is raised as a `ClientError`."""
    path = f"/api/v1/packages/{namespace}/{name}/reports"
    try:
        with httpx.Client(base_url=url, headers=request_headers(token), timeout=TIMEOUT) as client:
            response = client.post(path, json=body.model_dump())
    except httpx.TransportError as exc:
        raise ClientError(f"cannot reach the registry at `{url}`: {exc}") from exc
    if response.status_code != 201:
        raise refusal(response)
    return parse_answer(response, ReportReceipt)


@handled
def report_command(
    target: Annotated[str, typer.Argument(help="NAMESPACE/NAME, or NAMESPACE/NAME@VERSION")],
    category: Annotated[
        str,
        typer.Option(help="one of: " + ", ".join(CATEGORIES), show_default=False),
    ],
    message: Annotated[
        str,
        typer.Option(help="what is wrong and where to look (moderators read it)"),
    ],
    registry_url: RegistryOption = None,
    token: Annotated[
        str | None,
        typer.Option(
            help=f"API token, any scope (default: ${config.TOKEN_ENV}, or the one "
            "`fpmreg login` saved)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Report a package (or one version) to the registry's moderators."""
    namespace, name, version = parse_subject(target)
    kind = category.strip().lower()
    if kind not in CATEGORIES:
        raise UsageError(f"`{category}` is not a category: use one of " + ", ".join(CATEGORIES))
    text = message.strip()
    if not text:
        raise UsageError('say what is wrong with `--message "..."`')
    if len(text) > MAX_REPORT_MESSAGE_LENGTH:
        raise UsageError(
            f"the message is {len(text)} characters; keep it under {MAX_REPORT_MESSAGE_LENGTH}"
        )
    settings = config.load_config(config.config_path())
    url = config.resolve_registry(registry_url, settings)
    announce_registry(url)
    secret = config.resolve_token(token, settings, url)
    if registry.is_plain_http_to_remote(url):
        print_note(err(), Severity.WARNING, f"sending your token unencrypted to `{url}`")
    body = ReportRequest(category=kind, message=text, version=version)
    receipt = send_report(url, secret, namespace, name, body)
    out().print(f"reported `{receipt.subject}` ({receipt.category}) as report {receipt.id}")
    out().print("the moderators will decide; the registry notifies you of the outcome")
