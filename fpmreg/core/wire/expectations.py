"""Expectations on `/api/v1`: what a package's owners declare about its maintenance and
security reports (docs/expectations.md)."""

from __future__ import annotations

from pydantic import Field

from fpmreg.core.expectations import (
    MAX_CONTACT_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_SUPPORTED_LENGTH,
    RESPONSES,
    STATUSES,
)
from fpmreg.core.wire import WireModel, omit_empty

_STATUS_HELP = "the maintenance status: " + ", ".join(f"`{s}`" for s in STATUSES)
_RESPONSE_HELP = "whether security reports get a response: " + ", ".join(
    f"`{r}`" for r in RESPONSES
)


class ExpectationsRequest(WireModel):
    """What the owners declare. The registry checks the values and says which is wrong
    (422 naming the field)."""

    status: str = Field(
        max_length=32, description=_STATUS_HELP, json_schema_extra={"enum": list(STATUSES)}
    )
    response: str = Field(
        max_length=16, description=_RESPONSE_HELP, json_schema_extra={"enum": list(RESPONSES)}
    )
    contact: str = Field(
        "",
        max_length=MAX_CONTACT_LENGTH,
        description="where to report security issues: an email address or an `https://` "
        "URL; required unless `response` is `no`",
    )
    supported: str = Field(
        "",
        max_length=MAX_SUPPORTED_LENGTH,
        description="the versions that get security fixes, a version requirement "
        '(`>=2.0`, `^1.4`); `""`: not said',
    )
    note: str = Field("", max_length=MAX_NOTE_LENGTH, description="anything else, in a sentence")


class Expectations(WireModel):
    """A package's declared expectations."""

    status: str = Field(description=_STATUS_HELP)
    status_label: str = Field(description="the status in words, as pages show it")
    response: str = Field(description=_RESPONSE_HELP)
    contact: str = Field("", exclude_if=omit_empty)
    supported: str = Field("", exclude_if=omit_empty, description="canonical requirement")
    note: str = Field("", exclude_if=omit_empty)
    updated_at: str = Field(description="UTC time, `YYYY-MM-DDTHH:MM:SSZ`")


class ExpectationsState(WireModel):
    """A package's expectations; `expectations` is absent when its owners declared none."""

    namespace: str
    name: str
    expectations: Expectations | None = Field(None, exclude_if=omit_empty)
