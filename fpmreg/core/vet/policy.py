"""Policies: which criteria a lock's packages need, whose audits count, and how many.

A policy is a community's (or a project's) published rule; `fpmreg vet` and the registry
evaluate locks against it with `fpmreg.core.vet.evaluate` (docs/vetting.md, "Policies").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from fpmreg.core.problem import Problem, ProblemsError
from fpmreg.core.versions import Version
from fpmreg.core.vet.audits import Level
from fpmreg.core.vet.criteria import CriteriaError, CriteriaMapping, parse_mapping, uri_problems
from fpmreg.core.vet.refs import SHA256, InvalidReference, PackageName, parse_purl

# A quorum beyond this is not a review process anyone runs; it also keeps the search small.
MAX_QUORUM = 8
# Lists in one policy: communities, mappings, exemptions.
MAX_POLICY_ITEMS = 1_000
# The facts a registry attests about a release that a policy may require
# (docs/vetting.md, "Facts the registry attests").
FACTS: dict[str, str] = {
    "build-verified": "the release's build verification passed on its registry",
    "publisher-two-factor": "the release's namespace requires two-factor sign-in",
    "expectations-declared": "the package's owners declared its expectations",
    "maintained": "the owners declare the package actively maintained or maintained for fixes",
    "security-response": "the owners declare that security reports get a response",
}


class PolicyError(ProblemsError):
    """A policy document that cannot be read."""


@dataclass(frozen=True, slots=True)
class Quorum:
    """How many independent certifications a release needs. Independent means no auditor
    serves twice; with `distinct_organisations`, each comes from another organisation."""

    count: int = 1
    distinct_organisations: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_QUORUM:
            raise ValueError(f"a quorum counts 1 to {MAX_QUORUM} audits, not {self.count}")


@dataclass(frozen=True, slots=True)
class AcceptedCommunity:
    """Another community whose audits count, read through `mappings`."""

    community: str
    mappings: tuple[CriteriaMapping, ...] = ()


@dataclass(frozen=True, slots=True)
class Exemption:
    """ "We accept this version without audit": a release passes the named criteria until
    `expires` (never, when None). With `sha256`, only those exact bytes."""

    package: PackageName
    version: Version
    criteria: frozenset[str]
    expires: datetime | None = None
    sha256: str | None = None
    notes: str = ""

    def covers(self, package: PackageName, version: Version, sha256: str) -> bool:
        """Whether this exemption is about that release (whatever its expiry)."""
        return (
            self.package.key == package.key
            and self.version == version
            and self.sha256 in (None, sha256)
        )


@dataclass(frozen=True, slots=True)
class Policy:
    """Required criteria for the lock's packages (`root_criteria`) and for test and
    development dependencies (`dev_criteria`), whose audits count and how strictly."""

    id: str
    community: str
    root_criteria: frozenset[str]
    dev_criteria: frozenset[str] = frozenset()
    accept: tuple[AcceptedCommunity, ...] = ()
    min_thoroughness: Level = Level.NONE
    min_understanding: Level = Level.NONE
    quorum: Quorum = Quorum()
    exemptions: tuple[Exemption, ...] = ()
    max_trust_distance: int | None = None
    required_facts: frozenset[str] = frozenset()

    def accepted(self, community: str) -> AcceptedCommunity | None:
        """How audits of `community` count: None when they do not."""
        if community == self.community:
            return AcceptedCommunity(community)
        return next((a for a in self.accept if a.community == community), None)


def _list(raw: Mapping[str, Any], key: str, problems: list[Problem]) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list) or len(value) > MAX_POLICY_ITEMS:
        problems.append(
            Problem(
                "vet-field-invalid", key, f"`{key}` must be a list of at most {MAX_POLICY_ITEMS}"
            )
        )
        return []
    return value


def _uris(raw: Mapping[str, Any], key: str, problems: list[Problem]) -> frozenset[str]:
    values = _list(raw, key, problems)
    for index, value in enumerate(values):
        problems.extend(uri_problems(value, f"{key}[{index}]"))
    return frozenset(v for v in values if isinstance(v, str))


def _accepted(raw: Any, where: str, problems: list[Problem]) -> AcceptedCommunity | None:
    if not isinstance(raw, Mapping):
        problems.append(Problem("vet-field-invalid", where, f"`{where}` must be an object"))
        return None
    found = uri_problems(raw.get("community"), f"{where}.community")
    mappings = []
    for index, item in enumerate(_list(raw, "mappings", problems)):
        try:
            mappings.append(parse_mapping(item))
        except CriteriaError as error:
            found += [
                replace(p, field=f"{where}.mappings[{index}].{p.field}") for p in error.problems
            ]
    problems.extend(found)
    return None if found else AcceptedCommunity(str(raw["community"]), tuple(mappings))


def _exemption(raw: Any, where: str, problems: list[Problem]) -> Exemption | None:
    if not isinstance(raw, Mapping):
        problems.append(Problem("vet-field-invalid", where, f"`{where}` must be an object"))
        return None
    mine: list[Problem] = []
    package, version = None, None
    try:
        package, version = parse_purl(raw.get("purl"), versioned=True)  # type: ignore[arg-type]
    except InvalidReference as error:
        mine.append(Problem("vet-field-invalid", f"{where}.purl", str(error)))
    criteria = _uris(raw, "criteria", mine)
    expires, sha256 = raw.get("expires"), raw.get("sha256")
    when: datetime | None = None
    if expires is not None:
        try:
            when = datetime.fromisoformat(str(expires))
            if when.tzinfo is None:
                raise ValueError
        except ValueError:
            mine.append(
                Problem(
                    "vet-field-invalid",
                    f"{where}.expires",
                    f"`{where}.expires` must be an RFC 3339 time with a zone",
                )
            )
    if sha256 is not None and not (isinstance(sha256, str) and SHA256.fullmatch(sha256)):
        mine.append(
            Problem("vet-field-invalid", f"{where}.sha256", "`sha256` must be 64 hex digits")
        )
    problems.extend(mine)
    if mine:
        return None
    assert package is not None and version is not None
    return Exemption(package, version, criteria, when, sha256, str(raw.get("notes", "")))


def _quorum(raw: Any, problems: list[Problem]) -> Quorum:
    if raw is None:
        return Quorum()
    count = raw.get("count", 1) if isinstance(raw, Mapping) else None
    distinct = raw.get("distinctOrganisations", False) if isinstance(raw, Mapping) else None
    if type(count) is not int or not 1 <= count <= MAX_QUORUM or not isinstance(distinct, bool):
        problems.append(
            Problem(
                "vet-field-invalid",
                "quorum",
                f"`quorum` must be {{count: 1 to {MAX_QUORUM}, "
                "distinctOrganisations: true or false}",
            )
        )
        return Quorum()
    return Quorum(count, distinct)


def _level(raw: Mapping[str, Any], key: str, problems: list[Problem]) -> Level:
    try:
        return Level(raw.get(key, "none"))
    except ValueError:
        problems.append(
            Problem("vet-field-invalid", key, f"`{key}` must be none, low, medium or high")
        )
        return Level.NONE


def _facts(raw: Mapping[str, Any], problems: list[Problem]) -> frozenset[str]:
    values = _list(raw, "requiresFacts", problems)
    for index, value in enumerate(values):
        if value not in FACTS:
            problems.append(
                Problem(
                    "vet-fact-unknown",
                    f"requiresFacts[{index}]",
                    f"`{str(value)[:40]}` is not a fact the registry attests: use one of "
                    + ", ".join(f"`{f}`" for f in FACTS),
                )
            )
    return frozenset(v for v in values if isinstance(v, str) and v in FACTS)


def parse_policy(raw: object) -> Policy:
    """Read a policy from plain JSON, or raise `PolicyError` listing every problem."""
    if not isinstance(raw, Mapping):
        raise PolicyError([Problem("vet-not-object", "policy", "a policy must be a JSON object")])
    problems = uri_problems(raw.get("id"), "id") + uri_problems(raw.get("community"), "community")
    requires = raw.get("requires", {})
    if not isinstance(requires, Mapping):
        problems.append(Problem("vet-field-invalid", "requires", "`requires` must be an object"))
        requires = {}
    roots, dev = _uris(requires, "roots", problems), _uris(requires, "dev", problems)
    accept = [
        _accepted(a, f"acceptFrom[{i}]", problems)
        for i, a in enumerate(_list(raw, "acceptFrom", problems))
    ]
    exemptions = [
        _exemption(e, f"exemptions[{i}]", problems)
        for i, e in enumerate(_list(raw, "exemptions", problems))
    ]
    quorum = _quorum(raw.get("quorum"), problems)
    distance = raw.get("maxTrustDistance")
    if distance is not None and (type(distance) is not int or distance < 0):
        problems.append(
            Problem(
                "vet-field-invalid",
                "maxTrustDistance",
                "`maxTrustDistance` must be a whole number ≥ 0",
            )
        )
    thoroughness = _level(raw, "minThoroughness", problems)
    understanding = _level(raw, "minUnderstanding", problems)
    facts = _facts(raw, problems)
    if problems:
        raise PolicyError(problems)
    return Policy(
        id=str(raw["id"]),
        community=str(raw["community"]),
        root_criteria=roots,
        dev_criteria=dev,
        accept=tuple(a for a in accept if a),
        min_thoroughness=thoroughness,
        min_understanding=understanding,
        quorum=quorum,
        exemptions=tuple(e for e in exemptions if e),
        max_trust_distance=distance,
        required_facts=facts,
    )
