"""Build verification on `/api/v1`: what the registry's own build of a version said
(docs/builds.md, "Build verification")."""

from __future__ import annotations

from pydantic import Field

from fpmreg.core.wire import WireModel, omit_empty

# The outcomes a build can end with (`fpmreg.server.builds.models.BuildOutcome`).
BUILD_OUTCOMES = ("pending", "passed", "failed", "timed-out", "not-verified")


class BuildStatus(WireModel):
    """The registry's build of one version with the real fpm and gfortran."""

    outcome: str = Field(description="`" + "`, `".join(BUILD_OUTCOMES) + "`")
    summary: str = Field(
        description="one line: `builds with fpm 0.12.0 and gfortran 12.2.0`, or what failed"
    )
    fpm_version: str = Field("", exclude_if=omit_empty)
    compiler_version: str = Field("", exclude_if=omit_empty, description="gfortran's")
    tests_run: bool = Field(False, description="whether `fpm test` ran (the package has tests)")
    dependencies_verified: bool = Field(
        True, description="false when registry dependencies could not be provided"
    )
    finished_at: str = Field(
        "", exclude_if=omit_empty, description="UTC time, `YYYY-MM-DDTHH:MM:SSZ`"
    )
    log_url: str = Field("", exclude_if=omit_empty, description="the build's log, plain text")
