"""The `builds.verify` job: build a published version with the real fpm and gfortran.

Steps (docs/builds.md, "What a build does"): read the tarball and its registry
dependencies from this registry's own blob store (verified by sha256) and unpack them
into a temporary folder, as `fpmreg sync` lays out a local registry; end the database
transaction; run `fpm build`, then `fpm test` when the package has tests, each in the
sandbox of `sandbox.py`; record the outcome and the log; and, when the operator asked
for it, quarantine the package of a version that failed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.orm import Session, joinedload

from fpmreg.core.archive import DEFAULT_LIMITS, ArchiveLimits
from fpmreg.core.manifest import DependencyKind, parse_manifest
from fpmreg.core.resolve import ResolutionError, resolve
from fpmreg.core.unpack import UnpackError, extract_package
from fpmreg.server.builds.models import BuildOutcome
from fpmreg.server.builds.sandbox import (
    INSIDE_DEPENDENCIES,
    Limits,
    RunResult,
    Sandbox,
    find_program,
    run_sandboxed,
)
from fpmreg.server.builds.service import BuildsService, Outcome, StoredIndex
from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.jobs import JobContext, PermanentJobError, RetryableJobError
from fpmreg.server.moderation.quarantine import QuarantineService
from fpmreg.server.packages.models import Version
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.settings import Settings
from fpmreg.server.storage import BlobStore, StorageUnavailable

log = logging.getLogger(__name__)

# Asking a program its version takes milliseconds; a hung one must not hold the job.
TOOL_VERSION_TIMEOUT_SECONDS = 10
_FPM_VERSION = re.compile(r"Version:\s*([0-9][0-9A-Za-z.+-]*)")
# The CPU-time limit ends a process with SIGXCPU (24): gfortran's runtime prints the
# first marker, a shell the second; fpm passes the status on as 128 + 24.
_CPU_MARKERS = ("Program received signal SIGXCPU", "CPU time limit exceeded")
_CPU_STATUSES = (-24, 128 + 24)


@dataclass(frozen=True)
class BuildConfig:
    """What the build job needs from the settings, with the programs found."""

    sandbox: Sandbox | None  # None: a program is missing (`missing` says which)
    missing: str
    compiler: str
    limits: Limits
    quarantine_on_failure: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> BuildConfig:
        """Find fpm, bwrap and prlimit; a missing one is said in every build's outcome."""
        limits = Limits(
            wall_seconds=settings.build_wall_seconds,
            cpu_seconds=settings.build_cpu_seconds,
            memory_bytes=settings.build_memory_bytes,
            disk_bytes=settings.build_disk_bytes,
            processes=settings.build_processes,
        )
        fpm = _fpm_binary(settings.build_fpm)
        bwrap = find_program(settings.build_bwrap)
        prlimit = find_program("prlimit")
        compiler = find_program(settings.build_compiler)
        found = {"fpm": fpm, "bwrap": bwrap, "prlimit": prlimit, settings.build_compiler: compiler}
        missing = ", ".join(f"`{k}`" for k, v in found.items() if v is None)
        sandbox = None
        if fpm is not None and bwrap is not None and prlimit is not None and compiler:
            sandbox = Sandbox(
                bwrap, prlimit, Path(fpm).resolve(), settings.build_uid, settings.build_gid
            )
        return cls(
            sandbox, missing, settings.build_compiler, limits, settings.build_failure_quarantines
        )


def _fpm_binary(setting: str) -> str | None:
    """The fpm binary: the setting, else the PyPI package's, else `fpm` on PATH."""
    if setting:
        return find_program(setting)
    spec = importlib.util.find_spec("fpm")
    if spec is not None and spec.origin is not None:
        binary = Path(spec.origin).parent / "fpm"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return find_program("fpm")


def tool_versions(sandbox: Sandbox, compiler: str) -> tuple[str, str]:
    """(fpm's version, the compiler's), asked outside the sandbox: trusted programs,
    no package data."""
    fpm = _ask([str(sandbox.fpm), "--version"])
    match = _FPM_VERSION.search(fpm)
    return (match.group(1) if match else ""), _ask([compiler, "-dumpfullversion"]).strip()


def _ask(argv: list[str]) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv
            argv, capture_output=True, text=True, timeout=TOOL_VERSION_TIMEOUT_SECONDS
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout


@dataclass(frozen=True)
class Prepared:
    """A version unpacked with its dependencies, ready to build."""

    folder: Path  # the package
    dependencies: Path  # the local registry and its `config.toml`
    has_tests: bool
    dependencies_verified: bool
    note: str = ""  # why dependencies are not verified


class VerifyBuild:
    """The `builds.verify` job's handler."""

    def __init__(
        self, config: BuildConfig, store: BlobStore, clock: Clock, changes: ChangeCounter | None
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.changes = changes

    def __call__(self, context: JobContext) -> None:
        """Build the version of the job's payload and record the outcome."""
        version_id = context.payload.get("version_id")
        if not isinstance(version_id, int):
            raise PermanentJobError("`version_id` is not a number")
        session = context.session
        version = _version(session, version_id)
        if version is None:  # deleted since it was published
            return
        label = f"{version.package.namespace.name}/{version.package.name}@{version.version}"
        with tempfile.TemporaryDirectory(prefix="fpmreg-build-", ignore_cleanup_errors=True) as tmp:
            outcome = self._outcome(session, version, Path(tmp))
        build = BuildsService(session, self.clock).record(version_id, outcome)
        log.info("build of %s: %s", label, build.outcome)
        if self.config.quarantine_on_failure and outcome.outcome in (
            BuildOutcome.FAILED,
            BuildOutcome.TIMED_OUT,
        ):
            self._quarantine(session, version_id, outcome)

    def _outcome(self, session: Session, version: Version, tmp: Path) -> Outcome:
        sandbox = self.config.sandbox
        if sandbox is None:
            return Outcome(
                BuildOutcome.NOT_VERIFIED,
                f"not verified: the build worker has no {self.config.missing}",
            )
        prepared = self._prepare(session, version, tmp)
        # The build takes minutes at most; no transaction stays open meanwhile.
        session.rollback()
        if isinstance(prepared, Outcome):
            return prepared
        if self.config.sandbox is not None and os.geteuid() == 0:
            _chown_tree(tmp, sandbox.uid, sandbox.gid)
        fpm_version, compiler_version = tool_versions(sandbox, self.config.compiler)
        return self._run(sandbox, prepared, tmp, fpm_version, compiler_version)

    def _prepare(self, session: Session, version: Version, tmp: Path) -> Prepared | Outcome:
        """Unpack the version and its registry dependencies from the blob store."""
        data = self._blob(version.sha256)
        folder = tmp / "package"
        try:
            files = extract_package(data, folder, _limits(data))
        except UnpackError as exc:
            return Outcome(BuildOutcome.FAILED, f"the tarball cannot be unpacked: {exc}")
        dependencies = tmp / "dependencies"
        registry = dependencies / "registry"
        registry.mkdir(parents=True)
        (dependencies / "config.toml").write_text(
            f'[registry]\npath = "{INSIDE_DEPENDENCIES}/registry"\n'
        )
        manifest_text = (folder / "fpm.toml").read_text("utf-8", "replace")
        has_tests = any(f.startswith("test/") for f in files) or "[[test]]" in manifest_text
        verified, note = self._dependencies(session, manifest_text, folder, registry)
        return Prepared(folder, dependencies, has_tests, verified, note)

    def _dependencies(
        self, session: Session, manifest_text: str, folder: Path, registry: Path
    ) -> tuple[bool, str]:
        """Lay out the registry dependencies as fpm's local registry (docs/locking.md,
        "`fpmreg sync`"); (verified, why not)."""
        root_files = {
            p.name: p.read_bytes()
            for p in folder.iterdir()
            if p.is_file() and p.stat().st_size < 65536
        }
        parsed = parse_manifest(manifest_text, root_files)
        manifest = parsed.manifest
        if manifest is None:
            return False, "its fpm.toml cannot be read"
        if not any(d.kind is DependencyKind.REGISTRY for d in manifest.dependencies):
            return True, ""
        packages = PackagesService(session, self.clock, self.store)
        try:
            resolution = resolve(manifest, StoredIndex(packages))
        except ResolutionError as exc:
            return False, f"its dependencies cannot be resolved: {exc}"
        for package in resolution.packages:
            data = self._blob(package.sha256)
            target = registry / package.namespace / package.name / str(package.version)
            try:
                extract_package(data, target, _limits(data))
            except UnpackError as exc:
                return False, f"`{package.key}` {package.version} cannot be unpacked: {exc}"
        return True, ""

    def _blob(self, sha256: str) -> bytes:
        """A tarball from the store, checked against its sha256."""
        try:
            blob = self.store.open(sha256)
        except StorageUnavailable as exc:  # the store's outage: try the job again later
            raise RetryableJobError("the blob store is unavailable") from exc
        if blob is None:
            raise PermanentJobError(f"the blob {sha256} is missing from the store")
        with blob:
            data = blob.read()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise PermanentJobError(f"the blob {sha256} does not match its sha256")
        return data

    def _run(
        self, sandbox: Sandbox, prepared: Prepared, tmp: Path, fpm_version: str, compiler: str
    ) -> Outcome:
        tools = f"fpm {fpm_version or '?'} and {self.config.compiler} {compiler or '?'}"
        base = Outcome(
            BuildOutcome.PASSED,
            f"builds with {tools}" + (", and its tests pass" if prepared.has_tests else ""),
            fpm_version=fpm_version,
            compiler_version=compiler,
            tests_run=prepared.has_tests,
            dependencies_verified=prepared.dependencies_verified,
        )
        steps = ["build", "test"] if prepared.has_tests else ["build"]
        logs: list[str] = []
        if not prepared.dependencies_verified:
            logs.append(f"dependencies not verified: {prepared.note}\n")
        for step in steps:
            result = self._step(sandbox, step, prepared, tmp)
            logs.append(f"$ fpm {step}\n{result.output}")
            failed = _failure(result, step, tools, self.config.limits)
            if failed is not None:
                outcome, summary = failed
                if not prepared.dependencies_verified:
                    outcome = BuildOutcome.NOT_VERIFIED
                    summary = f"dependencies not verified ({prepared.note}); {summary}"
                return replace(
                    base,
                    outcome=outcome,
                    summary=summary,
                    log="\n".join(logs),
                    tests_run=step == "test",
                )
        return replace(base, log="\n".join(logs))

    def _step(self, sandbox: Sandbox, step: str, prepared: Prepared, tmp: Path) -> RunResult:
        command = [
            sandbox.inside_fpm(),
            step,
            "--compiler",
            self.config.compiler,
            "--config-file",
            f"{INSIDE_DEPENDENCIES}/config.toml",
        ]
        return run_sandboxed(
            sandbox,
            command,
            package=prepared.folder,
            dependencies=prepared.dependencies,
            limits=self.config.limits,
            log_path=tmp / f"{step}.log",
        )

    def _quarantine(self, session: Session, version_id: int, outcome: Outcome) -> None:
        """FPMREG_BUILD_FAILURE_QUARANTINES: put the package under review (automatic)."""
        version = _version(session, version_id)
        if version is None:
            return
        packages = PackagesService(session, self.clock, self.store, changes=self.changes)
        QuarantineService(session, self.clock, packages, self.changes).quarantine(
            None,
            version.package.namespace.name,
            version.package.name,
            reason=f"version {version.version}: {outcome.summary}",
            category="broken",
        )


def _version(session: Session, version_id: int) -> Version | None:
    """The version with its package (and so its namespace) loaded."""
    return session.get(Version, version_id, options=[joinedload(Version.package)])


def _failure(
    result: RunResult, step: str, tools: str, limits: Limits
) -> tuple[BuildOutcome, str] | None:
    """The outcome and summary of a step that did not succeed (None if it did)."""
    what = "fails to build" if step == "build" else "builds, but its tests fail"
    if result.timed_out:
        return BuildOutcome.TIMED_OUT, (
            f"`fpm {step}` was stopped after {limits.wall_seconds:g} s (the wall-time limit)"
        )
    if result.disk_exceeded:
        return BuildOutcome.FAILED, (
            f"`fpm {step}` was stopped: it wrote more than {limits.disk_bytes} bytes"
        )
    if result.returncode == 0:
        return None
    if result.returncode in _CPU_STATUSES or any(m in result.output for m in _CPU_MARKERS):
        return BuildOutcome.TIMED_OUT, (
            f"`fpm {step}` was stopped after {limits.cpu_seconds} s of CPU time (the CPU limit)"
        )
    return BuildOutcome.FAILED, f"{what} with {tools}"


def _limits(data: bytes) -> ArchiveLimits:
    """The archive limits of a tarball this registry already accepted."""
    return ArchiveLimits(max_compressed_bytes=max(len(data), DEFAULT_LIMITS.max_compressed_bytes))


def _chown_tree(root: Path, uid: int | None, gid: int | None) -> None:
    """Give the build's user its folder (the worker runs as root; builds never do)."""
    if uid is None:
        return
    for folder, dirs, files in os.walk(root):
        os.chown(folder, uid, gid if gid is not None else -1)
        for name in dirs + files:
            os.chown(
                os.path.join(folder, name),
                uid,
                gid if gid is not None else -1,
                follow_symlinks=False,
            )
