"""The real PyPI `fpm` 0.12.0, made to talk to a loopback registry (docs/fpm-protocol.md §2.2)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

FPM_VERSION = "0.12.0"
# fpm fetches tarballs from, and publishes to, this base whatever the config says
# (docs/fpm-protocol.md §0 items 2 and 3), so a curl shim sends those requests to the test server.
OFFICIAL_REGISTRY = "https://fpm-registry.vercel.app"
SYSTEM_LIBS = Path("/usr/lib/x86_64-linux-gnu")
# The wheel's libgfortran cannot open a file twice ("File already opened in another unit",
# docs/fpm-protocol.md §0 item 7); Debian's build of the same ABI works.
SYSTEM_LIBGFORTRAN = SYSTEM_LIBS / "libgfortran.so.5"
SYSTEM_LIBQUADMATH = SYSTEM_LIBS / "libquadmath.so.0"
REAL_CURL = "/usr/bin/curl"
GFORTRAN = "gfortran"
# Compiling a small package takes seconds; a hung client must not hang the suite.
DEFAULT_TIMEOUT = 300

# Logs its argv (the count, then each argument, NUL-terminated), rewrites the official
# registry base to the test server, and runs the real curl. Only fixed text: the server
# URL and log path come from the environment.
CURL_SHIM = f"""#!/bin/sh
set -eu
printf '%s\\0' "$#" "$@" >> "$FPMREG_CURL_LOG"
official={OFFICIAL_REGISTRY}
for arg do
    shift
    case $arg in
        "$official" | "$official"/*) set -- "$@" "$FPMREG_REGISTRY_URL${{arg#"$official"}}" ;;
        *) set -- "$@" "$arg" ;;
    esac
done
exec {REAL_CURL} "$@"
"""

# Inherited settings that would change what fpm builds with or where it looks.
_DROPPED_ENV_PREFIXES = ("FPM_", "GIT_", "XDG_")
_DROPPED_ENV = {"HOME", "TMPDIR", "PATH", "CURL_HOME", "CURL_CA_BUNDLE", "LD_LIBRARY_PATH",
                "LD_PRELOAD", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                "ALL_PROXY", "all_proxy"}  # fmt: skip


def _require(condition: bool, message: str) -> None:
    """Fail (never skip) when the machine lacks what the end-to-end tests need."""
    if not condition:
        pytest.fail(f"{message} (install the dev extras and run `sudo make system-deps`)",
                    pytrace=False)  # fmt: skip


def _wheel_dirs() -> tuple[Path, Path]:
    """The installed wheel's `fpm/` package folder and its `fpm.libs/` beside it."""
    spec = importlib.util.find_spec("fpm")
    _require(spec is not None and spec.origin is not None,
             f"the PyPI package `fpm=={FPM_VERSION}` is not installed")  # fmt: skip
    assert spec is not None and spec.origin is not None
    package = Path(spec.origin).parent
    libs = package.parent / "fpm.libs"
    installed = importlib.metadata.version("fpm")
    _require(installed == FPM_VERSION, f"`fpm` {installed} is installed, the tests need "
             f"{FPM_VERSION}")  # fmt: skip
    _require((package / "fpm").is_file(), f"the fpm wheel has no binary at {package / 'fpm'}")
    _require(libs.is_dir(), f"the fpm wheel has no {libs}")
    return package, libs


def _replace_bundled(libs: Path, pattern: str, system: Path) -> None:
    bundled = sorted(libs.glob(pattern))
    _require(bool(bundled), f"the fpm wheel has no {pattern} in {libs}")
    _require(system.exists(), f"{system} is missing (Debian packages libgfortran5 and "
             "libquadmath0, installed with gfortran)")  # fmt: skip
    for path in bundled:
        shutil.copyfile(system.resolve(), path)


@dataclass(frozen=True)
class FpmInstall:
    """A private copy of the wheel's binary with Debian's libgfortran in its `fpm.libs/`."""

    binary: Path

    @classmethod
    def create(cls, root: Path) -> FpmInstall:
        """Copy the installed wheel under `root` and swap the broken runtime libraries.

        A copy is needed because the binary's RPATH (`$ORIGIN/../fpm.libs`) wins over
        `LD_LIBRARY_PATH`."""
        _require(shutil.which(GFORTRAN) is not None, f"`{GFORTRAN}` is not on PATH")
        _require(Path(REAL_CURL).is_file(), f"{REAL_CURL} is missing")
        _require(shutil.which("git") is not None, "`git` is not on PATH")
        package, libs = _wheel_dirs()
        shutil.copytree(package, root / "fpm", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(libs, root / "fpm.libs")
        _replace_bundled(root / "fpm.libs", "libgfortran-*.so.5*", SYSTEM_LIBGFORTRAN)
        _replace_bundled(root / "fpm.libs", "libquadmath-*.so.0*", SYSTEM_LIBQUADMATH)
        install = cls(root / "fpm" / "fpm")
        version = subprocess.run([str(install.binary), "--version"], capture_output=True,
                                 text=True, timeout=60, check=False)  # fmt: skip
        _require(f"{FPM_VERSION}, alpha" in version.stdout,
                 f"the copied fpm does not run:\n{version.stdout}{version.stderr}")  # fmt: skip
        return install


@dataclass(frozen=True)
class CurlCall:
    """One curl command that fpm ran, as fpm wrote it (before the shim's rewrite)."""

    argv: tuple[str, ...]

    @property
    def url(self) -> str:
        """The one argument that is a URL."""
        urls = [a for a in self.argv if a.startswith(("http://", "https://"))]
        assert len(urls) == 1, f"expected one URL in {self.argv}"
        return urls[0]

    @property
    def is_post(self) -> bool:
        return "-X" in self.argv and self.argv[self.argv.index("-X") + 1] == "POST"


class Fpm:
    """fpm with its own HOME, temp dir, config and a logging curl shim, aimed at `registry_url`."""

    def __init__(self, install: FpmInstall, root: Path, registry_url: str, *,
                 config_url: str | None = None) -> None:  # fmt: skip
        self.install = install
        self.root = root
        self.registry_url = registry_url.rstrip("/")
        self.home = root / "home"
        self.bin = root / "bin"
        self.tmp = root / "tmp"
        self.cache = root / "cache"
        self.curl_log = root / "curl.log"
        for folder in (self.home, self.bin, self.tmp, self.cache):
            folder.mkdir(parents=True, exist_ok=True)
        shim = self.bin / "curl"
        shim.write_text(CURL_SHIM)
        shim.chmod(0o755)
        self.curl_log.touch()
        self.config = self.home / ".local" / "share" / "fpm" / "config.toml"
        self.config.parent.mkdir(parents=True, exist_ok=True)
        self.write_config(self.config, config_url or self.registry_url)

    def write_config(self, path: Path, url: str) -> Path:
        """An fpm global config naming `url` as the registry and a private cache."""
        path.write_text(f'[registry]\nurl = "{url}"\ncache_path = "{self.cache}"\n')
        return path

    def environment(self) -> dict[str, str]:
        """The inherited environment without anything that would steer fpm, git or curl."""
        env = {k: v for k, v in os.environ.items()
               if k not in _DROPPED_ENV and not k.startswith(_DROPPED_ENV_PREFIXES)}  # fmt: skip
        env.update({
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "PATH": os.pathsep.join([str(self.bin), os.environ.get("PATH", os.defpath)]),
            "FPMREG_REGISTRY_URL": self.registry_url,
            "FPMREG_CURL_LOG": str(self.curl_log),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "A. Fortran",
            "GIT_AUTHOR_EMAIL": "a.fortran@example.org",
            "GIT_AUTHOR_DATE": "2025-01-01T00:00:00Z",
            "GIT_COMMITTER_NAME": "A. Fortran",
            "GIT_COMMITTER_EMAIL": "a.fortran@example.org",
            "GIT_COMMITTER_DATE": "2025-01-01T00:00:00Z",
        })  # fmt: skip
        return env

    def run(self, *args: str, cwd: Path, timeout: float = DEFAULT_TIMEOUT,
            config_file: Path | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """`fpm ARGS` in `cwd`; stdout and stderr as text, whatever the exit status."""
        argv = [str(self.install.binary), *args]
        if config_file is not None:
            argv += ["--config-file", str(config_file)]
        return subprocess.run(argv, cwd=cwd, env=self.environment(), capture_output=True,
                              text=True, timeout=timeout, check=False)  # fmt: skip

    def git(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        """`git ARGS` with the same isolated HOME and a fixed author; fails loudly."""
        return subprocess.run(["git", *args], cwd=cwd, env=self.environment(),
                              capture_output=True, text=True, timeout=60, check=True)  # fmt: skip

    def curl_calls(self) -> list[CurlCall]:
        """Every curl command fpm has run so far, oldest first."""
        fields = self.curl_log.read_bytes().split(b"\0")
        assert fields.pop() == b"", "the curl log ends mid-record"
        calls, i = [], 0
        while i < len(fields):
            count = int(fields[i])
            calls.append(CurlCall(tuple(f.decode() for f in fields[i + 1 : i + 1 + count])))
            i += 1 + count
        return calls

    def clear_curl_log(self) -> None:
        self.curl_log.write_bytes(b"")


def output(result: subprocess.CompletedProcess[str]) -> str:
    """Everything a user would have seen on the terminal."""
    return result.stdout + result.stderr
