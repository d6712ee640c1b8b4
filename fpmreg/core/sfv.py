"""The part of Structured Field Values (RFC 8941) that HTTP Message Signatures need:
dictionaries whose members are items or inner lists, with parameters
(docs/activitypub.md, "Signatures").

Bare items are Python values: `int`, `float` (a decimal), `str` (a string), `Token`,
`bytes` (a byte sequence) and `bool`. Parsing is strict, as the RFC asks: anything off
the grammar is an `SfvError`, never a guess. Serialising gives the RFC's canonical form,
which is what a signature base is built from.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

MAX_INTEGER = 999_999_999_999_999
_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_BASE64 = re.compile(r"[A-Za-z0-9+/=]*")


class SfvError(ValueError):
    """A header that is not the structured field it must be."""


class Token(str):
    """An RFC 8941 token (unquoted, like `sha-256`), apart from a string."""

    __slots__ = ()


BareItem = int | float | str | bytes | bool
Params = dict[str, BareItem]


@dataclass(frozen=True)
class Item:
    """A bare item with its parameters."""

    value: BareItem
    params: Params = field(default_factory=dict)


@dataclass(frozen=True)
class InnerList:
    """A parenthesised list of items, with parameters of its own."""

    items: tuple[Item, ...]
    params: Params = field(default_factory=dict)


Member = Item | InnerList


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def take(self, pattern: re.Pattern[str], what: str) -> str:
        match = pattern.match(self.text, self.at)
        if match is None or not match.group(0):
            raise SfvError(f"expected {what} at character {self.at}")
        self.at = match.end()
        return match.group(0)

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise SfvError(f"expected `{char}` at character {self.at}")
        self.at += 1

    def skip(self, chars: str) -> None:
        while self.peek() and self.peek() in chars:
            self.at += 1


def parse_dictionary(text: str) -> dict[str, Member]:
    """The members of a dictionary header; `SfvError` if it is not one."""
    if not text.isascii():
        raise SfvError("a structured field is ASCII")
    reader = _Reader(text.strip(" \t"))
    members: dict[str, Member] = {}
    while reader.peek():
        key = reader.take(_KEY, "a key")
        if reader.peek() == "=":
            reader.at += 1
            members[key] = _inner_list(reader) if reader.peek() == "(" else _item(reader)
        else:
            members[key] = Item(True, _params(reader))
        reader.skip(" \t")
        if not reader.peek():
            break
        reader.expect(",")
        reader.skip(" \t")
        if not reader.peek():
            raise SfvError("a dictionary does not end with `,`")
    return members


def parse_item(text: str) -> Item:
    """A header that is one item; `SfvError` if it is not."""
    reader = _Reader(text.strip(" "))
    item = _item(reader)
    if reader.peek():
        raise SfvError(f"unexpected `{reader.peek()}` after the item")
    return item


def _inner_list(reader: _Reader) -> InnerList:
    reader.expect("(")
    items: list[Item] = []
    while True:
        reader.skip(" ")
        if reader.peek() == ")":
            reader.at += 1
            return InnerList(tuple(items), _params(reader))
        items.append(_item(reader))
        if reader.peek() not in (" ", ")"):
            raise SfvError(f"expected ` ` or `)` at character {reader.at}")


def _item(reader: _Reader) -> Item:
    value = _bare(reader)
    return Item(value, _params(reader))


def _params(reader: _Reader) -> Params:
    params: Params = {}
    while reader.peek() == ";":
        reader.at += 1
        reader.skip(" ")
        key = reader.take(_KEY, "a parameter name")
        value: BareItem = True
        if reader.peek() == "=":
            reader.at += 1
            value = _bare(reader)
        params[key] = value
    return params


def _bare(reader: _Reader) -> BareItem:
    char = reader.peek()
    if char == "-" or char.isdigit():
        return _number(reader)
    if char == '"':
        return _string(reader)
    if char == ":":
        reader.at += 1
        text = reader.take(_BASE64, "base64") if reader.peek() != ":" else ""
        reader.expect(":")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise SfvError("a byte sequence is not base64") from None
    if char == "?":
        reader.at += 1
        digit = reader.peek()
        if digit not in ("0", "1"):
            raise SfvError("a boolean is `?0` or `?1`")
        reader.at += 1
        return digit == "1"
    if char == "*" or char.isalpha():
        return Token(reader.take(_TOKEN, "a token"))
    raise SfvError(f"unexpected `{char}` at character {reader.at}" if char else "unexpected end")


def _number(reader: _Reader) -> int | float:
    text = reader.take(_NUMBER, "a number")
    whole, _, fraction = text.lstrip("-").partition(".")
    if "." in text:
        if len(whole) > 12 or len(fraction) > 3:
            raise SfvError("a decimal has at most 12 digits before the point and 3 after")
        return float(text)
    if len(whole) > 15:
        raise SfvError("an integer has at most 15 digits")
    return int(text)


def _string(reader: _Reader) -> str:
    reader.expect('"')
    out: list[str] = []
    while True:
        char = reader.peek()
        reader.at += 1
        if char == "\\":
            escaped = reader.peek()
            if escaped not in ('"', "\\"):
                raise SfvError('a string escapes only `"` and `\\`')
            out.append(escaped)
            reader.at += 1
        elif char == '"':
            return "".join(out)
        elif not char or not " " <= char <= "~":
            raise SfvError('a string is printable ASCII, closed by `"`')
        else:
            out.append(char)


def serialize_bare(value: BareItem) -> str:
    """The canonical text of a bare item; `SfvError` if it cannot be one."""
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        if abs(value) > MAX_INTEGER:
            raise SfvError("an integer has at most 15 digits")
        return str(value)
    if isinstance(value, float):
        text = f"{round(value, 3):.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode() + ":"
    if isinstance(value, Token):
        if _TOKEN.fullmatch(value) is None:
            raise SfvError(f"`{value}` is not a token")
        return str(value)
    if not all(" " <= char <= "~" for char in value):
        raise SfvError("a string is printable ASCII")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serialize_params(params: Params) -> str:
    """`;key=value` for each parameter (`;key` alone for true)."""
    out = []
    for key, value in params.items():
        if _KEY.fullmatch(key) is None:
            raise SfvError(f"`{key}` is not a key")
        out.append(f";{key}" if value is True else f";{key}={serialize_bare(value)}")
    return "".join(out)


def serialize_member(member: Member) -> str:
    """An item or inner list, with its parameters."""
    if isinstance(member, InnerList):
        inner = " ".join(serialize_member(item) for item in member.items)
        return f"({inner}){serialize_params(member.params)}"
    return serialize_bare(member.value) + serialize_params(member.params)


def serialize_dictionary(members: dict[str, Member]) -> str:
    """The canonical text of a dictionary."""
    out = []
    for key, member in members.items():
        if _KEY.fullmatch(key) is None:
            raise SfvError(f"`{key}` is not a key")
        if isinstance(member, Item) and member.value is True:
            out.append(key + serialize_params(member.params))
        else:
            out.append(f"{key}={serialize_member(member)}")
    return ", ".join(out)
