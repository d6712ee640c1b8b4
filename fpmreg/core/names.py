"""Package and namespace names: fpm's rule, the registry's rules, and confusables."""

from __future__ import annotations

import re

from fpmreg.core.problem import Problem

# fpm's own rule (`is_fortran_name` after `-` → `_`): a letter, then up to 62
# alphanumerics, `_` or `-` (Fortran names are at most 63 characters).
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
MAX_NAME_LENGTH = 63


def name_problems(name: str, *, field: str = "name", what: str = "package") -> list[Problem]:
    """Every reason `name` cannot be a package or namespace name (empty when it can)."""
    if not NAME_PATTERN.fullmatch(name):
        return [
            Problem(
                "name-invalid",
                field,
                f"{what} name `{name}` is not valid: it must start with a letter and "
                f"contain only letters, digits, `-` and `_`, at most {MAX_NAME_LENGTH} "
                "characters",
            )
        ]
    problems = []
    if "__" in name:
        problems.append(
            Problem(
                "name-double-underscore",
                field,
                f"{what} name `{name}` contains `__`, which fpm reserves to separate a "
                "package prefix from a module name: use a single `_` or `-`",
            )
        )
    if name.endswith("_"):
        problems.append(
            Problem(
                "name-trailing-underscore",
                field,
                f"{what} name `{name}` ends with `_`, which fpm's module naming forbids: "
                "remove the trailing `_`",
            )
        )
    return problems


def canonical_name(name: str) -> str:
    """The form names are unique in: lowercase, `-` and `_` alike."""
    return name.lower().replace("-", "_")


# PyPI's "ultranormalize" (warehouse `packaging/models.py`): separators go, then the
# letters that look like digits in many fonts become those digits.
_CONFUSABLE = str.maketrans({"l": "1", "i": "1", "o": "0", ".": None, "_": None, "-": None})


def confusable_name(name: str) -> str:
    """PyPI's "ultranormalize": drop `.`, `_` and `-`, lowercase, then map `l`, `i` → `1`
    and `o` → `0`; `tooIbox`, `t00lbox`, `TOOL-BOX` and `toolbox` all give `t001b0x`."""
    return name.lower().translate(_CONFUSABLE)
