"""The JSON documents `fpmreg` prints with `--format json`, for scripts (docs/cli.md).

Each is one document on stdout; notes for people go to stderr. Fields are only ever
added, so a script written for one version keeps reading the next.
"""

from __future__ import annotations

from pydantic import Field

from fpmreg.core.wire import WireModel


class CheckProblem(WireModel):
    """One finding of `fpmreg check`."""

    code: str
    field: str = ""
    message: str
    severity: str = Field(examples=["error", "warning"])


class CheckReport(WireModel):
    """`fpmreg check --format json`: which package, whether it may be published, and
    every finding (exit 1 when `ok` is false)."""

    package: str = Field("", description="the manifest's name; empty when unreadable")
    version: str = ""
    origin: str = Field(description="the folder and commit, or the tarball, checked")
    ok: bool
    errors: int
    warnings: int
    problems: list[CheckProblem] = Field(default_factory=list)
