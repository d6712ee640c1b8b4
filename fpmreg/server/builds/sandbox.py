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
import json
import os
import select
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
# bwrap says the sandbox's PID within milliseconds of starting.
INFO_TIMEOUT_SECONDS = 10.0
# How long bwrap may take to exit once its sandbox was killed (it is immediate).
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
    sandbox: Sandbox, package: Path, dependencies: Path | None, limits: Limits, info_fd: int
) -> list[str]:
    """bubblewrap's arguments: fresh namespaces, a read-only system, the package folder."""
    argv = [
        sandbox.bwrap,
        "--info-fd",  # tells us the PID of the sandbox's first process (see `_kill`)
        str(info_fd),
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
    info_read, info_write = os.pipe()
    argv = limit_argv(sandbox, limits)
    argv += bwrap_argv(sandbox, package, dependencies, limits, info_write)
    argv += list(command)
    as_user: dict[str, object] = {}
    if os.geteuid() == 0 and sandbox.uid is not None:  # never build as root
        as_user = {"user": sandbox.uid, "group": sandbox.gid, "extra_groups": []}
    try:
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 - an argv list of our own making
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,  # a kill reaches bwrap and prlimit too
                close_fds=True,
                pass_fds=(info_write,),
                **as_user,  # type: ignore[call-overload]
            )
            os.close(info_write)
            info_write = -1
            child = _child_pid(info_read)
            timed_out, disk_exceeded = _supervise(process, child, package, limits)
    finally:
        os.close(info_read)
        if info_write >= 0:
            os.close(info_write)
    output = log_path.read_bytes()[-256 * 1024 :].decode("utf-8", "replace")
    returncode = process.returncode if process.returncode is not None else -signal.SIGKILL
    return RunResult(returncode, output, timed_out, disk_exceeded)


def _child_pid(info: int) -> int | None:
    """The PID (in ours) of the sandbox's first process, from bwrap's `--info-fd`; None
    if bwrap ended (or said nothing) first."""
    data = b""
    deadline = time.monotonic() + INFO_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        ready, _, _ = select.select([info], [], [], DISK_CHECK_SECONDS)
        if not ready:
            continue
        chunk = os.read(info, 4096)
        if not chunk:
            break
        data += chunk
        with contextlib.suppress(ValueError):
            pid = json.loads(data).get("child-pid")
            return pid if isinstance(pid, int) else None
    return None


def _supervise(
    process: subprocess.Popen[bytes], child: int | None, package: Path, limits: Limits
) -> tuple[bool, bool]:
    """Wait for `process`, killing the sandbox at the wall-time or disk limit."""
    deadline = time.monotonic() + limits.wall_seconds
    while True:
        try:
            process.wait(timeout=DISK_CHECK_SECONDS)
            # A quick writer may finish between two checks: its folder is checked once more.
            return False, folder_size(package) > limits.disk_bytes
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() >= deadline:
            _kill(process, child)
            return True, False
        if folder_size(package) > limits.disk_bytes:
            _kill(process, child)
            return False, True


def _kill(process: subprocess.Popen[bytes], child: int | None) -> None:
    """SIGKILL the sandbox's first process, the init of its PID namespace: the kernel
    then kills every other process in it, and the init's exit (so bwrap's) waits for
    them all. So once bwrap has exited, nothing of the build still runs or writes. The
    PID cannot have been reused: bwrap, its parent, has not reaped it yet."""
    if child is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    try:
        process.wait(timeout=_KILL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:  # bwrap itself hung: its group goes too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def find_program(name: str) -> str | None:
    """`name` if it is a path to a program, else where it is on PATH (None if nowhere)."""
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
