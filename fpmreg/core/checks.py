"""Upload checks shared by `fpmreg check` and the server's upload gate.

Each check returns `Problem`s with stable codes. The server runs these first, then its
own checks that need the registry's data (`fpmreg.server.packages.service`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from fpmreg.core.archive import DEFAULT_LIMITS, ArchiveLimits, PackageArchive, read_archive
from fpmreg.core.license import license_problems
from fpmreg.core.manifest import Manifest, parse_manifest
from fpmreg.core.problem import Problem
from fpmreg.core.versions import InvalidVersion, Version


@dataclass(frozen=True, slots=True)
class UploadForm:
    """What the uploader claims, as `fpm publish` sends it (any field may be empty)."""

    name: str = ""
    version: str = ""
    license: str = ""


@dataclass
class Inspection:
    """The outcome of checking one package tarball."""

    archive: PackageArchive
    manifest: Manifest | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing blocks publishing."""
        return not any(p.is_error for p in self.problems)


def _form_problems(manifest: Manifest, form: UploadForm) -> list[Problem]:
    problems = []
    if form.name and form.name != manifest.name:
        problems.append(
            Problem(
                "form-name-mismatch",
                "package_name",
                f"the form says package `{form.name}` but the tarball's fpm.toml says "
                f"`{manifest.name}`: commit your fpm.toml (fpm publishes `git archive HEAD`)",
            )
        )
    if form.version:
        try:
            same = Version.parse(form.version) == Version.parse(manifest.version)
        except InvalidVersion:
            same = form.version == manifest.version
        if not same:
            problems.append(
                Problem(
                    "form-version-mismatch",
                    "package_version",
                    f"the form says version `{form.version}` but the tarball's fpm.toml says "
                    f"`{manifest.version}`: commit your fpm.toml (fpm publishes "
                    "`git archive HEAD`)",
                )
            )
    if form.license and form.license != manifest.license:
        problems.append(
            Problem(
                "form-license-mismatch",
                "package_license",
                f"the form says license `{form.license}` but the tarball's fpm.toml says "
                f"`{manifest.license}`",
            )
        )
    return problems


def manifest_problems(manifest: Manifest) -> list[Problem]:
    """Checks of a readable manifest's publishable fields."""
    problems = []
    try:
        if Version.parse(manifest.version).is_zero:
            problems.append(
                Problem(
                    "version-zero",
                    "version",
                    'Invalid version: "0". Set `version` in fpm.toml, e.g. `version = "0.1.0"`',
                )
            )
    except InvalidVersion:
        pass  # already reported by the manifest parser
    if "license" not in manifest.raw:
        problems.append(Problem("license-missing", "license", "No license specified in fpm.toml."))
    else:
        problems.extend(license_problems(manifest.license))
    return problems


def inspect_package(
    stream: BinaryIO,
    form: UploadForm | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> Inspection:
    """Run every client-side check on a package tarball."""
    archive = read_archive(stream, limits)
    inspection = Inspection(archive=archive, manifest=None, problems=list(archive.problems))
    text = archive.manifest_text
    if text is None or archive.problems:
        return inspection
    parsed = parse_manifest(text, archive.files)
    inspection.problems.extend(parsed.problems)
    inspection.manifest = parsed.manifest
    if parsed.manifest is not None:
        inspection.problems.extend(manifest_problems(parsed.manifest))
        if form is not None:
            inspection.problems.extend(_form_problems(parsed.manifest, form))
    return inspection
