"""The upload checks `fpmreg check` and the server's upload gate share."""

from __future__ import annotations

import io

import pytest

from fpmreg.core.archive import PackageArchive
from fpmreg.core.checks import Inspection, UploadForm, inspect_package
from fpmreg.core.problem import Problem, Severity
from tests.support.tarballs import library_source, package_tarball, tarball


def inspect(data: bytes, form: UploadForm | None = None) -> Inspection:
    return inspect_package(io.BytesIO(data), form)


# What every manifest below also says, so each test sees only the problem it is about.
COMPLETE = 'description = "d"\nauthor = "a"\n[build]\nmodule-naming = true\n'


def with_manifest(text: str, **files: str) -> bytes:
    """A package whose fpm.toml starts with `text` and is otherwise complete."""
    return tarball(
        {
            "fpm.toml": text + COMPLETE,
            "src/pkg.f90": library_source("pkg"),
            "README.md": "# pkg\n",
            "LICENSE": "MIT\n",
            **files,
        }
    )


def codes(inspection: Inspection) -> list[str]:
    return [p.code for p in inspection.problems]


def only(inspection: Inspection, code: str) -> Problem:
    (problem,) = [p for p in inspection.problems if p.code == code]
    return problem


def test_good_package_with_matching_form_is_ok() -> None:
    inspection = inspect(package_tarball("hello", "1.0.0"), UploadForm("hello", "1.0.0", "MIT"))
    assert inspection.problems == []
    assert inspection.ok
    assert inspection.manifest is not None
    assert (inspection.manifest.name, inspection.manifest.version) == ("hello", "1.0.0")
    assert "fpm.toml" in inspection.archive.members


def test_package_checked_without_a_form_is_ok() -> None:
    assert inspect(package_tarball("hello")).ok


def test_empty_form_fields_are_not_compared() -> None:
    assert inspect(package_tarball("hello"), UploadForm()).problems == []


def test_form_name_differing_from_the_manifest_names_both() -> None:
    inspection = inspect(package_tarball("hello", "1.0.0"), UploadForm(name="hallo"))
    problem = only(inspection, "form-name-mismatch")
    assert problem.field == "package_name"
    assert "`hallo`" in problem.message
    assert "`hello`" in problem.message
    assert not inspection.ok


def test_form_name_must_match_the_manifest_exactly() -> None:
    # fpm's consumers need the key byte-identical to `name` (docs/fpm-protocol.md §3.2).
    inspection = inspect(package_tarball("hello"), UploadForm(name="Hello"))
    assert codes(inspection) == ["form-name-mismatch"]


def test_form_version_differing_from_the_manifest_names_both() -> None:
    inspection = inspect(package_tarball("hello", "1.0.0"), UploadForm(version="1.0.1"))
    problem = only(inspection, "form-version-mismatch")
    assert problem.field == "package_version"
    assert "`1.0.1`" in problem.message
    assert "`1.0.0`" in problem.message
    assert "git archive HEAD" in problem.message


@pytest.mark.parametrize("form_version", ["1", "1.0", "1.0.0", "01.0.00"])
def test_form_version_equal_by_fpms_rules_matches(form_version: str) -> None:
    inspection = inspect(package_tarball("hello", "1.0.0"), UploadForm(version=form_version))
    assert inspection.problems == []


def test_form_version_fpm_cannot_read_is_a_mismatch() -> None:
    inspection = inspect(package_tarball("hello", "1.0.0"), UploadForm(version="v1.0.0"))
    assert codes(inspection) == ["form-version-mismatch"]


def test_form_license_differing_from_the_manifest_names_both() -> None:
    inspection = inspect(
        package_tarball("hello", license="MIT"), UploadForm(license="BSD-3-Clause")
    )
    problem = only(inspection, "form-license-mismatch")
    assert problem.field == "package_license"
    assert "`BSD-3-Clause`" in problem.message
    assert "`MIT`" in problem.message


def test_every_form_mismatch_is_reported() -> None:
    inspection = inspect(
        package_tarball("hello", "1.0.0", "MIT"), UploadForm("other", "2.0.0", "Apache-2.0")
    )
    assert codes(inspection) == [
        "form-name-mismatch",
        "form-version-mismatch",
        "form-license-mismatch",
    ]


@pytest.mark.parametrize("version_line", ["", 'version = "0"', 'version = "0.0.0"'])
def test_version_zero_is_refused(version_line: str) -> None:
    inspection = inspect(with_manifest(f'name = "pkg"\n{version_line}\nlicense = "MIT"\n'))
    assert codes(inspection) == ["version-zero"]
    problem = only(inspection, "version-zero")
    assert problem.message.startswith('Invalid version: "0".')
    assert '`version = "0.1.0"`' in problem.message
    assert not inspection.ok


def test_missing_license_is_refused_in_fpms_words() -> None:
    inspection = inspect(with_manifest('name = "pkg"\nversion = "0.1.0"\n'))
    assert inspection.problems == [
        Problem("license-missing", "license", "No license specified in fpm.toml.")
    ]
    assert not inspection.ok


def test_blank_license_is_missing() -> None:
    inspection = inspect(with_manifest('name = "pkg"\nversion = "0.1.0"\nlicense = "  "\n'))
    assert codes(inspection) == ["license-missing"]


@pytest.mark.parametrize(
    "license", ["Not-A-License", "MIT OR", "MIT AND (", "BSD", "Apache 2.0", "mit-ish"]
)
def test_license_that_is_not_spdx_is_refused(license: str) -> None:
    inspection = inspect(package_tarball("hello", license=license), UploadForm(license=license))
    problem = only(inspection, "license-invalid")
    assert f"`{license}`" in problem.message
    assert "https://spdx.org/licenses/" in problem.message
    assert codes(inspection) == ["license-invalid"]


@pytest.mark.parametrize(
    "license", ["MIT", "Apache-2.0 OR MIT", "GPL-3.0-or-later", "BSD-3-Clause AND MIT"]
)
def test_spdx_license_expressions_are_accepted(license: str) -> None:
    assert inspect(package_tarball("hello", license=license)).ok


def test_license_longer_than_the_limit_is_refused() -> None:
    license = " OR ".join(["MIT"] * 70)
    assert codes(inspect(package_tarball("hello", license=license))) == ["license-invalid"]


def test_version_read_from_a_file_is_checked_against_the_form() -> None:
    data = with_manifest('name = "pkg"\nversion = "VERSION"\nlicense = "MIT"\n', VERSION="1.2.3\n")
    inspection = inspect(data, UploadForm("pkg", "1.2.3", "MIT"))
    assert inspection.problems == []
    assert inspection.manifest is not None
    assert inspection.manifest.version == "1.2.3"
    assert inspection.manifest.version_file == "VERSION"
    other = inspect(data, UploadForm(version="1.2.4"))
    assert codes(other) == ["form-version-mismatch"]


def test_archive_problems_stop_the_inspection() -> None:
    data = tarball({"hello-1.0/fpm.toml": 'name = "hello"\n'})
    inspection = inspect(data, UploadForm("other", "9.9.9", "MIT"))
    assert codes(inspection) == ["archive-no-manifest"]
    assert inspection.manifest is None
    assert not inspection.ok


def test_not_a_tarball_is_not_ok() -> None:
    inspection = inspect(b"not a tarball", UploadForm("hello", "1.0.0", "MIT"))
    assert codes(inspection) == ["archive-not-gzip"]
    assert not inspection.ok


def test_manifest_problems_are_part_of_the_inspection() -> None:
    inspection = inspect(package_tarball("hello", extra_manifest="[package]\nx = 1\n"))
    assert codes(inspection) == ["manifest-key"]
    assert not inspection.ok


def test_unreadable_manifest_is_reported_without_other_checks() -> None:
    inspection = inspect(with_manifest("name = \n"), UploadForm("pkg", "1.0.0", "MIT"))
    assert codes(inspection) == ["manifest-syntax"]
    assert inspection.manifest is None


def test_warnings_do_not_block_a_publish() -> None:
    warning = Problem("readme-missing", "README.md", "add a README", Severity.WARNING)
    error = Problem("license-missing", "license", "No license specified in fpm.toml.")
    assert Inspection(PackageArchive(), None, [warning]).ok
    assert not Inspection(PackageArchive(), None, [warning, error]).ok
