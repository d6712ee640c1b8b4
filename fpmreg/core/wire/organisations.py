"""Organisations, their endorsements, trust statements in a community, and reviewer
profiles on `/api/v1` (docs/organisations.md)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from fpmreg.core.wire import WireModel, omit_empty
from fpmreg.core.wire.communities import MAX_SUMMARY_LENGTH, MAX_TITLE_LENGTH, SLUG_PATTERN

ORG_ROLES = ("admin", "member")
ENDORSEMENT_KINDS = ("community", "auditor", "policy")
TRUST_LEVELS = ("distrust", "none", "low", "medium", "high")
MAX_URI_LENGTH = 512


class OrganisationRequest(WireModel):
    """A new organisation; whoever creates it is its first admin."""

    name: str = Field(
        max_length=63,
        pattern=SLUG_PATTERN,
        description="lower-case letters, digits and `-`, starting with a letter",
    )
    title: str = Field(min_length=1, max_length=MAX_TITLE_LENGTH)
    summary: str = Field("", max_length=MAX_SUMMARY_LENGTH)


class OrgMemberRequest(WireModel):
    """Add a registry user to an organisation, or change their role."""

    username: str = Field(max_length=63)
    role: str = Field(
        description="`admin` (manages members and endorsements) or `member`",
        json_schema_extra={"enum": list(ORG_ROLES)},
    )


class OrgMember(WireModel):
    """A member of an organisation and their role."""

    username: str
    role: str
    since: str


class EndorsementRequest(WireModel):
    """An endorsement of a community, an auditor or a policy, by its URI."""

    subject: str = Field(max_length=MAX_URI_LENGTH, description="the URI endorsed")
    kind: str = Field(json_schema_extra={"enum": list(ENDORSEMENT_KINDS)})
    reason: str = Field("", max_length=MAX_SUMMARY_LENGTH)


class RevokeRequest(WireModel):
    """Why an endorsement is withdrawn (public: the tombstone says it)."""

    reason: str = Field(max_length=MAX_SUMMARY_LENGTH)


class EndorsementRecord(WireModel):
    """An endorsement with its state; a revoked one keeps its document and says why."""

    id: int
    uri: str
    organisation: str
    kind: str
    subject: str
    sha256: str = Field(description="sha256 of the JCS canonical form of `body`")
    log_index: int | None = Field(None, exclude_if=omit_empty)
    created_at: str
    revoked_at: str = Field("", exclude_if=omit_empty)
    revoke_reason: str = Field("", exclude_if=omit_empty)
    body: dict[str, Any]


class Organisation(WireModel):
    """An organisation with its members and endorsements."""

    name: str
    uri: str
    title: str
    summary: str = Field("", exclude_if=omit_empty)
    created_at: str
    members: list[OrgMember]
    endorsements: list[EndorsementRecord]


class OrganisationList(WireModel):
    """The organisations hosted here, by name."""

    organisations: list[Organisation]


class TrustRequest(WireModel):
    """A member's trust in another actor, within the community (or only `scope`)."""

    trustee: str = Field(max_length=MAX_URI_LENGTH, description="a username or an actor URI")
    level: str = Field(json_schema_extra={"enum": list(TRUST_LEVELS)})
    scope: str = Field("", max_length=MAX_URI_LENGTH, description="a criterion URI, or empty")
    reason: str = Field("", max_length=MAX_SUMMARY_LENGTH)


class TrustRecord(WireModel):
    """A trust statement as stated and logged."""

    uri: str
    truster: str
    trustee: str
    level: str
    scope: str = Field("", exclude_if=omit_empty)
    reason: str = Field("", exclude_if=omit_empty)
    sha256: str
    log_index: int | None = Field(None, exclude_if=omit_empty)
    stated_at: str


class AcceptedActor(WireModel):
    """An actor the community's trust metric accepts, with its distance from the
    founders and its capacity (how many it may vouch for, itself included)."""

    actor: str
    distance: int
    capacity: int


class TrustList(WireModel):
    """The statements that count (the last per pair and scope), and who is accepted."""

    statements: list[TrustRecord]
    accepted: list[AcceptedActor]


class TrackRecordWire(WireModel):
    """A reviewer's audits in one community as its reviewers decided them."""

    accepted: int
    rejected: int
    contradicted: int
    score: float = Field(description="lower bound of the 95% Wilson interval, in [0, 1)")


class ReviewerProfile(WireModel):
    """A reviewer in one community: track record, trust received, organisations."""

    username: str
    actor: str
    community: str
    role: str = Field("", exclude_if=omit_empty)
    track_record: TrackRecordWire
    distance: int | None = Field(None, exclude_if=omit_empty)
    trusted_by: list[TrustRecord]
    organisations: list[str] = Field(description="URIs of the organisations they belong to")
    endorsed_by: list[str] = Field(description="URIs of the organisations endorsing them")
