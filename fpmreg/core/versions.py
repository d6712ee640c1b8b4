"""fpm's version grammar and ordering (fpm `src/fpm/versioning.f90`), and requirements.

A version is 1 to 3 dot-separated non-negative decimal integers. Missing trailing
components compare as zero, so `1.0 == 1.0.0`. The registry stores `X.Y.Z`.
A `Requirement` (`^1.2`, `>=1.0, <2`) is a set of versions, for `fpmreg lock`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache, total_ordering

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


# --- Requirements (issue 4, "Pinning") ------------------------------------------------
#
# fpm's `v` takes one exact version (docs/fpm-protocol.md §1.10); ranges live in the free-form
# `[extra.fpmreg.dependencies]` table. The grammar is Cargo's, with one deliberate
# difference: a version text means what fpm reads it as everywhere, missing trailing
# components being zero. So `=1.2`, `1.2`, `>1.2` and `<=1.2` compare with `1.2.0`
# (Cargo would widen them to `1.2.*`). Only `^` and `~` look at how many components
# were written, exactly as Cargo does (`^0.0` allows `0.0.x`, `^0.0.0` only `0.0.0`).

# A range is a few comparators; anything longer is a mistake, not a requirement.
MAX_REQUIREMENT_LENGTH = 200
# Comparators joined by `,` (all must hold): more than this is no longer readable.
MAX_REQUIREMENT_CLAUSES = 8

REQUIREMENT_OPERATORS = ("^", "~", "=", ">=", "<=", ">", "<")
_CLAUSE = re.compile(r"^(>=|<=|\^|~|=|>|<)?\s*([^\s]*)$")

# A bound: the version key and whether the bound itself is allowed.
_Bound = tuple[tuple[int, int, int], bool]


class InvalidRequirement(ValueError):
    """The text is not a version requirement fpmreg can read."""


def _unsupported_syntax(text: str) -> str:
    """What to write instead, when `text` uses another ecosystem's range syntax."""
    if "||" in text:
        return "alternatives (`||`) are not supported: write one range"
    if "~>" in text:
        return "write Cargo's `~1.2` instead of Ruby's `~>1.2`"
    if re.search(r"\d\s+-\s+\d", text):
        return "hyphen ranges are not supported: write `>=1.0, <2.0`"
    if re.search(r"\.\s*[*xX]", text) or text.strip() in ("x", "X"):
        return "wildcards are not supported: write `^1.2` or `~1.2` instead of `1.2.*`"
    if re.search(r"[0-9]\s+[<>=^~]", text):
        return "separate comparators with `,` as in `>=1.0, <2.0`"
    return ""


_REQUIREMENT_FORMS = (
    "use `*`, an exact version (`1.2.3` or `=1.2.3`), a caret (`^1.2`), a tilde "
    "(`~1.2.3`) or comparisons joined by `,` (`>=1.0, <2.0`)"
)


@dataclass(frozen=True, slots=True)
class Comparator:
    """One clause of a requirement: an operator and the components as written."""

    op: str  # one of REQUIREMENT_OPERATORS; an exact version is `=`
    parts: tuple[int, ...]  # 1 to 3 components, as many as were written

    def __post_init__(self) -> None:
        if self.op not in REQUIREMENT_OPERATORS:
            raise ValueError(f"`{self.op}` is not one of {', '.join(REQUIREMENT_OPERATORS)}")
        if not 1 <= len(self.parts) <= MAX_VERSION_PARTS or any(p < 0 for p in self.parts):
            raise ValueError(f"{self.parts} is not 1 to 3 non-negative version components")

    def __str__(self) -> str:
        return self.op + ".".join(str(p) for p in self.parts)

    @property
    def version(self) -> Version:
        """The written version, padded with zeros as fpm reads it."""
        full = (*self.parts, 0, 0)
        return Version(full[0], full[1], full[2])

    def bounds(self) -> tuple[_Bound | None, _Bound | None]:
        """The interval this clause allows: (lower, upper), `None` when unbounded."""
        key = self.version.key
        n = len(self.parts)
        if self.op == "=":
            return (key, True), (key, True)
        if self.op == ">=":
            return (key, True), None
        if self.op == ">":
            return (key, False), None
        if self.op == "<=":
            return None, (key, True)
        if self.op == "<":
            return None, (key, False)
        major, minor, patch = key
        if self.op == "~":
            # ~I → <I+1.0.0; ~I.J and ~I.J.K → <I.J+1.0 (Cargo).
            upper = (major + 1, 0, 0) if n == 1 else (major, minor + 1, 0)
        elif major > 0 or n == 1:
            upper = (major + 1, 0, 0)  # ^1.2.3 → <2.0.0; ^0 → <1.0.0
        elif minor > 0 or n == 2:
            upper = (0, minor + 1, 0)  # ^0.2.3 → <0.3.0; ^0.0 → <0.1.0
        else:
            upper = (0, 0, patch + 1)  # ^0.0.3 → <0.0.4
        return (key, True), (upper, False)


def _tighter_lower(a: _Bound | None, b: _Bound | None) -> _Bound | None:
    if a is None or b is None:
        return a or b
    if a[0] != b[0]:
        return a if a[0] > b[0] else b
    return (a[0], a[1] and b[1])


def _tighter_upper(a: _Bound | None, b: _Bound | None) -> _Bound | None:
    if a is None or b is None:
        return a or b
    if a[0] != b[0]:
        return a if a[0] < b[0] else b
    return (a[0], a[1] and b[1])


@dataclass(frozen=True)
class Requirement:
    """A set of versions: `*`, or comparators that must all hold (`>=1.0, <2`).

    `str()` gives the canonical form (`*`, or clauses joined by `, `, exact versions
    written `=1.2.3`), which `Requirement.parse` reads back to an equal requirement.
    """

    clauses: tuple[Comparator, ...] = ()  # empty: any version
    _lower: _Bound | None = field(init=False, repr=False, compare=False, default=None)
    _upper: _Bound | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        lower: _Bound | None = None
        upper: _Bound | None = None
        for clause in self.clauses:
            low, high = clause.bounds()
            lower, upper = _tighter_lower(lower, low), _tighter_upper(upper, high)
        object.__setattr__(self, "_lower", lower)
        object.__setattr__(self, "_upper", upper)

    @classmethod
    def parse(cls, text: str) -> Requirement:
        """Read a requirement, or raise `InvalidRequirement` saying what to write."""
        return _parse_requirement(text)

    @classmethod
    def exact(cls, version: Version) -> Requirement:
        """Exactly one version, as fpm's `v = "..."` asks."""
        return cls((Comparator("=", version.key),))

    @classmethod
    def all_of(cls, requirements: Iterable[Requirement]) -> Requirement:
        """The requirement that holds when every one of `requirements` holds."""
        return cls(tuple(c for r in requirements for c in r.clauses))

    def __str__(self) -> str:
        return ", ".join(str(c) for c in self.clauses) if self.clauses else "*"

    @property
    def is_any(self) -> bool:
        """Whether every version matches (`*`)."""
        return not self.clauses

    @property
    def exact_version(self) -> Version | None:
        """The one version allowed, when the bounds pin exactly one."""
        low, high = self._lower, self._upper
        if low and high and low[0] == high[0] and low[1] and high[1]:
            return Version(*low[0])
        return None

    def matches(self, version: Version) -> bool:
        """Whether `version` is in this requirement's set."""
        key = version.key
        low, high = self._lower, self._upper
        if low is not None and (key < low[0] or (key == low[0] and not low[1])):
            return False
        return not (high is not None and (key > high[0] or (key == high[0] and not high[1])))


@lru_cache(maxsize=4096)
def _parse_requirement(text: str) -> Requirement:
    # Cached: a resolver reads the same few requirement texts over and over, and a
    # `Requirement` is immutable.
    if not isinstance(text, str):
        raise InvalidRequirement(f"a version requirement must be a string, not `{text!r}`")
    shown = text if len(text) <= 60 else text[:57] + "..."
    if len(text) > MAX_REQUIREMENT_LENGTH:
        raise InvalidRequirement(
            f"`{shown}` is longer than {MAX_REQUIREMENT_LENGTH} characters: "
            "a requirement is a few comparators such as `>=1.0, <2.0`"
        )
    stripped = text.strip()
    if not stripped:
        raise InvalidRequirement("an empty version requirement: write `*` to accept any version")
    if stripped == "*":
        return Requirement()
    unsupported = _unsupported_syntax(stripped)
    if unsupported:
        raise InvalidRequirement(f"`{shown}` is not a valid version requirement: {unsupported}")
    pieces = [p.strip() for p in stripped.split(",")]
    if len(pieces) > MAX_REQUIREMENT_CLAUSES:
        raise InvalidRequirement(
            f"`{shown}` has {len(pieces)} comparators; at most {MAX_REQUIREMENT_CLAUSES} "
            "are allowed"
        )
    clauses = []
    for piece in pieces:
        if not piece:
            raise InvalidRequirement(
                f"`{shown}` has an empty comparator: separate comparators with one `,` "
                "as in `>=1.0, <2.0`"
            )
        if piece == "*":
            raise InvalidRequirement(
                f"`{shown}` combines `*` with other comparators: `*` stands alone"
            )
        match = _CLAUSE.fullmatch(piece)
        version_text = match.group(2) if match else ""
        try:
            Version.parse(version_text)
        except InvalidVersion:
            what = f"`{version_text}` is not an fpm version" if version_text else "no version"
            where = "" if piece in (version_text, stripped) else f" in `{piece}`"
            raise InvalidRequirement(
                f"`{shown}` is not a valid version requirement ({what}{where}): "
                + _REQUIREMENT_FORMS
            ) from None
        op = match.group(1) if match and match.group(1) else "="
        clauses.append(Comparator(op, tuple(int(p) for p in version_text.split("."))))
    return Requirement(tuple(clauses))
