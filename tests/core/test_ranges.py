"""Version requirements for `[extra.fpmreg.dependencies]`: Cargo's grammar on fpm versions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fpmreg.core.versions import (
    MAX_REQUIREMENT_LENGTH,
    Comparator,
    InvalidRequirement,
    Requirement,
    Version,
)

OPERATORS = ["=", ">=", ">", "<=", "<", "^", "~"]


def reference_matches(op: str, parts: tuple[int, ...], version: Version) -> bool:
    """A second, differently written reading of the grammar.

    Comparisons use fpm's padding (`1.2` is `1.2.0`). Caret keeps every component up to
    the left-most non-zero one written (or the last written, when all are zero); tilde
    keeps the major, and the minor too when a minor was written (Cargo's rules).
    """
    base = (*parts, 0, 0, 0)[:3]
    key = version.key
    if op == "=":
        return key == base
    if op == ">=":
        return key >= base
    if op == ">":
        return key > base
    if op == "<=":
        return key <= base
    if op == "<":
        return key < base
    if op == "^":
        keep = next((i for i, p in enumerate(parts) if p != 0), len(parts) - 1) + 1
    else:
        keep = 1 if len(parts) == 1 else 2
    return key >= base and key[:keep] == base[:keep]


small = st.integers(min_value=0, max_value=4)
versions = st.builds(Version, small, small, small)
clauses = st.builds(
    Comparator, st.sampled_from(OPERATORS), st.lists(small, min_size=1, max_size=3).map(tuple)
)
requirements = st.lists(clauses, max_size=4).map(lambda cs: Requirement(tuple(cs)))
spaces = st.sampled_from(["", " ", "  "])


@pytest.mark.parametrize(
    ("text", "canonical", "inside", "outside"),
    [
        ("*", "*", ["0", "1.2.3", "999.0.0"], []),
        ("1.2.3", "=1.2.3", ["1.2.3"], ["1.2.4", "1.2.2"]),
        ("=1.2.3", "=1.2.3", ["1.2.3"], ["1.3.0"]),
        # fpm reads `1.2` as `1.2.0` everywhere, so `=1.2` is exactly 1.2.0.
        ("=1.2", "=1.2", ["1.2.0"], ["1.2.1"]),
        ("^1.2", "^1.2", ["1.2.0", "1.9.9"], ["1.1.9", "2.0.0"]),
        ("^0.2.3", "^0.2.3", ["0.2.3", "0.2.9"], ["0.2.2", "0.3.0"]),
        ("^0.0.3", "^0.0.3", ["0.0.3"], ["0.0.2", "0.0.4"]),
        ("^0.0", "^0.0", ["0.0.0", "0.0.7"], ["0.1.0"]),
        ("^0", "^0", ["0.0.0", "0.9.9"], ["1.0.0"]),
        ("~1.2.3", "~1.2.3", ["1.2.3", "1.2.9"], ["1.2.2", "1.3.0"]),
        ("~1.2", "~1.2", ["1.2.0", "1.2.9"], ["1.3.0", "1.1.0"]),
        ("~1", "~1", ["1.0.0", "1.9.0"], ["2.0.0", "0.9.0"]),
        (">=1.0,<2", ">=1.0, <2", ["1.0.0", "1.9.9"], ["0.9.9", "2.0.0"]),
        (" >= 1.0 ,  < 2 ", ">=1.0, <2", ["1.5.0"], ["2.0.0"]),
        (">1.2", ">1.2", ["1.2.1", "2.0.0"], ["1.2.0"]),
        ("<=1.2", "<=1.2", ["1.2.0", "0.1.0"], ["1.2.1"]),
        ("<1", "<1", ["0.9.9"], ["1.0.0"]),
        ("^1.2, <1.5", "^1.2, <1.5", ["1.4.9"], ["1.5.0"]),
        ("01.002", "=1.2", ["1.2.0"], ["1.2.1"]),
    ],
)
def test_requirement_forms_allow_the_versions_cargo_users_expect(
    text: str, canonical: str, inside: list[str], outside: list[str]
) -> None:
    requirement = Requirement.parse(text)
    assert str(requirement) == canonical
    for version in inside:
        assert requirement.matches(Version.parse(version)), version
    for version in outside:
        assert not requirement.matches(Version.parse(version)), version


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "write `*`"),
        ("   ", "write `*`"),
        ("1.x", "wildcards are not supported"),
        ("1.2.*", "wildcards are not supported"),
        ("~>1.2", "instead of Ruby's `~>1.2`"),
        ("1.0 - 2.0", "hyphen ranges are not supported"),
        ("^1 || ^2", "alternatives (`||`) are not supported"),
        (">=1 <2", "separate comparators with `,`"),
        (">=1,", "empty comparator"),
        (">=1,,<2", "empty comparator"),
        ("*, >=1", "`*` stands alone"),
        ("^", "no version"),
        ("v1.2", "`v1.2` is not an fpm version"),
        (">=1.2.3.4", "`1.2.3.4` is not an fpm version"),
        ("1.0.0-alpha", "`1.0.0-alpha` is not an fpm version"),
        ("=>1.0", "is not a valid version requirement"),
        (",".join(["^1"] * 9), "at most 8"),
        ("1" * (MAX_REQUIREMENT_LENGTH + 1), f"longer than {MAX_REQUIREMENT_LENGTH}"),
    ],
)
def test_unreadable_requirement_says_what_to_write(text: str, says: str) -> None:
    with pytest.raises(InvalidRequirement) as info:
        Requirement.parse(text)
    assert says in str(info.value)


def test_refusal_quotes_the_requirement_and_lists_the_forms() -> None:
    with pytest.raises(InvalidRequirement) as info:
        Requirement.parse(">=1, <a")
    message = str(info.value)
    assert "`>=1, <a`" in message
    assert "`^1.2`" in message and "`>=1.0, <2.0`" in message


def test_exact_matches_one_version_and_prints_like_a_pin() -> None:
    pinned = Requirement.exact(Version(1, 3, 0))
    assert str(pinned) == "=1.3.0"
    assert pinned.exact_version == Version(1, 3, 0)
    assert pinned.matches(Version(1, 3, 0))
    assert not pinned.matches(Version(1, 3, 1))
    assert Requirement.parse("^1").exact_version is None


def test_empty_range_matches_nothing() -> None:
    assert not any(
        Requirement.parse(">=2, <1").matches(Version(a, b, 0)) for a in range(4) for b in range(4)
    )


@given(requirements)
def test_printing_then_parsing_gives_the_same_requirement(requirement: Requirement) -> None:
    again = Requirement.parse(str(requirement))
    assert again == requirement
    assert str(again) == str(requirement)


@given(st.lists(st.tuples(st.sampled_from(["", *OPERATORS]), clauses, spaces, spaces), max_size=4))
def test_spacing_and_bare_versions_read_as_the_canonical_form(
    pieces: list[tuple[str, Comparator, str, str]],
) -> None:
    written = []
    expected = []
    for op, clause, before, after in pieces:
        text = ".".join(str(p) for p in clause.parts)
        written.append(f"{before}{op}{after}{text}{before}")
        expected.append(Comparator(op or "=", clause.parts))
    text = ",".join(written) if written else " * "
    assert Requirement.parse(text) == Requirement(tuple(expected))


@given(requirements, versions)
def test_matches_agrees_with_the_reference_reading(
    requirement: Requirement, version: Version
) -> None:
    expected = all(reference_matches(c.op, c.parts, version) for c in requirement.clauses)
    assert requirement.matches(version) == expected


@given(requirements, requirements, versions)
def test_all_of_is_the_intersection(first: Requirement, second: Requirement, v: Version) -> None:
    both = Requirement.all_of([first, second])
    assert both.matches(v) == (first.matches(v) and second.matches(v))


@given(st.text(max_size=30))
def test_any_text_parses_or_is_refused_with_a_message(text: str) -> None:
    try:
        requirement = Requirement.parse(text)
    except InvalidRequirement as exc:
        assert str(exc)
    else:
        assert Requirement.parse(str(requirement)) == requirement
