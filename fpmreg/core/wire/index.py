"""The resolver index (`/api/v1/index/…`) and yanking, as `fpmreg lock` and `yank` use them."""

from __future__ import annotations

from pydantic import Field

from fpmreg.core.wire import WireModel, omit_empty
from fpmreg.core.wire.packages import Dependency, Sha256

# A reason is shown to every user of the version; keep it a sentence or two.
MAX_YANK_REASON_LENGTH = 1000
# Some character that is not white space, neither to JavaScript's `\s` nor to Python's
# `str.isspace` (which adds `\x1c`-`\x1f` and `\x85`).
NOT_BLANK = r"[^\s\x1c-\x1f\x85]"


class IndexEntry(WireModel):
    """One version as the resolver sees it; yanked ones are listed and flagged."""

    version: str
    sha256: Sha256
    yanked: bool
    dependencies: list[Dependency]
    ranges: dict[str, str] = Field(description="dependency name → requirement")
    download_url: str


class IndexTombstone(WireModel):
    """A deleted version: never installable again (`fpmreg sync` refuses a lock naming it)."""

    version: str
    category: str
    deleted_at: str = Field(description="UTC time, `YYYY-MM-DDTHH:MM:SSZ`")
    url: str = Field(description="the tombstone page")


class IndexDocument(WireModel):
    """Every version of one package, cacheable with its `ETag`; deleted versions are
    listed in `tombstones`, and a deprecation is carried along so clients warn."""

    namespace: str
    name: str
    versions: list[IndexEntry]
    tombstones: list[IndexTombstone] = Field(default_factory=list)
    deprecated: bool = False
    deprecation_message: str = Field("", exclude_if=omit_empty)
    replacement: str = Field("", exclude_if=omit_empty, description="`namespace/name`")


class YankRequest(WireModel):
    """Why a version is yanked; shown to its users."""

    # Documented, not validated here: the yank service refuses a blank reason itself,
    # with a message saying what to write (`yank-reason-missing`).
    reason: str = Field(max_length=MAX_YANK_REASON_LENGTH, json_schema_extra={"pattern": NOT_BLANK})


class YankState(WireModel):
    """A version's yank state after the request."""

    namespace: str
    name: str
    version: str
    yanked: bool
    yank_reason: str
