"""The git commands `fpm publish` runs to build its tarball, run the same way.

fpm 0.12 packages the committed `HEAD` with `git archive HEAD --format=tar.gz` from the
package folder (docs/fpm-protocol.md §1.5). It also appends
`--add-file=fpm_model.json`, a stale file from its previous run; that is a bug, so this
client leaves it out.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from fpmreg.client.errors import ClientError, UsageError

ARCHIVE_FORMAT = "tar.gz"


def _git(directory: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise UsageError("`git` is not installed or not on PATH: fpm packages with git too")
    # An argv list, never a shell string: paths with spaces or quotes stay one argument.
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        [git, *args], cwd=directory, capture_output=True, check=False
    )


def _stderr(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stderr.decode("utf-8", "replace").strip()


def require_commit(directory: Path) -> str:
    """The commit `HEAD` names in `directory`'s work tree; refuses anything else clearly."""
    if not directory.is_dir():
        raise UsageError(f"`{directory}` is not a folder")
    inside = _git(directory, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != b"true":
        raise UsageError(
            f"`{directory}` is not inside a git work tree: fpm publishes the committed "
            "`HEAD` (`git archive HEAD`), so run `git init` and commit your package first"
        )
    head = _git(directory, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if head.returncode != 0:
        raise UsageError(
            f"the git repository of `{directory}` has no commit yet: fpm publishes the "
            "committed `HEAD`, so commit your package first"
        )
    return head.stdout.decode().strip()


def archive_head(directory: Path, out: Path | None = None) -> bytes:
    """`git archive HEAD --format=tar.gz` in `directory`: flat, `fpm.toml` at the root.

    Writes to `out` with `-o` when given (and returns b""), else returns the bytes."""
    args = ["archive", f"--format={ARCHIVE_FORMAT}"]
    if out is not None:
        args += ["-o", str(out.resolve())]
    result = _git(directory, *args, "HEAD")
    if result.returncode != 0:
        raise ClientError(f"`git archive HEAD` failed in `{directory}`: {_stderr(result)}")
    return result.stdout


def uncommitted(directory: Path, paths: list[str]) -> list[str]:
    """Which of `paths` (relative to `directory`) differ from `HEAD` in the work tree."""
    changed = []
    for path in paths:
        result = _git(directory, "status", "--porcelain", "--untracked-files=all", "--", path)
        if result.returncode != 0:
            raise ClientError(f"`git status` failed in `{directory}`: {_stderr(result)}")
        if result.stdout.strip():
            changed.append(path)
    return changed
