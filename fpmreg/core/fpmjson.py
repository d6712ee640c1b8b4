"""JSON that fpm's parser (jonquil) accepts, and a checker that mirrors its refusals.

fpm rejects `null`, `\\uXXXX` escapes, `\\/`, a BOM and duplicate keys anywhere in a
document (`docs/api-design.md`, "fpm quirks"). Python's `json` escapes control
characters as `\\u00XX` and non-ASCII unless told otherwise, so fpm-facing bodies go
through `dumps_fpm` only.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Control characters Python would write as `\u00XX`; the short escapes
# (\b \f \n \r \t) are fine for jonquil.
_NEEDS_U_ESCAPE = re.compile("[\x00-\x07\x0b\x0e-\x1f\ud800-\udfff]")


def _clean(value: Any) -> Any:
    if value is None:
        raise ValueError("fpm cannot read `null`: leave the key out instead")
    if isinstance(value, str):
        return _NEEDS_U_ESCAPE.sub("\N{REPLACEMENT CHARACTER}", value)
    if isinstance(value, dict):
        return {_clean(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, bool | int | float):
        return value
    raise TypeError(f"cannot encode {type(value).__name__} for fpm")


def dumps_fpm(document: dict[str, Any]) -> bytes:
    """Encode `document` as UTF-8 JSON that fpm 0.12+ can parse, newline-terminated."""
    text = json.dumps(_clean(document), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text + "\n").encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    duplicated = {k for k in keys if keys.count(k) > 1}
    if duplicated:
        raise ValueError(f"duplicate key {sorted(duplicated)[0]!r}")
    return dict(pairs)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def fpm_json_problems(body: bytes) -> list[str]:
    """Why fpm's JSON parser would refuse `body` (empty when it would accept it)."""
    problems = []
    if body.startswith(b"\xef\xbb\xbf"):
        problems.append("starts with a UTF-8 byte-order mark")
    escapes = {m.group(1) for m in re.finditer(rb"\\(.)", body, re.DOTALL)}
    if b"u" in escapes:
        problems.append("contains a \\u escape")
    if b"/" in escapes:
        problems.append("contains a \\/ escape")
    try:
        document = json.loads(
            body.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_refuse_constant,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        return [*problems, f"is not valid JSON: {exc}"]
    if not isinstance(document, dict):
        problems.append("top-level value is not an object")
    elif not isinstance(document.get("code"), int) or isinstance(document.get("code"), bool):
        problems.append("`code` is not an integer")
    if re.search(rb"(?<![A-Za-z0-9_\"])null(?![A-Za-z0-9_\"])", body) and _has_null(document):
        problems.append("contains null")
    return problems


def _has_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_has_null(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_null(v) for v in value)
    return False
