"""Upload checks shared by `fpmreg check` and the server's upload gate.

Each check returns `Problem`s with stable codes. The server runs these first, then its
own checks that need the registry's data (`fpmreg.server.packages.service`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import BinaryIO

from fpmreg.core.archive import (
    DEFAULT_LIMITS,
    README_FILES,
    ArchiveLimits,
    PackageArchive,
    read_archive,
)
from fpmreg.core.license import license_problems
from fpmreg.core.manifest import GIT_METAPACKAGES, DependencyKind, Manifest, parse_manifest
from fpmreg.core.names import NAME_PATTERN
from fpmreg.core.problem import Problem, Severity, bounded
from fpmreg.core.sources import (
    MAX_MODULES_PER_FILE,
    MAX_MODULES_PER_PACKAGE,
    SourceScan,
)
from fpmreg.core.versions import InvalidVersion, Version

# fpm `is_valid_module_prefix`: alphanumeric, starting with a letter, a Fortran name.
_MODULE_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9]{0,62}")
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)
_LICENSE_FILES = re.compile(r"(?i)(licen[cs]e|copying)(\.(md|txt|rst))?|licen[cs]e-.+")


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
    scan: SourceScan = field(default_factory=SourceScan)

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


def _target_dirs(raw: dict[str, object], kind: str, default: str) -> set[str]:
    dirs = {default}
    targets = raw.get(kind)
    for target in targets if isinstance(targets, list) else []:
        if isinstance(target, dict) and isinstance(target.get("source-dir"), str):
            dirs.add(target["source-dir"].strip("/"))
    return dirs


def module_problems(manifest: Manifest, scan: SourceScan) -> list[Problem]:
    """fpm's module naming rules (`fpm_strings.f90` `is_valid_module_name`)."""
    naming = manifest.module_naming
    if naming is False:
        return [
            Problem(
                "module-naming-off",
                "build.module-naming",
                "The package does not meet the module naming requirements. Please set "
                '"module-naming = true" in fpm.toml [build] or specify a custom module prefix.',
            )
        ]
    prefix = ""
    if isinstance(naming, str):
        if not _MODULE_PREFIX.fullmatch(naming):
            return [
                Problem(
                    "module-prefix-invalid",
                    "build.module-naming",
                    f"Invalid custom module name prefix for in fpm.toml: <{naming}>, "
                    "expecting a valid alphanumeric string",
                )
            ]
        prefix = naming.lower()
    if not NAME_PATTERN.fullmatch(manifest.name):
        return []  # the name itself is reported; modules cannot be judged against it
    return _misnamed_modules(manifest, scan, prefix)


def _checked_folders(raw: dict[str, object]) -> tuple[set[str], set[str]]:
    """(the folders whose modules fpm checks, the test folders it exempts)."""
    library = raw.get("library")
    library_dir = "src"
    if isinstance(library, dict) and isinstance(library.get("source-dir"), str):
        library_dir = library["source-dir"].strip("/")
    checked = {library_dir} | _target_dirs(raw, "executable", "app")
    checked |= _target_dirs(raw, "example", "example")
    return checked, _target_dirs(raw, "test", "test")  # fpm does not check test sources


def _misnamed_modules(manifest: Manifest, scan: SourceScan, prefix: str) -> list[Problem]:
    checked, exempt = _checked_folders(manifest.raw)
    package = manifest.name.replace("-", "_").lower()
    expected = f"`{package}` or `{package}__*`" + (
        f", or `{prefix}` or `{prefix}_*`" if prefix else ""
    )
    problems = []
    for decl in scan.modules:
        folders = decl.path.split("/")[:-1]
        if not folders or folders[0] in exempt:
            continue
        # A set lookup per folder of the path: linear in the number of modules.
        if not any("/".join(folders[: i + 1]) in checked for i in range(len(folders))):
            continue
        name = decl.name
        if name == package or (name.startswith(package + "__") and len(name) > len(package) + 2):
            continue
        if prefix and (
            name == prefix or (name.startswith(prefix + "_") and len(name) > len(prefix) + 1)
        ):
            continue
        problems.append(
            Problem(
                "module-name",
                decl.path,
                f"{decl.kind} `{name}` in `{decl.path}` (line {decl.line}) does not match its "
                f"package name: name it {expected}",
            )
        )
    return problems


def crowded_problems(scan: SourceScan) -> list[Problem]:
    """Sources with more modules than the scan reads (`fpmreg.core.sources` limits)."""
    problems = []
    for found in scan.crowded:
        if found.what == "file":
            message = (
                f"`{found.path}` declares more than {MAX_MODULES_PER_FILE:,} modules (the "
                f"next at line {found.line}): split it into several files"
            )
        else:
            message = (
                f"the package declares more than {MAX_MODULES_PER_PACKAGE:,} modules (the "
                f"next in `{found.path}` line {found.line}): split it into several packages"
            )
        problems.append(Problem("source-too-many-modules", found.path, message))
    return problems


def dependency_problems(manifest: Manifest) -> list[Problem]:
    """Dependencies a registry package may not have (`fpm publish` refuses them)."""
    problems = []
    for dep in manifest.dependencies:
        if dep.kind is DependencyKind.GIT:
            problems.append(
                Problem(
                    "dependency-git",
                    dep.scope,
                    f"Do not publish packages containing git dependencies. Please upload "
                    f"'{dep.name}' to the registry first.",
                )
            )
        elif dep.kind is DependencyKind.PATH:
            problems.append(
                Problem(
                    "dependency-path",
                    dep.scope,
                    f"dependency `{dep.name}` is a local path, which does not exist on "
                    "consumers' machines: publish it and depend on it by namespace",
                )
            )
        elif dep.kind is DependencyKind.META and dep.name in GIT_METAPACKAGES:
            problems.append(
                Problem(
                    "dependency-metapackage-git",
                    dep.scope,
                    f"metapackage `{dep.name}` is fetched by fpm from git, so packages using "
                    f"it cannot be published: depend on the registry's `{dep.name}` instead",
                )
            )
    return problems


def _warning(code: str, field: str, message: str) -> Problem:
    return Problem(code, field, message, Severity.WARNING)


def scan_problems(scan: SourceScan) -> list[Problem]:
    """What the file scan found: build outputs, secrets, crowded sources."""
    problems = crowded_problems(scan)
    for found in scan.binaries:
        problems.append(
            Problem(
                "build-output",
                found.path,
                f"`{found.path}` {found.what}: publish sources only (add it to .gitignore "
                "and remove it from git)",
            )
        )
    for found in scan.secrets:
        code = "secret-private-key" if found.what == "a private key" else "secret-token"
        problems.append(
            Problem(
                code,
                found.path,
                f"`{found.path}` line {found.line} contains {found.what}: remove it from the "
                "package and revoke it, since it must be considered leaked",
            )
        )
    for found in scan.suspects:
        problems.append(
            _warning(
                "secret-suspect",
                found.path,
                f"`{found.path}` line {found.line} contains {found.what}: make sure no "
                "secret key travels with it",
            )
        )
    return problems


def description_problems(manifest: Manifest, archive: PackageArchive) -> list[Problem]:
    """Warnings about what tells users about the package: README, LICENSE, metadata."""
    problems = []
    roots = [m for m in archive.members if "/" not in m]
    if not any(README_FILES.fullmatch(m) for m in roots):
        problems.append(
            _warning(
                "readme-missing",
                "README",
                "no README at the package root: add a "
                "README.md saying what the package does and how to use it",
            )
        )
    if not any(_LICENSE_FILES.fullmatch(m) for m in roots):
        problems.append(
            _warning(
                "license-file-missing",
                "LICENSE",
                "no LICENSE file at the package root: add the text of your license",
            )
        )
    if not manifest.description.strip():
        problems.append(
            _warning(
                "description-missing",
                "description",
                "no `description` in fpm.toml: add one line saying what the package does",
            )
        )
    if not (manifest.author.strip() or manifest.maintainer.strip()):
        problems.append(
            _warning("author-missing", "author", "no `author` or `maintainer` in fpm.toml")
        )
    if manifest.homepage and not _URL.fullmatch(manifest.homepage):
        problems.append(
            _warning(
                "url-invalid",
                "homepage",
                f"homepage `{manifest.homepage}` is not an http:// or https:// URL",
            )
        )
    return problems


def content_problems(
    manifest: Manifest, archive: PackageArchive, scan: SourceScan
) -> list[Problem]:
    """Checks of what the package contains and describes."""
    return (
        module_problems(manifest, scan)
        + dependency_problems(manifest)
        + scan_problems(scan)
        + description_problems(manifest, archive)
    )


def inspect_package(
    stream: BinaryIO,
    form: UploadForm | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> Inspection:
    """Run every client-side check on a package tarball."""
    scan = SourceScan()
    archive = read_archive(stream, limits, visit=scan)
    inspection = Inspection(
        archive=archive, manifest=None, problems=list(archive.problems), scan=scan
    )
    text = archive.manifest_text
    if text is None or archive.problems:
        return inspection
    parsed = parse_manifest(text, {**archive.first_lines, **archive.files})
    problems = list(parsed.problems)
    inspection.manifest = parsed.manifest
    if parsed.manifest is not None:
        problems.extend(manifest_problems(parsed.manifest))
        if form is not None:
            problems.extend(_form_problems(parsed.manifest, form))
        problems.extend(content_problems(parsed.manifest, archive, scan))
    # `read_archive` bounded its own problems; there are none when this point is reached.
    inspection.problems = bounded(problems)
    return inspection
