"""How deeply a TOML document nests, measured in one pass before `tomllib` reads it.

`tomllib` reads arrays and inline tables by recursion (a few hundred `[` raise
`RecursionError`), and it takes time quadratic in the parts of one dotted key or table
header (`[a.a.a...]`: 20,000 parts cost 6 s). fpm.toml files nest a few levels, so
both are bounded here, by a scan whose work is linear in the text, and the parsed
document is measured again without recursion (`value_depth`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# Levels of nesting an fpm.toml may use: tables, dotted keys, arrays and inline tables
# together. fpm's deepest, `[profiles.PROFILE.COMPILER.OS]`, has 4, a target's
# dependency 5; `[extra]` is free-form, so there is room to spare.
MAX_MANIFEST_DEPTH = 32

_QUOTES = "\"'"
# What the scan stops at; everything else is skipped at C speed.
_SPECIAL = re.compile(r"[\"'#\n.=\[\]{},]")


def _string_end(text: str, start: int) -> int:
    """The offset just after the string that opens at `start` (or the end of the line
    for a string not closed on its line, which `tomllib` refuses anyway)."""
    quote = text[start]
    if text.startswith(quote * 3, start):
        end = start + 3
        while True:
            end = text.find(quote * 3, end)
            if end < 0:
                return len(text)
            if quote == '"' and _escaped(text, end):
                end += 1
                continue
            end += 3
            for _ in range(2):  # `""""` ends with a quote inside the string
                if end < len(text) and text[end] == quote:
                    end += 1
            return end
    end = start + 1
    while end < len(text):
        char = text[end]
        if char == "\n":
            return end
        if char == "\\" and quote == '"':
            end += 2
            continue
        end += 1
        if char == quote:
            return end
    return end


def _escaped(text: str, at: int) -> bool:
    """Whether the quote at `at` follows an odd number of backslashes."""
    count = 0
    while at - count - 1 >= 0 and text[at - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _depths(text: str) -> Iterator[int]:
    """The nesting of each dotted key, table header and bracket, as it is read."""
    brackets: list[str] = []  # open `[` and `{` of values
    key = True  # reading a key: at a line's start, or after `{` or `,` in an inline table
    parts = 1  # of the dotted key (or table header) being read
    at = 0
    while (found := _SPECIAL.search(text, at)) is not None:
        at = found.start()
        char = text[at]
        if char in _QUOTES:
            at = _string_end(text, at)
            continue
        if char == "#":
            end = text.find("\n", at)
            at = len(text) if end < 0 else end
            continue
        if char == "\n" and not brackets:
            key, parts = True, 1
        elif key:
            if char == ".":
                parts += 1
                yield parts + len(brackets)
            elif char == "=":
                key, parts = False, 1
            elif char == "]" and not brackets:
                key, parts = False, 1  # the end of a table header
        elif char in "[{":
            brackets.append(char)
            yield len(brackets)
            if char == "{":
                key, parts = True, 1
        elif char in "]}":
            if brackets:
                brackets.pop()
        elif char == "," and brackets and brackets[-1] == "{":
            key, parts = True, 1
        at += 1


def text_too_deep(text: str) -> bool:
    """Whether `text` nests deeper than `MAX_MANIFEST_DEPTH` (one pass, no recursion)."""
    return any(depth > MAX_MANIFEST_DEPTH for depth in _depths(text))


def value_depth(value: Any) -> int:
    """How deeply a parsed TOML value nests tables and arrays (1 for a scalar)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_MANIFEST_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest
