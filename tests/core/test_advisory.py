"""OSV range logic in fpm's version order (`fpmreg.core.advisory`)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fpmreg.core.advisory import fixed_versions, is_affected, mitigation, smallest_fix
from fpmreg.core.versions import Version

parts = st.integers(min_value=0, max_value=30)
versions = st.builds(Version, parts, parts, parts)


def record(*events: dict[str, str], package: str = "acme/lib", **extra: Any) -> dict[str, Any]:
    """An OSV record with one ECOSYSTEM range of `events` on `package`."""
    return {
        "id": "FPMREG-2026-0001",
        "modified": "2026-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "fpm", "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": list(events)}],
            }
        ],
        **extra,
    }


def test_versions_before_the_fix_are_affected_and_the_fix_is_not() -> None:
    rec = record({"introduced": "0"}, {"fixed": "1.2.0"})
    assert is_affected(rec, "1.0.0")
    assert is_affected(rec, "1.1.9")
    assert not is_affected(rec, "1.2.0")
    assert not is_affected(rec, "2.0")


def test_fpm_order_is_numeric_and_short_versions_pad_with_zero() -> None:
    rec = record({"introduced": "1.2"}, {"fixed": "1.10"})
    assert is_affected(rec, "1.9.0")  # 1.9 < 1.10 numerically, not as text
    assert is_affected(rec, "1.2")
    assert not is_affected(rec, "1.10.0")
    assert not is_affected(rec, "1.1.99")


def test_last_affected_includes_itself() -> None:
    rec = record({"introduced": "1.0.0"}, {"last_affected": "1.3.0"})
    assert is_affected(rec, "1.3.0")
    assert not is_affected(rec, "1.3.1")


def test_a_range_can_reopen_after_a_fix() -> None:
    rec = record(
        {"introduced": "1.0.0"}, {"fixed": "1.1.0"}, {"introduced": "2.0.0"}, {"fixed": "2.0.3"}
    )
    assert [v for v in ("1.0.5", "1.5.0", "2.0.1", "2.0.3") if is_affected(rec, v)] == [
        "1.0.5",
        "2.0.1",
    ]


def test_withdrawn_records_affect_nothing() -> None:
    rec = record({"introduced": "0"}, withdrawn="2026-02-01T00:00:00Z")
    assert not is_affected(rec, "1.0.0")


def test_explicit_versions_list_counts() -> None:
    rec = record()
    rec["affected"][0]["versions"] = ["0.9.0"]
    assert is_affected(rec, "0.9.0")
    assert not is_affected(rec, "0.9.1")


def test_package_filter_only_reads_that_package() -> None:
    rec = record({"introduced": "0"}, package="acme/lib")
    assert is_affected(rec, "1.0.0", package="acme/lib")
    assert not is_affected(rec, "1.0.0", package="acme/other")


def test_fixed_versions_are_sorted_in_fpm_order() -> None:
    rec = record({"introduced": "0"}, {"fixed": "1.10.0"}, {"introduced": "2"}, {"fixed": "1.9"})
    assert fixed_versions(rec) == ["1.9", "1.10.0"]


def test_smallest_fix_skips_versions_that_are_still_affected() -> None:
    rec = record(
        {"introduced": "0"}, {"fixed": "1.1.0"}, {"introduced": "1.2.0"}, {"fixed": "1.3.0"}
    )
    available = ["1.0.0", "1.2.0", "1.2.5", "1.3.0", "1.1.0"]
    assert smallest_fix(rec, "1.0.0", available) == "1.1.0"
    assert smallest_fix(rec, "1.2.0", available) == "1.3.0"
    assert smallest_fix(rec, "1.3.0", available) is None  # not affected
    assert smallest_fix(rec, "1.2.5", ["1.2.6"]) is None  # nothing clean available


def test_pypi_records_use_pep440_order() -> None:
    rec = {
        "id": "PYSEC-2020-1",
        "modified": "2020-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "jinja2"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.11.3"}]}
                ],
            }
        ],
    }
    assert is_affected(rec, "2.11.2", package="jinja2")
    assert is_affected(rec, "2.11.3rc1", package="jinja2")
    assert not is_affected(rec, "2.11.3", package="jinja2")
    assert not is_affected(rec, "3.0.0", package="jinja2")


def test_mitigation_reads_only_the_documented_keys() -> None:
    assert mitigation({"database_specific": {"mitigation": {"upgrade_to": "1.2.0"}}}) == {
        "upgrade_to": "1.2.0"
    }
    assert mitigation({"database_specific": {"mitigation": {"other": "x"}}}) is None
    assert mitigation({}) is None


@given(versions, versions, versions)
def test_one_introduced_fixed_range_is_the_half_open_interval(
    low: Version, high: Version, probe: Version
) -> None:
    low, high = sorted((low, high))  # an inverted range reopens after its fix
    rec = record({"introduced": str(low)}, {"fixed": str(high)})
    assert is_affected(rec, str(probe)) == (low <= probe < high)


@given(versions, versions, versions)
def test_last_affected_range_is_the_closed_interval(
    low: Version, high: Version, probe: Version
) -> None:
    low, high = sorted((low, high))
    rec = record({"introduced": str(low)}, {"last_affected": str(high)})
    assert is_affected(rec, str(probe)) == (low <= probe <= high)


@given(versions, st.lists(versions, max_size=8), versions)
def test_smallest_fix_is_clean_above_and_minimal(
    fix: Version, available: list[Version], current: Version
) -> None:
    rec = record({"introduced": "0"}, {"fixed": str(fix)})
    texts = [str(v) for v in available]
    found = smallest_fix(rec, str(current), texts)
    if current >= fix:
        assert found is None
        return
    clean = sorted(v for v in available if v > current and v >= fix)
    assert found == (str(clean[0]) if clean else None)


@given(st.lists(versions, min_size=1, max_size=6))
def test_event_order_in_the_record_does_not_matter(bounds: list[Version]) -> None:
    ordered = sorted(bounds)
    events = [{"introduced": str(ordered[0])}, {"fixed": str(ordered[-1])}]
    probe = str(ordered[len(ordered) // 2])
    assert is_affected(record(*events), probe) == is_affected(record(*reversed(events)), probe)
