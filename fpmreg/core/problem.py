"""The one shape every validation problem takes, on the client and on the server."""

from __future__ import annotations

from dataclasses import dataclass
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
