"""Where a registry's log has the records of some package URLs: `POST /api/v1/log/lookup`
in requests of up to 1000 package URLs (docs/transparency-log.md, "Serving the log").

`fpmreg lock` records each release record's index in `fpm.lock` (`log-index`,
docs/locking.md); `fpmreg verify` looks up only the packages locked without one. The
answer is checked by hand rather than with the pydantic wire model, so `fpmreg verify`
starts without importing pydantic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

# The most package URLs one lookup may ask about (fpmreg.core.wire.log.LogLookup).
MAX_LOOKUP_SUBJECTS = 1000
LOOKUP_PATH = "/api/v1/log/lookup"


class LogLookupFailed(Exception):
    """The lookup could not be made, or its answer is not one."""


@dataclass
class Found:
    """Per package URL: the indexes of all its records, and of its newest release record
    when the registry says which that is."""

    entries: dict[str, list[int]] = field(default_factory=dict)
    releases: dict[str, int] = field(default_factory=dict)


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _read(answer: Any, found: Found) -> None:
    if not isinstance(answer, dict) or not isinstance(answer.get("entries"), dict):
        raise LogLookupFailed("the answer has no `entries` object")
    for subject, indexes in answer["entries"].items():
        if not isinstance(indexes, list) or not all(_is_index(i) for i in indexes):
            raise LogLookupFailed(f"the indexes of `{subject}` are not a list of log indexes")
        found.entries[subject] = indexes
    releases = answer.get("releases", {})
    if not isinstance(releases, dict) or not all(_is_index(i) for i in releases.values()):
        raise LogLookupFailed("`releases` is not an object of log indexes")
    found.releases.update(releases)


def look_up(client: httpx.Client, url: str, subjects: Iterable[str]) -> Found | None:
    """What the log of the registry at `url` has about `subjects`; None when the registry
    has no log (it answers the lookup 404). `LogLookupFailed` for any other failure."""
    found = Found()
    wanted = sorted(set(subjects))
    for start in range(0, len(wanted), MAX_LOOKUP_SUBJECTS):
        chunk = wanted[start : start + MAX_LOOKUP_SUBJECTS]
        try:
            answer = client.post(f"{url}{LOOKUP_PATH}", json={"subjects": chunk})
        except httpx.HTTPError as exc:
            raise LogLookupFailed(f"cannot read `{url}{LOOKUP_PATH}`: {exc}") from None
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise LogLookupFailed(f"`{url}{LOOKUP_PATH}` answered {answer.status_code}")
        try:
            _read(answer.json(), found)
        except ValueError:
            raise LogLookupFailed(f"`{url}{LOOKUP_PATH}` did not answer JSON") from None
    return found
