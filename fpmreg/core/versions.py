"""fpm's version grammar and ordering (fpm `src/fpm/versioning.f90`).

A version is 1 to 3 dot-separated non-negative decimal integers. Missing trailing
components compare as zero, so `1.0 == 1.0.0`. The registry stores `X.Y.Z`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

# fpm's `max_limit = 3`: more components is a parse error in the client.
MAX_VERSION_PARTS = 3
# A component wider than this is not something fpm's integer parser can hold.
MAX_PART_DIGITS = 9
MAX_VERSION_LENGTH = 32

_GRAMMAR = re.compile(r"^[0-9]+(\.[0-9]+){0,2}$")


class InvalidVersion(ValueError):
    """The text is not a version fpm can read."""


@total_ordering
@dataclass(frozen=True, slots=True)
class Version:
    """A normalized fpm version: always three components."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse `text` with fpm's grammar, or raise `InvalidVersion` saying why."""
        if len(text) > MAX_VERSION_LENGTH or not _GRAMMAR.fullmatch(text):
            raise InvalidVersion(
                f"`{text}` is not a valid fpm version: use 1 to 3 dot-separated "
                "non-negative integers such as `1.2.0` (no `v` prefix, no pre-release "
                "or build suffix, which fpm cannot read)"
            )
        parts = text.split(".")
        if any(len(p.lstrip("0")) > MAX_PART_DIGITS for p in parts):
            raise InvalidVersion(f"`{text}` has a component longer than {MAX_PART_DIGITS} digits")
        numbers = [int(p) for p in parts] + [0] * (MAX_VERSION_PARTS - len(parts))
        return cls(numbers[0], numbers[1], numbers[2])

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key < other.key

    @property
    def key(self) -> tuple[int, int, int]:
        """The sort key: fpm compares component by component, numerically."""
        return (self.major, self.minor, self.patch)

    @property
    def is_zero(self) -> bool:
        """Whether this is `0`/`0.0.0`, the version fpm gives a manifest without one."""
        return self.key == (0, 0, 0)


def normalize_version(text: str) -> str:
    """The stored `X.Y.Z` form of a version text."""
    return str(Version.parse(text))
