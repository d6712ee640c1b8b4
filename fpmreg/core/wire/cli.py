"""The JSON documents `fpmreg` prints with `--format json`, for scripts (docs/cli.md).

Each is one document on stdout; notes for people go to stderr. Fields are only ever
added, so a script written for one version keeps reading the next.
"""

from __future__ import annotations

from pydantic import Field

from fpmreg.core.wire import WireModel


class CheckProblem(WireModel):
    """One finding of `fpmreg check`."""

    code: str
    field: str = ""
    message: str
    severity: str = Field(examples=["error", "warning"])


class CheckReport(WireModel):
    """`fpmreg check --format json`: which package, whether it may be published, and
    every finding (exit 1 when `ok` is false)."""

    package: str = Field("", description="the manifest's name; empty when unreadable")
    version: str = ""
    origin: str = Field(description="the folder and commit, or the tarball, checked")
    ok: bool
    errors: int
    warnings: int
    problems: list[CheckProblem] = Field(default_factory=list)


class CliError(WireModel):
    """What any `--format json` command prints on stdout when it fails: the same message
    the text mode prints on stderr, the registry's problems when it sent some, and the
    exit status (1: refused or failed, 2: the command cannot run as given)."""

    ok: bool = False
    error: str
    exit_code: int = Field(examples=[1, 2])
    problems: list[CheckProblem] = Field(default_factory=list)


class PublishReport(WireModel):
    """`fpmreg publish --format json`: what the registry stored (or, with `--dry-run`,
    would store)."""

    ok: bool = True
    registry: str
    namespace: str
    name: str
    version: str
    sha256: str
    dry_run: bool
    url: str = Field("", description="the version's page; empty for a dry run")
    warnings: list[CheckProblem] = Field(default_factory=list)


class LockEntry(WireModel):
    """One package of the new lock (or of the old one, when it was removed)."""

    package: str = Field(description="`namespace/name`")
    version: str
    previous: str = Field("", description="the version locked before; empty when added")
    change: str = Field(examples=["added", "removed", "updated", "unchanged"])
    yanked: bool = False


class HeldBack(WireModel):
    """A newer version exists, but the `v = "..."` pin in fpm.toml keeps the old one."""

    package: str
    pinned: str
    newest: str


class LockReport(WireModel):
    """`fpmreg lock --format json` (and `--check`: `ok` false and `problems` the ways the
    lock is out of date, exit 1)."""

    ok: bool = True
    registry: str
    root: str = Field(description="the project's name")
    written: bool
    packages: list[LockEntry] = Field(default_factory=list)
    held_back: list[HeldBack] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)


class SyncedPackage(WireModel):
    """One package version that sync or mirror put in its folder."""

    package: str
    version: str
    sha256: str


class SyncReport(WireModel):
    """`fpmreg sync --format json`: the folder fpm builds against, and what changed."""

    ok: bool = True
    registries: list[str]
    registry_folder: str
    config_file: str
    packages: int
    installed: list[SyncedPackage] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    kept: int
    from_cache: int
    build_command: str = Field(examples=["fpm build --config-file build/fpmreg/config.toml"])


class MirrorReport(WireModel):
    """`fpmreg mirror --format json` (exit 1, `ok` false, when a version was refused)."""

    ok: bool
    registry: str = Field("", description="empty when each version came from its lock's")
    folder: str
    added: list[SyncedPackage] = Field(default_factory=list)
    present: int
    yanked_left_out: int = 0
    refused: list[str] = Field(default_factory=list)
    build_command: str


class YankReport(WireModel):
    """`fpmreg yank --format json` (and `--undo`): the version's state afterwards."""

    ok: bool = True
    registry: str
    package: str
    version: str
    yanked: bool
    reason: str = ""
