"""JSON bodies fpm's parser (jonquil) accepts, and the checker that mirrors its refusals.

fpm-protocol.md §0 item 5: jonquil rejects `null`, `\\uXXXX`, `\\/`, a BOM and duplicate keys
anywhere, and `code` must be the JSON integer 200.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fpmreg.core.fpmjson import dumps_fpm, fpm_json_problems

# Characters worth trying more often than uniform sampling would.
AWKWARD = [
    "\x00", "\x01", "\x07", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1b", "\x1f", "\x7f",
    "\\", "/", "u", '"', "\ud800", "\udfff", "\ufeff", "\u2028", "\u00e9", "\U0001f600",
]  # fmt: skip
# Python's json writes these as `\u00XX`; \b \t \n \f \r have short escapes jonquil reads.
U_ESCAPED = re.compile("[\x00-\x07\x0b\x0e-\x1f\ud800-\udfff]")

any_text = st.one_of(
    st.text(st.one_of(st.characters(exclude_categories=()), st.sampled_from(AWKWARD)), max_size=12),
    st.sampled_from(["null", "\\u0041", "\\/", "https://example.org/a"]),
)
# Keys a document built by the registry actually has: no control characters, no surrogates.
plain_keys = st.text(
    st.one_of(
        st.characters(exclude_categories=("Cc", "Cs")),
        st.sampled_from(["\\", "/", "u", '"', "\u00e9"]),
    ),
    max_size=8,
)
no_backslash_text = st.one_of(
    st.text(
        st.one_of(st.characters(exclude_categories=(), exclude_characters="\\"),
                  st.sampled_from([c for c in AWKWARD if c != "\\"])),
        max_size=12,
    ),
    st.sampled_from(["null", "https://example.org/a"]),
)  # fmt: skip
finite_floats = st.floats(allow_nan=False, allow_infinity=False)


def json_values(text: st.SearchStrategy[str], keys: st.SearchStrategy[str]) -> Any:
    scalars = st.one_of(st.booleans(), st.integers(), finite_floats, text)
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
        ),
        max_leaves=20,
    )


def documents(text: st.SearchStrategy[str], keys: st.SearchStrategy[str]) -> Any:
    return st.builds(
        lambda body, code: {**body, "code": code},
        st.dictionaries(keys, json_values(text, keys), max_size=5),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
    )


def escapes(body: bytes) -> set[bytes]:
    """The characters that follow a backslash escape, reading escapes left to right."""
    return {m.group(1) for m in re.finditer(rb"\\(.)", body, re.DOTALL)}


def cleaned(value: Any) -> Any:
    """What fpm should read back: unencodable characters become U+FFFD."""
    if isinstance(value, str):
        return U_ESCAPED.sub("\ufffd", value)
    if isinstance(value, dict):
        return {cleaned(k): cleaned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [cleaned(v) for v in value]
    return value


def non_ascii(value: Any) -> set[str]:
    if isinstance(value, str):
        return {c for c in cleaned(value) if ord(c) > 127}
    if isinstance(value, dict):
        return set().union(*(non_ascii(k) | non_ascii(v) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(non_ascii(v) for v in value))
    return set()


def assert_jonquil_reads(body: bytes, document: dict[str, Any]) -> None:
    """The body has none of the constructs jonquil refuses, and means `document`."""
    assert not body.startswith(b"\xef\xbb\xbf")
    assert body.endswith(b"\n")
    text = body.decode("utf-8")
    assert not {b"u", b"/"} & escapes(body)
    assert not _has_none(json.loads(text))
    assert json.loads(text) == cleaned(document)
    # Keys that differ only in control characters merge once cleaned.
    assert non_ascii(cleaned(document)) <= set(text)


@settings(max_examples=200)
@given(documents(any_text, plain_keys))
def test_dumps_fpm_writes_what_jonquil_reads(document: dict[str, Any]) -> None:
    assert_jonquil_reads(dumps_fpm(document), document)


@settings(max_examples=200)
@given(documents(no_backslash_text, plain_keys.filter(lambda k: "\\" not in k)))
def test_dumps_fpm_output_passes_the_checker(document: dict[str, Any]) -> None:
    body = dumps_fpm(document)
    assert fpm_json_problems(body) == []
    assert json.loads(body)["code"] == document["code"]


@settings(max_examples=200)
@given(documents(any_text, any_text))
@example({"code": 200, "\x01": 1})
@example({"code": 200, "\ud800": 1})
@example({"code": 200, "data": {"a\x1fb": "x"}})
def test_dumps_fpm_writes_what_jonquil_reads_for_any_key(document: dict[str, Any]) -> None:
    assert_jonquil_reads(dumps_fpm(document), document)


@settings(max_examples=200)
@given(documents(any_text, plain_keys))
@example({"code": 200, "path": "C:\\users\\me"})
@example({"code": 200, "regex": "\\/"})
def test_dumps_fpm_output_passes_the_checker_with_backslashes(document: dict[str, Any]) -> None:
    assert fpm_json_problems(dumps_fpm(document)) == []


def test_non_ascii_text_is_written_raw() -> None:
    body = dumps_fpm({"code": 200, "description": "Gau\u00df-Seidel \u2013 \U0001f600"})
    assert "Gau\u00df-Seidel \u2013 \U0001f600".encode() in body
    assert fpm_json_problems(body) == []


def test_control_characters_and_surrogates_become_replacement_characters() -> None:
    body = dumps_fpm({"code": 200, "m": "a\x00b\x1bc\ud800d\tz\n"})
    assert json.loads(body)["m"] == "a\ufffdb\ufffdc\ufffdd\tz\n"
    assert fpm_json_problems(body) == []


def test_tuples_are_written_as_arrays() -> None:
    assert json.loads(dumps_fpm({"code": 200, "v": (1, "a")})) == {"code": 200, "v": [1, "a"]}


@pytest.mark.parametrize(
    "document",
    [
        {"code": 200, "a": None},
        {"code": None},
        {"code": 200, "data": {"version_data": {"download_url": None}}},
        {"code": 200, "list": [1, [2, None]]},
        {"code": 200, "t": ("x", None)},
    ],
)
def test_none_anywhere_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="fpm cannot read `null`"):
        dumps_fpm(document)


def _has_none(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_has_none(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_none(v) for v in value)
    return False


@st.composite
def documents_with_a_none(draw: st.DrawFn) -> dict[str, Any]:
    """A document with one `None` buried in random lists and objects among other values."""
    value: Any = None
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        siblings = draw(st.lists(st.one_of(st.integers(), any_text, st.just([])), max_size=2))
        if draw(st.booleans()):
            siblings.insert(draw(st.integers(min_value=0, max_value=len(siblings))), value)
            value = siblings
        else:
            value = {**{f"s{i}": s for i, s in enumerate(siblings)}, draw(plain_keys): value}
    document: dict[str, Any] = draw(st.dictionaries(plain_keys, any_text, max_size=3))
    document[draw(plain_keys)] = value
    return document


@settings(max_examples=200)
@given(documents_with_a_none())
def test_none_nested_anywhere_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="fpm cannot read `null`"):
        dumps_fpm(document)


def test_objects_that_are_not_json_are_refused() -> None:
    with pytest.raises(TypeError, match="set"):
        dumps_fpm({"code": 200, "s": {1}})


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused(number: float) -> None:
    with pytest.raises(ValueError):
        dumps_fpm({"code": 200, "x": number})


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_checker_refuses_non_finite_numbers(literal: bytes) -> None:
    assert fpm_json_problems(b'{"code":200,"x":' + literal + b"}") != []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"code":200,"a":null}', "contains null"),
        (b'{"code":200,"a":[1,{"b":null}]}', "contains null"),
        (b'{"code":200,"a":"\\u0041"}', "contains a \\u escape"),
        (b'{"code":200,"a\\u0041":"x"}', "contains a \\u escape"),
        (b'{"code":200,"url":"https:\\/\\/example.org"}', "contains a \\/ escape"),
        (b'\xef\xbb\xbf{"code":200}', "starts with a UTF-8 byte-order mark"),
        (b'{"code":200,"a":1,"a":2}', "duplicate key 'a'"),
        (b'{"code":200,"d":{"x":1,"x":1}}', "duplicate key 'x'"),
        (b'{"code":200,"code":200}', "duplicate key 'code'"),
        (b'{"code":200.0}', "`code` is not an integer"),
        (b'{"code":"200"}', "`code` is not an integer"),
        (b'{"code":true}', "`code` is not an integer"),
        (b'{"message":"no code"}', "`code` is not an integer"),
        (b'[{"code":200}]', "top-level value is not an object"),
        (b'"text"', "top-level value is not an object"),
        (b'{"code":200', "is not valid JSON"),
        (b'{"code":200,"a":"\xff"}', "is not valid JSON"),
    ],
)
def test_checker_finds_each_construct_fpm_refuses(body: bytes, problem: str) -> None:
    problems = fpm_json_problems(body)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    "body",
    [
        b'{"code":200}',
        b'{"code":404,"message":"Package not found"}',
        b'{"code":200,"a":"null","nullable":true,"b":"x null y"}',
        b'{"code":200,"a":"\\n\\t\\r\\b\\f\\"\\\\"}',
        b'{"code":200,"a":"Gau\xc3\x9f \xf0\x9f\x98\x80"}',
        b'{\n  "code": 200,\n  "data": {"x": [[1, 2], []], "y": {}}\n}\n',
        b'{"code":200,"big":9223372036854775807,"f":1.5e-3,"t":true,"f2":false}',
        b'{"code":200,"a":{"k":1},"b":{"k":2}}',
    ],
)
def test_checker_accepts_what_jonquil_accepts(body: bytes) -> None:
    assert fpm_json_problems(body) == []


def test_checker_reports_every_problem_at_once() -> None:
    problems = fpm_json_problems(b'\xef\xbb\xbf{"code":"x","a":"\\u0041\\/"}')
    assert len(problems) >= 3
    assert any("byte-order mark" in p for p in problems)
    assert any("\\u escape" in p for p in problems)
    assert any("\\/ escape" in p for p in problems)
