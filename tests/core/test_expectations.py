"""The checks of a declaration of expectations (docs/expectations.md)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fpmreg.core.expectations import (
    MAX_NOTE_LENGTH,
    RESPONSES,
    STATUSES,
    check_contact,
    check_supported,
    expectation_problems,
)
from fpmreg.core.versions import Requirement, Version

_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_parts = st.integers(min_value=0, max_value=999)


@given(st.lists(_label, min_size=2, max_size=4), st.sampled_from(["", "/security", "/a?b=c"]))
def test_every_https_url_with_a_host_is_a_contact(labels: list[str], path: str) -> None:
    url = "https://" + ".".join(labels) + path
    assert check_contact(url) == url
    with pytest.raises(ValueError, match="https://"):
        check_contact("http://" + ".".join(labels) + path)


@given(_label, st.lists(_label, min_size=2, max_size=3))
def test_every_plain_email_address_is_a_contact(local: str, domain: list[str]) -> None:
    address = f"{local}@{'.'.join(domain)}"
    assert check_contact(f"  {address} ") == address


@pytest.mark.parametrize(
    "text",
    ["security", "a@b", "a b@example.org", "ftp://example.org", "https://", "mailto:a@b.org"],
)
def test_what_is_neither_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        check_contact(text)


@given(st.sampled_from([">=", "^", "~", "<", "="]), _parts, _parts, _parts)
def test_supported_versions_are_kept_as_a_requirement_that_reads_back(
    op: str, major: int, minor: int, patch: int
) -> None:
    text = f"{op}{major}.{minor}.{patch}"
    stored = check_supported(text)
    assert Requirement.parse(stored) == Requirement.parse(text)
    version = Version(major, minor, patch)
    assert Requirement.parse(stored).matches(version) == Requirement.parse(text).matches(version)


@given(
    st.sampled_from(list(STATUSES)),
    st.sampled_from(list(RESPONSES)),
    st.text(max_size=MAX_NOTE_LENGTH),
)
def test_a_declaration_with_valid_values_has_no_problem(
    status: str, response: str, note: str
) -> None:
    assert expectation_problems(status, "security@example.org", response, ">=1.0", note) == []


def test_each_bad_value_is_one_problem_naming_its_field() -> None:
    problems = expectation_problems("gone", "nope", "maybe", "1.*", "x" * (MAX_NOTE_LENGTH + 1))
    assert [p.field for p in problems] == ["status", "response", "contact", "supported", "note"]
    assert "wildcards" in problems[3].message
    missing = expectation_problems("active", "", "yes", "", "")
    assert [(p.code, p.field) for p in missing] == [("expectations-contact-missing", "contact")]
    assert expectation_problems("unmaintained", "", "no", "", "") == []
