"""`fpmreg certify NS/NAME VERSION --community C --criteria X`: submit an audit.

The home registry writes the audit document and binds it to the sha256 of each tarball
it serves (docs/communities.md, "Audits"). A community on the home registry (its name,
or a URL under `HOME/c/`) gets it by `POST /api/v1/communities/{c}/audits`; a community
on another registry by `POST /api/v1/submissions`: the home registry sends it as an
ActivityPub `Offer` signed for the user's actor, with the registry's key, as it signs
every activity of its actors, and `GET /api/v1/submissions/{id}` shows the answer
(docs/communities.md, "Audits from other registries"). Before it submits, the command
shows what the audit is bound to: the sha256 of each release, and for a delta audit the
size of the diff (`fpmreg audit-diff` shows the diff itself).
"""

from __future__ import annotations

from typing import Annotated

import httpx
import typer

from fpmreg.client import config, registry
from fpmreg.client.commands.common import RegistryOption, announce_registry, handled
from fpmreg.client.deprecation import PackageRef, parse_package
from fpmreg.client.errors import ClientError, UsageError
from fpmreg.client.registry import TIMEOUT, parse_answer, refusal, request_headers
from fpmreg.client.report import err, out, print_note
from fpmreg.core.names import NAME_PATTERN
from fpmreg.core.problem import Severity
from fpmreg.core.wire.communities import (
    LEVELS,
    AuditRecord,
    AuditRequest,
    SubmissionRecord,
    SubmissionRequest,
)
from fpmreg.core.wire.diffs import PackageDiff

# An Offer waits for the remote registry to check it: longer than an ordinary request.
SUBMIT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


def local_community(home: str, community: str) -> str | None:
    """The community's name if it is on the home registry, else None (a remote URL)."""
    text = community.strip().rstrip("/")
    if "://" not in text:
        if not NAME_PATTERN.fullmatch(text):
            raise UsageError(f"`{community}` is neither a community name nor a URL")
        return text
    prefix = home.rstrip("/") + "/c/"
    if text.startswith(prefix) and "/" not in text[len(prefix) :]:
        return text[len(prefix) :]
    if not text.startswith(("https://", "http://")):
        raise UsageError(f"`{community}` is not an http(s) URL of a community")
    return None


def _get(client: httpx.Client, path: str) -> httpx.Response:
    try:
        response = client.get(path)
    except httpx.TransportError as exc:
        raise ClientError(f"cannot reach the registry: {exc}") from exc
    if response.status_code != 200:
        raise refusal(response)
    return response


def summary(client: httpx.Client, ref: PackageRef, version: str, delta_from: str) -> list[str]:
    """What the audit will be bound to: each release's sha256, and the diff's size."""
    base = f"/api/v1/packages/{ref.namespace}/{ref.name}"
    lines = []
    for v in (delta_from, version) if delta_from else (version,):
        sha = str(_get(client, f"{base}/versions/{v}").json().get("sha256", ""))
        lines.append(f"  {ref.namespace}/{ref.name} {v}: sha256 {sha}")
    if delta_from:
        answer = _get(client, f"{base}/diff/{delta_from}/{version}?format=json")
        diff = parse_answer(answer, PackageDiff)
        lines.append(f"  diff {delta_from} → {version}: {len(diff.files)} files, "
                     f"+{diff.lines_added} -{diff.lines_removed} lines")  # fmt: skip
    return lines


def _post(client: httpx.Client, path: str, body: dict[str, object], expect: int) -> httpx.Response:
    try:
        response = client.post(path, json=body, timeout=SUBMIT_TIMEOUT)
    except httpx.TransportError as exc:
        raise ClientError(f"cannot reach the registry: {exc}") from exc
    if response.status_code != expect:
        raise refusal(response)
    return response


def _level(value: str, what: str) -> str:
    if value not in LEVELS:
        raise UsageError(f"`--{what}` is one of " + ", ".join(LEVELS))
    return value


@handled
def certify_command(
    package: Annotated[str, typer.Argument(help="NAMESPACE/NAME")],
    version: Annotated[str, typer.Argument(help="the release reviewed (for a delta: the new one)")],
    community: Annotated[
        str, typer.Option(help="the community: its name on your registry, or its URL")
    ],
    criteria: Annotated[
        list[str], typer.Option("--criteria", help="a criterion's slug (or URI); repeatable")
    ],
    delta_from: Annotated[
        str, typer.Option(help="you reviewed the diff from this release to VERSION")
    ] = "",
    thoroughness: Annotated[str, typer.Option(help="none, low, medium or high")] = "medium",
    understanding: Annotated[str, typer.Option(help="none, low, medium or high")] = "medium",
    notes: Annotated[str, typer.Option(help="what you looked at, for the reviewers")] = "",
    violation: Annotated[
        str, typer.Option(help="the versions that FAIL the criteria, e.g. `<1.2`")
    ] = "",
    registry_url: RegistryOption = None,
    token: Annotated[
        str | None,
        typer.Option(
            help=f"API token with the manage scope (default: ${config.TOKEN_ENV}, "
            "or the one `fpmreg login` saved)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Certify that a release (or a diff) meets a community's criteria."""
    ref = parse_package(package)
    settings = config.load_config(config.config_path())
    url = config.resolve_registry(registry_url, settings)
    announce_registry(url)
    secret = config.resolve_token(token, settings, url)
    if registry.is_plain_http_to_remote(url):
        print_note(err(), Severity.WARNING, f"sending your token unencrypted to `{url}`")
    audit = AuditRequest(
        package=f"{ref.namespace}/{ref.name}", version=version, delta_from=delta_from,
        verdict="violation" if violation else "certify", violation_range=violation,
        criteria=criteria, thoroughness=_level(thoroughness, "thoroughness"),
        understanding=_level(understanding, "understanding"), notes=notes,
    )  # fmt: skip
    name = local_community(url, community)
    with httpx.Client(base_url=url, headers=request_headers(secret), timeout=TIMEOUT) as client:
        out().print(f"auditing for `{community}` ({', '.join(criteria)}):")
        for line in summary(client, ref, version, delta_from):
            out().print(line)
        if name is not None:
            answer = _post(client, f"/api/v1/communities/{name}/audits", audit.model_dump(), 201)
            record = parse_answer(answer, AuditRecord)
            out().print(f"submitted audit {record.id} to community `{name}`: {record.status}, "
                        f"{record.uri}")  # fmt: skip
            out().print("it counts once a reviewer of the community accepts it")
            return
        offer = SubmissionRequest(**audit.model_dump(), community=community.strip().rstrip("/"))
        answer = _post(client, "/api/v1/submissions", offer.model_dump(), 202)
        sent = parse_answer(answer, SubmissionRecord)
    out().print(f"offered to `{sent.community}` as submission {sent.id}: {sent.status}")
    out().print(f"the answer shows at {url}/api/v1/submissions/{sent.id}")
