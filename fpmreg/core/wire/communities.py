"""Communities on `/api/v1`: packaging communities, their members, and the criteria,
auditor guidance and policies they publish (docs/communities.md)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from fpmreg.core.wire import WireModel, omit_empty

# Bounds of what a community publishes (docs/communities.md, "Limits"): enough for a
# paragraph of description and a guidance document of several pages, small enough to
# sign into the log and to serve from memory.
MAX_TITLE_LENGTH = 100
MAX_SUMMARY_LENGTH = 1000
MAX_DESCRIPTION_LENGTH = 2000
MAX_GUIDANCE_LENGTH = 64 * 1024
MAX_IMPLIES = 20
ROLES = ("founder", "reviewer", "member")
KINDS = ("criteria", "guidance", "policies")
SLUG_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"
# A vetting quorum beyond this is more reviewers than a community keeps busy.
MAX_REVIEWS_NEEDED = 5


def _no_items(value: object) -> bool:
    return value == []


class CommunityRequest(WireModel):
    """A new community; whoever creates it is its first founder."""

    name: str = Field(
        max_length=63,
        pattern=SLUG_PATTERN,
        description="lower-case letters, digits and `-`, starting with a letter",
    )
    title: str = Field(min_length=1, max_length=MAX_TITLE_LENGTH)
    summary: str = Field("", max_length=MAX_SUMMARY_LENGTH)
    reviews_needed: int = Field(
        1, ge=1, le=MAX_REVIEWS_NEEDED,
        description="how many distinct reviewers must accept an audit before it counts",
    )  # fmt: skip


class RulesRequest(WireModel):
    """How the community vets audits (docs/communities.md, "Vetting")."""

    reviews_needed: int = Field(
        ge=1, le=MAX_REVIEWS_NEEDED,
        description="how many distinct reviewers must accept an audit before it counts",
    )  # fmt: skip


class MemberRequest(WireModel):
    """Add a registry user to a community, or change their role."""

    username: str = Field(max_length=63)
    role: str = Field(
        description="`founder` (manages members and documents), `reviewer` (vets audits) "
        "or `member`",
        json_schema_extra={"enum": list(ROLES)},
    )


class CriterionRequest(WireModel):
    """A criterion: what an audit claims. Its URI is the registry's, from its slug."""

    description: str = Field(max_length=MAX_DESCRIPTION_LENGTH)
    implies: list[str] = Field(
        default_factory=list,
        max_length=MAX_IMPLIES,
        description="URIs of criteria that whoever certifies this one also certifies",
    )


class GuidanceRequest(WireModel):
    """A guidance document for auditors, in Markdown."""

    title: str = Field(min_length=1, max_length=MAX_TITLE_LENGTH)
    text: str = Field(min_length=1, max_length=MAX_GUIDANCE_LENGTH)


class PolicyRequest(WireModel):
    """A policy (docs/vetting.md, "Policies") without `id` and `community`: the registry
    sets both from where it is published."""

    policy: dict[str, Any] = Field(description="`requires`, `acceptFrom`, `quorum`, …")


class Document(WireModel):
    """One version of a criterion, guidance document or policy, as published."""

    kind: str = Field(json_schema_extra={"enum": list(KINDS)})
    slug: str
    uri: str = Field(description="the document's identifier (versions share it)")
    version: int = Field(description="1 for the first, one more for each change")
    sha256: str = Field(description="sha256 of the JCS canonical form of `body`")
    log_index: int | None = Field(None, exclude_if=omit_empty)
    published_at: str = Field(description="UTC time, `YYYY-MM-DDTHH:MM:SSZ`")
    body: dict[str, Any] = Field(description="the document the log entry signs by digest")


class Member(WireModel):
    """A member of a community and their role."""

    username: str
    role: str
    since: str


class Community(WireModel):
    """A community with its members and the latest version of each document."""

    name: str
    uri: str
    title: str
    summary: str = Field("", exclude_if=omit_empty)
    created_at: str
    reviews_needed: int = Field(1, description="distinct reviewers who must accept an audit")
    members: list[Member]
    criteria: list[Document]
    guidance: list[Document]
    policies: list[Document]


class DocumentVersions(WireModel):
    """Every version of one document, oldest first."""

    versions: list[Document]


class CommunityList(WireModel):
    """The communities hosted here, by name."""

    communities: list[Community]


LEVELS = ("none", "low", "medium", "high")
AUDIT_STATUSES = ("submitted", "accepted", "rejected", "revoked")


class AuditRequest(WireModel):
    """An audit to submit (docs/communities.md, "Audits"): the registry binds it to the
    tarballs' sha256 and writes the signed document (docs/vetting.md, "Audits")."""

    package: str = Field(max_length=128, description="`namespace/name`")
    version: str = Field(
        max_length=32, description="the release reviewed (for a delta: the new one)"
    )
    delta_from: str = Field(
        "", max_length=32, description="for a delta audit, the release the diff starts at"
    )
    verdict: str = Field("certify", json_schema_extra={"enum": ["certify", "violation"]})
    violation_range: str = Field(
        "", max_length=100, description="for a violation: the versions that fail, e.g. `<1.2`"
    )
    criteria: list[str] = Field(
        min_length=1, max_length=MAX_IMPLIES, description="slugs of the community's criteria"
    )
    thoroughness: str = Field("medium", json_schema_extra={"enum": list(LEVELS)})
    understanding: str = Field("medium", json_schema_extra={"enum": list(LEVELS)})
    notes: str = Field("", max_length=10_000)


class AuditDecision(WireModel):
    """A reviewer's decision on a submitted audit, or a revocation's reason."""

    accept: bool = Field(True, description="false: rejected")
    reason: str = Field("", max_length=MAX_SUMMARY_LENGTH, description="required to reject")


class AuditRecord(WireModel):
    """An audit with its state."""

    id: int
    uri: str
    community: str
    auditor: str = Field(description="the auditor's username, or actor URI if remote")
    remote_auditor: str = Field(
        "", exclude_if=omit_empty, description="the actor of an auditor on another registry"
    )
    status: str = Field(json_schema_extra={"enum": list(AUDIT_STATUSES)})
    reason: str = Field("", exclude_if=omit_empty)
    sha256: str = Field(description="sha256 of the JCS canonical form of `body`")
    submitted_at: str
    decided_at: str = Field("", exclude_if=omit_empty)
    log_index: int | None = Field(None, exclude_if=omit_empty)
    approvals: list[str] = Field(
        default_factory=list, exclude_if=_no_items,
        description="the reviewers who accepted it so far, while the quorum is not reached",
    )  # fmt: skip
    body: dict[str, Any]


class AuditList(WireModel):
    """Audits of a community, newest first."""

    audits: list[AuditRecord]


SUBMISSION_STATUSES = ("pending", "accepted", "rejected", "revoked")


class SubmissionRequest(AuditRequest):
    """An audit for a community on another registry (docs/communities.md, "Audits from
    other registries"): this registry binds it to its tarballs' sha256 and sends it as an
    ActivityPub `Offer` signed for the user's actor."""

    community: str = Field(
        max_length=512, pattern=r"^https?://[^\s]+$",
        description="the community's URI (its Group actor)",
    )  # fmt: skip
    criteria: list[str] = Field(
        min_length=1, max_length=MAX_IMPLIES,
        description="slugs of the community's criteria, or their URIs",
    )  # fmt: skip


class SubmissionRecord(WireModel):
    """An audit offered to a remote community, and its answer."""

    id: int
    community: str
    offer_id: str
    status: str = Field(json_schema_extra={"enum": list(SUBMISSION_STATUSES)})
    reason: str = Field("", exclude_if=omit_empty, description="why it was rejected or revoked")
    result: str = Field("", exclude_if=omit_empty, description="the accepted audit's URI")
    submitted_at: str
    decided_at: str = Field("", exclude_if=omit_empty)
    body: dict[str, Any]


class SubmissionList(WireModel):
    """The caller's submissions, newest first."""

    submissions: list[SubmissionRecord]


VERDICT_RESULTS = ("PASSED", "FAILED")


class VerdictInput(WireModel):
    """An audit a verdict rests on, by its URI and the sha256 of its document."""

    uri: str
    sha256: str


class VerdictRecord(WireModel):
    """A signed verdict on one release against one version of a community's policy
    (docs/communities.md, "Verdicts")."""

    id: int
    uri: str = Field(description="where the verdict document is served")
    community: str
    policy: str = Field(description="the policy's URI (all versions)")
    policy_version: int
    policy_uri: str = Field(description="the version evaluated: `…/versions/{n}`")
    package: str = Field(description="`namespace/name`")
    version: str
    sha256: str = Field(description="the release's tarball")
    result: str = Field(json_schema_extra={"enum": list(VERDICT_RESULTS)})
    inputs: list[VerdictInput]
    verified_at: str
    document_sha256: str = Field(description="sha256 of the verdict document's bytes")
    log_index: int | None = Field(None, exclude_if=omit_empty)


class VerdictList(WireModel):
    """Verdicts: the current one per policy and release, or a community's history."""

    verdicts: list[VerdictRecord]


IMPORT_STATUSES = ("pending", "imported", "failed")


class ImportedCommunityRecord(WireModel):
    """A community on another registry that a policy of this community accepts, and its
    last evidence import (docs/communities.md, "Remote acceptFrom communities")."""

    community: str = Field(description="the remote community's URI")
    status: str = Field(json_schema_extra={"enum": list(IMPORT_STATUSES)})
    error: str = Field("", exclude_if=omit_empty, description="why the last import failed")
    checked_at: str = Field("", exclude_if=omit_empty, description="the last attempt, UTC")
    imported_at: str = Field("", exclude_if=omit_empty, description="the last import kept")
    criteria: int = Field(0, description="criteria imported and verified")
    audits: int = Field(0, description="accepted audits imported and verified")


class ImportedCommunityList(WireModel):
    """The remote communities a community's policies accept, by URI."""

    imports: list[ImportedCommunityRecord]
