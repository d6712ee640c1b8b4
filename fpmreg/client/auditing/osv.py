"""The OSV API as osv.dev documents it: `POST /v1/querybatch`, then `GET /v1/vulns/{id}`.

`querybatch` answers ids only (and `modified`), one result per query in the order asked,
with a `next_page_token` on a result that has more (google/osv.dev issue #466, and
https://google.github.io/osv.dev/post-v1-querybatch/): that query is sent again with
`page_token` until no token comes back. Each record is then read once per run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fpmreg.client.errors import EXIT_USAGE, ClientError

ECOSYSTEM = "fpm"
# osv.dev takes at most 1,000 queries per batch (its swagger document says so).
MAX_BATCH = 1000
# A result that keeps paging past this is not a registry we can trust to end.
MAX_PAGES = 100
# An OSV record is a few kilobytes; far below this.
MAX_RECORD_BYTES = 4 * 1024 * 1024


class AuditUnavailable(ClientError):
    """The advisory service cannot be read: the audit cannot say the project is clean."""

    exit_code = EXIT_USAGE


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class OsvPackage(_Lenient):
    """`affected[].package`."""

    ecosystem: str = ""
    name: str = ""


class OsvEvent(_Lenient):
    """One event of a range: exactly one of the keys is set."""

    introduced: str = ""
    fixed: str = ""
    last_affected: str = ""
    limit: str = ""


class OsvRange(_Lenient):
    """`affected[].ranges[]`."""

    type: str = ""
    events: list[OsvEvent] = Field(default_factory=list)


class OsvAffected(_Lenient):
    """`affected[]`: one package, its ranges and explicit versions."""

    package: OsvPackage = OsvPackage()
    ranges: list[OsvRange] = Field(default_factory=list)
    versions: list[str] = Field(default_factory=list)
    database_specific: dict[str, Any] = Field(default_factory=dict)


class OsvSeverity(_Lenient):
    """`severity[]`."""

    type: str = ""
    score: str = ""


class OsvReference(_Lenient):
    """`references[]`."""

    type: str = ""
    url: str = ""


class OsvRecord(_Lenient):
    """The fields of an OSV record the audit reads (ossf/osv-schema)."""

    id: str
    modified: str = ""
    withdrawn: str = ""
    summary: str = ""
    details: str = ""
    aliases: list[str] = Field(default_factory=list)
    affected: list[OsvAffected] = Field(default_factory=list)
    severity: list[OsvSeverity] = Field(default_factory=list)
    references: list[OsvReference] = Field(default_factory=list)
    database_specific: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Advisory:
    """One OSV record: typed for reading, and as JSON for `fpmreg.core.advisory`."""

    record: OsvRecord
    raw: dict[str, Any]


class _VulnId(_Lenient):
    id: str
    modified: str = ""


class _BatchResult(_Lenient):
    vulns: list[_VulnId] = Field(default_factory=list)
    next_page_token: str = ""


class _BatchAnswer(_Lenient):
    results: list[_BatchResult] = Field(default_factory=list)


def _query(package: str, version: str, token: str = "") -> dict[str, Any]:
    query: dict[str, Any] = {"package": {"name": package, "ecosystem": ECOSYSTEM}}
    query["version"] = version
    if token:
        query["page_token"] = token
    return query


class OsvClient:
    """Reads one OSV API (`base_url` + `/v1/...`); each record is fetched once."""

    def __init__(self, base_url: str, client: httpx.Client) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.records: dict[str, Advisory | None] = {}
        self.requests = 0

    def _post(self, queries: list[dict[str, Any]]) -> list[_BatchResult]:
        url = f"{self.base_url}/v1/querybatch"
        response = self._send("POST", url, json={"queries": queries})
        if response.status_code == 404:
            raise AuditUnavailable(
                f"`{url}` answered 404: this registry has no OSV API; pass `--osv-url` "
                "to audit against another advisory database"
            )
        if response.status_code != 200:
            raise AuditUnavailable(f"`{url}` answered HTTP {response.status_code}: try again later")
        try:
            answer = _BatchAnswer.model_validate_json(response.content)
        except ValidationError:
            raise AuditUnavailable(f"`{url}` did not answer an OSV batch result") from None
        if len(answer.results) != len(queries):
            raise AuditUnavailable(
                f"`{url}` answered {len(answer.results)} results to {len(queries)} queries"
            )
        return answer.results

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise AuditUnavailable(f"cannot reach the advisory service at `{url}`: {exc}") from exc
        self.requests += 1
        return response

    def query_batch(self, packages: Sequence[tuple[str, str]]) -> list[list[str]]:
        """The ids of the advisories affecting each `(namespace/name, version)`, in order."""
        found: list[list[str]] = [[] for _ in packages]
        for start in range(0, len(packages), MAX_BATCH):
            chunk = list(range(start, min(start + MAX_BATCH, len(packages))))
            tokens = {i: "" for i in chunk}
            for _ in range(MAX_PAGES):
                asked = list(tokens)
                results = self._post([_query(*packages[i], tokens[i]) for i in asked])
                tokens = {}
                for i, result in zip(asked, results, strict=True):
                    found[i] += [v.id for v in result.vulns if v.id not in found[i]]
                    if result.next_page_token:
                        tokens[i] = result.next_page_token
                if not tokens:
                    break
            else:
                raise AuditUnavailable(f"the OSV API kept paging past {MAX_PAGES} pages")
        return found

    def record(self, advisory_id: str) -> Advisory | None:
        """`GET /v1/vulns/{id}`; None when the service has no such record (any more)."""
        if advisory_id in self.records:
            return self.records[advisory_id]
        # An id from the batch answer goes into a path: never let it add segments.
        url = f"{self.base_url}/v1/vulns/{quote(advisory_id, safe='')}"
        response = self._send("GET", url)
        record: Advisory | None = None
        if response.status_code == 200 and len(response.content) <= MAX_RECORD_BYTES:
            try:
                raw = json.loads(response.content)
                record = Advisory(OsvRecord.model_validate(raw), raw)
            except (ValueError, TypeError):  # ValidationError is a ValueError
                raise AuditUnavailable(f"`{url}` did not answer an OSV record") from None
        elif response.status_code != 404:
            raise AuditUnavailable(f"`{url}` answered HTTP {response.status_code}: try again later")
        self.records[advisory_id] = record
        return record
