"""`fpmreg vet`'s inputs: the project's chosen policies (`fpm-vet/config.toml`), and the
signed objects they rest on, fetched from the communities' registries or read from
`fpm-vet/imports.lock` (docs/vetting.md, "fpmreg vet").

Everything fetched is checked before it is used: its bytes hash to the sha256 the
registry's signed log record names, and that record's proof verifies under the
registry's published keys. The pure evaluation is `fpmreg.core.vet`.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from fpmreg.client.environment import request_headers
from fpmreg.client.errors import ClientError, UsageError
from fpmreg.core.problem import ProblemsError
from fpmreg.core.vet.audits import Audit, parse_audit
from fpmreg.core.vet.criteria import CriteriaGraph, parse_criterion
from fpmreg.core.vet.policy import Policy, parse_policy
from fpmreg.core.vet.signed import SignedError, check_digest, check_record, published_keys
from fpmreg.core.vet.trust import TrustLevel, TrustStatement, advogato

CONFIG = Path("fpm-vet") / "config.toml"
IMPORTS = Path("fpm-vet") / "imports.lock"
IMPORTS_VERSION = 1
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# The largest answer read from a registry: a community with thousands of audits.
MAX_ANSWER_BYTES = 16 * 1024 * 1024


class VetInputError(ClientError):
    """A policy, community or audit could not be fetched or did not verify (exit 1)."""


@dataclass
class Imports:
    """The signed objects a vet used: policies by URL, and each community's criteria and
    accepted audits by the community's URI. Written as `imports.lock`."""

    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    communities: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    # What each locked release's registry attests, by package URL: `{"sha256", "facts"}`
    # (only when a policy requires facts; docs/vetting.md, "Facts the registry attests").
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def dump(self) -> str:
        """Deterministic JSON: the same inputs give the same file."""
        data: dict[str, Any] = {"version": IMPORTS_VERSION, "policies": self.policies,
                                "communities": self.communities}  # fmt: skip
        if self.facts:
            data["facts"] = self.facts
        return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def load(cls, text: str, where: str) -> Imports:
        """Read an `imports.lock`, or say what is wrong with it."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"`{where}` is not JSON ({exc}): run `fpmreg vet` online to "
                             "write it again") from None  # fmt: skip
        if not isinstance(data, dict) or data.get("version") != IMPORTS_VERSION:
            raise UsageError(f"`{where}` is not an imports.lock of version {IMPORTS_VERSION}")
        return cls(
            dict(data.get("policies", {})),
            dict(data.get("communities", {})),
            dict(data.get("facts", {})),
        )

    def policy(self, url: str) -> Policy:
        """The imported policy at `url`."""
        policy: Policy = _parsed(parse_policy, self.policies[url]["body"], url)
        return policy

    def evidence_parts(self) -> tuple[list[Audit], dict[str, CriteriaGraph]]:
        """Every imported audit and each community's criteria graph."""
        audits: list[Audit] = []
        graphs: dict[str, CriteriaGraph] = {}
        for uri, part in sorted(self.communities.items()):
            criteria = [_parsed(parse_criterion, c["body"], uri) for c in part["criteria"]]
            graphs[uri] = CriteriaGraph(tuple(criteria))
            audits += [_parsed(parse_audit, a["body"], uri) for a in part["audits"]]
        return audits, graphs

    def distances(self, community: str) -> dict[str, int]:
        """Auditor URI → hops from `community`'s founders, by the Advogato metric over its
        imported trust statements (docs/vetting.md, "Trust"); accepted actors only."""
        part = self.communities.get(community, {})
        statements = [
            TrustStatement(
                str(d["body"]["truster"]),
                str(d["body"]["trustee"]),
                TrustLevel(d["body"]["level"]),
                d["body"].get("scope"),
            )
            for d in part.get("trust", [])
        ]
        founders = [str(f) for f in part.get("founders", [])]
        return advogato(statements, founders, scope=community).distances()

    def attested(self) -> dict[tuple[str, str], frozenset[str]]:
        """The imported facts as the evaluation reads them: by (package URL, sha256)."""
        return {
            (purl, str(part.get("sha256"))): frozenset(str(f) for f in part.get("facts", []))
            for purl, part in self.facts.items()
            if isinstance(part, dict)
        }


def read_config(directory: Path) -> list[str]:
    """The policy URLs of `fpm-vet/config.toml`."""
    path = directory / CONFIG
    if not path.is_file():
        raise UsageError(
            f"there is no `{CONFIG}` in `{directory}`: write one naming the policies to "
            'pass, e.g. `policies = ["https://registry.example/c/fortran/policies/default"]`'
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"`{path}` is not valid TOML: {exc}") from None
    policies = data.get("policies")
    if (
        not isinstance(policies, list)
        or not policies
        or not all(isinstance(p, str) and p.startswith(("https://", "http://")) for p in policies)
    ):
        raise UsageError(f"`{path}`: `policies` must be a list of policy URLs")
    return list(dict.fromkeys(policies))


class Fetcher:
    """Reads policies, communities and audits from fpmreg registries, verifying each
    object against the registry's signed log record before keeping it."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self._keys: dict[str, dict[str, Any]] = {}
        self._communities: dict[str, Any] = {}  # each community's answer, read once

    def get(self, url: str) -> Any:
        """The JSON at `url`, bounded, or a clear error."""
        try:
            answer = self.client.get(url, headers=request_headers())
        except httpx.HTTPError as exc:
            raise VetInputError(f"cannot reach `{url}`: {exc}") from None
        if answer.status_code != 200:
            raise VetInputError(f"`{url}` answered {answer.status_code}: {answer.text[:200]}")
        if len(answer.content) > MAX_ANSWER_BYTES:
            raise VetInputError(f"`{url}` answered more than {MAX_ANSWER_BYTES:,} bytes")
        try:
            return answer.json()
        except ValueError:
            raise VetInputError(f"`{url}` did not answer JSON") from None

    def import_all(self, urls: list[str]) -> Imports:
        """The policies at `urls`, and every community their audits may come from."""
        imports = Imports()
        for url in urls:
            community_uri = _policy_community(url)
            community = self._community_answer(community_uri)
            found = [d for d in community.get("policies", []) if d.get("uri") == url]
            if not found:
                raise VetInputError(f"community `{community_uri}` publishes no policy `{url}`")
            imports.policies[url] = self.verified(community_uri, found[0], "policy")
            policy = imports.policy(url)
            for uri in [policy.community, *(a.community for a in policy.accept)]:
                if uri not in imports.communities:
                    imports.communities[uri] = self.community(uri)
            own = imports.communities[policy.community]
            if policy.max_trust_distance is not None and "trust" not in own:
                own.update(self.trust(policy.community))
        return imports

    def trust(self, uri: str) -> dict[str, list[Any]]:
        """A community's founders (the metric's seeds) and the trust statements that
        count, each verified against its log record."""
        members = self._community_answer(uri).get("members", [])
        origin = _origin(uri)
        founders = sorted(
            f"{origin}/ap/users/{m.get('username')}"
            for m in members
            if isinstance(m, dict) and m.get("role") == "founder"
        )
        listed = self.get(_api(uri) + "/trust").get("statements", [])
        statements = []
        for record in listed:
            if not isinstance(record, dict) or not str(record.get("uri", "")).startswith(uri):
                raise VetInputError(f"`{uri}` lists a trust statement that is not its own")
            item = {**record, "body": self.get(str(record["uri"]))}
            statements.append(self.verified(uri, item, "trust statement"))
        return {"founders": founders, "trust": statements}

    def facts(self, registry: str, purl: str, sha256: str) -> dict[str, Any]:
        """What `registry` attests about the locked release `purl` (a
        `pkg:fpm/ns/name@v`): none when it serves other bytes under that version."""
        path = purl.removeprefix("pkg:fpm/").replace("@", "/", 1)
        answer = self.get(f"{registry.rstrip('/')}/api/v1/packages/{path}/facts")
        listed = answer.get("facts", []) if isinstance(answer, dict) else []
        names = sorted(str(f.get("fact")) for f in listed if isinstance(f, dict))
        if answer.get("sha256") != sha256:
            names = []
        return {"sha256": sha256, "facts": names}

    def community(self, uri: str) -> dict[str, list[dict[str, Any]]]:
        """A community's criteria and accepted audits, each verified."""
        community = self._community_answer(uri)
        criteria = [self.verified(uri, d, "criteria") for d in community.get("criteria", [])]
        accepted = self.get(_api(uri) + "/audits?status=accepted").get("audits", [])
        return {"criteria": criteria, "audits": [self.verified(uri, a, "audit") for a in accepted]}

    def _community_answer(self, uri: str) -> Any:
        if uri not in self._communities:
            self._communities[uri] = self.get(_api(uri))
        return self._communities[uri]

    def verified(self, community_uri: str, item: dict[str, Any], what: str) -> dict[str, Any]:
        """`{"sha256", "log_index", "body"}` of a document or audit, once its bytes match
        the digest its log record signs (`fpmreg.core.vet.signed`)."""
        name = str(item.get("uri", what))[:200]
        origin = _origin(community_uri)
        try:
            logged = check_digest(item, name)
            record = self.get(f"{origin}/api/v1/log/entries/{logged.log_index}").get("record")
            if origin not in self._keys:
                self._keys[origin] = published_keys(self.get(f"{origin}/log/keys"))
            check_record(logged, record, origin, self._keys[origin], name)
        except SignedError as exc:
            raise VetInputError(str(exc)) from None
        return logged.to_json()


def _policy_community(url: str) -> str:
    """The URI of the community that publishes the policy at `url`."""
    head, marker, slug = url.rstrip("/").rpartition("/policies/")
    if not marker or "/c/" not in head or not slug:
        raise UsageError(f"`{url[:200]}` is not a policy URL (`https://HOST/c/NAME/policies/SLUG`)")
    return head


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def _api(community_uri: str) -> str:
    origin, _, name = community_uri.rstrip("/").rpartition("/c/")
    return f"{origin}/api/v1/communities/{name}"


def _parsed(parse: Any, body: Any, where: str) -> Any:
    try:
        return parse(body)
    except ProblemsError as exc:
        raise VetInputError(f"a document of `{where[:200]}` does not read: {exc}") from None
