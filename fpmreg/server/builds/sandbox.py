"""Run one command of a build in a bubblewrap sandbox, with no network and hard limits.

Why bubblewrap, and what each limit does, is in docs/builds.md ("The sandbox"). In
short: `bwrap --unshare-all` gives the build its own network namespace (only its own
loopback, so nothing outside is reachable), its own PID namespace (killing the sandbox
kills every process in it), a read-only `/usr` and nothing else of the host but the
package's folder. `prlimit` sets the per-process limits before bwrap starts, a running
size check stands in for a disk quota, and the wall-time limit kills the whole sandbox.

Every command is an argv list: no shell ever reads the package's data.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Where the package's folder appears inside the sandbox.
INSIDE_PACKAGE = "/build/package"
# The sandbox's own /tmp: a tmpfs of at most the disk limit, gone with the sandbox.
INSIDE_TMP = "/tmp"  # noqa: S108 - a path inside the sandbox, not the host's
# Where the local registry of its dependencies appears (read-only).
INSIDE_DEPENDENCIES = "/build/dependencies"
# Where the fpm binary's folder and the wheel's `fpm.libs` beside it appear: the PyPI
# binary finds its libraries through `RPATH=$ORIGIN/../fpm.libs`.
INSIDE_FPM_DIR = "/opt/fpm/bin"
INSIDE_FPM_LIBS = "/opt/fpm/fpm.libs"
# Seconds of CPU time between SIGXCPU (the soft limit) and SIGKILL (the hard one).
CPU_KILL_AFTER_SECONDS = 5
# How often the running size check looks at the package's folder.
DISK_CHECK_SECONDS = 0.25
# The folder tree's size may exceed the limit by what a process writes in one check.
_KILL_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class Limits:
    """What one build may use (docs/builds.md, "Limits")."""

    wall_seconds: float
    cpu_seconds: int  # per process (RLIMIT_CPU)
    memory_bytes: int  # address space per process (RLIMIT_AS)
    disk_bytes: int  # the package folder in all, and any one file (RLIMIT_FSIZE)
    processes: int  # of the build's user at once (RLIMIT_NPROC)


@dataclass(frozen=True)
class Sandbox:
    """The programs a build runs with, and who it runs as."""

    bwrap: str  # the bubblewrap binary
    prlimit: str  # util-linux's prlimit
    fpm: Path  # the fpm binary itself (not a Python wrapper script)
    uid: int | None = None  # run as this user when the worker is root
    gid: int | None = None

    def inside_fpm(self) -> str:
        """The fpm binary's path inside the sandbox."""
        return f"{INSIDE_FPM_DIR}/{self.fpm.name}"


@dataclass(frozen=True)
class RunResult:
    """How one sandboxed command ended."""

    returncode: int
    output: str  # stdout and stderr, interleaved
    timed_out: bool = False  # the wall-time limit killed it
    disk_exceeded: bool = False  # the running size check killed it


def folder_size(root: Path) -> int:
    """Bytes the files under `root` take (allocated blocks, so sparse files count too)."""
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            try:
                info = os.lstat(os.path.join(folder, name))
            except OSError:
                continue  # removed meanwhile
            total += max(info.st_size, info.st_blocks * 512)
    return total


def limit_argv(sandbox: Sandbox, limits: Limits) -> list[str]:
    """`prlimit` with every per-process limit; no core files."""
    return [
        sandbox.prlimit,
        # SIGXCPU at the soft limit (fpm reports the signal), SIGKILL a little later.
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + CPU_KILL_AFTER_SECONDS}",
        f"--as={limits.memory_bytes}",
        f"--fsize={limits.disk_bytes}",
        f"--nproc={limits.processes}",
        "--core=0",
        "--",
    ]


def bwrap_argv(
    sandbox: Sandbox, package: Path, dependencies: Path | None, limits: Limits
) -> list[str]:
    """bubblewrap's arguments: fresh namespaces, a read-only system, the package folder."""
    argv = [
        sandbox.bwrap,
        "--unshare-all",  # user, ipc, pid, net, uts, cgroup: net has only its own `lo`
        "--die-with-parent",
        "--new-session",  # no access to the worker's terminal
        "--cap-drop",
        "ALL",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for link in ("bin", "lib", "lib64", "sbin"):  # merged /usr (Debian 12)
        if Path("/" + link).is_symlink():
            argv += ["--symlink", os.readlink("/" + link), "/" + link]
        elif Path("/" + link).is_dir():
            argv += ["--ro-bind", "/" + link, "/" + link]
    if Path("/etc/ld.so.cache").exists():
        argv += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    argv += ["--ro-bind", str(sandbox.fpm.parent), INSIDE_FPM_DIR]
    libs = sandbox.fpm.parent.parent / "fpm.libs"
    if libs.is_dir():
        argv += ["--ro-bind", str(libs), INSIDE_FPM_LIBS]
    if dependencies is not None:
        argv += ["--ro-bind", str(dependencies), INSIDE_DEPENDENCIES]
    argv += [
        "--bind",
        str(package),
        INSIDE_PACKAGE,
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--size",
        str(limits.disk_bytes),
        "--tmpfs",
        INSIDE_TMP,
        "--tmpfs",
        "/home",
        "--chdir",
        INSIDE_PACKAGE,
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "HOME",
        "/home",
        "--setenv",
        "LANG",
        "C.UTF-8",
        "--setenv",
        "TMPDIR",
        INSIDE_TMP,
        "--",
    ]
    return argv


def run_sandboxed(
    sandbox: Sandbox,
    command: Sequence[str],
    *,
    package: Path,
    dependencies: Path | None,
    limits: Limits,
    log_path: Path,
) -> RunResult:
    """Run `command` (an argv list; `command[0]` a path inside the sandbox) in the
    package folder, with `limits`; its output goes to `log_path`, outside the sandbox."""
    argv = limit_argv(sandbox, limits) + bwrap_argv(sandbox, package, dependencies, limits)
    argv += list(command)
    as_user: dict[str, object] = {}
    if os.geteuid() == 0 and sandbox.uid is not None:  # never build as root
        as_user = {"user": sandbox.uid, "group": sandbox.gid, "extra_groups": []}
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - an argv list of our own making
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,  # the wall-time kill reaches bwrap and everything it started
            close_fds=True,
            **as_user,  # type: ignore[call-overload]
        )
        timed_out, disk_exceeded = _supervise(process, package, limits)
    output = log_path.read_bytes()[-256 * 1024 :].decode("utf-8", "replace")
    returncode = process.returncode if process.returncode is not None else -signal.SIGKILL
    return RunResult(returncode, output, timed_out, disk_exceeded)


def _supervise(
    process: subprocess.Popen[bytes], package: Path, limits: Limits
) -> tuple[bool, bool]:
    """Wait for `process`, killing its group at the wall-time or disk limit."""
    deadline = time.monotonic() + limits.wall_seconds
    while True:
        try:
            process.wait(timeout=DISK_CHECK_SECONDS)
            return False, False
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() >= deadline:
            _kill(process)
            return True, False
        if folder_size(package) > limits.disk_bytes:
            _kill(process)
            return False, True


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group; bwrap's PID namespace takes the rest down with it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.wait(timeout=_KILL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not refused
        process.kill()
        process.wait()


def find_program(name: str) -> str | None:
    """`name` if it is a path to a program, else where it is on PATH (None if nowhere)."""
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
