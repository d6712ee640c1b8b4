"""`fpm.lock`: deterministic text, byte-for-byte round trips, clear refusals, drift checks."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import tomllib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fpmreg.core.lockfile import (
    LOCK_VERSION,
    Lock,
    LockedPackage,
    LockFileError,
    LockRoot,
    check_lock,
    dumps,
    loads,
    manifest_hash,
)
from fpmreg.core.manifest import Manifest, parse_manifest
from fpmreg.core.versions import InvalidVersion, Version

REGISTRY = "https://registry.example.org"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def locked(name: str, version: str = "1.0.0", *deps: str, ns: str = "ns") -> LockedPackage:
    return LockedPackage(ns, name, version, sha(f"{ns}/{name}@{version}"), REGISTRY, deps)


def manifest(text: str) -> Manifest:
    parsed = parse_manifest('name = "app"\nversion = "0.1.0"\n' + text)
    assert parsed.manifest is not None, parsed.problems
    return parsed.manifest


EXAMPLE = Lock(
    (
        locked("toml", "1.4.0", "ns/json"),
        locked("json", "1.3.0"),
    ),
    LockRoot("app", "a" * 64),
)

EXAMPLE_TEXT = f"""\
# fpm.lock: the exact registry packages this project builds with, written by `fpmreg lock`.
# Do not edit it: change fpm.toml and run `fpmreg lock` again.
version = 1

[root]
name = "app"
manifest-hash = "{"a" * 64}"

[[package]]
namespace = "ns"
name = "json"
version = "1.3.0"
sha256 = "{sha("ns/json@1.3.0")}"
registry = "{REGISTRY}"
dependencies = []

[[package]]
namespace = "ns"
name = "toml"
version = "1.4.0"
sha256 = "{sha("ns/toml@1.4.0")}"
registry = "{REGISTRY}"
dependencies = [
    "ns/json",
]
"""


def test_lock_file_text_is_stable_and_sorted_by_name() -> None:
    assert dumps(EXAMPLE) == EXAMPLE_TEXT
    assert loads(EXAMPLE_TEXT) == EXAMPLE


def test_lock_file_is_plain_toml_other_tools_can_read() -> None:
    data = tomllib.loads(dumps(EXAMPLE))
    assert data["version"] == LOCK_VERSION
    assert [p["name"] for p in data["package"]] == ["json", "toml"]
    assert data["package"][1]["dependencies"] == ["ns/json"]


def test_entry_order_does_not_change_the_bytes() -> None:
    packages = [locked(n, "1.0.0", ns=ns) for n in ("a", "b", "c") for ns in ("x",)]
    packages += [locked("d", "2.0.0", "x/a", "x/c", "x/b")]
    shuffled = packages[:]
    random.Random(1).shuffle(shuffled)
    assert dumps(Lock(tuple(packages))) == dumps(Lock(tuple(shuffled)))
    assert loads(dumps(Lock(tuple(shuffled)))).get("d") == locked("d", "2.0.0", "x/a", "x/b", "x/c")


names = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,12}", fullmatch=True)
version_texts = st.builds(lambda a, b, c: f"{a}.{b}.{c}", *[st.integers(0, 10**9 - 1)] * 3)
shas = st.binary(min_size=1, max_size=8).map(lambda b: hashlib.sha256(b).hexdigest())
# Any text a registry URL could hold, quotes, backslashes and control characters included.
registries = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)


@st.composite
def locks(draw: st.DrawFn) -> Lock:
    chosen = draw(st.lists(st.tuples(names, names), max_size=8, unique_by=lambda t: t[1]))
    keys = [f"{ns}/{name}" for ns, name in chosen]
    packages = []
    for ns, name in chosen:
        deps = draw(st.lists(st.sampled_from(keys), max_size=4)) if keys else []
        log_index = draw(st.none() | st.integers(0, 2**53 - 1))
        packages.append(
            LockedPackage(
                ns, name, draw(version_texts), draw(shas), draw(registries), tuple(deps), log_index
            )
        )
    root = draw(st.none() | st.builds(LockRoot, names, st.sampled_from(["", "0" * 64]) | shas))
    return Lock(tuple(packages), root)


@given(locks())
def test_lock_round_trips_byte_for_byte(lock: Lock) -> None:
    text = dumps(lock)
    assert loads(text) == lock
    assert dumps(loads(text)) == text


# Text a hand edit, a registry or a file system could put in a field: anything at all,
# with the characters TOML must escape and those taken for line breaks drawn often.
_AWKWARD = '"\\\t\n\r\x00\x08\x0b\x0c\x1b\x1c\x1f\x7f\x85\u2028\u2029\ufeff\U0001f600\U0010ffff'
_PACKAGE_FIELDS = ("namespace", "name", "version", "sha256", "registry")
any_text = st.text(
    st.characters(exclude_categories=["Cs"]) | st.sampled_from(_AWKWARD), max_size=24
)


def _read_back_unchanged(text: str) -> bool:
    """Whether the reader keeps `text` as it is (it writes `1.2` as `1.2.0`)."""
    try:
        return str(Version.parse(text)) == text
    except InvalidVersion:
        return True


@st.composite
def any_locks(draw: st.DrawFn) -> Lock:
    """A lock, valid or not: some fields replaced by arbitrary text."""
    lock = draw(locks())
    packages = []
    for p in lock.packages:
        changes = {
            key: draw(any_text.filter(_read_back_unchanged) if key == "version" else any_text)
            for key in draw(st.sets(st.sampled_from(_PACKAGE_FIELDS)))
        }
        if draw(st.booleans()):
            changes["dependencies"] = tuple(draw(st.lists(any_text, max_size=3)))
        packages.append(dataclasses.replace(p, **changes))
    root = lock.root
    if root is not None and draw(st.booleans()):
        root = LockRoot(draw(any_text), draw(any_text))
    return Lock(tuple(packages), root)


def unchecked(raw: dict[str, Any]) -> Lock:
    """The lock a TOML document holds, read without any of the lock reader's checks."""
    packages = tuple(
        LockedPackage(
            *(p[k] for k in _PACKAGE_FIELDS), tuple(p["dependencies"]), p.get("log-index")
        )
        for p in raw.get("package", [])
    )
    root = raw.get("root")
    return Lock(packages, LockRoot(root["name"], root.get("manifest-hash", "")) if root else None)


def line_count(lock: Lock) -> int:
    """Lines of the layout docs/locking.md gives: one per key, one per dependency."""
    lines = 3  # two comment lines, `version = 1`
    if lock.root is not None:
        lines += 3 + bool(lock.root.manifest_hash)  # blank, `[root]`, name, hash
    for p in lock.packages:
        lines += 7 + (p.log_index is not None)
        lines += len(p.dependencies) + 2 if p.dependencies else 1
    return lines


@settings(max_examples=300)
@given(any_locks())
def test_any_lock_is_written_as_toml_that_reads_back_exactly(lock: Lock) -> None:
    text = dumps(lock)

    raw = tomllib.loads(text)  # never refused, whatever the fields hold

    assert unchecked(raw) == lock
    assert len(text.splitlines()) == line_count(lock)  # no value breaks its line
    try:
        back = loads(text)
    except LockFileError as exc:
        assert str(exc).startswith("fpm.lock: ")  # refused as a lock, with what to do
        return
    assert back == lock
    assert dumps(back) == text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("version = \n", "not valid TOML"),
        ("[[package]]\nname = 'x'\n", "no lock format `version`"),
        ("version = 2\n", "written by a newer fpmreg; this one reads version 1: upgrade fpmreg"),
        ("version = '1'\n", "is not a lock format version"),
        ("version = 0\n", "is not a lock format version"),
        ("version = true\n", "is not a lock format version"),
        ("version = 1\nextra = 1\n", "unknown key `extra` in the top level"),
        ("version = 1\nroot = 'app'\n", "`root` must be a table"),
        ("version = 1\n[root]\nname = 'app'\nhash = 'x'\n", "unknown key `hash` in [root]"),
        ("version = 1\n[root]\nname = 'app'\nmanifest-hash = 'x'\n", "sha256 hex digest"),
        ("version = 1\npackage = 3\n", "array of tables"),
    ],
)
def test_malformed_lock_is_refused_with_what_to_do(text: str, says: str) -> None:
    with pytest.raises(LockFileError) as info:
        loads(text)
    assert says in str(info.value)
    assert str(info.value).startswith("fpm.lock: ")


def package_text(**changes: object) -> str:
    fields: dict[str, object] = {
        "namespace": "ns",
        "name": "json",
        "version": "1.3.0",
        "sha256": sha("x"),
        "registry": REGISTRY,
        "dependencies": [],
    }
    fields.update(changes)
    body = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in fields.items() if v is not None)
    return "version = 1\n[[package]]\n" + body


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"sha256": None}, "has no `sha256`"),
        ({"sha256": "ABC"}, "64 lowercase hexadecimal digits"),
        ({"sha256": sha("x").upper()}, "64 lowercase hexadecimal digits"),
        ({"version": "1.0.0-rc1"}, "is not a valid fpm version"),
        ({"name": "2json"}, "invalid name `2json`"),
        ({"namespace": ""}, "needs `namespace` as a non-empty string"),
        ({"registry": 5}, "needs `registry` as a non-empty string"),
        ({"dependencies": "ns/toml"}, "list of `namespace/name` strings"),
        ({"dependencies": ["toml"]}, "dependency `toml` is not `namespace/name`"),
        ({"dependencies": ["ns/toml"]}, "depends on `ns/toml`, which has no [[package]]"),
        ({"checksum": "x"}, "unknown key `checksum`"),
        ({"log-index": "7"}, "`log-index = '7'` is not a log index"),
        ({"log-index": -1}, "`log-index = -1` is not a log index"),
        ({"log-index": 1.5}, "`log-index = 1.5` is not a log index"),
        ({"log-index": 2**53}, f"`log-index = {2**53}` is not a log index"),
    ],
)
def test_broken_package_entry_is_refused(changes: dict[str, object], says: str) -> None:
    with pytest.raises(LockFileError, match=r"^fpm\.lock: ") as info:
        loads(package_text(**changes))
    assert says in str(info.value)


def test_a_boolean_log_index_is_refused() -> None:
    text = package_text().replace("dependencies", "log-index = true\ndependencies")
    with pytest.raises(LockFileError, match="`log-index = True` is not a log index"):
        loads(text)


def test_the_log_index_is_optional_and_read_exactly() -> None:
    assert loads(package_text()).packages[0].log_index is None  # an older lock
    assert loads(package_text(**{"log-index": 0})).packages[0].log_index == 0
    text = package_text(**{"log-index": 2**53 - 1})
    assert loads(text).packages[0].log_index == 2**53 - 1
    written = dumps(loads(text))
    assert 'registry = "https://registry.example.org"\nlog-index = 9007199254740991\n' in written


def test_short_version_is_read_as_fpm_normalizes_it() -> None:
    assert loads(package_text(version="1.3")).packages[0].version == "1.3.0"


def test_one_name_in_two_namespaces_is_refused() -> None:
    text = dumps(Lock((locked("json", ns="a"), locked("json", ns="b"))))
    with pytest.raises(LockFileError, match="fpm builds one package per name"):
        loads(text)


# --- check_lock -------------------------------------------------------------------------

APP = manifest(
    """
[dependencies]
json = { namespace = "ns", v = "1.3.0" }
toml.namespace = "ns"
[dev-dependencies]
test-drive.namespace = "ns"
[extra.fpmreg.dependencies]
toml = "^1.4"
"""
)
APP_LOCK = Lock(
    (
        locked("json", "1.3.0"),
        locked("toml", "1.4.2", "ns/util"),
        locked("util", "0.3.0"),
        locked("test-drive", "0.5.0"),
    ),
    LockRoot("app", manifest_hash(APP)),
)


def test_up_to_date_lock_has_no_disagreement() -> None:
    assert check_lock(APP, APP_LOCK) == []
    assert check_lock(APP, loads(dumps(APP_LOCK))) == []


def test_dependency_missing_from_lock_is_reported() -> None:
    lock = Lock(tuple(p for p in APP_LOCK.packages if p.name != "test-drive"), APP_LOCK.root)
    assert check_lock(APP, lock) == [
        "`ns/test-drive` (in [dev-dependencies]) is not in fpm.lock: run `fpmreg lock`"
    ]


def test_locked_version_outside_the_pin_or_range_is_reported() -> None:
    moved = Lock(
        (
            locked("json", "1.2.0"),
            locked("toml", "2.0.0", "ns/util"),
            locked("util", "0.3.0"),
            locked("test-drive", "0.5.0"),
        ),
        APP_LOCK.root,
    )
    assert check_lock(APP, moved) == [
        "fpm.lock has `ns/json` 1.2.0, but fpm.toml asks for `=1.3.0` (in [dependencies]): "
        "run `fpmreg lock --update json`",
        "fpm.lock has `ns/toml` 2.0.0, but fpm.toml asks for `^1.4` (in [dependencies]): "
        "run `fpmreg lock --update toml`",
    ]


def test_namespace_change_is_reported() -> None:
    other = manifest('[dependencies]\njson = { namespace = "other", v = "1.3.0" }\n')
    messages = check_lock(other, Lock((locked("json", "1.3.0"),)))
    assert messages == [
        "fpm.toml asks for `other/json` (in [dependencies]), but fpm.lock has `ns/json`: "
        "run `fpmreg lock --update json`"
    ]


def test_entries_nothing_needs_are_reported_but_transitive_ones_are_not() -> None:
    lock = Lock((*APP_LOCK.packages, locked("old", "0.1.0")), APP_LOCK.root)
    assert check_lock(APP, lock) == [
        "fpm.lock has `ns/old` 0.1.0, which nothing in fpm.toml needs any more: run `fpmreg lock`"
    ]


def test_target_dependencies_count_as_needed() -> None:
    app = manifest('[[test]]\nname = "t"\n[test.dependencies]\ncheck.namespace = "ns"\n')
    assert check_lock(app, Lock((locked("check"),))) == []


def test_changed_dependency_tables_are_drift() -> None:
    # Moving a dependency between tables keeps every entry valid, but the lock is stale.
    moved = manifest(
        """
[dependencies]
json = { namespace = "ns", v = "1.3.0" }
toml.namespace = "ns"
test-drive.namespace = "ns"
[extra.fpmreg.dependencies]
toml = "^1.4"
"""
    )
    assert check_lock(moved, APP_LOCK) == [
        "the dependency tables of fpm.toml changed since fpm.lock was written: run `fpmreg lock`"
    ]
    assert check_lock(moved, Lock(APP_LOCK.packages)) == []


def test_hash_ignores_everything_but_dependencies() -> None:
    reworded = manifest(
        """
description = "now with a description"
[dependencies]
json = { namespace = "ns", v = "1.3" }
toml.namespace = "ns"
[dev-dependencies]
test-drive.namespace = "ns"
[extra.fpmreg.dependencies]
toml = "^1.4"
"""
    )
    assert manifest_hash(reworded) == manifest_hash(APP)


def test_lock_of_another_project_is_reported() -> None:
    lock = Lock(APP_LOCK.packages, LockRoot("other-app"))
    assert check_lock(APP, lock) == [
        "fpm.lock was written for `other-app`, but fpm.toml is `app`: run `fpmreg lock`"
    ]


def test_range_for_an_unknown_or_unreadable_dependency_is_reported() -> None:
    app = manifest(
        """
[dependencies]
json.namespace = "ns"
[extra.fpmreg.dependencies]
json = "^1.x"
yaml = "^1"
"""
    )
    messages = check_lock(app, Lock((locked("json"),)))
    assert len(messages) == 2
    assert messages[0].startswith("[extra.fpmreg.dependencies] `json`: `^1.x`")
    assert "range for `yaml`, which is not a registry dependency" in messages[1]


def test_git_and_path_dependencies_are_not_expected_in_the_lock() -> None:
    app = manifest(
        '[dependencies]\nlocal = { path = "../local" }\nremote = { git = "https://x/y" }\n'
    )
    assert check_lock(app, Lock()) == []
