"""Advisories on `/api/v1`: writing a draft, an advisory's answer, and the short form
embedded in package and version answers (docs/advisories.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from fpmreg.core.wire import WireModel, omit_empty

# A summary is one line (OSV: "a one-line, English textual summary").
MAX_SUMMARY_LENGTH = 200
# Details are Markdown prose; a few screens at most.
MAX_DETAILS_LENGTH = 20_000
# Ranges, references, aliases and credits: more than this is a mistake, not an advisory.
MAX_LIST_ITEMS = 50


class Mitigation(WireModel):
    """What to do instead: upgrade to a version, or switch to another package.

    Stored as `database_specific.mitigation` of the OSV record, with one of the keys."""

    upgrade_to: str = Field("", exclude_if=omit_empty, description="a fixing version")
    switch_to: str = Field("", exclude_if=omit_empty, description="`namespace/name`")


class Severity(WireModel):
    """A CVSS vector, as OSV's `severity` holds it."""

    type: Literal["CVSS_V3", "CVSS_V4"]
    score: str = Field(
        description="the CVSS vector string",
        examples=["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"],
        max_length=300,
    )


class Reference(WireModel):
    """An OSV reference: a link and what it is."""

    type: Literal[
        "ADVISORY",
        "ARTICLE",
        "DETECTION",
        "DISCUSSION",
        "REPORT",
        "FIX",
        "INTRODUCED",
        "GIT",
        "PACKAGE",
        "EVIDENCE",
        "WEB",
    ]
    url: str = Field(max_length=2000)


class Credit(WireModel):
    """An OSV credit: who found, reported or fixed it."""

    name: str = Field(max_length=200)
    contact: list[str] = Field(default_factory=list, max_length=10)
    type: str = Field("", exclude_if=omit_empty, description="`FINDER`, `REPORTER`, ...")


class AdvisoryWrite(WireModel):
    """A new draft, or the new content of a draft or published advisory.

    `events` is one OSV `ECOSYSTEM` range of fpm versions, e.g.
    `[{"introduced": "0"}, {"fixed": "1.2.0"}]`."""

    package: str = Field(description="`namespace/name`", max_length=130)
    summary: str = Field(min_length=1, max_length=MAX_SUMMARY_LENGTH)
    details: str = Field("", max_length=MAX_DETAILS_LENGTH)
    events: list[dict[str, str]] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    severity: list[Severity] = Field(default_factory=list, max_length=2)
    references: list[Reference] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    aliases: list[str] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    credits: list[Credit] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    mitigation: Mitigation | None = None


class SeverityScore(WireModel):
    """A CVSS vector with the base score and rating computed from it."""

    type: str
    vector: str
    score: float = Field(ge=0, le=10)
    rating: str = Field(description="`None`, `Low`, `Medium`, `High` or `Critical`")


class AdvisoryInfo(WireModel):
    """An advisory: its state, and the whole OSV record as served by `/v1/vulns/{id}`."""

    id: str
    state: Literal["draft", "published", "withdrawn"]
    package: str
    summary: str
    url: str
    scores: list[SeverityScore]
    record: dict[str, Any] = Field(description="the OSV record (ossf/osv-schema)")


class AdvisoryRef(WireModel):
    """An advisory in a package or version answer: enough to decide what to do."""

    id: str
    summary: str
    severity: list[SeverityScore]
    fixed_versions: list[str] = Field(description="`fixed` versions of its ranges, in order")
    mitigation: Mitigation | None = None
    url: str = Field(description="the advisory's page")


class WithdrawRequest(WireModel):
    """Why an advisory is withdrawn (kept in the audit log)."""

    reason: str = Field(min_length=1, max_length=2000)
