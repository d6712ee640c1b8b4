"""Criteria: what an audit claims about a release, named by URI, with `implies` edges.

Implication is single-premise only (A ⇒ B, never A ∧ B ⇒ C), so the set of criteria a
claim implies is a plain graph closure. Mappings translate another community's criteria
into ours (docs/vetting.md, "Criteria").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fpmreg.core.problem import Problem, ProblemsError

# A criterion URI is an identifier, not a document: longer is a mistake.
MAX_URI_LENGTH = 500
# A community defines a handful of criteria; each implies a few others.
MAX_IMPLIES = 32


class CriteriaError(ProblemsError):
    """A criterion or a mapping document that cannot be read."""


def uri_problems(value: object, field_name: str) -> list[Problem]:
    """Why `value` cannot be a criterion (or actor) URI; empty when it can."""
    if not isinstance(value, str) or not value:
        return [Problem("vet-uri-invalid", field_name, f"`{field_name}` must be a non-empty URI")]
    if len(value) > MAX_URI_LENGTH or ":" not in value or any(c.isspace() for c in value):
        return [
            Problem(
                "vet-uri-invalid",
                field_name,
                f"`{field_name}` is not a URI: write an absolute URI without spaces, at "
                f"most {MAX_URI_LENGTH} characters, such as `https://example.org/criteria/safe`",
            )
        ]
    return []


@dataclass(frozen=True, slots=True)
class Criterion:
    """One criterion a community publishes: `uri` implies each of `implies`."""

    uri: str
    description: str = ""
    implies: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CriteriaGraph:
    """The criteria one community defines, and the implication between them."""

    criteria: tuple[Criterion, ...] = ()
    _edges: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        edges: dict[str, frozenset[str]] = {}
        for criterion in self.criteria:
            edges[criterion.uri] = edges.get(criterion.uri, frozenset()) | criterion.implies
        object.__setattr__(self, "_edges", edges)

    @property
    def uris(self) -> frozenset[str]:
        """Every criterion this graph defines."""
        return frozenset(self._edges)

    def closure(self, uris: Iterable[str]) -> frozenset[str]:
        """`uris` and everything they imply, transitively (a depth-first walk: a cycle of
        implications is fine, each criterion is visited once). URIs this graph does not
        define imply nothing but themselves."""
        seen: set[str] = set()
        stack = list(uris)
        while stack:
            uri = stack.pop()
            if uri in seen:
                continue
            seen.add(uri)
            stack.extend(self._edges.get(uri, ()))
        return frozenset(seen)

    def implied_by(self, uris: Iterable[str]) -> frozenset[str]:
        """`uris` and every criterion of this graph that implies one of them: failing
        any of `uris` fails all of these."""
        wanted = frozenset(uris)
        return wanted | {u for u in self._edges if self.closure([u]) & wanted}

    def implies(self, premise: str, conclusion: str) -> bool:
        """Whether `premise` implies `conclusion` (every criterion implies itself)."""
        return conclusion in self.closure([premise])


@dataclass(frozen=True, slots=True)
class CriteriaMapping:
    """A published implication from a foreign community's criterion to one of ours:
    an audit that certifies `source` certifies `target` for us."""

    source: str
    target: str


EMPTY_GRAPH = CriteriaGraph()


def translate(
    claimed: Iterable[str],
    mappings: Iterable[CriteriaMapping],
    *,
    foreign: CriteriaGraph = EMPTY_GRAPH,
    ours: CriteriaGraph = EMPTY_GRAPH,
) -> frozenset[str]:
    """The criteria of ours a foreign audit claiming `claimed` certifies.

    The claim is closed under the foreign community's own implications, mapped by
    `mappings`, then closed under ours. A foreign criterion no mapping names counts for
    nothing, even when it has the same URI as one of ours (write an identity mapping to
    accept it): a community decides what its own words mean, and no one else's
    `implies` can reach into our criteria."""
    theirs = foreign.closure(claimed)
    mapped = {m.target for m in mappings if m.source in theirs}
    return ours.closure(mapped)


def translate_violation(
    claimed: Iterable[str],
    mappings: Iterable[CriteriaMapping],
    *,
    foreign: CriteriaGraph = EMPTY_GRAPH,
) -> frozenset[str]:
    """The criteria of ours a foreign violation of `claimed` counts against.

    Failing F fails every foreign criterion that implies F; each of those is mapped.
    Strictly, failing `source` says nothing about `target` when only source ⇒ target is
    known; we count it anyway, on purpose: a trusted community's warning is never
    silenced by a mapping (fail closed)."""
    failed = foreign.implied_by(claimed)
    return frozenset(m.target for m in mappings if m.source in failed)


def _uri_list(raw: Mapping[str, Any], key: str, problems: list[Problem]) -> frozenset[str]:
    value = raw.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or len(value) > MAX_IMPLIES:
        problems.append(
            Problem(
                "vet-field-invalid", key, f"`{key}` must be a list of at most {MAX_IMPLIES} URIs"
            )
        )
        return frozenset()
    for index, item in enumerate(value):
        problems.extend(uri_problems(item, f"{key}[{index}]"))
    return frozenset(v for v in value if isinstance(v, str))


def parse_criterion(raw: object) -> Criterion:
    """Read `{"id": URI, "description": str, "implies": [URI]}`, or raise
    `CriteriaError` listing every problem."""
    if not isinstance(raw, Mapping):
        raise CriteriaError(
            [Problem("vet-not-object", "criterion", "a criterion must be an object")]
        )
    problems = uri_problems(raw.get("id"), "id")
    description = raw.get("description", "")
    if not isinstance(description, str):
        problems.append(Problem("vet-field-invalid", "description", "`description` must be text"))
    implies = _uri_list(raw, "implies", problems)
    if problems:
        raise CriteriaError(problems)
    return Criterion(str(raw["id"]), str(description), implies)


def parse_mapping(raw: object) -> CriteriaMapping:
    """Read `{"from": URI, "to": URI}`, or raise `CriteriaError`."""
    if not isinstance(raw, Mapping):
        raise CriteriaError([Problem("vet-not-object", "mapping", "a mapping must be an object")])
    problems = uri_problems(raw.get("from"), "from") + uri_problems(raw.get("to"), "to")
    if problems:
        raise CriteriaError(problems)
    return CriteriaMapping(str(raw["from"]), str(raw["to"]))
