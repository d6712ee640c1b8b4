"""Audits as plain JSON: what is written reads back equal; what is wrong says so."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fpmreg.core.versions import Requirement, Version
from fpmreg.core.vet.audits import Audit, AuditError, Level, Verdict, audit_to_json, parse_audit
from fpmreg.core.vet.refs import PackageName, Release

from .builders import PKG, SAFE_DEPLOY, sha

names = st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True).filter(
    lambda n: "__" not in n and not n.endswith("_")
)
versions = st.builds(Version, *(st.integers(0, 99) for _ in range(3)))
digests = st.binary(min_size=1, max_size=8).map(lambda b: sha(b.hex()))
releases = st.builds(Release, versions, digests)
uris = st.integers(0, 10**6).map(lambda n: f"https://reg.example/x/{n}")
levels = st.sampled_from(list(Level))
ranges = st.sampled_from(["<1.2", "^1.4.3", ">=2.0, <3", "=0.1.0", "*"]).map(Requirement.parse)


@st.composite
def audits(draw: st.DrawFn) -> Audit:
    verdict = draw(st.sampled_from(list(Verdict)))
    target = draw(releases) if verdict is Verdict.CERTIFY else draw(st.none() | releases)
    base = draw(st.none() | releases) if target is not None else None
    return Audit(
        id=draw(uris),
        package=PackageName(draw(names), draw(names)),
        verdict=verdict,
        criteria=frozenset(draw(st.lists(uris, min_size=1, max_size=4))),
        auditor=draw(uris),
        community=draw(uris),
        target=target,
        base=base,
        violation=draw(ranges) if verdict is Verdict.VIOLATION else None,
        thoroughness=draw(levels),
        understanding=draw(levels),
        organisations=frozenset(draw(st.lists(uris, max_size=3))),
        notes=draw(st.text(max_size=40)),
    )


@given(audit=audits())
def test_an_audit_round_trips_through_json_text(audit: Audit) -> None:
    text = json.dumps(audit_to_json(audit))
    assert parse_audit(json.loads(text)) == audit


@given(a=levels, b=levels)
def test_levels_are_ordered_none_low_medium_high(a: Level, b: Level) -> None:
    order = ["none", "low", "medium", "high"]
    assert a.at_least(b) == (order.index(a) >= order.index(b))


def _delta_json() -> dict[str, object]:
    return {
        "id": "https://reg.example/audits/1",
        "verdict": "certify",
        "deltaFrom": {"purl": "pkg:fpm/fortran-lang/stdlib@1.0.0", "sha256": sha("1.0.0")},
        "deltaTo": {"purl": "pkg:fpm/fortran-lang/stdlib@1.1.0", "sha256": sha("1.1.0")},
        "criteria": [SAFE_DEPLOY],
        "thoroughness": "high",
        "understanding": "medium",
        "auditor": "https://reg.example/u/alice",
        "organisations": ["https://reg.example/o/acme"],
        "community": "https://reg.example/c/fortran",
        "notes": "only the sorting module changed",
    }


def test_a_delta_audit_is_bound_to_both_digests() -> None:
    audit = parse_audit(_delta_json())
    assert audit.is_delta and audit.package == PKG
    assert audit.base == Release(Version(1, 0, 0), sha("1.0.0"))
    assert audit.target == Release(Version(1, 1, 0), sha("1.1.0"))
    assert audit.thoroughness is Level.HIGH


def test_a_delta_from_version_zero_without_digest_starts_at_the_empty_package() -> None:
    raw = _delta_json() | {"deltaFrom": {"purl": "pkg:fpm/fortran-lang/stdlib@0.0.0"}}
    audit = parse_audit(raw)
    assert audit.base is None and not audit.is_delta


def test_a_violation_needs_a_range_and_no_subject() -> None:
    raw = {k: v for k, v in _delta_json().items() if k not in ("deltaFrom", "deltaTo")}
    raw |= {
        "verdict": "violation",
        "violation": {"purl": "pkg:fpm/fortran-lang/stdlib", "range": "<1.2"},
    }
    audit = parse_audit(raw)
    assert audit.verdict is Verdict.VIOLATION and audit.violation is not None
    assert audit.violation.matches(Version(1, 1, 9)) and not audit.violation.matches(
        Version(1, 2, 0)
    )


def test_every_problem_of_a_bad_audit_is_reported_at_once() -> None:
    raw = _delta_json() | {
        "deltaTo": {"purl": "pkg:fpm/other/pkg@1.1.0", "sha256": "ABC"},
        "thoroughness": "extreme",
        "criteria": [],
        "auditor": "alice",
        "surprise": 1,
    }
    with pytest.raises(AuditError) as caught:
        parse_audit(raw)
    fields = {p.field for p in caught.value.problems}
    assert {"deltaTo.sha256", "thoroughness", "criteria", "auditor", "surprise"} <= fields
    assert "64 lowercase hexadecimal" in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"verdict": "maybe"}, "`verdict` must be `certify` or `violation`"),
        (
            {"deltaTo": {"purl": "pkg:fpm/fortran-lang/stdlib", "sha256": sha("1")}},
            "needs a version",
        ),
        (
            {"deltaTo": {"purl": "pkg:npm/left-pad@1.0.0", "sha256": sha("1")}},
            "not an fpm package URL",
        ),
        (
            {"deltaTo": {"purl": "pkg:fpm/fortran-lang/stdlib@1.0.0-rc1", "sha256": sha("1")}},
            "not a valid fpm version",
        ),
        ({"subject": {"purl": "pkg:fpm/a/b@1.0.0", "sha256": sha("1")}}, "not both"),
        ({"violation": {"purl": "pkg:fpm/a/b", "range": "<1"}}, "no `violation` range"),
        ({"notes": "x" * 10_001}, "at most 10,000 characters"),
    ],
)
def test_a_bad_field_says_what_to_write(change: dict[str, object], message: str) -> None:
    with pytest.raises(AuditError) as caught:
        parse_audit(_delta_json() | change)
    assert message in str(caught.value)


@pytest.mark.parametrize("raw", [None, [], "audit", 3])
def test_something_that_is_not_an_object_is_refused(raw: object) -> None:
    with pytest.raises(AuditError, match="must be a JSON object"):
        parse_audit(raw)
