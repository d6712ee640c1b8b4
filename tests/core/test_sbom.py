"""fpmreg.core.sbom: the three formats are deterministic, well formed, and pass the
specifications' own validators (docs/sbom.md)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fpmreg.core.sbom import FORMATS, Component, Registry, SbomInput, UnknownFormat, emit
from fpmreg.core.sbom.spdx2 import spdx_id
from tests.support.sbom_validators import PROBLEMS

CLOCK = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
REGISTRY = Registry("registry.example", "https://registry.example")
LICENSES = [
    "MIT",
    "Apache-2.0 OR MIT",
    "gpl-3.0-or-later",
    "BSD-3-Clause",
    "",
    "proprietary stuff",
    "MIT AND (",
    "LGPL-3.0-only WITH LLVM-exception",
]

names = st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True)
versions = st.tuples(*[st.integers(0, 20)] * 3).map(lambda t: ".".join(map(str, t)))


@st.composite
def sboms(draw: st.DrawFn, min_size: int = 0) -> SbomInput:
    keys = draw(st.lists(st.tuples(names, names), min_size=min_size, max_size=6, unique=True))
    all_keys = [f"{ns}/{n}" for ns, n in keys]
    components = []
    for ns, n in keys:
        components.append(
            Component(
                ns,
                n,
                draw(versions),
                draw(st.one_of(st.just(""), st.text("0123456789abcdef", min_size=64, max_size=64))),
                draw(st.sampled_from(LICENSES)),
                draw(st.one_of(st.none(), st.integers(0, 2**40))),
                draw(st.sampled_from(["", f"https://registry.example/t/{ns}/{n}.tar.gz"])),
                tuple(draw(st.lists(st.sampled_from(all_keys))) if all_keys else ()),
            )
        )
    root = Component(
        draw(names),
        "root_pkg",
        draw(versions),
        license=draw(st.sampled_from(LICENSES)),
        dependencies=tuple(all_keys[:3]),
    )
    return SbomInput(root, tuple(components), REGISTRY, "0.1.0")


def example() -> SbomInput:
    """An app on a library on a utility (and the app on the utility too)."""
    util = Component("other", "util_x", "2.0.0", "c" * 64, "not a licence", None, "", ())
    lib = Component(
        "acme",
        "lib",
        "0.3.1",
        "b" * 64,
        "Apache-2.0 OR MIT",
        3,
        "https://registry.example/lib.tar.gz",
        ("other/util_x",),
    )
    app = Component(
        "acme",
        "app",
        "1.2.0",
        "a" * 64,
        "MIT",
        5,
        "https://registry.example/app.tar.gz",
        ("acme/lib", "other/util_x"),
    )
    return SbomInput(app, (util, lib), REGISTRY, "0.1.0")


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(sboms(), st.randoms())
def test_same_input_and_clock_give_the_same_bytes_whatever_the_order(
    sbom: SbomInput, rnd: random.Random
) -> None:
    shuffled = list(sbom.components)
    rnd.shuffle(shuffled)
    again = SbomInput(sbom.root, tuple(shuffled), sbom.registry, sbom.tool_version)
    for name in FORMATS:
        assert emit(sbom, name, CLOCK) == emit(again, name, CLOCK)


@settings(max_examples=60)
@given(sboms())
def test_every_edge_points_at_a_listed_package(sbom: SbomInput) -> None:
    spdx = json.loads(emit(sbom, "spdx-2.3", CLOCK))
    ids = {p["SPDXID"] for p in spdx["packages"]}
    assert len(ids) == len(spdx["packages"]) == 1 + len(sbom.components)
    for rel in spdx["relationships"]:
        assert rel["relatedSpdxElement"] in ids
    cdx = json.loads(emit(sbom, "cyclonedx-1.6", CLOCK))
    refs = {c["bom-ref"] for c in cdx["components"]} | {cdx["metadata"]["component"]["bom-ref"]}
    assert len(refs) == 1 + len(sbom.components)
    for dep in cdx["dependencies"]:
        assert dep["ref"] in refs and set(dep["dependsOn"]) <= refs
    graph = json.loads(emit(sbom, "spdx-3.0", CLOCK))["@graph"]
    element_ids = {e["spdxId"] for e in graph if "spdxId" in e}
    for rel in (e for e in graph if e["type"] == "Relationship"):
        assert rel["from"] in element_ids and set(rel["to"]) <= element_ids


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sboms(min_size=1))
def test_random_sboms_pass_every_validator(sbom: SbomInput) -> None:
    for name, problems in PROBLEMS.items():
        assert problems(emit(sbom, name, CLOCK)) == [], name


def test_the_example_is_valid_and_says_what_it_knows() -> None:
    sbom = example()
    for name, problems in PROBLEMS.items():
        assert problems(emit(sbom, name, CLOCK)) == [], name
    spdx = json.loads(emit(sbom, "spdx-2.3", CLOCK))
    app, lib, util = spdx["packages"]
    assert app["externalRefs"][0]["referenceLocator"] == "pkg:fpm/acme/app@1.2.0"
    assert app["externalRefs"][1]["referenceLocator"].endswith("/api/v1/log/entries/5")
    assert lib["licenseDeclared"] == "Apache-2.0 OR MIT"
    assert util["licenseDeclared"] == "NOASSERTION" and util["downloadLocation"] == "NOASSERTION"
    assert spdx["creationInfo"] == {
        "created": "2026-03-04T05:06:07Z",
        "creators": [
            "Organization: registry.example (https://registry.example)",
            "Tool: fpmreg-0.1.0",
        ],
    }
    depends = {
        (r["spdxElementId"], r["relatedSpdxElement"])
        for r in spdx["relationships"]
        if r["relationshipType"] == "DEPENDS_ON"
    }
    ids = {p["name"]: p["SPDXID"] for p in spdx["packages"]}
    assert depends == {
        (ids["acme/app"], ids["acme/lib"]),
        (ids["acme/app"], ids["other/util_x"]),
        (ids["acme/lib"], ids["other/util_x"]),
    }
    cdx = json.loads(emit(sbom, "cyclonedx-1.6", CLOCK))
    by_ref = {c["bom-ref"]: c for c in cdx["components"]}
    assert by_ref["pkg:fpm/other/util_x@2.0.0"]["licenses"] == [
        {"license": {"name": "not a licence"}}
    ]
    assert by_ref["pkg:fpm/acme/lib@0.3.1"]["properties"] == [
        {"name": "fpmreg:log-index", "value": "3"}
    ]
    assert cdx["serialNumber"].startswith("urn:uuid:")


def test_a_package_without_dependencies_is_valid_but_not_ntia_conformant_in_spdx_3() -> None:
    # The NTIA checker wants one `dependsOn` in SPDX 3, whose `to` must not be empty
    # (docs/sbom.md, "Validation"); SPDX 2.3's DESCRIBES is enough for it.
    alone = SbomInput(Component("acme", "alone", "1.0.0", license="MIT"), (), REGISTRY, "0.1.0")
    assert PROBLEMS["spdx-2.3"](emit(alone, "spdx-2.3", CLOCK)) == []
    assert PROBLEMS["cyclonedx-1.6"](emit(alone, "cyclonedx-1.6", CLOCK)) == []
    problems = PROBLEMS["spdx-3.0"](emit(alone, "spdx-3.0", CLOCK))
    assert len(problems) == 1 and '"dependencies": false' in problems[0]


def test_another_clock_names_another_document() -> None:
    later = CLOCK + timedelta(seconds=1)
    for name in FORMATS:
        assert emit(example(), name, CLOCK) != emit(example(), name, later)
    one, two = (json.loads(emit(example(), "cyclonedx-1.6", t)) for t in (CLOCK, later))
    assert one["serialNumber"] != two["serialNumber"]


def test_an_spdx_id_has_only_the_allowed_characters() -> None:
    sid = spdx_id(Component("my_ns", "a_b", "1.0.0"))
    assert sid.startswith("SPDXRef-Package-my-ns-a-b-1.0.0-")
    assert spdx_id(Component("a", "b_c", "1.0.0")) != spdx_id(Component("a", "b-c", "1.0.0"))


def test_an_unknown_format_lists_the_formats() -> None:
    with pytest.raises(UnknownFormat, match=r"`spdx-2\.3`, `spdx-3\.0`, `cyclonedx-1\.6`"):
        emit(example(), "swid", CLOCK)


def _break_spdx2(doc: dict) -> None:
    doc["packages"][1]["SPDXID"] = "SPDXRef-not_allowed!"


def _break_spdx2_purl(doc: dict) -> None:
    doc["packages"][0]["externalRefs"][0]["referenceLocator"] = "fpm/acme/app 1.2.0"


def _break_spdx3(doc: dict) -> None:
    package = next(e for e in doc["@graph"] if e["type"] == "software_Package")
    del package["creationInfo"]


def _break_spdx3_link(doc: dict) -> None:
    package = next(e for e in doc["@graph"] if e["type"] == "software_Package")
    package["suppliedBy"] = "https://nowhere.example/#no-such-agent"


def _break_cyclonedx(doc: dict) -> None:
    del doc["components"][0]["name"]


def _break_cyclonedx_hash(doc: dict) -> None:
    doc["components"][0]["hashes"][0]["content"] = "not hex"


@pytest.mark.parametrize(
    ("name", "breaks"),
    [
        ("spdx-2.3", _break_spdx2),
        ("spdx-2.3", _break_spdx2_purl),
        ("spdx-3.0", _break_spdx3),
        ("spdx-3.0", _break_spdx3_link),
        ("cyclonedx-1.6", _break_cyclonedx),
        ("cyclonedx-1.6", _break_cyclonedx_hash),
    ],
)
def test_the_validators_refuse_a_broken_document(name: str, breaks: object) -> None:
    document = json.loads(emit(example(), name, CLOCK))
    breaks(document)  # type: ignore[operator]
    assert PROBLEMS[name](json.dumps(document).encode()) != []
