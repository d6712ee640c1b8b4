"""The independent Node verifier of the registry's credentials (docs/credentials.md)."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
INSTALL_SECONDS = 600
VERIFY_SECONDS = 120


@dataclass(frozen=True)
class NodeVerifier:
    """`node verify.mjs` over files written to `workdir`."""

    node: str
    workdir: Path

    def verify(self, credential: dict[str, Any], documents: dict[str, Any]) -> dict[str, Any]:
        """The verifier's JSON verdict and its exit status as `exit`."""
        cred, docs = self.workdir / "credential.json", self.workdir / "documents.json"
        cred.write_text(json.dumps(credential), encoding="utf-8")
        docs.write_text(json.dumps(documents), encoding="utf-8")
        done = subprocess.run(
            [self.node, str(HERE / "verify.mjs"), str(cred), str(docs)],
            capture_output=True, text=True, timeout=VERIFY_SECONDS, check=False,
        )  # fmt: skip
        try:
            verdict: dict[str, Any] = json.loads(done.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"the verifier printed no JSON: {done.stderr[-2000:]}") from None
        return {**verdict, "exit": done.returncode}


def install(workdir: Path) -> NodeVerifier:
    """`npm ci` of the verifier's locked packages (once a session), or a skip saying
    that node or npm is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("the credential verifier needs node and npm on PATH (docs/credentials.md)")
    # Test workers (pytest-xdist) share this folder: one installs, the others wait.
    with (HERE / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (HERE / "node_modules" / ".package-lock.json").is_file():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"],
                cwd=HERE, check=True, capture_output=True, timeout=INSTALL_SECONDS,
            )  # fmt: skip
    return NodeVerifier(node, workdir)
