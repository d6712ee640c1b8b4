"""schemathesis fuzzes every operation of `/api/openapi.json` against a real server.

Every built-in check runs (server errors, status codes, content types, response
schemas, auth...), anonymously and with a publisher's token, a bounded number of
examples per operation. `FUZZ_EXAMPLES` and `FUZZ_SEED` change how many
and which; `make fuzz` runs only these tests (docs/api-design.md, "Fuzzing").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fpmreg.server.accounts.models import Scope
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

pytestmark = pytest.mark.e2e

# Enough to find what fuzzing found so far, and a few minutes for both runs on 2 cores.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
# A fixed seed keeps CI reproducible; set another one to explore further.
SEED = os.environ.get("FUZZ_SEED", "20261201")
CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def seed_registry(server: LiveServer) -> str:
    """A publisher of `demo` with every scope, and `demo/hello` 1.0.0 (the documented
    examples), so the fuzzer reaches real packages and not only 404s."""
    token = server.publisher_token("demo", scopes={Scope.PUBLISH, Scope.YANK, Scope.MANAGE})
    response = httpx.post(
        server.url + "/api/v1/packages",
        headers={"Authorization": f"Bearer {token}"},
        files={"tarball": ("hello.tar.gz", package_tarball("hello", "1.0.0"), "application/gzip")},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return token


def fuzz(server: LiveServer, *headers: str) -> str:
    """Run schemathesis over the whole document; its report when anything failed."""
    command = [
        str(SCHEMATHESIS),
        "--no-color",
        "--config-file",
        str(CONFIG),
        "run",
        server.url + "/api/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        SEED,
        "--workers",
        "1",
        *(part for header in headers for part in ("--header", header)),
    ]
    # In the server's folder: schemathesis keeps its crash files (`st replay`) there.
    result = subprocess.run(
        command,
        cwd=server.workdir,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    summary = result.stdout[result.stdout.rfind("SUMMARY") :]
    print(summary)  # the totals, shown by `pytest -rA` and `make fuzz`
    assert result.returncode == 0, result.stdout[-30_000:] + result.stderr[-5_000:]
    return summary


def test_the_api_survives_anonymous_fuzzing(live_server: LiveServer) -> None:
    seed_registry(live_server)
    summary = fuzz(live_server)
    assert "Tested: " in summary


def test_the_api_survives_fuzzing_with_a_publisher_token(live_server: LiveServer) -> None:
    token = seed_registry(live_server)
    summary = fuzz(live_server, f"Authorization: Bearer {token}")
    assert "Tested: " in summary
