"""Check for (and optionally install) the Debian programs the end-to-end tests use.

gfortran builds packages with the real fpm; bubblewrap sandboxes build verification
(docs/builds.md); chromium runs the browser tests; npm installs
the JavaScript they inject (axe-core, `tests/e2e/package.json`); wrk and nginx run the
benchmarks. Missing programs are installed with apt-get when asked to (and when running
as root); otherwise the tests that need them say so and fail. With `--install-missing`,
`npm ci` fills `tests/e2e/node_modules` from the committed lock file when it is missing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

PROGRAMS = {
    "gfortran": "gfortran",
    "bwrap": "bubblewrap",  # the build-verification sandbox (docs/builds.md)
    "chromium": "chromium",
    "npm": "npm",
    "wrk": "wrk",
    "nginx": "nginx-light",
}
E2E = Path(__file__).resolve().parents[1] / "tests" / "e2e"


def install_node_modules() -> None:
    """`npm ci` in tests/e2e when its node_modules is missing (a clean clone, CI)."""
    npm = shutil.which("npm")
    if npm is None or (E2E / "node_modules" / "axe-core").is_dir():
        return
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=E2E, check=True)


def missing() -> list[str]:
    """Debian packages whose program is not on PATH."""
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [pkg for prog, pkg in PROGRAMS.items() if shutil.which(prog, path=path) is None]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--install-missing", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    packages = missing()
    if packages and args.install_missing and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)
        packages = missing()
    if args.install_missing:
        install_node_modules()
    if packages:
        print(f"missing Debian packages: {' '.join(packages)} "
              f"(run `sudo make system-deps`)", file=sys.stderr)  # fmt: skip
        return 1 if args.check else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
