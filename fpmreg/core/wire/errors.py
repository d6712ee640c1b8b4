"""The two error envelopes: the JSON API's list of problems and fpm's `{code, message}`."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from fpmreg.core.problem import Problem, Severity
from fpmreg.core.wire import WireModel


class ApiProblem(WireModel):
    """One problem: a stable `code`, the `field` it is about ("" for none), what to fix."""

    code: str = Field(examples=["version-exists"])
    field: str = Field("", examples=["version"])
    detail: str = Field(examples=["package `demo/hello` already has a version `1.0.0`"])

    @classmethod
    def of(cls, problem: Problem) -> ApiProblem:
        """The wire form of a problem found by core or the server."""
        return cls(code=problem.code, field=problem.field, detail=problem.message)

    def problem(self, severity: Severity = Severity.ERROR) -> Problem:
        """Back to a core `Problem`, printed as `fpmreg check` prints its own."""
        return Problem(self.code, self.field, self.detail, severity)


class ErrorEnvelope(WireModel):
    """Every `/api/v1` error answer: all the problems found, not just the first."""

    errors: list[ApiProblem] = Field(min_length=1)

    @classmethod
    def of(cls, problems: Sequence[Problem]) -> ErrorEnvelope:
        """The envelope listing `problems`."""
        return cls(errors=[ApiProblem.of(p) for p in problems])


class FpmMessage(WireModel):
    """fpm's own envelope on `/packages` and `/tarballs`: `code` is the HTTP status as a
    JSON integer (fpm reads it and ignores the real status); `message` is printed as is."""

    code: int = Field(examples=[404])
    message: str = Field(examples=["package `demo/hello` not found"])
