"""Reading `fpm.toml` as fpm 0.12/0.13 does, in fpm's own words (docs/fpm-protocol.md §3)."""

from __future__ import annotations

import pytest

from fpmreg.core.manifest import (
    TOP_LEVEL_KEYS,
    Dependency,
    DependencyKind,
    Manifest,
    ParsedManifest,
    parse_manifest,
)
from fpmreg.core.problem import Problem, Severity

# docs/fpm-protocol.md §3.1, written out so the test can disagree with the code.
FPM_TOP_LEVEL_KEYS = {
    "name", "version", "license", "author", "maintainer", "copyright", "description",
    "keywords", "categories", "homepage", "build", "dependencies", "dev-dependencies",
    "profiles", "test", "executable", "example", "library", "install", "extra",
    "preprocess", "fortran", "features",
}  # fmt: skip
# §3.4: the metapackages fpm expands from `name = "*"`.
FPM_METAPACKAGES = ["openmp", "stdlib", "mpi", "minpack", "hdf5", "netcdf", "blas"]

# A value of the right shape for each top-level key.
KEY_SNIPPETS = {
    "name": "",
    "version": 'version = "1.0.0"',
    "license": 'license = "MIT"',
    "author": 'author = "A. Fortran"',
    "maintainer": 'maintainer = "a@example.org"',
    "copyright": 'copyright = "2024 A. Fortran"',
    "description": 'description = "A package"',
    "keywords": 'keywords = ["linear algebra"]',
    "categories": 'categories = ["numerical"]',
    "homepage": 'homepage = "https://example.org"',
    "build": "[build]\nauto-executables = false",
    "dependencies": "[dependencies]",
    "dev-dependencies": "[dev-dependencies]",
    "profiles": "[profiles.gfortran]\nflags = '-O2'",
    "test": '[[test]]\nname = "runner"',
    "executable": '[[executable]]\nname = "app"',
    "example": '[[example]]\nname = "demo"',
    "library": '[library]\nsource-dir = "src"',
    "install": "[install]\nlibrary = true",
    "extra": "[extra.registry]\nnote = 1",
    "preprocess": "[preprocess.cpp]\nmacros = ['X']",
    "fortran": "[fortran]\nimplicit-typing = false",
    "features": "[features]\nfast = {}",
}


def parse(text: str, files: dict[str, bytes] | None = None) -> ParsedManifest:
    return parse_manifest(text, files)


def read(text: str, files: dict[str, bytes] | None = None) -> Manifest:
    """A manifest that must parse without any error (the fpm-0.13 warning aside)."""
    parsed = parse_manifest(text, files)
    assert [p for p in parsed.problems if p.code != "manifest-newer-fpm"] == []
    assert parsed.manifest is not None
    return parsed.manifest


def messages(parsed: ParsedManifest) -> list[str]:
    return [p.message for p in parsed.problems]


def deps_of(body: str) -> tuple[list[Dependency], list[str]]:
    parsed = parse('name = "app"\nversion = "1.0.0"\n' + body)
    assert parsed.manifest is not None
    return list(parsed.manifest.dependencies), messages(parsed)


def test_the_registry_knows_exactly_fpms_top_level_keys() -> None:
    assert set(TOP_LEVEL_KEYS) == FPM_TOP_LEVEL_KEYS
    assert set(KEY_SNIPPETS) == FPM_TOP_LEVEL_KEYS


@pytest.mark.parametrize("key", sorted(FPM_TOP_LEVEL_KEYS))
def test_every_top_level_key_fpm_allows_is_accepted(key: str) -> None:
    read(f'name = "pkg"\n{KEY_SNIPPETS[key]}\n')


def test_a_manifest_using_every_key_at_once_is_accepted() -> None:
    # Plain values first: after a `[table]` header, a `key = value` line belongs to the table.
    snippets = sorted(KEY_SNIPPETS.values(), key=lambda s: s.startswith("["))
    text = 'name = "pkg"\n' + "\n".join(snippets) + "\n"
    manifest = read(text)
    assert set(manifest.raw) == FPM_TOP_LEVEL_KEYS


@pytest.mark.parametrize("key", ["package", "Name", "authors", "dependency", "links", "url"])
def test_unknown_top_level_key_is_refused_in_fpms_words(key: str) -> None:
    parsed = parse(f'name = "pkg"\n{key} = "x"\n')
    assert parsed.problems == [
        Problem("manifest-key", "fpm.toml", f"Key {key} is not allowed in package file")
    ]


def test_every_unknown_key_is_reported() -> None:
    parsed = parse('name = "pkg"\nfoo = 1\n[bar]\nx = 1\n')
    assert messages(parsed) == [
        "Key foo is not allowed in package file",
        "Key bar is not allowed in package file",
    ]


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "\t\n  \n"])
def test_empty_file_is_refused_in_fpms_words(text: str) -> None:
    assert parse(text) == ParsedManifest(
        None, [Problem("manifest-empty", "fpm.toml", "Package file is empty")]
    )


@pytest.mark.parametrize("text", ["name = ", 'name = "a"\nname = "b"\n', "[x\n", "= 1"])
def test_invalid_toml_is_refused(text: str) -> None:
    parsed = parse(text)
    assert parsed.manifest is None
    assert [p.code for p in parsed.problems] == ["manifest-syntax"]
    assert parsed.problems[0].message.startswith("fpm.toml is not valid TOML")


@pytest.mark.parametrize(
    "text", ['version = "1.0.0"\n', 'name = ""\n', "name = 1\n", "[name]\nx = 1\n"]
)
def test_missing_name_is_refused_in_fpms_words(text: str) -> None:
    parsed = parse(text)
    assert (
        Problem("name-missing", "name", "Package name is not provided, please add a name entry")
        in parsed.problems
    )


def test_name_fpm_cannot_use_is_refused() -> None:
    parsed = parse('name = "9lives"\n')
    assert [p.code for p in parsed.problems] == ["name-invalid"]


def test_registry_name_rules_apply_to_the_manifest() -> None:
    parsed = parse('name = "my__lib_"\n')
    assert [p.code for p in parsed.problems] == [
        "name-double-underscore",
        "name-trailing-underscore",
    ]


def test_every_problem_is_collected_in_one_pass() -> None:
    parsed = parse('version = "v1"\nfoo = 1\n[dependencies]\nbar = {}\n')
    assert {p.code for p in parsed.problems} == {
        "manifest-key",
        "name-missing",
        "version-invalid",
        "dependency-invalid",
    }


@pytest.mark.parametrize(
    ("line", "stored"),
    [("", "0.0.0"), ('version = "1.0"', "1.0.0"), ('version = "01.02"', "1.2.0"),
     ('version = "2.10.3"', "2.10.3")],
)  # fmt: skip
def test_version_is_stored_normalized(line: str, stored: str) -> None:
    assert read(f'name = "pkg"\n{line}\n').version == stored


def test_unreadable_version_is_refused_and_kept_as_written() -> None:
    parsed = parse('name = "pkg"\nversion = "1.0.0-alpha"\n')
    assert [p.code for p in parsed.problems] == ["version-invalid"]
    assert "`1.0.0-alpha` is not a valid fpm version" in parsed.problems[0].message
    assert parsed.manifest is not None
    assert parsed.manifest.version == "1.0.0-alpha"


@pytest.mark.parametrize(
    ("content", "stored"),
    [(b"1.2.3\n", "1.2.3"), (b"1.2.3", "1.2.3"), (b"1.2.3\nchangelog\n", "1.2.3"),
     (b"  0.4 \r\n", "0.4.0")],
)  # fmt: skip
def test_version_is_read_from_the_file_it_names(content: bytes, stored: str) -> None:
    manifest = read('name = "pkg"\nversion = "VERSION"\n', {"VERSION": content})
    assert manifest.version == stored
    assert manifest.version_file == "VERSION"


@pytest.mark.parametrize("content", [b"", b"\n1.2.3\n", b"v1.2.3\n", b"1.2.3-rc1\n"])
def test_version_file_without_a_version_on_its_first_line_is_refused(content: bytes) -> None:
    parsed = parse('name = "pkg"\nversion = "VERSION"\n', {"VERSION": content})
    assert [p.code for p in parsed.problems] == ["version-invalid"]


def test_version_naming_a_missing_file_is_refused() -> None:
    parsed = parse('name = "pkg"\nversion = "VERSION"\n', {"README.md": b"1.0.0"})
    assert [p.code for p in parsed.problems] == ["version-invalid"]
    assert "`VERSION`" in parsed.problems[0].message
    assert parsed.manifest is not None
    assert parsed.manifest.version_file == ""


def test_descriptive_fields_are_read() -> None:
    manifest = read(
        'name = "pkg"\nlicense = "MIT OR Apache-2.0"\ndescription = "Fast FFTs"\n'
        'author = ["A. Fortran", "B. Fortran"]\nmaintainer = "a@example.org"\n'
        'homepage = "https://example.org"\nkeywords = ["fft", "signal"]\n'
        'categories = "numerical"\n[build]\nmodule-naming = "pkg_"\n'
    )
    assert manifest.license == "MIT OR Apache-2.0"
    assert manifest.description == "Fast FFTs"
    assert manifest.author == "A. Fortran, B. Fortran"
    assert manifest.maintainer == "a@example.org"
    assert manifest.homepage == "https://example.org"
    assert manifest.keywords == ("fft", "signal")
    assert manifest.categories == ("numerical",)
    assert manifest.module_naming == "pkg_"


def test_missing_license_reads_as_empty() -> None:
    assert read('name = "pkg"\n').license == ""


def test_registry_dependency_with_namespace_and_version() -> None:
    deps, problems = deps_of('[dependencies]\nfoo = { namespace = "ns", v = "1.2" }\n')
    assert problems == []
    assert deps == [Dependency("foo", DependencyKind.REGISTRY, "ns", "1.2.0", "dependencies")]
    assert deps[0].as_dict() == {
        "name": "foo", "kind": "registry", "scope": "dependencies",
        "namespace": "ns", "version": "1.2.0",
    }  # fmt: skip


def test_registry_dependency_without_version_means_latest() -> None:
    deps, problems = deps_of('[dependencies]\nfoo.namespace = "ns"\n')
    assert problems == []
    assert deps == [Dependency("foo", DependencyKind.REGISTRY, "ns", "", "dependencies")]
    assert "version" not in deps[0].as_dict()


@pytest.mark.parametrize(
    "entry",
    [
        '{ git = "https://github.com/a/foo" }',
        '{ git = "https://github.com/a/foo", tag = "v1.0" }',
        '{ git = "https://github.com/a/foo", branch = "main" }',
        '{ git = "https://github.com/a/foo", rev = "abc123" }',
        '{ git = "https://github.com/a/foo", namespace = "ignored" }',
    ],
)
def test_git_dependency(entry: str) -> None:
    deps, problems = deps_of(f"[dependencies]\nfoo = {entry}\n")
    assert problems == []
    assert deps == [Dependency("foo", DependencyKind.GIT)]
    assert deps[0].as_dict() == {"name": "foo", "kind": "git", "scope": "dependencies"}


def test_path_dependency() -> None:
    deps, problems = deps_of('[dependencies]\nfoo = { path = "../foo" }\n')
    assert problems == []
    assert deps == [Dependency("foo", DependencyKind.PATH)]


@pytest.mark.parametrize("name", FPM_METAPACKAGES)
def test_metapackage_with_star(name: str) -> None:
    deps, problems = deps_of(f'[dependencies]\n{name} = "*"\n')
    assert problems == []
    assert deps == [Dependency(name, DependencyKind.META)]


@pytest.mark.parametrize(("name", "value"), [("openmp", '"4.5"'), ("mpi", '"latest"'),
                                             ("stdlib", '""')])  # fmt: skip
def test_metapackage_with_another_value_is_refused_in_fpms_words(name: str, value: str) -> None:
    _, problems = deps_of(f"[dependencies]\n{name} = {value}\n")
    assert problems == [
        f"Value <{value.strip(chr(34))}> for metapackage {name} is not currently supported. "
        'Try "*" instead.'
    ]


def test_dependency_without_entries_is_refused_in_fpms_words() -> None:
    deps, problems = deps_of("[dependencies]\nfoo = {}\n")
    assert problems == ["Dependency 'foo' does not provide sufficient entries"]
    assert deps == []


@pytest.mark.parametrize("entry", ['"1.0"', "1", '["ns"]'])
def test_dependency_that_is_not_a_table_is_refused(entry: str) -> None:
    parsed = parse(f'name = "app"\n[dependencies]\nfoo = {entry}\n')
    assert [p.code for p in parsed.problems] == ["dependency-invalid"]
    assert "'foo'" in parsed.problems[0].message
    assert parsed.manifest is not None
    assert parsed.manifest.dependencies == ()


def test_dependency_with_git_and_path_is_refused_in_fpms_words() -> None:
    _, problems = deps_of('[dependencies]\nfoo = { git = "https://x/foo", path = "foo" }\n')
    assert problems == ["Dependency 'foo' cannot have both git and path entries"]


@pytest.mark.parametrize("source", ['git = "https://x/foo"', 'path = "../foo"'])
def test_dependency_with_v_and_git_or_path_is_refused_in_fpms_words(source: str) -> None:
    _, problems = deps_of(f'[dependencies]\nfoo = {{ {source}, v = "1.0.0" }}\n')
    assert problems == ["Dependency 'foo' cannot have both v and git/path entries"]


@pytest.mark.parametrize("entry", ['{ v = "1.0.0" }', "{ preprocess = {} }", '{ namespace = "" }'])
def test_registry_dependency_without_namespace_is_refused_in_fpms_words(entry: str) -> None:
    deps, problems = deps_of(f"[dependencies]\nfoo = {entry}\n")
    assert problems == [
        "Please provide a 'namespace' for dependency 'foo' if it is not a local path or git "
        "repository"
    ]
    assert deps == []


def test_unknown_dependency_key_is_refused() -> None:
    parsed = parse('name = "app"\n[dependencies]\nfoo = { namespace = "ns", version = "1" }\n')
    assert [p.code for p in parsed.problems] == ["dependency-invalid"]
    assert "Key version" in parsed.problems[0].message
    assert "'foo'" in parsed.problems[0].message


@pytest.mark.parametrize(
    "refs", ['tag = "v1", branch = "main"', 'rev = "abc", tag = "v1"', 'branch = "a", rev = "b"']
)
def test_git_dependency_with_two_references_is_refused_in_fpms_words(refs: str) -> None:
    _, problems = deps_of(f'[dependencies]\nfoo = {{ git = "https://x/foo", {refs} }}\n')
    assert problems == ["Dependency 'foo' can only have one of branch, rev or tag present"]


@pytest.mark.parametrize(
    "entry",
    ['{ tag = "v1" }', '{ namespace = "ns", branch = "main" }', '{ path = "x", rev = "a" }'],
)
def test_git_reference_without_git_url_is_refused_in_fpms_words(entry: str) -> None:
    _, problems = deps_of(f"[dependencies]\nfoo = {entry}\n")
    assert problems == ["Dependency 'foo' has git identifier but no git url"]


def test_fpm_013_dependency_keys_are_accepted_with_a_warning_for_fpm_012_users() -> None:
    parsed = parse(
        'name = "pkg"\n[dependencies]\nfoo = { namespace = "ns", features = ["fast"] }\n'
        'bar = { namespace = "ns", profile = "release" }\n'
    )
    assert [(p.code, p.severity) for p in parsed.problems] == [
        ("manifest-newer-fpm", Severity.WARNING),
        ("manifest-newer-fpm", Severity.WARNING),
    ]
    assert "fpm 0.12 users cannot build" in parsed.problems[0].message


def test_dependency_version_fpm_cannot_read_is_refused() -> None:
    _, problems = deps_of('[dependencies]\nfoo = { namespace = "ns", v = "^1.0" }\n')
    assert len(problems) == 1
    assert problems[0].startswith("Dependency 'foo': `^1.0` is not a valid fpm version")


def test_dependency_namespace_and_name_follow_the_name_rules() -> None:
    _, problems = deps_of('[dependencies]\n"9foo" = { namespace = "bad ns" }\n')
    assert len(problems) == 2
    assert problems[0].startswith("namespace name `bad ns` is not valid")
    assert problems[1].startswith("dependency name `9foo` is not valid")


def test_dependencies_that_are_not_a_table_are_refused() -> None:
    _, problems = deps_of('dependencies = "foo"\n')
    assert problems == ["`dependencies` must be a table"]


def test_dev_dependencies_are_read_with_their_scope() -> None:
    deps, problems = deps_of('[dev-dependencies]\ntest-drive = { namespace = "ns", v = "0.4" }\n')
    assert problems == []
    assert deps == [
        Dependency("test-drive", DependencyKind.REGISTRY, "ns", "0.4.0", "dev-dependencies")
    ]


def test_target_dependencies_are_read_with_the_target_as_scope() -> None:
    deps, problems = deps_of(
        '[dependencies]\ncore = { namespace = "ns" }\n'
        '[[executable]]\nname = "app"\n[executable.dependencies]\n'
        'cli = { namespace = "ns", v = "2" }\nlocal = { path = "tools" }\n'
        '[[executable]]\nname = "other"\n'
        '[[test]]\nname = "unit"\n[test.dependencies]\ncheck = { namespace = "qa" }\n'
        '[[example]]\nname = "demo"\n[example.dependencies]\nplot = { git = "https://x/p" }\n'
    )
    assert problems == []
    assert deps == [
        Dependency("core", DependencyKind.REGISTRY, "ns", "", "dependencies"),
        Dependency("cli", DependencyKind.REGISTRY, "ns", "2.0.0", "executable:app"),
        Dependency("local", DependencyKind.PATH, scope="executable:app"),
        Dependency("check", DependencyKind.REGISTRY, "qa", "", "test:unit"),
        Dependency("plot", DependencyKind.GIT, scope="example:demo"),
    ]


def test_target_dependency_problems_name_the_target() -> None:
    parsed = parse(
        'name = "app"\n[[executable]]\nname = "app"\n[executable.dependencies]\ncli = {}\n'
    )
    assert [(p.field, p.message) for p in parsed.problems] == [
        ("executable:app", "Dependency 'cli' does not provide sufficient entries")
    ]


def test_oversized_or_odd_values_do_not_crash_the_reader() -> None:
    parsed = parse(
        'name = "pkg"\nversion = 3\nlicense = 1\ndescription = 2\nkeywords = [1, "ok"]\n'
        "build = 1\nexecutable = 1\ntest = [1, 2]\n"
    )
    assert parsed.manifest is not None
    assert parsed.manifest.license == ""
    assert parsed.manifest.keywords == ("ok",)


def test_sections_are_checked_with_fpms_wording() -> None:
    parsed = parse(
        'name = "pkg"\n[build]\nmodule-naming = true\ncolour = "red"\n[library]\n'
        'type = "dynamic"\n[fortran]\nsource-form = "loose"\n[[executable]]\nname = "app"\n'
        '[[executable]]\nname = "app"\n[[test]]\nmain = "t.f90"\n'
    )
    assert messages(parsed) == [
        'Manifest file syntax error: key "colour" found in the [build] section of '
        'package/dependency "pkg" fpm.toml is not allowed',
        "library type `dynamic` is not one of static, shared, monolithic",
        "executable name `app` is used twice",
        "Could not retrieve test name",
        "`source-form` must be free, fixed or default",
    ]
