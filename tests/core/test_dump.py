"""The dump's line builder: one JSON object a line, every package once, and the same
bytes for the same facts whatever order they come in (docs/dumps.md)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from fpmreg.core import dump

BASE = "https://registry.example.org"
DAY = date(2026, 12, 1)
names = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,12}", fullmatch=True)
text = st.text(max_size=30)  # any Unicode, controls and line separators included
times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
releases = st.builds(
    dump.ReleaseFacts,
    version=st.tuples(*[st.integers(0, 20)] * 3).map(lambda t: ".".join(map(str, t))),
    published=times,
    sha256=st.text("0123456789abcdef", min_size=64, max_size=64),
    size=st.integers(1, 10**9),
    license=text,
    yanked=st.booleans(),
    yank_reason=text,
    log_index=st.none() | st.integers(0, 10**6),
    dependencies=st.lists(
        st.fixed_dictionaries({"name": names, "namespace": names, "kind": st.just("registry")}),
        max_size=3,
    ).map(tuple),
)
packages = st.builds(
    dump.PackageFacts,
    namespace=names,
    name=names,
    description=text,
    license=text,
    homepage=text,
    repository=text,
    created=times,
    updated=times,
    keywords=st.lists(text, max_size=3).map(tuple),
    maintainers=st.lists(names, max_size=3).map(tuple),
    deprecated=st.booleans(),
    deprecation_message=text,
    replacement=text,
    releases=st.lists(releases, max_size=4, unique_by=lambda r: r.version).map(tuple),
)
registries = st.lists(packages, max_size=6, unique_by=lambda p: (p.namespace, p.name))


@given(registries, st.randoms())
def test_every_line_is_one_json_object_and_the_order_of_facts_does_not_matter(
    facts: list[dump.PackageFacts], rng: object
) -> None:
    data = dump.gzipped(dump.dump_lines(BASE, DAY, facts))
    shuffled = list(facts)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert dump.gzipped(dump.dump_lines(BASE, DAY, shuffled)) == data
    body = gzip.decompress(data).decode()
    assert body.endswith("\n")
    lines = body.split("\n")[:-1]
    assert len(lines) == 1 + len(facts)  # a `\n` inside a field is escaped
    header, *objects = [json.loads(line) for line in lines]
    assert header["license"] == dump.LICENSE and header["packages"] == len(facts)
    assert header["generated"] == DAY.isoformat()
    assert sorted((o["namespace"], o["name"]) for o in objects) == sorted(
        (p.namespace, p.name) for p in facts
    )
    for facts_of, line in zip(
        sorted(facts, key=lambda p: (p.namespace.lower(), p.name.lower(), p.namespace, p.name)),
        objects,
        strict=True,
    ):
        assert (line["namespace"], line["name"]) == (facts_of.namespace, facts_of.name)
        assert line["description"] == facts_of.description  # non-ASCII kept as it is
        assert len(line["releases"]) == len(facts_of.releases)
        assert line["purl"] == f"pkg:fpm/{facts_of.namespace}/{facts_of.name}"
        assert (line["deprecated"] is not None) == facts_of.deprecated
        assert all(r["yankReason"] == "" for r in line["releases"] if not r["yanked"])


@given(releases, releases)
def test_releases_are_ordered_by_version(a: dump.ReleaseFacts, b: dump.ReleaseFacts) -> None:
    from dataclasses import replace

    ordered = [replace(r, sort_key=tuple(int(p) for p in r.version.split("."))) for r in (a, b)]
    facts = dump.PackageFacts("ns", "x", "", "", "", "", DAY_TIME, DAY_TIME,
                              releases=tuple(ordered))  # fmt: skip
    shown = [r["version"] for r in dump.package_object(BASE, facts)["releases"]]
    keys = sorted(ordered, key=lambda r: (r.sort_key, r.version))
    assert shown == [r.version for r in keys]


DAY_TIME = datetime(2026, 12, 1, tzinfo=UTC)


@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_a_file_name_gives_its_date_back(day: date) -> None:
    assert dump.date_of(dump.file_name(day)) == day


@given(st.text(max_size=40))
def test_anything_but_a_dump_name_has_no_date(name: str) -> None:
    if dump.date_of(name) is not None:
        assert name == dump.file_name(dump.date_of(name))  # type: ignore[arg-type]


def test_names_that_look_close_are_refused() -> None:
    close = ("fpmreg-2026-02-30.jsonl.gz", "../fpmreg-2026-12-01.jsonl.gz",
             "fpmreg-2026-12-01.jsonl.gz/", "fpmreg-2026-12-1.jsonl.gz", "index.json")  # fmt: skip
    for name in close:
        assert dump.date_of(name) is None


entries = st.lists(
    st.builds(
        dump.DumpEntry,
        day=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
        size=st.integers(0, 10**9),
        sha256=st.text("0123456789abcdef", min_size=64, max_size=64),
        packages=st.integers(0, 10**6),
    ),
    max_size=30,
)


@given(entries, st.integers(1, 20))
def test_retention_keeps_the_newest_dates_and_drops_the_rest(
    found: list[dump.DumpEntry], keep: int
) -> None:
    kept, dropped = dump.retain(found, keep)
    days = sorted({e.day for e in found}, reverse=True)
    assert [e.day for e in kept] == days[:keep]
    assert sorted(e.day for e in dropped) == sorted(days[keep:])


@given(entries)
def test_the_index_round_trips(found: list[dump.DumpEntry]) -> None:
    kept, _ = dump.retain(found, 100)
    data = dump.line(dump.index_document(BASE, kept)).encode()
    assert dump.parse_index(data) == kept
    assert json.loads(data)["license"] == "CC0-1.0"


def test_the_gzip_header_holds_no_time_and_no_name() -> None:
    data = dump.gzipped(["{}\n"])
    assert data[4:8] == b"\0\0\0\0"  # MTIME
    assert data[3] & 0x08 == 0  # no FNAME
