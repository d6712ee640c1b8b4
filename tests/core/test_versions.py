"""fpm's version grammar, normalization and ordering (docs/fpm-protocol.md §1.3)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fpmreg.core.versions import (
    MAX_PART_DIGITS,
    MAX_VERSION_LENGTH,
    InvalidVersion,
    Version,
    normalize_version,
)

# What fpm's `versioning.f90` reads: 1 to 3 dot-separated runs of ASCII digits, nothing else.
FPM_GRAMMAR = re.compile(r"[0-9]+(\.[0-9]+){0,2}")

parts = st.integers(min_value=0, max_value=10**MAX_PART_DIGITS - 1)
part_lists = st.lists(parts, min_size=1, max_size=3)
versions = st.builds(Version, parts, parts, parts)


def padded(numbers: list[int]) -> tuple[int, int, int]:
    """What fpm compares: missing trailing components count as zero."""
    full = [*numbers, 0, 0, 0][:3]
    return (full[0], full[1], full[2])


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("1", "1.0.0"),
        ("1.2", "1.2.0"),
        ("1.2.3", "1.2.3"),
        ("0", "0.0.0"),
        ("01.02", "1.2.0"),
        ("007.000.010", "7.0.10"),
        ("0.10.0", "0.10.0"),
        ("999999999.0.1", "999999999.0.1"),
        ("0000000001.2", "1.2.0"),
    ],
)
def test_valid_version_is_stored_as_three_components(text: str, stored: str) -> None:
    assert normalize_version(text) == stored
    assert str(Version.parse(text)) == stored


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v1.0",
        "V1",
        "1.0.0-alpha",
        "1.0.0+build",
        "1.0+build.5",
        "1.2.3.4",
        "1..2",
        "1.",
        ".1",
        "..",
        " 1.0",
        "1.0 ",
        "1. 0",
        "1 .0",
        "-1",
        "1.-2",
        "+1",
        "1,0",
        "1e3",
        "0x10",
        "1_000",
        "a",
        "latest",
        "\u0661.\u0662",  # Arabic-Indic digits: `int()` reads them, fpm does not
        "\uff11.\uff12",  # fullwidth digits
        "\t1.0",
        "1.0\r",
    ],
)
def test_text_fpm_cannot_read_is_refused(text: str) -> None:
    with pytest.raises(InvalidVersion, match="is not a valid fpm version"):
        Version.parse(text)


@pytest.mark.parametrize("text", ["1.0\n", "1\n", "1.2.3\n"])
def test_version_with_trailing_newline_is_refused(text: str) -> None:
    with pytest.raises(InvalidVersion):
        Version.parse(text)


def test_refusal_names_the_text_and_shows_a_valid_version() -> None:
    with pytest.raises(InvalidVersion) as info:
        Version.parse("v1.0")
    assert "`v1.0`" in str(info.value)
    assert "`1.2.0`" in str(info.value)


def test_component_wider_than_fpm_integers_is_refused() -> None:
    with pytest.raises(InvalidVersion, match=f"longer than {MAX_PART_DIGITS} digits"):
        Version.parse("1" * (MAX_PART_DIGITS + 1))
    with pytest.raises(InvalidVersion, match=f"longer than {MAX_PART_DIGITS} digits"):
        Version.parse("1.0." + "9" * (MAX_PART_DIGITS + 1))


def test_text_longer_than_the_limit_is_refused() -> None:
    text = "0" * (MAX_VERSION_LENGTH - 1) + "1"
    assert Version.parse(text) == Version(1, 0, 0)
    with pytest.raises(InvalidVersion):
        Version.parse("0" + text)


def test_missing_components_compare_as_zero() -> None:
    assert Version.parse("1.0") == Version.parse("1.0.0") == Version.parse("1")
    assert hash(Version.parse("1.0")) == hash(Version.parse("1.0.0"))
    assert len({Version.parse("2"), Version.parse("2.0"), Version.parse("2.0.0")}) == 1


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("0.9.0", "0.10.0"),
        ("1.2", "1.10"),
        ("1.99.99", "2"),
        ("1.0.9", "1.0.10"),
        ("0", "0.0.1"),
        ("9", "10"),
    ],
)
def test_ordering_is_numeric_not_textual(lower: str, higher: str) -> None:
    assert Version.parse(lower) < Version.parse(higher)
    assert Version.parse(higher) > Version.parse(lower)
    assert max(Version.parse(lower), Version.parse(higher)) == Version.parse(higher)


@pytest.mark.parametrize(
    ("text", "zero"),
    [
        ("0", True),
        ("0.0", True),
        ("00.0.000", True),
        ("0.0.1", False),
        ("0.1", False),
        ("1", False),
    ],
)
def test_only_an_all_zero_version_is_zero(text: str, zero: bool) -> None:
    assert Version.parse(text).is_zero is zero


def test_version_does_not_compare_with_plain_text() -> None:
    assert Version(1, 0, 0) != "1.0.0"
    with pytest.raises(TypeError):
        _ = Version(1, 0, 0) < "2.0.0"  # type: ignore[operator]


@settings(max_examples=200)
@given(part_lists, st.lists(st.integers(min_value=0, max_value=1), min_size=3, max_size=3))
def test_any_grammatical_text_parses_to_its_padded_numbers(
    numbers: list[int], zeros: list[int]
) -> None:
    # Leading zeros are allowed by fpm and do not change the value (one keeps the text within
    # MAX_VERSION_LENGTH).
    text = ".".join("0" * z + str(n) for n, z in zip(numbers, zeros, strict=False))
    version = Version.parse(text)
    assert version.key == padded(numbers)
    assert str(version) == "{}.{}.{}".format(*padded(numbers))


@settings(max_examples=200)
@given(versions)
def test_printed_version_parses_back_to_itself(version: Version) -> None:
    assert Version.parse(str(version)) == version
    assert normalize_version(str(version)) == str(version)


@settings(max_examples=200)
@given(part_lists)
def test_normalizing_twice_changes_nothing(numbers: list[int]) -> None:
    once = normalize_version(".".join(map(str, numbers)))
    assert normalize_version(once) == once


@settings(max_examples=200)
@given(st.text(alphabet="0123456789.v-+ a\t", max_size=12))
def test_only_fpm_grammar_is_accepted(text: str) -> None:
    # `\n` is left out of the alphabet: see test_version_with_trailing_newline_is_refused.
    try:
        version = Version.parse(text)
    except InvalidVersion:
        assert (
            not FPM_GRAMMAR.fullmatch(text)
            or len(text) > MAX_VERSION_LENGTH
            or any(len(p.lstrip("0")) > MAX_PART_DIGITS for p in text.split("."))
        )
    else:
        assert FPM_GRAMMAR.fullmatch(text)
        assert version.key == padded([int(p) for p in text.split(".")])


@settings(max_examples=200)
@given(versions, versions)
def test_exactly_one_of_less_equal_greater_holds(a: Version, b: Version) -> None:
    assert [a < b, a == b, a > b].count(True) == 1
    assert (a <= b) == (a < b or a == b)
    assert (a >= b) == (a > b or a == b)
    assert (a < b) == (a.key < b.key)


@settings(max_examples=200)
@given(versions, versions, versions)
def test_ordering_is_transitive(a: Version, b: Version, c: Version) -> None:
    low, mid, high = sorted([a, b, c])
    assert low <= mid <= high
    assert low <= high


@settings(max_examples=200)
@given(st.lists(part_lists, max_size=20))
def test_sorting_versions_matches_sorting_padded_tuples(texts: list[list[int]]) -> None:
    parsed = [Version.parse(".".join(map(str, numbers))) for numbers in texts]
    assert [v.key for v in sorted(parsed)] == sorted(padded(numbers) for numbers in texts)
