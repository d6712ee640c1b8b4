"""The owners' delete rule (crates.io's): fresh, or unused and rarely downloaded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from fpmreg.core.delete_rule import (
    OWNER_DELETE_MAX_DOWNLOADS,
    OWNER_DELETE_WINDOW,
    may_owner_delete,
)

PUBLISHED = datetime(2026, 1, 1, tzinfo=UTC)
ages = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650))
counts = st.integers(min_value=0, max_value=10**9)


@given(
    age=st.timedeltas(min_value=timedelta(0), max_value=OWNER_DELETE_WINDOW),
    dependents=counts,
    downloads=counts,
)
def test_within_the_window_owners_may_always_delete(
    age: timedelta, dependents: int, downloads: int
) -> None:
    verdict = may_owner_delete(
        PUBLISHED, PUBLISHED + age, dependents=dependents, downloads=downloads
    )
    assert verdict.allowed


@given(age=ages, dependents=counts, downloads=counts)
def test_after_the_window_only_unused_and_rarely_downloaded_versions(
    age: timedelta, dependents: int, downloads: int
) -> None:
    late = OWNER_DELETE_WINDOW + timedelta(seconds=1) + age
    verdict = may_owner_delete(
        PUBLISHED, PUBLISHED + late, dependents=dependents, downloads=downloads
    )
    assert verdict.allowed == (dependents == 0 and downloads < OWNER_DELETE_MAX_DOWNLOADS)
    if not verdict.allowed:
        assert "yank it instead" in verdict.reason


@given(age=ages, dependents=counts, downloads=counts, more=st.integers(0, 10**6))
def test_more_downloads_or_dependents_never_make_a_refusal_allowed(
    age: timedelta, dependents: int, downloads: int, more: int
) -> None:
    now = PUBLISHED + age
    before = may_owner_delete(PUBLISHED, now, dependents=dependents, downloads=downloads)
    after = may_owner_delete(
        PUBLISHED, now, dependents=dependents + more, downloads=downloads + more
    )
    assert before.allowed or not after.allowed
