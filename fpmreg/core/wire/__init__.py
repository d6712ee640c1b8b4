"""The typed wire format of the registry: one pydantic model per request and answer.

The server declares these as its response models (so `/api/openapi.json` describes
exactly what it sends) and the client parses answers with them (so a malformed answer
is a clear error, not a traceback). Pure: pydantic only, no HTTP, no database.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class WireModel(BaseModel):
    """Base of every wire model: immutable, and unknown keys are ignored, so an older
    client keeps reading the answers of a newer registry that added a field."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def omit_empty(value: object) -> bool:
    """`exclude_if` for keys the registry leaves out when they are empty."""
    return value in ("", None)


# The largest row id the registry hands out: PostgreSQL's `integer` (docs/api-design.md,
# "Limits"). Ids in paths and bodies are bounded by it, so a larger one is a 422 that
# names the field, not a database error.
MAX_ROW_ID = 2**31 - 1
