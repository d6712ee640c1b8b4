"""`fpmreg lock`'s resolver: fpm's graph, exact pins and ranges, yanks, locks, conflicts."""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fpmreg.core.lockfile import Lock, LockedPackage, dumps, loads
from fpmreg.core.manifest import Dependency, DependencyKind, Manifest, parse_manifest
from fpmreg.core.problem import Severity
from fpmreg.core.resolve import (
    IndexVersion,
    MemoryIndex,
    Resolution,
    ResolutionError,
    resolve,
)
from fpmreg.core.versions import Requirement, Version

REGISTRY = "https://registry.example.org"


# --- factories --------------------------------------------------------------------------


def sha(ns: str, name: str, version: str) -> str:
    return hashlib.sha256(f"{ns}/{name}@{version}".encode()).hexdigest()


def dep(
    name: str,
    ns: str = "ns",
    v: str = "",
    *,
    scope: str = "dependencies",
    kind: str = "registry",
    requirement: str = "",
) -> dict[str, str]:
    """A dependency as the registry stores it."""
    out = {"name": name, "kind": kind, "scope": scope}
    if kind == "registry":
        out["namespace"] = ns
    if v:
        out["version"] = v
    if requirement:
        out["requirement"] = requirement
    return out


def publish(
    index: MemoryIndex,
    name: str,
    version: str,
    *deps: dict[str, str],
    ns: str = "ns",
    yanked: bool = False,
    ranges: Mapping[str, str] | None = None,
) -> None:
    index.add(
        ns,
        name,
        IndexVersion(version, sha(ns, name, version), yanked, list(deps), dict(ranges or {})),
    )


def app(text: str = "", name: str = "app") -> Manifest:
    parsed = parse_manifest(f'name = "{name}"\nversion = "0.1.0"\n{text}')
    assert parsed.manifest is not None, parsed.problems
    return parsed.manifest


def versions(resolution: Resolution) -> dict[str, str]:
    return {p.key: str(p.version) for p in resolution.packages}


def lock_of(*entries: tuple[str, str], ns: str = "ns") -> Lock:
    return Lock(
        tuple(
            LockedPackage(ns, name, version, sha(ns, name, version), REGISTRY)
            for name, version in entries
        )
    )


def codes(resolution: Resolution) -> list[str]:
    return [p.code for p in resolution.problems]


# --- the basics -------------------------------------------------------------------------


def test_plain_fpm_manifest_gets_the_newest_versions() -> None:
    index = MemoryIndex()
    for version in ("0.9.0", "0.10.0", "1.0.0"):
        publish(index, "json", version)
    result = resolve(app('[dependencies]\njson.namespace = "ns"\n'), index)
    assert versions(result) == {"ns/json": "1.0.0"}
    assert result.packages[0].sha256 == sha("ns", "json", "1.0.0")
    assert result.problems == ()


def test_exact_v_pin_is_honoured_with_fpm_normalization() -> None:
    index = MemoryIndex()
    for version in ("1.0.0", "1.2.0", "2.0.0"):
        publish(index, "json", version)
    manifest = app('[dependencies]\njson = { namespace = "ns", v = "1.2" }\n')
    assert versions(resolve(manifest, index)) == {"ns/json": "1.2.0"}


def test_range_from_extra_table_picks_the_newest_inside_it() -> None:
    index = MemoryIndex()
    for version in ("1.1.0", "1.2.0", "1.9.3", "2.0.0"):
        publish(index, "json", version)
    manifest = app(
        '[dependencies]\njson.namespace = "ns"\n[extra.fpmreg.dependencies]\njson = "^1.2"\n'
    )
    assert versions(resolve(manifest, index)) == {"ns/json": "1.9.3"}


def test_transitive_dependencies_are_followed_with_their_pins_and_ranges() -> None:
    index = MemoryIndex()
    publish(index, "toml", "1.0.0", dep("json"), ranges={"json": "~1.2"})
    publish(index, "toml", "1.1.0", dep("json", v="1.2.1"), dep("util"))
    for version in ("1.2.0", "1.2.1", "1.3.0"):
        publish(index, "json", version)
    publish(index, "util", "0.1.0")
    result = resolve(app('[dependencies]\ntoml.namespace = "ns"\n'), index)
    assert versions(result) == {"ns/toml": "1.1.0", "ns/json": "1.2.1", "ns/util": "0.1.0"}
    assert result.get("toml") is not None
    assert result.get("toml").dependencies == ("ns/json", "ns/util")  # type: ignore[union-attr]


def test_requirement_stored_in_the_dependency_record_is_honoured() -> None:
    # The server stores `[extra.fpmreg.dependencies]` ranges in each dependency record.
    index = MemoryIndex()
    publish(index, "toml", "1.0.0", dep("json", requirement="<1.3"))
    for version in ("1.2.0", "1.3.0"):
        publish(index, "json", version)
    result = resolve(app('[dependencies]\ntoml.namespace = "ns"\n'), index)
    assert versions(result)["ns/json"] == "1.2.0"


def test_root_dev_and_target_dependencies_are_resolved() -> None:
    index = MemoryIndex()
    for name in ("lib", "test-drive", "cli", "plot"):
        publish(index, name, "1.0.0")
    manifest = app(
        """
[dependencies]
lib.namespace = "ns"
[dev-dependencies]
test-drive.namespace = "ns"
[[executable]]
name = "tool"
[executable.dependencies]
cli.namespace = "ns"
[[example]]
name = "demo"
[example.dependencies]
plot.namespace = "ns"
"""
    )
    assert set(versions(resolve(manifest, index))) == {
        "ns/lib",
        "ns/test-drive",
        "ns/cli",
        "ns/plot",
    }


def test_dev_and_target_dependencies_of_dependencies_are_not_followed() -> None:
    # fpm: `resolve_dependency` adds a dependency's package with `main = .false.`, and
    # `add_project_dependencies` reads dev and target dependencies only when `main`.
    index = MemoryIndex()
    publish(
        index,
        "lib",
        "1.0.0",
        dep("core"),
        dep("test-drive", scope="dev-dependencies"),
        dep("cli", scope="executable:tool"),
        dep("checker", scope="test:check"),
        dep("plot", scope="example:demo"),
    )
    publish(index, "core", "1.0.0")
    # Unpublished: following any of them would fail the resolution.
    result = resolve(app('[dependencies]\nlib.namespace = "ns"\n'), index)
    assert versions(result) == {"ns/lib": "1.0.0", "ns/core": "1.0.0"}
    assert result.get("lib").dependencies == ("ns/core",)  # type: ignore[union-attr]


def test_git_and_path_dependencies_are_reported_and_metapackages_ignored() -> None:
    index = MemoryIndex()
    publish(index, "lib", "1.0.0", dep("fetched", kind="git"), dep("openmp", kind="metapackage"))
    manifest = app(
        """
[dependencies]
openmp = "*"
lib.namespace = "ns"
local = { path = "../local" }
[dev-dependencies]
remote = { git = "https://example.org/remote.git" }
"""
    )
    result = resolve(manifest, index)
    assert versions(result) == {"ns/lib": "1.0.0"}
    messages = [p.message for p in result.problems]
    assert all(p.code == "dependency-not-locked" for p in result.problems)
    assert all(p.severity is Severity.WARNING for p in result.problems)
    assert messages == [
        "`local` (in [dependencies]) comes from path: fpm fetches it itself, and fpm.lock "
        "cannot pin or verify it; publish it to the registry to lock it",
        "`remote` (in [dev-dependencies]) comes from git: fpm fetches it itself, and "
        "fpm.lock cannot pin or verify it; publish it to the registry to lock it",
        "`ns/lib` 1.0.0 needs `fetched` (git), which fpm fetches itself and fpm.lock "
        "cannot pin or verify",
    ]


def test_registry_request_for_a_name_the_root_takes_from_git_is_not_resolved() -> None:
    index = MemoryIndex()
    publish(index, "lib", "1.0.0", dep("json"))  # ns/json is not even published
    manifest = app(
        '[dependencies]\nlib.namespace = "ns"\njson = { git = "https://example.org/j.git" }\n'
    )
    result = resolve(manifest, index)
    assert versions(result) == {"ns/lib": "1.0.0"}
    assert "dependency-shadowed" in codes(result)


def test_backtracks_when_the_newest_version_forces_an_impossible_dependency() -> None:
    index = MemoryIndex()
    publish(index, "a", "1.0.0", dep("b", v="1.0.0"))
    publish(index, "a", "2.0.0", dep("b", v="2.0.0"))  # b 2.0.0 does not exist
    publish(index, "a", "3.0.0", dep("c"))
    publish(index, "c", "1.0.0", dep("b"), ranges={"b": ">=5"})
    publish(index, "b", "1.0.0")
    result = resolve(app('[dependencies]\na.namespace = "ns"\n'), index)
    assert versions(result) == {"ns/a": "1.0.0", "ns/b": "1.0.0"}


def test_backtracks_across_packages_to_find_the_combination() -> None:
    # Newest x needs y 2, which needs a z 2 nobody published: x must go back to 1.
    index = MemoryIndex()
    publish(index, "w", "1.0.0")
    publish(index, "w", "2.0.0")
    publish(index, "x", "1.0.0", dep("y"), ranges={"y": "^1"})
    publish(index, "x", "2.0.0", dep("y"), ranges={"y": "^2"})
    publish(index, "y", "1.0.0")
    publish(index, "y", "2.0.0", dep("z"), ranges={"z": "^2"})
    publish(index, "z", "1.0.0")
    manifest = app('[dependencies]\nw.namespace = "ns"\nx.namespace = "ns"\n')
    assert versions(resolve(manifest, index)) == {
        "ns/w": "2.0.0",
        "ns/x": "1.0.0",
        "ns/y": "1.0.0",
    }


def test_first_decided_package_gets_its_newest_version() -> None:
    # x 2 with y 1, or x 1 with y 2: direct dependencies are decided by name.
    index = MemoryIndex()
    publish(index, "x", "1.0.0")
    publish(index, "x", "2.0.0", dep("y"), ranges={"y": "^1"})
    publish(index, "y", "1.0.0")
    publish(index, "y", "2.0.0", dep("x"), ranges={"x": "^1"})
    manifest = app('[dependencies]\ny.namespace = "ns"\nx.namespace = "ns"\n')
    assert versions(resolve(manifest, index)) == {"ns/x": "2.0.0", "ns/y": "1.0.0"}


def test_package_that_needs_itself_elsewhere_cannot_be_used() -> None:
    index = MemoryIndex()
    publish(index, "a", "1.0.0", dep("a"))  # fits itself: fine
    publish(index, "a", "2.0.0", dep("a", ns="alt"))
    result = resolve(app('[dependencies]\na.namespace = "ns"\n'), index)
    assert versions(result) == {"ns/a": "1.0.0"}
    assert result.packages[0].dependencies == ()


def test_dependency_cycle_resolves() -> None:
    index = MemoryIndex()
    publish(index, "a", "1.0.0", dep("b"))
    publish(index, "b", "1.0.0", dep("a"))
    result = resolve(app('[dependencies]\na.namespace = "ns"\n'), index)
    assert versions(result) == {"ns/a": "1.0.0", "ns/b": "1.0.0"}


# --- conflicts ----------------------------------------------------------------------


def test_conflict_names_both_requirements_and_who_asked() -> None:
    index = MemoryIndex()
    for version in ("1.3.0", "2.0.0"):
        publish(index, "json", version)
    publish(index, "toml", "1.4.0", dep("json", v="1.3.0"))
    manifest = app(
        """
[dependencies]
json.namespace = "ns"
toml.namespace = "ns"
[extra.fpmreg.dependencies]
json = "^2.0"
"""
    )
    with pytest.raises(ResolutionError) as info:
        resolve(manifest, index)
    assert str(info.value) == (
        "`app` needs `ns/json` `^2.0`, but `ns/toml` 1.4.0 (needed by `app`) needs "
        "`ns/json` `=1.3.0`"
    )


def test_conflict_deep_in_the_graph_shows_the_chain_from_the_root() -> None:
    index = MemoryIndex()
    publish(index, "a", "1.0.0", dep("b"))
    publish(index, "b", "1.0.0", dep("c"), ranges={"c": ">=2"})
    publish(index, "c", "1.0.0")
    publish(index, "c", "3.0.0", dep("d"), ranges={"d": "^1"})
    publish(index, "d", "2.0.0")
    with pytest.raises(ResolutionError) as info:
        resolve(app('[dependencies]\na.namespace = "ns"\n'), index)
    assert str(info.value) == (
        "`ns/c` 3.0.0 (needed by `app` → `ns/a` 1.0.0 → `ns/b` 1.0.0) needs `ns/d` `^1`, "
        "but no version matches (available: 2.0.0)"
    )


def test_conflict_between_two_dependencies_of_dependencies() -> None:
    index = MemoryIndex()
    publish(index, "left", "1.0.0", dep("json", v="1.0.0"))
    publish(index, "right", "1.0.0", dep("json"), ranges={"json": ">=2"})
    for version in ("1.0.0", "2.0.0"):
        publish(index, "json", version)
    manifest = app('[dependencies]\nleft.namespace = "ns"\nright.namespace = "ns"\n')
    with pytest.raises(ResolutionError) as info:
        resolve(manifest, index)
    assert str(info.value) == (
        "`ns/left` 1.0.0 (needed by `app`) needs `ns/json` `=1.0.0`, but `ns/right` 1.0.0 "
        "(needed by `app`) needs `ns/json` `>=2`"
    )


def test_name_in_two_namespaces_is_a_clear_conflict() -> None:
    index = MemoryIndex()
    publish(index, "json", "1.0.0", ns="alice")
    publish(index, "json", "1.0.0", ns="bob")
    publish(index, "toml", "1.0.0", dep("json", ns="bob"))
    manifest = app('[dependencies]\njson.namespace = "alice"\ntoml.namespace = "ns"\n')
    with pytest.raises(ResolutionError) as info:
        resolve(manifest, index)
    assert str(info.value) == (
        "`app` needs `alice/json`, but `ns/toml` 1.0.0 (needed by `app`) needs `bob/json`: "
        "fpm builds one package per name, so both cannot be used"
    )


def test_namespace_clash_is_avoided_by_an_older_version_when_one_exists() -> None:
    index = MemoryIndex()
    publish(index, "json", "1.0.0", ns="alice")
    publish(index, "json", "1.0.0", ns="bob")
    publish(index, "toml", "1.0.0", dep("json", ns="alice"))
    publish(index, "toml", "2.0.0", dep("json", ns="bob"))
    manifest = app('[dependencies]\njson.namespace = "alice"\ntoml.namespace = "ns"\n')
    assert versions(resolve(manifest, index)) == {"alice/json": "1.0.0", "ns/toml": "1.0.0"}


def test_dependency_with_the_root_projects_name_is_a_conflict() -> None:
    index = MemoryIndex()
    publish(index, "lib", "1.0.0", dep("app"))
    publish(index, "app", "1.0.0")
    with pytest.raises(ResolutionError, match="`app` is the project being locked"):
        resolve(app('[dependencies]\nlib.namespace = "ns"\n'), index)


def test_unknown_package_is_named() -> None:
    with pytest.raises(ResolutionError) as info:
        resolve(app('[dependencies]\njsno.namespace = "ns"\n'), MemoryIndex())
    assert str(info.value) == "`app` needs `ns/jsno`, which is not in the registry"


def test_pin_to_a_missing_version_lists_what_exists() -> None:
    index = MemoryIndex()
    for version in ("1.0.0", "1.1.0"):
        publish(index, "json", version)
    manifest = app('[dependencies]\njson = { namespace = "ns", v = "1.2.0" }\n')
    with pytest.raises(ResolutionError) as info:
        resolve(manifest, index)
    assert str(info.value) == (
        "`app` needs `ns/json` `=1.2.0`, but no version matches (available: 1.1.0, 1.0.0)"
    )


def test_dev_dependency_conflict_says_which_table() -> None:
    index = MemoryIndex()
    publish(index, "json", "1.0.0")
    manifest = app('[dev-dependencies]\njson = { namespace = "ns", v = "2.0" }\n')
    with pytest.raises(ResolutionError, match=r"`app` \(in \[dev-dependencies\]\) needs"):
        resolve(manifest, index)


def test_unreadable_root_range_is_an_error_naming_the_entry() -> None:
    index = MemoryIndex()
    publish(index, "json", "1.0.0")
    manifest = app(
        '[dependencies]\njson.namespace = "ns"\n[extra.fpmreg.dependencies]\njson = "^1.x"\n'
    )
    with pytest.raises(ResolutionError, match=r"\[extra.fpmreg.dependencies\] `json`: `\^1.x`"):
        resolve(manifest, index)


def test_version_with_unreadable_metadata_is_skipped() -> None:
    index = MemoryIndex()
    publish(index, "lib", "1.0.0")
    publish(index, "lib", "2.0.0", dep("json"), ranges={"json": "1.*"})
    result = resolve(app('[dependencies]\nlib.namespace = "ns"\n'), index)
    assert versions(result) == {"ns/lib": "1.0.0"}


def test_mutually_exclusive_versions_explain_the_clash() -> None:
    index = MemoryIndex()
    publish(index, "a", "1.0.0", dep("b", v="2.0.0"))
    publish(index, "a", "2.0.0", dep("b", v="1.0.0"))
    publish(index, "b", "1.0.0", dep("a", v="1.0.0"))
    publish(index, "b", "2.0.0", dep("a", v="2.0.0"))
    manifest = app('[dependencies]\na.namespace = "ns"\nb.namespace = "ns"\n')
    with pytest.raises(ResolutionError) as info:
        resolve(manifest, index)
    assert str(info.value) == (
        "`ns/b` 1.0.0 (needed by `app`) needs `ns/a` `=1.0.0`, which rules out `ns/a` 2.0.0\n"
        "also: `ns/b` 2.0.0 (needed by `app`) needs `ns/a` `=2.0.0`, which rules out "
        "`ns/a` 1.0.0"
    )


def test_unrelated_choices_are_not_retried_when_one_package_cannot_fit() -> None:
    # Chronological backtracking would try 20^12 combinations of the `fill` packages.
    index = MemoryIndex()
    lines = ["[dependencies]", 'zz.namespace = "ns"']
    for i in range(12):
        for minor in range(20):
            publish(index, f"fill{i:02d}", f"1.{minor}.0")
        lines.append(f'fill{i:02d}.namespace = "ns"')
    for minor in range(20):
        publish(index, "zz", f"1.{minor}.0", dep("missing"), ranges={"missing": "^5"})
    publish(index, "missing", "1.0.0")
    with pytest.raises(
        ResolutionError, match="`ns/missing` `\\^5`, but no version matches"
    ) as info:
        resolve(app("\n".join(lines) + "\n"), index)
    # Each `fill` package is decided once and `zz`'s 20 versions are each tried once:
    # the `fill` choices are never revisited (their time is measured by `make bench`).
    assert info.value.attempts <= 12 + 20


# --- yanked versions --------------------------------------------------------------------


def test_yanked_version_is_not_newly_chosen() -> None:
    index = MemoryIndex()
    publish(index, "json", "1.0.0")
    publish(index, "json", "1.1.0", yanked=True)
    result = resolve(app('[dependencies]\njson.namespace = "ns"\n'), index)
    assert versions(result) == {"ns/json": "1.0.0"}


def test_pin_to_a_yanked_version_says_it_is_yanked() -> None:
    index = MemoryIndex()
    publish(index, "json", "1.0.0")
    publish(index, "json", "1.1.0", yanked=True)
    manifest = app('[dependencies]\njson = { namespace = "ns", v = "1.1.0" }\n')
    with pytest.raises(ResolutionError) as info:
        resolve(manifest, index)
    assert str(info.value) == (
        "`app` needs `ns/json` `=1.1.0`, but the versions that match are yanked (1.1.0)"
    )


def test_locked_yanked_version_is_kept_with_a_warning() -> None:
    index = MemoryIndex()
    publish(index, "json", "1.0.0")
    publish(index, "json", "1.1.0", yanked=True)
    manifest = app('[dependencies]\njson.namespace = "ns"\n')
    result = resolve(manifest, index, lock_of(("json", "1.1.0")))
    assert versions(result) == {"ns/json": "1.1.0"}
    assert result.packages[0].yanked
    assert codes(result) == ["yanked-locked"]
    assert "fpmreg lock --update json" in result.problems[0].message


def test_updating_moves_off_a_yanked_locked_version() -> None:
    index = MemoryIndex()
    publish(index, "json", "1.0.0")
    publish(index, "json", "1.1.0", yanked=True)
    manifest = app('[dependencies]\njson.namespace = "ns"\n')
    result = resolve(manifest, index, lock_of(("json", "1.1.0")), update={"json"})
    assert versions(result) == {"ns/json": "1.0.0"}


# --- locks and updates ----------------------------------------------------------------


def lock_registry() -> tuple[MemoryIndex, Manifest]:
    index = MemoryIndex()
    publish(index, "x", "1.0.0", dep("y"), ranges={"y": "^1"})
    publish(index, "x", "1.1.0", dep("y"), ranges={"y": "^1"})
    publish(index, "x", "2.0.0", dep("y"), ranges={"y": "^2"})
    publish(index, "y", "1.0.0")
    publish(index, "y", "1.5.0")
    publish(index, "y", "2.0.0")
    publish(index, "z", "1.0.0")
    publish(index, "z", "1.1.0")
    manifest = app('[dependencies]\nx.namespace = "ns"\nz.namespace = "ns"\n')
    return index, manifest


OLD_LOCK = lock_of(("x", "1.0.0"), ("y", "1.0.0"), ("z", "1.0.0"))


def test_locked_versions_are_kept() -> None:
    index, manifest = lock_registry()
    result = resolve(manifest, index, OLD_LOCK)
    assert versions(result) == {"ns/x": "1.0.0", "ns/y": "1.0.0", "ns/z": "1.0.0"}
    assert resolve(manifest, index, OLD_LOCK, update=set()) == result


def test_update_moves_only_the_named_package() -> None:
    index, manifest = lock_registry()
    result = resolve(manifest, index, OLD_LOCK, update={"z"})
    assert versions(result) == {"ns/x": "1.0.0", "ns/y": "1.0.0", "ns/z": "1.1.0"}


def test_update_moves_what_must_move_with_it() -> None:
    index, manifest = lock_registry()
    result = resolve(manifest, index, OLD_LOCK, update={"x"})
    assert versions(result) == {"ns/x": "2.0.0", "ns/y": "2.0.0", "ns/z": "1.0.0"}


def test_update_stops_at_the_newest_version_that_still_fits() -> None:
    index, _ = lock_registry()
    manifest = app('[dependencies]\nx.namespace = "ns"\ny = { namespace = "ns", v = "1.0.0" }\n')
    result = resolve(manifest, index, OLD_LOCK, update={"x"})
    assert versions(result) == {"ns/x": "1.1.0", "ns/y": "1.0.0"}


def test_no_lock_moves_everything() -> None:
    index, manifest = lock_registry()
    assert versions(resolve(manifest, index)) == {
        "ns/x": "2.0.0",
        "ns/y": "2.0.0",
        "ns/z": "1.1.0",
    }


def test_locked_version_that_no_longer_fits_the_manifest_moves() -> None:
    index, _ = lock_registry()
    manifest = app(
        """
[dependencies]
x.namespace = "ns"
z.namespace = "ns"
[extra.fpmreg.dependencies]
z = ">=1.1"
"""
    )
    result = resolve(manifest, index, OLD_LOCK)
    assert versions(result) == {"ns/x": "1.0.0", "ns/y": "1.0.0", "ns/z": "1.1.0"}


def test_unknown_update_name_is_reported() -> None:
    index, manifest = lock_registry()
    result = resolve(manifest, index, OLD_LOCK, update={"nope"})
    assert codes(result) == ["update-unknown"]


def test_locked_version_gone_from_the_registry_is_reported() -> None:
    index, manifest = lock_registry()
    result = resolve(manifest, index, lock_of(("z", "0.9.0")))
    assert "locked-version-missing" in codes(result)
    assert versions(result)["ns/z"] == "1.1.0"


def test_changed_checksum_of_a_locked_version_is_an_error() -> None:
    index, manifest = lock_registry()
    tampered = Lock((LockedPackage("ns", "z", "1.0.0", "0" * 64, REGISTRY),))
    result = resolve(manifest, index, tampered)
    [problem] = [p for p in result.problems if p.code == "checksum-mismatch"]
    assert problem.severity is Severity.ERROR
    assert "fpm.lock recorded " + "0" * 64 in problem.message


def test_resolution_written_as_a_lock_and_read_back_resolves_to_itself() -> None:
    index, manifest = lock_registry()
    first = resolve(manifest, index)
    lock = loads(dumps(first.to_lock(REGISTRY, manifest)))
    assert {p.key: p.version for p in lock.packages} == versions(first)
    assert lock.get("x").dependencies == ("ns/y",)  # type: ignore[union-attr]
    publish(index, "z", "1.2.0")  # something new appears; the lock keeps z where it was
    assert resolve(manifest, index, lock) == first


# --- properties -------------------------------------------------------------------------

NAMES = ["a", "b", "c", "d"]
VERSION_TEXTS = ["1.0.0", "1.1.0", "2.0.0"]
REQUIREMENTS = ["", "^1", "^2", ">=1.1", "<2", "~1.0"]


@st.composite
def registries(draw: st.DrawFn) -> tuple[list[tuple[str, str, IndexVersion]], Manifest]:
    """Small random registries: 4 names, 2 namespaces, 3 versions, random requirements."""
    entries = []
    for name in NAMES:
        for ns in draw(st.sampled_from([["ns"], ["ns"], ["ns", "alt"]])):
            for version in draw(st.lists(st.sampled_from(VERSION_TEXTS), unique=True, min_size=1)):
                deps = []
                ranges = {}
                for target in draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=2)):
                    pin = draw(st.sampled_from(["", "", "1.0.0", "2.0.0"]))
                    scope = draw(st.sampled_from(["dependencies"] * 3 + ["dev-dependencies"]))
                    target_ns = draw(st.sampled_from(["ns", "ns", "ns", "alt"]))
                    deps.append(dep(target, target_ns, pin, scope=scope))
                    if requirement := draw(st.sampled_from(REQUIREMENTS)):
                        ranges[target] = requirement
                yanked = draw(st.booleans()) and draw(st.booleans())
                entry = IndexVersion(version, sha(ns, name, version), yanked, deps, ranges)
                entries.append((ns, name, entry))
    root_deps = []
    root_ranges = {}
    for name in draw(st.lists(st.sampled_from(NAMES), unique=True, min_size=1, max_size=3)):
        scope = draw(st.sampled_from(["dependencies", "dev-dependencies", "test:t"]))
        pin = draw(st.sampled_from(["", "", "", "1.1.0"]))
        ns = draw(st.sampled_from(["ns", "ns", "ns", "alt"]))
        root_deps.append(Dependency(name, DependencyKind.REGISTRY, ns, pin, scope))
        if requirement := draw(st.sampled_from(REQUIREMENTS)):
            root_ranges[name] = requirement
    raw: dict[str, Any] = {"extra": {"fpmreg": {"dependencies": root_ranges}}}
    root = Manifest("app", "0.1.0", "", "MIT", dependencies=tuple(root_deps), raw=raw)
    return entries, root


def index_of(entries: Iterable[tuple[str, str, IndexVersion]]) -> MemoryIndex:
    index = MemoryIndex()
    for ns, name, entry in entries:
        index.add(ns, name, entry)
    return index


Need = tuple[str, str, Requirement]  # name, namespace, requirement


def needs_of(deps: Sequence[Mapping[str, str]], ranges: Mapping[str, str]) -> list[Need]:
    """What one published version requires, read independently of the resolver."""
    out = []
    for d in deps:
        if d.get("scope") != "dependencies" or d.get("kind") != "registry":
            continue
        parts = [Requirement.parse(ranges[d["name"]])] if d["name"] in ranges else []
        if d.get("version"):
            parts.append(Requirement.exact(Version.parse(d["version"])))
        out.append((d["name"], d["namespace"], Requirement.all_of(parts)))
    return out


def root_needs(root: Manifest) -> list[Need]:
    ranges = root.requirements
    out = []
    for d in root.dependencies:
        parts = [Requirement.parse(ranges[d.name])] if d.name in ranges else []
        if d.version:
            parts.append(Requirement.exact(Version.parse(d.version)))
        out.append((d.name, d.namespace, Requirement.all_of(parts)))
    return out


def satisfied(
    root: Manifest,
    entries: Sequence[tuple[str, str, IndexVersion]],
    chosen: Mapping[str, tuple[str, IndexVersion]],
) -> bool:
    """Whether `chosen` (name → namespace, version) meets every requirement in it."""
    needs = root_needs(root)
    for _, entry in chosen.values():
        needs += needs_of(entry.dependencies, entry.ranges)
    for name, ns, requirement in needs:
        if name not in chosen or chosen[name][0] != ns:
            return False
        if not requirement.matches(Version.parse(chosen[name][1].version)):
            return False
    return True


def brute_force_solvable(root: Manifest, entries: Sequence[tuple[str, str, IndexVersion]]) -> bool:
    options: list[list[tuple[str, IndexVersion] | None]] = []
    for name in NAMES:
        usable = [(ns, e) for ns, n, e in entries if n == name and not e.yanked]
        options.append([None, *usable])
    for combination in itertools.product(*options):
        chosen = {n: c for n, c in zip(NAMES, combination, strict=True) if c is not None}
        if satisfied(root, entries, chosen):
            return True
    return False


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


@PROPERTY_SETTINGS
@given(registries())
def test_resolution_is_sound_and_complete(
    case: tuple[list[tuple[str, str, IndexVersion]], Manifest],
) -> None:
    entries, root = case
    try:
        result = resolve(root, index_of(entries))
    except ResolutionError as exc:
        assert str(exc)
        assert not brute_force_solvable(root, entries), "a solution exists"
        return
    by_key = {(ns, name, Version.parse(e.version)): e for ns, name, e in entries}
    chosen = {
        p.name: (p.namespace, by_key[(p.namespace, p.name, p.version)]) for p in result.packages
    }
    assert satisfied(root, entries, chosen)
    for p in result.packages:
        assert not p.yanked  # nothing was locked
        assert p.sha256 == chosen[p.name][1].sha256
    # Exactly the packages reachable from the root are in it.
    reachable = {n for n, _, _ in root_needs(root)}
    frontier = list(reachable)
    while frontier:
        _, entry = chosen[frontier.pop()]
        for name, _, _ in needs_of(entry.dependencies, entry.ranges):
            if name not in reachable:
                reachable.add(name)
                frontier.append(name)
    assert set(chosen) == reachable


@PROPERTY_SETTINGS
@given(registries(), st.randoms(use_true_random=False))
def test_resolution_is_deterministic_and_ignores_listing_order(
    case: tuple[list[tuple[str, str, IndexVersion]], Manifest], rng: random.Random
) -> None:
    entries, root = case
    shuffled = entries[:]
    rng.shuffle(shuffled)

    def outcome(items: list[tuple[str, str, IndexVersion]]) -> object:
        try:
            return resolve(root, index_of(items))
        except ResolutionError as exc:
            return str(exc)

    first = outcome(entries)
    assert outcome(entries) == first
    assert outcome(shuffled) == first


@PROPERTY_SETTINGS
@given(registries(), st.data())
def test_yanked_version_is_only_ever_kept_from_the_lock(
    case: tuple[list[tuple[str, str, IndexVersion]], Manifest], data: st.DataObject
) -> None:
    entries, root = case
    picks = data.draw(st.lists(st.sampled_from(entries), max_size=4)) if entries else []
    lock = Lock(
        tuple(
            {
                name: LockedPackage(ns, name, e.version, e.sha256, REGISTRY)
                for ns, name, e in picks
            }.values()
        )
    )
    update = set(data.draw(st.lists(st.sampled_from(NAMES), max_size=2)))
    try:
        result = resolve(root, index_of(entries), lock, update)
    except ResolutionError:
        return
    for p in result.packages:
        if p.yanked:
            held = lock.get(p.name)
            assert held is not None and (held.namespace, held.version) == (
                p.namespace,
                str(p.version),
            )


@PROPERTY_SETTINGS
@given(registries())
def test_resolving_against_its_own_lock_changes_nothing(
    case: tuple[list[tuple[str, str, IndexVersion]], Manifest],
) -> None:
    entries, root = case
    index = index_of(entries)
    try:
        first = resolve(root, index)
    except ResolutionError:
        return
    lock = first.to_lock(REGISTRY, root)
    assert resolve(root, index, lock) == first
    assert resolve(root, index, lock, update=set(NAMES)).packages == first.packages


def test_resolver_benchmark_registry_resolves_to_its_200_package_closure() -> None:
    from bench.resolve_bench import CLOSURE, build_registry

    index, manifest = build_registry()
    resolution = resolve(manifest, index)
    assert len(resolution.packages) == CLOSURE
    assert not [p for p in resolution.problems if p.severity is Severity.ERROR]
