"""What the registry attests about a release, for policies that require it
(docs/vetting.md, "Facts the registry attests")."""

from __future__ import annotations

from pydantic import Field

from fpmreg.core.wire import WireModel


class AttestedFact(WireModel):
    """One fact, by its name in a policy's `requiresFacts`, and what it means."""

    fact: str = Field(examples=["build-verified"])
    description: str


class ReleaseFacts(WireModel):
    """The facts true of one release's tarball, as the registry records them now."""

    purl: str = Field(examples=["pkg:fpm/acme/lib@1.0.0"])
    sha256: str
    facts: list[AttestedFact]
