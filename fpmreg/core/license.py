"""SPDX license expressions, checked with the same library the prototype registry used."""

from __future__ import annotations

from functools import lru_cache

from license_expression import ExpressionError, Licensing, get_spdx_licensing

from fpmreg.core.problem import Problem

MAX_LICENSE_LENGTH = 256


@lru_cache(maxsize=1)
def _licensing() -> Licensing:
    return get_spdx_licensing()


def license_problems(expression: str, *, field: str = "license") -> list[Problem]:
    """Why `expression` is not a valid SPDX license expression (empty when it is)."""
    if not expression.strip():
        return [Problem("license-missing", field, "no license given: set `license` in fpm.toml")]
    if len(expression) > MAX_LICENSE_LENGTH:
        return [
            Problem(
                "license-invalid",
                field,
                f"license expression is longer than {MAX_LICENSE_LENGTH} characters",
            )
        ]
    try:
        _licensing().parse(expression, validate=True, strict=True)
    except ExpressionError as exc:
        return [
            Problem(
                "license-invalid",
                field,
                f"license `{expression}` is not a valid SPDX expression ({exc}): use an "
                "identifier from https://spdx.org/licenses/ such as `MIT` or "
                "`Apache-2.0 OR MIT`",
            )
        ]
    return []
