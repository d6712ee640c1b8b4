"""Check for (and optionally install) the Debian programs the end-to-end tests use.

gfortran builds packages with the real fpm; chromium runs the browser tests; wrk and
nginx run the benchmarks. Missing programs are installed with apt-get when asked to
(and when running as root); otherwise the tests that need them say so and fail.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

PROGRAMS = {"gfortran": "gfortran", "chromium": "chromium", "wrk": "wrk", "nginx": "nginx-light"}


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
    if packages:
        print(f"missing Debian packages: {' '.join(packages)} "
              f"(run `sudo make system-deps`)", file=sys.stderr)  # fmt: skip
        return 1 if args.check else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
