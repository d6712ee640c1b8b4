"""The one shape every validation problem takes, on the client and on the server."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Severity(StrEnum):
    """How much a problem matters: errors block a publish, warnings only inform."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a package, a manifest or a request.

    `code` is stable (clients match on it), `field` names what it is about
    (`version`, `fpm.toml`, `tarball`...), `message` tells a person what to fix.
    """

    code: str
    field: str
    message: str
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        """Whether this problem blocks a publish."""
        return self.severity is Severity.ERROR


class ProblemsError(Exception):
    """Raised when a validation found at least one blocking problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


def errors_of(problems: list[Problem]) -> list[Problem]:
    """The blocking problems of a list, in order."""
    return [p for p in problems if p.is_error]


# Problems reported per code. The first few show what to fix; a package with 100,000
# misnamed modules must not make a 10 MB answer, so the rest are counted in one more
# problem of the same code.
MAX_PROBLEMS_PER_CODE = 10
# Characters of one message. Names quoted in it (a member path, a manifest key) can be
# long; the start and the end of the message are kept.
MAX_MESSAGE_CHARS = 1_000
_ELLIPSIS = " … "


def _shortened(problem: Problem) -> Problem:
    message = problem.message
    if len(message) <= MAX_MESSAGE_CHARS:
        return problem
    tail = MAX_MESSAGE_CHARS // 4
    head = MAX_MESSAGE_CHARS - tail - len(_ELLIPSIS)
    return replace(problem, message=message[:head] + _ELLIPSIS + message[-tail:])


def bounded(problems: list[Problem]) -> list[Problem]:
    """`problems` with at most `MAX_PROBLEMS_PER_CODE` of each code, then one saying how
    many more of that code there are, every message at most `MAX_MESSAGE_CHARS` long.

    Apply it once to a whole list (a second pass would count the summaries)."""
    kept: list[Problem] = []
    seen: dict[str, int] = {}
    dropped: dict[str, tuple[Problem, int]] = {}
    for problem in problems:
        count = seen[problem.code] = seen.get(problem.code, 0) + 1
        if count <= MAX_PROBLEMS_PER_CODE:
            kept.append(_shortened(problem))
        else:
            first, more = dropped.get(problem.code, (problem, 0))
            dropped[problem.code] = (first, more + 1)
    for code, (first, more) in dropped.items():
        message = (
            f"and {more:,} more `{code}` problems like the {MAX_PROBLEMS_PER_CODE} above: "
            "fix those, then check again to see the rest"
        )
        kept.append(replace(first, message=message))
    return kept
