"""Every upload check, with its stable code, severity and the reason it exists.

The registry's `/checks` page and `fpmreg check --list` are generated from this table,
and a test asserts every code the checks can emit is listed here, so they cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass

from fpmreg.core.problem import Severity

E, W = Severity.ERROR, Severity.WARNING


@dataclass(frozen=True, slots=True)
class CheckInfo:
    """One check: what it finds and why a registry cares."""

    code: str
    severity: Severity
    title: str
    reason: str
    server_only: bool = False

    def as_dict(self) -> dict[str, str | bool]:
        """The JSON form `fpmreg check --list` and `/api/v1/checks` both give."""
        return {
            "code": self.code,
            "severity": str(self.severity),
            "title": self.title,
            "reason": self.reason,
            "server_only": self.server_only,
        }


_ALL = [
    # The archive ---------------------------------------------------------------
    CheckInfo("archive-not-gzip", E, "The upload is not gzip-compressed",
              "fpm unpacks packages with `tar -zxf`; anything else fails on every consumer."),
    CheckInfo("archive-corrupt", E, "The archive cannot be read",
              "A truncated or damaged tarball would fail to unpack for every consumer."),
    CheckInfo("archive-too-large", E, "The compressed tarball is over the size limit",
              "Bounds storage and download cost; Fortran source packages are small."),
    CheckInfo("archive-too-large-uncompressed", E, "The tarball unpacks to too much data",
              "Stops tar and gzip bombs: a few KB that unpack to gigabytes on consumers."),
    CheckInfo("archive-too-many-members", E, "The tarball has too many files",
              "Bounds the work and inodes every consumer spends unpacking it."),
    CheckInfo("archive-too-costly", E, "The tarball is too costly to check",
              "Bounds the CPU one upload can take (2 s plus 0.3 s per MB): real packages "
              "use a fraction of it; thousands of tiny or generated files do not."),
    CheckInfo("archive-file-too-large", E, "A single file is over the size limit",
              "Large data files belong in a separate download, not in every build."),
    CheckInfo("archive-absolute-path", E, "A member has an absolute path",
              "`tar` could write outside the package folder on a consumer's machine."),
    CheckInfo("archive-parent-path", E, "A member path contains `..`",
              "`tar` could write outside the package folder on a consumer's machine."),
    CheckInfo("archive-backslash", E, "A member path contains a backslash",
              "Windows would read it as a folder separator and place the file elsewhere."),
    CheckInfo("archive-link", E, "A member is a symbolic or hard link",
              "Links can point anywhere on a consumer's disk; packages need none."),
    CheckInfo("archive-special-file", E, "A member is a device, FIFO or other special file",
              "Only files and folders belong in a source package."),
    CheckInfo("archive-setuid", E, "A member has the setuid or setgid bit",
              "Nothing in a source package should run with another user's rights."),
    CheckInfo("archive-duplicate-member", E, "A path appears twice in the tarball",
              "Which copy wins depends on the unpacker; reviewers would see the wrong one."),
    CheckInfo("archive-name-encoding", E, "A member name is not UTF-8",
              "Names must read the same on every system and in the registry's listing."),
    CheckInfo("archive-trailing-data", E, "Data follows the end of the tarball",
              "A second gzip member or bytes after the end-of-archive blocks are stored and "
              "served but never checked; some unpackers read them (a hidden link or `..`)."),
    CheckInfo("archive-path-too-long", E, "A member path or name is too long",
              "File systems refuse names over 255 bytes, and macOS paths over 1024 bytes: "
              "the package would not unpack for some consumers."),
    CheckInfo("archive-path-too-deep", E, "A member path has too many folders",
              "Every level is a folder each consumer creates and every tool walks; deep trees "
              "break recursive tools and long-path limits."),
    CheckInfo("archive-no-manifest", E, "No `fpm.toml` at the archive root",
              "fpm looks for `fpm.toml` right where it unpacks; a top folder breaks builds."),
    # The manifest --------------------------------------------------------------
    CheckInfo("manifest-empty", E, "fpm.toml is empty", "fpm refuses an empty manifest."),
    CheckInfo("manifest-syntax", E, "fpm.toml is not valid TOML", "fpm cannot read it."),
    CheckInfo("manifest-too-deep", E, "fpm.toml nests too deeply",
              "TOML readers recurse into nested arrays and tables: a deep one crashes them "
              "(fpm, `fpmreg check`) or costs seconds of CPU; no manifest needs it."),
    CheckInfo("manifest-key", E, "fpm.toml has a key fpm does not allow",
              "fpm refuses unknown keys, so every consumer's build would fail."),
    CheckInfo("manifest-invalid", E, "A manifest section has the wrong shape",
              "fpm refuses it when reading the manifest."),
    CheckInfo("manifest-control-character", E, "Metadata contains a control character",
              "It would corrupt pages and fpm's JSON, and databases refuse NUL."),
    CheckInfo("manifest-newer-fpm", W, "fpm.toml uses keys only fpm 0.13 reads",
              "Users of fpm 0.12 (the PyPI release many have) cannot build the package."),
    CheckInfo("name-missing", E, "The package has no name", "fpm requires `name`."),
    CheckInfo("name-invalid", E, "The name breaks fpm's name rule",
              "fpm needs a Fortran-like name; names also go into URLs and shell commands."),
    CheckInfo("name-double-underscore", E, "The name contains `__`",
              "fpm's module naming uses `__` to separate the package prefix."),
    CheckInfo("name-trailing-underscore", E, "The name ends with `_`",
              "fpm's module naming refuses it (`has_valid_standard_prefix`)."),
    CheckInfo("version-invalid", E, "The version is not fpm's grammar",
              "fpm parses 1-3 numbers only; `1.0.0-rc1` would be unreadable by consumers."),
    CheckInfo("version-zero", E, "The version is `0`",
              "`0` is what fpm assumes when `version` is missing; `fpm publish` refuses it."),
    CheckInfo("license-missing", E, "No `license` in fpm.toml",
              "Nobody may legally reuse code without a license; `fpm publish` requires it."),
    CheckInfo("license-invalid", E, "The license is not an SPDX expression",
              "Tools and people need a standard identifier to know the terms."),
    CheckInfo("dependency-invalid", E, "A dependency entry is malformed",
              "fpm refuses it when reading the manifest."),
    CheckInfo("dependency-git", E, "A dependency comes from git",
              "Registry packages must build from the registry alone; `fpm publish` refuses."),
    CheckInfo("dependency-path", E, "A dependency is a local path",
              "The path does not exist on consumers' machines."),
    CheckInfo("dependency-metapackage-git", E, "A metapackage that fpm fetches from git",
              "`stdlib` and `minpack` expand to git dependencies, which `fpm publish` refuses."),
    CheckInfo("module-naming-off", E, "Module naming is not enforced",
              "Without a package prefix, modules of two packages can clash in one build; "
              "`fpm publish` requires `[build] module-naming`."),
    CheckInfo("module-prefix-invalid", E, "The custom module prefix is not valid",
              "fpm needs an alphanumeric prefix starting with a letter."),
    CheckInfo("module-name", E, "A module does not carry the package's prefix",
              "fpm refuses to build such a package when module naming is on."),
    CheckInfo("source-too-many-modules", E, "A source file or package declares too many modules",
              "Real sources declare a few modules a file; thousands are an attempt to make the "
              "checks slow, and modules past the limit would go unchecked."),
    CheckInfo("build-output", E, "Build outputs or binaries are included",
              "Object files, module files, libraries and executables are platform-specific "
              "and cannot be reviewed; they are also how malware hides."),
    CheckInfo("secret-private-key", E, "A private key is included",
              "A published key is compromised for good; rotate it."),
    CheckInfo("secret-token", E, "An API token is included",
              "A published token can be used by anyone; revoke it."),
    CheckInfo("secret-suspect", W, "Something that looks like a cloud access key ID",
              "Key IDs are not secrets alone but usually travel with one; check the file."),
    CheckInfo("readme-missing", W, "No README at the root",
              "The README is the package page; without it users cannot judge the package."),
    CheckInfo("license-file-missing", W, "No LICENSE file at the root",
              "Most licenses require their text to travel with the code."),
    CheckInfo("description-missing", W, "No `description`", "Search and listings show it."),
    CheckInfo("author-missing", W, "No `author` or `maintainer`",
              "Users need to know who stands behind a package."),
    CheckInfo("url-invalid", W, "The homepage is not an http(s) URL",
              "The package page links it; other schemes are unsafe or broken."),
    CheckInfo("form-name-mismatch", E, "The form's name differs from fpm.toml's",
              "fpm archives the committed HEAD but fills the form from the working tree."),
    CheckInfo("form-version-mismatch", E, "The form's version differs from fpm.toml's",
              "fpm archives the committed HEAD but fills the form from the working tree."),
    CheckInfo("form-license-mismatch", E, "The form's license differs from fpm.toml's",
              "fpm archives the committed HEAD but fills the form from the working tree."),
    # Server-only: they need the registry's data ---------------------------------
    CheckInfo("version-exists", E, "The version is already published",
              "Versions are immutable: consumers' builds must never change under them.",
              server_only=True),
    CheckInfo("name-spelling", E, "The package exists with another spelling",
              "Names are unique regardless of case and `-`/`_`.", server_only=True),
    CheckInfo("name-confusable", E, "The name is confusable with an existing package",
              "Typosquatting: `he11o` next to `hello` misleads users.", server_only=True),
    CheckInfo("dependency-not-found", E, "A registry dependency does not exist",
              "Every consumer's build would fail to resolve it.", server_only=True),
    CheckInfo("dependency-version-not-found", E, "A pinned dependency version does not exist",
              "Every consumer's build would fail to resolve it.", server_only=True),
    CheckInfo("module-prefix-taken", E, "The custom module prefix belongs to another package",
              "Prefixes keep modules of different packages apart; the first package to use "
              "one keeps it (fpm's naming documentation).", server_only=True),
    CheckInfo("version-tombstoned", E, "The version was deleted from the registry",
              "A deleted `namespace/name@version` is never reused: a lock that named it "
              "must not silently get other bytes (docs/moderation.md).", server_only=True),
    CheckInfo("name-held", E, "The name belongs to a recently deleted package",
              "Held for a cool-down so nobody re-registers a name users still depend on.",
              server_only=True),
    CheckInfo("package-quarantined", E, "The package is under review",
              "Owners cannot publish while moderators decide about a quarantined package.",
              server_only=True),
    CheckInfo("rate-limited", E, "Too many publishes in a short time",
              "Protects the registry from floods and runaway scripts.", server_only=True),
]  # fmt: skip

CATALOGUE: dict[str, CheckInfo] = {check.code: check for check in _ALL}
