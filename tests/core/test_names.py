"""Package and namespace names: fpm's rule, the registry's rules, canonical and confusable forms."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fpmreg.core.names import canonical_name, confusable_name, name_problems

# docs/fpm-protocol.md §3.2: the effective regex, written out here so the test can disagree.
FPM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")

fpm_names = st.from_regex(r"\A[A-Za-z][A-Za-z0-9_-]{0,62}\Z")


def codes(name: str) -> list[str]:
    return [p.code for p in name_problems(name)]


@pytest.mark.parametrize(
    "name", ["a", "Z", "stdlib", "fortran-lang", "M_CLI2", "x1-y_2", "a-", "a--b", "a" * 63]
)
def test_name_fpm_accepts_has_no_problems(name: str) -> None:
    assert name_problems(name) == []


@pytest.mark.parametrize(
    "name",
    [
        "",
        "1abc",
        "_abc",
        "-abc",
        "a b",
        "a.b",
        "a/b",
        "a\\b",
        "caf\u00e9",
        "a" * 64,
        "a\tb",
        "a\x00",
        "a\x08b",
        "a\x0cb",
        "a\rb",
        " a",
        "a ",
    ],
)
def test_name_fpm_refuses_is_invalid(name: str) -> None:
    problems = name_problems(name)
    assert [p.code for p in problems] == ["name-invalid"]
    assert f"`{name}`" in problems[0].message
    assert "must start with a letter" in problems[0].message


@pytest.mark.parametrize("name", ["abc\n", "stdlib\n"])
def test_name_with_trailing_newline_is_invalid(name: str) -> None:
    assert codes(name) == ["name-invalid"]


def test_double_underscore_is_refused_with_a_fix() -> None:
    (problem,) = name_problems("my__lib")
    assert problem.code == "name-double-underscore"
    assert problem.field == "name"
    assert "`my__lib`" in problem.message
    assert "`__`" in problem.message
    assert "use a single `_` or `-`" in problem.message


def test_trailing_underscore_is_refused_with_a_fix() -> None:
    (problem,) = name_problems("mylib_")
    assert problem.code == "name-trailing-underscore"
    assert "`mylib_`" in problem.message
    assert "remove the trailing `_`" in problem.message


def test_every_registry_rule_broken_is_reported() -> None:
    assert codes("my__lib_") == ["name-double-underscore", "name-trailing-underscore"]
    assert codes("a__") == ["name-double-underscore", "name-trailing-underscore"]


def test_problem_names_the_field_and_the_kind_of_name() -> None:
    (problem,) = name_problems("9ns", field="namespace", what="namespace")
    assert problem.field == "namespace"
    assert problem.message.startswith("namespace name `9ns`")


@settings(max_examples=200)
@given(fpm_names)
def test_fpm_name_breaks_only_the_registry_rules(name: str) -> None:
    expected = []
    if "__" in name:
        expected.append("name-double-underscore")
    if name.endswith("_"):
        expected.append("name-trailing-underscore")
    assert codes(name) == expected


@settings(max_examples=200)
@given(st.text(st.characters(exclude_characters="\n"), max_size=70))
def test_text_outside_fpm_rule_is_invalid(name: str) -> None:
    # `\n` is left out: see test_name_with_trailing_newline_is_invalid.
    if FPM_NAME.fullmatch(name):
        assert "name-invalid" not in codes(name)
    else:
        assert codes(name) == ["name-invalid"]


@pytest.mark.parametrize(
    ("a", "b"),
    [("Foo-Bar", "foo_bar"), ("STDLIB", "stdlib"), ("a-b_c", "A_B-C"), ("x--y", "x__y")],
)
def test_case_and_dash_underscore_do_not_make_a_new_name(a: str, b: str) -> None:
    assert canonical_name(a) == canonical_name(b)


@pytest.mark.parametrize(("a", "b"), [("foobar", "foo-bar"), ("foo-bar", "foo-barr")])
def test_canonical_name_keeps_separators_and_letters(a: str, b: str) -> None:
    assert canonical_name(a) != canonical_name(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("stdlib", "std1ib"),
        ("stdlib", "STDLIB"),
        ("stdlib", "stdIib"),
        ("foo", "f00"),
        ("foo-bar", "FOOBAR"),
        ("foo_bar", "fo0bar"),
        ("hello-world", "he110_w0r1d"),
        ("lio", "110"),
    ],
)
def test_lookalike_names_share_a_confusable_form(a: str, b: str) -> None:
    assert confusable_name(a) == confusable_name(b)


def test_confusable_form_maps_lookalikes_to_digits() -> None:
    assert confusable_name("Hello_World") == "he110w0r1d"
    assert confusable_name("fpm-LIO") == "fpm110"


def test_different_names_have_different_confusable_forms() -> None:
    assert confusable_name("stdlib") != confusable_name("stdlab")


@settings(max_examples=200)
@given(fpm_names, st.data())
def test_respelling_case_and_separators_keeps_the_canonical_name(
    name: str, data: st.DataObject
) -> None:
    flips = data.draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    swap = {"-": "_", "_": "-"}
    respelt = "".join(
        (swap.get(c, c.swapcase()) if flip else c) for c, flip in zip(name, flips, strict=True)
    )
    assert canonical_name(respelt) == canonical_name(name)
    assert confusable_name(respelt) == confusable_name(name)


@settings(max_examples=200)
@given(fpm_names)
def test_canonical_and_confusable_forms_are_stable(name: str) -> None:
    canonical = canonical_name(name)
    confusable = confusable_name(name)
    assert canonical_name(canonical) == canonical
    assert confusable_name(confusable) == confusable
    assert confusable_name(canonical) == confusable
    assert not set(confusable) & set("-_lioLIO")
    assert confusable == confusable.lower()


TOOLBOX_LOOKALIKES = [
    "tooIbox", "t00lbox", "too1box", "toolb0x", "TOOLBOX", "tool-box", "tool_box", "tool.box"
]  # fmt: skip


@pytest.mark.parametrize("lookalike", TOOLBOX_LOOKALIKES)
def test_toolbox_lookalikes_share_its_skeleton(lookalike: str) -> None:
    assert confusable_name(lookalike) == confusable_name("toolbox") == "t001b0x"


# What a squatter may change in a name without a reader noticing: each character of
# `toolbox`-like names, spelt with any of its lookalikes, separators put anywhere.
_LOOKALIKES = {"l": "lLiI1", "i": "lLiI1", "o": "oO0", "1": "lLiI1", "0": "oO0"}


@settings(max_examples=300)
@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20),
    st.data(),
)
def test_any_lookalike_respelling_has_the_same_skeleton(name: str, data: st.DataObject) -> None:
    respelt = ""
    for char in name:
        respelt += data.draw(st.sampled_from(_LOOKALIKES.get(char, char + char.upper())))
        respelt += data.draw(st.sampled_from(["", "", "", ".", "_", "-", ".-_"]))
    assert confusable_name(respelt) == confusable_name(name)
    assert not set(confusable_name(respelt)) & set(".-_lioLIO")
