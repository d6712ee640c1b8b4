"""Moderation on `/api/v1`: deprecation, quarantine, deletion and tombstones."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from fpmreg.core.wire import WireModel, omit_empty
from fpmreg.core.wire.index import NOT_BLANK
from fpmreg.core.wire.packages import Timestamp

# A deprecation message is shown as a banner and by every client: a sentence or two.
MAX_DEPRECATION_MESSAGE_LENGTH = 1000
# A moderator's reason stays in the audit log; it is never shown publicly.
MAX_MODERATION_REASON_LENGTH = 2000
# `namespace/name`: two names of at most 64 characters each.
MAX_REPLACEMENT_LENGTH = 129
# The report categories (docs/registry-rules.md, "Reports"), shown on tombstone pages.
CATEGORIES = (
    "malware",
    "typosquatting",
    "copyright",
    "spam",
    "broken",
    "security",
    "other",
)
CATEGORY_PATTERN = "^(" + "|".join(CATEGORIES) + ")$"

Category = Annotated[
    str,
    Field(
        description="why: " + ", ".join(f"`{c}`" for c in CATEGORIES),
        json_schema_extra={"pattern": CATEGORY_PATTERN},
    ),
]


class DeprecationRequest(WireModel):
    """Why a package is deprecated and, optionally, what to use instead."""

    # Documented, not validated here: the service says what is wrong with a message.
    message: str = Field(
        max_length=MAX_DEPRECATION_MESSAGE_LENGTH, json_schema_extra={"pattern": NOT_BLANK}
    )
    replacement: str = Field(
        "",
        max_length=MAX_REPLACEMENT_LENGTH,
        description="`namespace/name` of an existing package to use instead",
    )


class DeprecationState(WireModel):
    """A package's deprecation after the request."""

    namespace: str
    name: str
    deprecated: bool
    deprecation_message: str
    replacement: str = Field(description='`namespace/name`, `""` when none was named')


class ModerationRequest(WireModel):
    """A moderation action's reason (kept in the audit log) and public category."""

    reason: str = Field(
        max_length=MAX_MODERATION_REASON_LENGTH, json_schema_extra={"pattern": NOT_BLANK}
    )
    category: Category


class ReleaseRequest(WireModel):
    """Why a quarantine ends."""

    reason: str = Field("", max_length=MAX_MODERATION_REASON_LENGTH)


class QuarantineState(WireModel):
    """A package's quarantine after the request."""

    namespace: str
    name: str
    quarantined: bool
    quarantined_at: Timestamp | None = Field(None, exclude_if=omit_empty)


class TombstoneInfo(WireModel):
    """What is left of a deleted version, or (with `version` absent) a whole package."""

    namespace: str
    name: str
    version: str = Field("", exclude_if=omit_empty, description="absent: the whole package")
    category: Category
    deleted_at: Timestamp
    name_held_until: Timestamp | None = Field(
        None, exclude_if=omit_empty, description="nobody may take the name before then"
    )
    url: str = Field(description="the tombstone page")
