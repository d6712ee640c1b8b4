"""The automatic quarantine rule (docs/registry-rules.md, "Reports"), as properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from fpmreg.core.quarantine_rule import (
    NEW_PACKAGE_WINDOW,
    TRUSTED_REPORTS_NEEDED,
    MalwareReport,
    decide,
    trusted_reporters,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
reports = st.lists(
    st.builds(MalwareReport, st.one_of(st.none(), st.integers(1, 6)), st.booleans()), max_size=8
)
ages = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))
old_ages = st.timedeltas(min_value=NEW_PACKAGE_WINDOW, max_value=timedelta(days=400))
young_ages = st.timedeltas(
    min_value=timedelta(0), max_value=NEW_PACKAGE_WINDOW - timedelta(seconds=1)
)


@given(reports, ages)
def test_verdict_is_exactly_the_rule(found: list[MalwareReport], age: timedelta) -> None:
    verdict = decide(found, NOW - age, NOW)
    corroborated = len(trusted_reporters(found)) >= TRUSTED_REPORTS_NEEDED
    young = bool(found) and age < NEW_PACKAGE_WINDOW
    assert verdict.quarantine == (corroborated or young)
    assert verdict.why.startswith("automatic quarantine") == verdict.quarantine


@given(reports, ages)
def test_no_report_never_quarantines_and_order_does_not_matter(
    found: list[MalwareReport], age: timedelta
) -> None:
    assert not decide([], NOW - age, NOW).quarantine
    assert decide(found, NOW - age, NOW) == decide(list(reversed(found)), NOW - age, NOW)


@given(st.integers(1, 10), st.integers(1, 6), old_ages)
def test_one_trusted_reporter_reporting_many_times_is_not_corroboration(
    reporter: int, times: int, age: timedelta
) -> None:
    found = [MalwareReport(reporter, True)] * times
    assert not decide(found, NOW - age, NOW).quarantine


@given(st.lists(st.integers(1, 50), min_size=2, unique=True), old_ages)
def test_two_distinct_trusted_reporters_quarantine_an_old_package(
    reporters: list[int], age: timedelta
) -> None:
    found = [MalwareReport(r, True) for r in reporters]
    verdict = decide(found, NOW - age, NOW)
    assert verdict.quarantine and "trusted reporters" in verdict.why


@given(st.one_of(st.none(), st.integers(1, 50)), st.booleans(), young_ages)
def test_any_report_on_a_young_package_quarantines(
    reporter: int | None, trusted: bool, age: timedelta
) -> None:
    verdict = decide([MalwareReport(reporter, trusted)], NOW - age, NOW)
    assert verdict.quarantine and "24 hours" in verdict.why


@given(st.lists(st.integers(1, 50), unique=True), old_ages)
def test_untrusted_reports_alone_never_quarantine_an_old_package(
    reporters: list[int], age: timedelta
) -> None:
    found = [MalwareReport(r, False) for r in reporters]
    assert not decide(found, NOW - age, NOW).quarantine


def test_the_window_edge() -> None:
    one = [MalwareReport(1, False)]
    assert decide(one, NOW - timedelta(hours=23, minutes=59), NOW).quarantine
    assert not decide(one, NOW - NEW_PACKAGE_WINDOW, NOW).quarantine
    assert not decide(one, NOW - timedelta(hours=24, minutes=1), NOW).quarantine
